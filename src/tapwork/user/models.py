from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tapwork.db import Base, Timestamps, UUIDPk
from tapwork.role.models import Role


class User(UUIDPk, Timestamps, Base):
    __tablename__ = "users"

    # Stored lower-cased by the schemas, so a plain unique index is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    employee_id: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # NULL until an invited user sets a password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("roles.id", ondelete="RESTRICT"), index=True
    )
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    shift_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shifts.id", ondelete="RESTRICT"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locations.id", ondelete="RESTRICT"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    email_verified_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # {"attendance_confirmation": false, ...}; a missing kind means opted in.
    notification_preferences: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default="{}"
    )
    # The language of the mail the user receives (notification/i18n.py): set from the
    # inviter's choice or the browser at registration, changed in self-service.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Raised on deactivation, password change and role change: access tokens issued
    # before it stop working on the next request.
    sessions_valid_after: Mapped[datetime | None]

    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (CheckConstraint("language IN ('en', 'es')", name="language"),)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def permissions(self) -> frozenset[str]:
        return frozenset(self.role.permissions)


# The one list of a user's fields the audit log records (user changes, registration, import).
AUDIT_FIELDS = (
    "email",
    "employee_id",
    "first_name",
    "last_name",
    "role_id",
    "department_id",
    "shift_id",
    "location_id",
    "is_active",
    "email_verified_at",
    "notification_preferences",
    "language",
)
