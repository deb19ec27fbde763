"""`tapwork biometric rekey`: after a key rotation every template is re-sealed under the new
key (so the old one can go), in batches, idempotent and resumable; verify still matches."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.biometric.client import BiometricClient
from tapwork.biometric.codec import Keyring, Sealed
from tapwork.biometric.models import BiometricConsent, BiometricTemplate
from tapwork.biometric.protocol import SealedTemplate
from tapwork.biometric.rekey import rekey_all
from tapwork.biometric.server import create_service_app
from tapwork.config import Settings
from tapwork.kit.clock import utcnow
from tests.biometric import images as im
from tests.biometric.conftest import SECRET, service_settings
from tests.biometric.processes import service_process
from tests.support import factories as f

pytestmark = pytest.mark.timeout(300)
OLD = "the-old-biometric-key-0123456789abcdef0123456789"
NEW = "the-new-biometric-key-0123456789abcdef0123456789"
LOST = "a-key-nobody-kept-0123456789abcdef0123456789abcd"
NEW_ID = Keyring(NEW).current_id
OLD_ID = Keyring(OLD).current_id


def _client(settings: Settings, app: FastAPI) -> BiometricClient:
    settings.biometric_secret = SecretStr(SECRET)
    return BiometricClient(settings, transport=httpx.ASGITransport(app=app))


def _service(key: str, previous: str = "") -> FastAPI:
    return create_service_app(
        service_settings(biometric_key=SecretStr(key), biometric_previous_keys=SecretStr(previous))
    )


async def _store(
    session: AsyncSession, key: str, *, vector: list[float] | None = None
) -> uuid.UUID:
    """An enrolled employee whose template `key` sealed (a random face unless given)."""
    user = await f.make_user(session)
    now = utcnow()
    consent = BiometricConsent(
        user_id=user.id,
        notice_version="test",
        notice_text="test",
        given_at=now,
        recorded_by_id=None,
        recorded_by_label="test",
    )
    session.add(consent)
    await session.flush()
    sealed = Keyring(key).seal(
        vector or [random.uniform(-0.2, 0.2) for _ in range(128)], user_id=user.id
    )
    session.add(
        BiometricTemplate(
            user_id=user.id,
            consent_id=consent.id,
            key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
            images_used=3,
            enrolled_at=now,
            enrolled_by_id=None,
            enrolled_by_label="test",
            last_used_at=now,
        )
    )
    await session.flush()
    return user.id


async def _key_ids(session: AsyncSession) -> dict[uuid.UUID, str]:
    session.expire_all()
    rows = await session.execute(select(BiometricTemplate.user_id, BiometricTemplate.key_id))
    return {row.user_id: row.key_id for row in rows}


class Interrupted(Exception):
    pass


async def test_rekey_reseals_everything_resumably_and_verify_still_matches(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    # A real face enrolled under the old key, and six more templates.
    old_service = _client(settings, _service(OLD))
    her = (await f.make_user(session)).id  # the id: the test expires what it loaded
    session.add(
        BiometricConsent(
            user_id=her,
            notice_version="test",
            notice_text="test",
            given_at=utcnow(),
            recorded_by_id=None,
            recorded_by_label="test",
        )
    )
    await session.flush()
    enrolled = await old_service.enroll(her, [im.b64(b) for b in im.enrolment_images()])
    consent_id = await session.scalar(
        select(BiometricConsent.id).where(BiometricConsent.user_id == her)
    )
    assert consent_id is not None
    session.add(
        BiometricTemplate(
            user_id=her,
            consent_id=consent_id,
            key_id=enrolled.template.key_id,
            nonce=base64.b64decode(enrolled.template.nonce),
            ciphertext=base64.b64decode(enrolled.template.ciphertext),
            images_used=enrolled.images_used,
            enrolled_at=utcnow(),
            enrolled_by_id=None,
            enrolled_by_label="test",
            last_used_at=utcnow(),
        )
    )
    others = [await _store(session, OLD) for _ in range(6)]
    assert set((await _key_ids(session)).values()) == {OLD_ID}

    # Rotated: BIOMETRIC_KEY=NEW, the old one kept as previous. Interrupted after one batch.
    rotated = _client(settings, _service(NEW, previous=OLD))
    batches: list[int] = []

    def stop_after_first(done: int) -> None:
        batches.append(done)
        raise Interrupted

    with pytest.raises(Interrupted):
        await rekey_all(sessionmaker, rotated, batch_size=3, on_batch=stop_after_first)
    assert list((await _key_ids(session)).values()).count(NEW_ID) == 3  # that batch committed

    totals: list[int] = []
    resumed = await rekey_all(sessionmaker, rotated, batch_size=3, on_start=totals.append)
    assert totals == [4]  # picked up where it stopped
    assert (resumed.resealed, resumed.unreadable) == (4, [])
    assert set((await _key_ids(session)).values()) == {NEW_ID}
    again = await rekey_all(sessionmaker, rotated, batch_size=3)
    assert (again.resealed, again.unreadable) == (0, [])  # idempotent: nothing left

    # The old key is no longer needed: a service holding only the new one verifies her.
    new_only = _client(settings, _service(NEW))
    template = await session.get(BiometricTemplate, her)
    assert template is not None
    wire = SealedTemplate(
        key_id=template.key_id,
        nonce=base64.b64encode(template.nonce).decode(),
        ciphertext=base64.b64encode(template.ciphertext).decode(),
    )
    answer = await new_only.verify(her, im.b64(im.astronaut_variants()["lighter"]), wire)
    assert answer.match is True
    assert answer.resealed is None
    # And every other template opens with the new key alone.
    ring = Keyring(NEW)
    for user_id in others:
        row = await session.get(BiometricTemplate, user_id)
        assert row is not None
        assert len(ring.open(Sealed(row.key_id, row.nonce, row.ciphertext), user_id=user_id)) == 128


async def test_a_template_no_key_opens_is_reported_and_the_rest_is_done(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    good = [await _store(session, OLD) for _ in range(2)]
    lost = await _store(session, LOST)
    rotated = _client(settings, _service(NEW, previous=OLD))
    outcome = await rekey_all(sessionmaker, rotated, batch_size=2)
    assert (outcome.resealed, outcome.unreadable) == (2, [lost])
    key_ids = await _key_ids(session)
    assert [key_ids[u] for u in good] == [NEW_ID, NEW_ID]
    assert key_ids[lost] == Keyring(LOST).current_id  # left as it was, for a later run


async def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    return await asyncio.to_thread(run)


@pytest.fixture
def rotated_service() -> Iterator[str]:
    with service_process(BIOMETRIC_KEY=NEW, BIOMETRIC_PREVIOUS_KEYS=OLD) as url:
        yield url


async def test_the_rekey_command_on_the_terminal(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings, rotated_service: str
) -> None:
    async with committed_db() as s:
        users = [await _store(s, OLD) for _ in range(3)]
        await s.commit()
    env = {
        **os.environ,
        "TAPWORK_ENV": "test",
        "DATABASE_URL": base_settings.database_url,
        "BIOMETRIC_URL": rotated_service,
        "BIOMETRIC_SECRET": SECRET,
        "COLUMNS": "120",
    }
    command = [str(Path(sys.executable).with_name("tapwork")), "biometric", "rekey"]
    first = await _run([*command, "--batch-size", "2"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Re-sealing templates" in first.stdout
    assert f"3 template(s) re-sealed; every readable template is under key {NEW_ID}" in first.stdout
    async with committed_db() as s:
        assert set((await _key_ids(s)).values()) == {NEW_ID}
        assert set(await _key_ids(s)) == set(users)
    second = await _run(command, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 template(s) re-sealed" in second.stdout
