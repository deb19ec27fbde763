from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tapwork.db import Base, Timestamps, UUIDPk
from tapwork.location.models import Location


class Kiosk(UUIDPk, Timestamps, Base):
    """An enrolled scanning device: its own principal, bound to a location."""

    __tablename__ = "kiosks"

    name: Mapped[str] = mapped_column(String(120))
    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("locations.id", ondelete="RESTRICT"), index=True
    )
    # One-time pairing code (hashed) handed out by an admin, exchanged for the device token.
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pairing_expires_at: Mapped[datetime | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    paired_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    app_version: Mapped[str | None] = mapped_column(String(32))
    # Kiosk clock minus server clock, as last reported; shown to admins.
    clock_offset_ms: Mapped[int | None] = mapped_column(Integer)
    # Scans waiting in the device's offline queue, as last reported (`X-Kiosk-Queue`).
    offline_queue: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None]

    # Joined into the token lookup: the scan path needs the location's timezone anyway.
    location: Mapped[Location] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("offline_queue >= 0", name="offline_queue"),)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.token_hash is not None else "pending"
