"""Who is acting, for audit entries and object-level checks. Domain-free."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # user | kiosk | system
    id: uuid.UUID | None
    label: str
    ip: str | None = None
    request_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


SYSTEM = Actor(type="system", id=None, label="system")
