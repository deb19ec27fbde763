from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, UUIDPk


class BadgeKey(Base):
    """A signing key id. The key bytes are derived from BADGE_SECRET and the id, so the database
    never holds key material; rotating adds a new active id and keeps old ones verifying."""

    __tablename__ = "badge_keys"

    kid: Mapped[str] = mapped_column(String(8), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    retired_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_badge_keys_one_active", "is_active", unique=True, postgresql_where=text("is_active")
        ),
    )


class Badge(UUIDPk, Base):
    __tablename__ = "badges"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kid: Mapped[str] = mapped_column(ForeignKey("badge_keys.kid", ondelete="RESTRICT"))
    code_data: Mapped[str] = mapped_column(String(128), unique=True)
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # superseded (regenerated) | revoked (by HR); a deleted user takes their badges along
    revoke_reason: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        # One active badge per user, decided by the database.
        Index(
            "uq_badges_one_active_per_user",
            "user_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_badges_user_id", "user_id"),
        CheckConstraint(
            "revoke_reason IS NULL OR revoke_reason IN ('superseded', 'revoked')",
            name="revoke_reason",
        ),
    )
