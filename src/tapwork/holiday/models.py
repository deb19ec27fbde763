from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk


class Holiday(UUIDPk, Timestamps, Base):
    """A day off. Without a location it applies everywhere."""

    __tablename__ = "holidays"

    holiday_date: Mapped[date] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE")
    )

    __table_args__ = (
        Index(
            "uq_holidays_date_location",
            "holiday_date",
            text("coalesce(location_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
            unique=True,
        ),
    )
