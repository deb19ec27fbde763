"""The API's client against the real `tapwork biometric` process, a dead one and a hung one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tapwork.biometric.client import BiometricClient
from tapwork.biometric.errors import ServiceUnavailable
from tapwork.biometric.protocol import SealedTemplate
from tapwork.config import Settings
from tests.biometric import images as im
from tests.biometric.conftest import SECRET
from tests.biometric.processes import closed_port_url, hanging_service, service_process

pytestmark = pytest.mark.timeout(180)


def _client(settings: Settings, url: str, secret: str = SECRET) -> BiometricClient:
    settings.biometric_url = url
    settings.biometric_secret = SecretStr(secret)
    settings.biometric_timeout_seconds = 1.0
    return BiometricClient(settings)


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with service_process() as url:
        yield url


async def test_the_service_process_enrols_and_verifies(
    settings: Settings, service_url: str
) -> None:
    client = _client(settings, service_url)
    client.timeout = 10.0  # a cold process loads its models on the first call
    user_id = uuid.uuid4()
    try:
        enrolled = await client.enroll(user_id, [im.b64(b) for b in im.enrolment_images()])
        same = await client.verify(
            user_id, im.b64(im.astronaut_variants()["darker"]), enrolled.template
        )
        other = await client.verify(user_id, im.b64(im.other_people()[3]), enrolled.template)
    finally:
        await client.aclose()
    assert enrolled.images_used == 3
    assert same.match is True
    assert other.match is False


async def test_the_wrong_secret_is_not_an_answer(settings: Settings, service_url: str) -> None:
    client = _client(settings, service_url, secret="not-the-shared-secret")
    try:
        with pytest.raises(ServiceUnavailable):
            await client.enroll(uuid.uuid4(), [im.b64(b) for b in im.enrolment_images()])
    finally:
        await client.aclose()


async def test_a_service_that_is_down_is_unavailable(settings: Settings) -> None:
    client = _client(settings, closed_port_url())
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            await client.enroll(uuid.uuid4(), [im.b64(b) for b in im.enrolment_images()])
    finally:
        await client.aclose()
    assert raised.value.details["reason"] == "ConnectError"


async def test_a_service_that_hangs_is_unavailable_after_the_timeout(settings: Settings) -> None:
    with hanging_service() as url:
        client = _client(settings, url)
        try:
            with pytest.raises(ServiceUnavailable) as raised:
                await client.verify(
                    uuid.uuid4(),
                    im.b64(im.enrolment_images()[0]),
                    SealedTemplate(key_id="k", nonce="AAAA", ciphertext="AAAA"),
                )
        finally:
            await client.aclose()
    assert raised.value.details["reason"] == "ReadTimeout"
