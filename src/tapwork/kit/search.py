"""Case-insensitive substring search that treats the user's text literally."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement


def contains(column: Any, text: str) -> ColumnElement[bool]:
    # Escape LIKE wildcards so a search for "50%" or "a_b" means what it says.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = column.ilike(f"%{escaped}%", escape="\\")
    return condition
