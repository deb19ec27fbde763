from __future__ import annotations

from datetime import time

from sqlalchemy import CheckConstraint, SmallInteger, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk


class Shift(UUIDPk, Timestamps, Base):
    """A daily schedule in local time. end <= start means the shift crosses midnight."""

    __tablename__ = "shifts"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    start_time: Mapped[time]
    end_time: Mapped[time]
    grace_minutes: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
    early_threshold_minutes: Mapped[int] = mapped_column(
        SmallInteger, default=30, server_default="30"
    )
    # ISO weekdays, 1 = Monday … 7 = Sunday.
    working_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), default=lambda: [1, 2, 3, 4, 5]
    )

    __table_args__ = (
        CheckConstraint("grace_minutes BETWEEN 0 AND 240", name="grace_range"),
        CheckConstraint("early_threshold_minutes BETWEEN 0 AND 720", name="early_range"),
        CheckConstraint("working_days <@ ARRAY[1,2,3,4,5,6,7]::smallint[]", name="working_days"),
        CheckConstraint("start_time <> end_time", name="non_empty"),
    )
