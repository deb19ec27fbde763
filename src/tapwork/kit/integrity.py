"""Let the database decide uniqueness and reference races.

Services check for a clash first (for a clear message), but two requests can pass that check
together; the SAVEPOINT keeps the request's transaction usable when the database then refuses
one of them, and the violated constraint's name picks the domain error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


@asynccontextmanager
async def constraint_errors(
    session: AsyncSession, errors: Mapping[str, Callable[[], Exception]]
) -> AsyncIterator[None]:
    """Run the block in a SAVEPOINT (flushed on exit); map named constraint violations."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        make = errors.get(constraint_name(exc) or "")
        if make is None:
            raise
        raise make() from exc
