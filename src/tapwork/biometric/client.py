"""The API's side of the internal contract: calls to the biometric service over HTTP.

Any failure to get an answer (refused, timed out, 5xx, garbage) is `ServiceUnavailable`, which
the scan turns into "badge alone, flagged"; a 422 (no face, bad image) is the caller's error.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from tapwork.biometric.errors import FaceNotFound, InvalidImage, ServiceUnavailable
from tapwork.biometric.protocol import (
    SECRET_HEADER,
    EnrollAnswer,
    EnrollCall,
    KeyAnswer,
    ResealAnswer,
    ResealCall,
    ResealItem,
    SealedTemplate,
    VerifyAnswer,
    VerifyCall,
)
from tapwork.config import Settings

Answer = TypeVar("Answer", EnrollAnswer, VerifyAnswer, KeyAnswer, ResealAnswer)


class BiometricClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.timeout = settings.biometric_timeout_seconds
        self._http = httpx.AsyncClient(
            base_url=settings.biometric_url,
            headers={SECRET_HEADER: settings.biometric_secret.get_secret_value()},
            transport=transport,
            # Enrolment computes 3-5 faces; a scan's verify gets the short timeout per call.
            timeout=httpx.Timeout(30.0, connect=min(self.timeout, 2.0)),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, path: str, body: dict[str, Any] | None, wait: float | None) -> Any:
        try:
            response = await self._http.request(
                "POST" if body is not None else "GET",
                path,
                json=body,
                timeout=wait if wait is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                "The biometric service did not answer", reason=type(exc).__name__
            ) from exc
        if response.status_code == 422:
            error = _error_of(response)
            cls = FaceNotFound if error.get("code") == FaceNotFound.code else InvalidImage
            raise cls(error.get("message") or "The image was refused")
        if response.status_code != 200:
            raise ServiceUnavailable("The biometric service failed", status=response.status_code)
        return response.json()

    async def enroll(self, user_id: uuid.UUID, images: list[str]) -> EnrollAnswer:
        body = EnrollCall(user_id=user_id, images=images).model_dump(mode="json")
        return _parse(EnrollAnswer, await self._call("/v1/enroll", body, None))

    async def verify(
        self, user_id: uuid.UUID, image: str, template: SealedTemplate
    ) -> VerifyAnswer:
        body = VerifyCall(user_id=user_id, image=image, template=template).model_dump(mode="json")
        return _parse(VerifyAnswer, await self._call("/v1/verify", body, self.timeout))

    async def current_key_id(self) -> str:
        return _parse(KeyAnswer, await self._call("/v1/key", None, None)).key_id

    async def reseal(self, items: list[tuple[uuid.UUID, SealedTemplate]]) -> ResealAnswer:
        call = ResealCall(templates=[ResealItem(user_id=u, template=t) for u, t in items])
        return _parse(
            ResealAnswer, await self._call("/v1/reseal", call.model_dump(mode="json"), None)
        )


def _error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return {}
    return error if isinstance(error, dict) else {}


def _parse(model: type[Answer], data: Any) -> Answer:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServiceUnavailable("The biometric service answered nonsense") from exc
