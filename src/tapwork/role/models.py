from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk


class Role(UUIDPk, Timestamps, Base):
    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    # The four roles of SPEC.md are seeded and cannot be deleted or renamed.
    is_system: Mapped[bool] = mapped_column(default=False, server_default="false")
