from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, UUIDPk


class AuditLog(UUIDPk, Base):
    """Who changed what. No foreign key to users: entries outlive the actor, whose email is
    copied in."""

    __tablename__ = "audit_logs"

    actor_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(16))  # user | kiosk | system | anonymous
    actor_label: Mapped[str] = mapped_column(String(320), default="", server_default="")
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    old_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)

    __table_args__ = (
        Index("ix_audit_logs_resource", "resource_type", "resource_id"),
        Index("ix_audit_logs_actor_id", "actor_id"),
        Index("ix_audit_logs_action", "action"),
    )
