from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tapwork.db import Base, Timestamps, UUIDPk


class Location(UUIDPk, Timestamps, Base):
    __tablename__ = "locations"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, validated on input
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
