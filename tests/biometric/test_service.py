"""The face service on its own: accuracy on shipped images, the largest face, the key, the
secret, and that nothing of an image is logged."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from PIL import Image
from structlog.testing import LogCapture

from tapwork.biometric import server
from tapwork.biometric.codec import Keyring, Sealed
from tapwork.biometric.errors import TemplateUnreadable
from tapwork.biometric.protocol import SECRET_HEADER
from tapwork.biometric.server import create_service_app
from tests.biometric import images as im
from tests.biometric.conftest import KEY, SECRET, service_settings

pytestmark = pytest.mark.timeout(300)


async def _enroll(service: httpx.AsyncClient, user_id: uuid.UUID) -> dict[str, Any]:
    images = [im.b64(b) for b in im.enrolment_images()]
    response = await service.post("/v1/enroll", json={"user_id": str(user_id), "images": images})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _verify(
    service: httpx.AsyncClient, user_id: uuid.UUID, template: dict[str, Any], image: bytes
) -> httpx.Response:
    return await service.post(
        "/v1/verify",
        json={"user_id": str(user_id), "image": im.b64(image), "template": template},
    )


@pytest.fixture(scope="module")
def user_id() -> uuid.UUID:
    return uuid.uuid4()


async def test_same_person_accepted_under_flip_light_rotation_crop(
    service: httpx.AsyncClient, user_id: uuid.UUID
) -> None:
    template = (await _enroll(service, user_id))["template"]
    for name, image in im.astronaut_variants().items():
        answer = (await _verify(service, user_id, template, image)).json()
        assert answer["match"] is True, (name, answer)
        assert answer["distance"] <= answer["threshold"]


async def test_other_people_rejected(service: httpx.AsyncClient, user_id: uuid.UUID) -> None:
    template = (await _enroll(service, user_id))["template"]
    compared = 0
    for image in im.other_people():
        response = await _verify(service, user_id, template, image)
        if response.status_code == 422:  # no confident face in a 25 px thumbnail: no match either
            assert response.json()["error"]["code"] == "FACE_NOT_FOUND"
            continue
        answer = response.json()
        assert answer["match"] is False, answer
        compared += 1
    assert compared >= 80  # most LFW thumbnails do hold a detectable face


async def test_the_largest_face_in_the_frame_is_the_one_verified(
    service: httpx.AsyncClient, user_id: uuid.UUID
) -> None:
    template = (await _enroll(service, user_id))["template"]
    her = im.astronaut().crop((130, 40, 320, 230))
    stranger = Image.open(io.BytesIO(im.other_people()[0]))
    in_front = (await _verify(service, user_id, template, im.two_faces(her, stranger))).json()
    behind = (await _verify(service, user_id, template, im.two_faces(stranger, her))).json()
    assert in_front["match"] is True
    assert behind["match"] is False


async def test_enrolment_takes_three_to_five_images(
    service: httpx.AsyncClient, user_id: uuid.UUID
) -> None:
    one = [im.b64(im.enrolment_images()[0])]
    for images in (one * 2, one * 6):
        response = await service.post(
            "/v1/enroll", json={"user_id": str(user_id), "images": images}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_an_image_without_a_face_or_not_an_image_is_a_clear_422(
    service: httpx.AsyncClient, user_id: uuid.UUID
) -> None:
    template = (await _enroll(service, user_id))["template"]
    grey = im.jpeg(Image.new("RGB", (320, 240), (90, 90, 90)))
    no_face = await _verify(service, user_id, template, grey)
    assert no_face.status_code == 422
    assert no_face.json()["error"]["code"] == "FACE_NOT_FOUND"
    garbage = await _verify(service, user_id, template, b"not an image at all" * 4)
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "VALIDATION_ERROR"  # refused by the schema
    broken = await _verify(service, user_id, template, b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "INVALID_IMAGE"  # a JPEG header, then nothing


async def test_calls_without_the_shared_secret_are_refused(
    service_app: FastAPI, user_id: uuid.UUID
) -> None:
    images = [im.b64(b) for b in im.enrolment_images()]
    transport = httpx.ASGITransport(app=service_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://biometric") as client:
        for headers in ({}, {SECRET_HEADER: "wrong-secret"}):
            response = await client.post(
                "/v1/enroll", json={"user_id": str(user_id), "images": images}, headers=headers
            )
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
            # Re-sealing (tapwork biometric rekey) and the key id too.
            for answer in (
                await client.post("/v1/reseal", json={"templates": []}, headers=headers),
                await client.get("/v1/key", headers=headers),
            ):
                assert answer.status_code == 401


async def test_a_template_is_unreadable_without_its_key(
    service: httpx.AsyncClient, user_id: uuid.UUID
) -> None:
    wire = (await _enroll(service, user_id))["template"]
    sealed = Sealed(
        wire["key_id"], base64.b64decode(wire["nonce"]), base64.b64decode(wire["ciphertext"])
    )
    assert len(sealed.ciphertext) == 128 * 8 + 16  # 128 doubles + the GCM tag, nothing more
    assert len(Keyring(KEY).open(sealed, user_id=user_id)) == 128
    other_key = Keyring("another-key-entirely-0123456789abcdef0123")
    forged = Sealed(other_key.current_id, sealed.nonce, sealed.ciphertext)
    with pytest.raises(TemplateUnreadable):
        other_key.open(sealed, user_id=user_id)
    with pytest.raises(TemplateUnreadable):
        other_key.open(forged, user_id=user_id)
    with pytest.raises(TemplateUnreadable):  # bound to its user: copying it to another fails
        Keyring(KEY).open(sealed, user_id=uuid.uuid4())


async def test_a_template_under_a_previous_key_is_resealed_with_the_current_one(
    user_id: uuid.UUID,
) -> None:
    old = Keyring("the-old-biometric-key-0123456789abcdef0123")
    vector = [0.01 * i for i in range(128)]
    sealed = old.seal(vector, user_id=user_id)
    app = create_service_app(
        service_settings(biometric_previous_keys="the-old-biometric-key-0123456789abcdef0123")
    )
    template = {
        "key_id": sealed.key_id,
        "nonce": base64.b64encode(sealed.nonce).decode(),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b", headers={SECRET_HEADER: SECRET}
    ) as client:
        answer = (await _verify(client, user_id, template, im.enrolment_images()[0])).json()
    assert answer["match"] is False  # a made-up vector
    assert answer["resealed"]["key_id"] == Keyring(KEY).current_id != sealed.key_id


async def test_nothing_of_an_image_is_logged(
    service: httpx.AsyncClient,
    user_id: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    capture = LogCapture()
    monkeypatch.setattr(
        server,
        "log",
        structlog.wrap_logger(None, processors=[capture], wrapper_class=structlog.BoundLogger),
    )
    template = (await _enroll(service, user_id))["template"]
    await _verify(service, user_id, template, im.astronaut_variants()["flip"])
    logs = capture.entries
    assert {entry["event"] for entry in logs} >= {"biometric_enroll", "biometric_verify"}
    printed = capfd.readouterr()
    text = repr(logs) + printed.out + printed.err
    for image in [*im.enrolment_images(), im.astronaut_variants()["flip"]]:
        assert im.b64(image)[100:140] not in text
    assert template["ciphertext"] not in text
