"""Re-seal every face template under the current key (`tapwork biometric rekey`).

After `BIOMETRIC_KEY` changes (the old one moved to `BIOMETRIC_PREVIOUS_KEYS`), a verify
re-seals the template it used; this does the rest at once, so the old key can be dropped.
The face service holds the keys and the database holds the rows: batches of rows not under the
service's current key go through `POST /v1/reseal` and are written back, one transaction per
batch (row locks held for one round trip). Idempotent and resumable: a run picks the rows still
under another key, so running it again after an interruption finishes the job, and a finished
job finds nothing. A template no key opens is reported and skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.audit import service as audit
from tapwork.biometric import service
from tapwork.biometric.client import BiometricClient
from tapwork.biometric.models import BiometricTemplate
from tapwork.db import unit_of_work
from tapwork.kit.actor import Actor

CLI_ACTOR = Actor(type="system", id=None, label="cli:biometric")


@dataclass(slots=True)
class Rekeyed:
    key_id: str
    resealed: int = 0
    unreadable: list[uuid.UUID] = field(default_factory=list)


async def pending(session: AsyncSession, key_id: str) -> int:
    """How many templates are sealed with a key other than `key_id`."""
    count = await session.scalar(select(func.count()).where(BiometricTemplate.key_id != key_id))
    return int(count or 0)


async def rekey_batch(
    session: AsyncSession,
    client: BiometricClient,
    *,
    key_id: str,
    after: uuid.UUID | None,
    size: int,
) -> tuple[int, list[uuid.UUID], uuid.UUID | None]:
    """Re-seal up to `size` templates past `after` (by user id) that are not under `key_id`:
    (re-sealed, unreadable, the last user id seen or None when there were none)."""
    query = (
        select(BiometricTemplate)
        .where(BiometricTemplate.key_id != key_id)
        .order_by(BiometricTemplate.user_id)
        .limit(size)
        # A verify re-sealing the same row meanwhile waits for this batch (or this for it).
        .with_for_update()
    )
    if after is not None:
        query = query.where(BiometricTemplate.user_id > after)
    rows = list((await session.scalars(query)).all())
    if not rows:
        return 0, [], None
    answer = await client.reseal([(t.user_id, service.sealed_of(t)) for t in rows])
    by_user = {t.user_id: t for t in rows}
    resealed, unreadable = 0, []
    for result in answer.templates:
        template = by_user.get(result.user_id)
        if template is None:
            continue
        if result.template is None:
            unreadable.append(result.user_id)
        elif result.template.key_id != template.key_id:
            service.store_sealed(template, result.template)
            resealed += 1
    await session.flush()
    return resealed, unreadable, rows[-1].user_id


async def rekey_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: BiometricClient,
    *,
    batch_size: int = 200,
    on_start: Callable[[int], None] = lambda total: None,
    on_batch: Callable[[int], None] = lambda done: None,
) -> Rekeyed:
    """Every template under the service's current key; each batch committed on its own."""
    key_id = await client.current_key_id()
    async with sessionmaker() as session:
        on_start(await pending(session, key_id))
    outcome = Rekeyed(key_id)
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work(sessionmaker) as session:
            resealed, unreadable, after = await rekey_batch(
                session, client, key_id=key_id, after=after, size=batch_size
            )
            if after is None:
                break
            if resealed:
                await audit.record(
                    session,
                    CLI_ACTOR,
                    "biometric.rekey",
                    "settings",
                    None,
                    new={"key_id": key_id, "templates": resealed},
                )
        outcome.resealed += resealed
        outcome.unreadable += unreadable
        on_batch(resealed + len(unreadable))
    return outcome
