"""`tapwork biometric`: the face service, its own process and pod, internal only.

Stateless: enroll turns 3-5 images into one sealed template, verify compares one image with a
sealed template. Every call presents the shared secret (`X-Biometric-Secret`). Face work runs in
a worker thread so /health answers while a verify is computing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated, Any

import anyio
import structlog
from fastapi import Depends, FastAPI, Header, Request
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tapwork.biometric import face
from tapwork.biometric.codec import Keyring, Sealed
from tapwork.biometric.errors import InvalidImage, TemplateUnreadable
from tapwork.biometric.protocol import (
    SECRET_HEADER,
    EnrollAnswer,
    EnrollCall,
    KeyAnswer,
    ResealAnswer,
    ResealCall,
    ResealResult,
    SealedTemplate,
    VerifyAnswer,
    VerifyCall,
)
from tapwork.config import (
    DEV_SECRET,
    MIN_SECRET_LENGTH,
    PLACEHOLDER_SECRETS,
    Environment,
    InsecureSettings,
    _read_secret_files,
)
from tapwork.errors import Unauthorized, install_error_handlers

log = structlog.get_logger("tapwork.biometric")


class ServiceSettings(BaseSettings):
    """What the face service reads: its key, its shared secret, its threshold. No database."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Field(Environment.DEVELOPMENT, alias="TAPWORK_ENV")
    biometric_key: SecretStr = SecretStr("")
    biometric_previous_keys: SecretStr = SecretStr("")
    biometric_secret: SecretStr = SecretStr("")
    biometric_threshold: float = Field(default=0.5, gt=0, lt=2)
    # Concurrent face computations (each ~0.3 s of one core).
    biometric_workers: int = Field(default=2, ge=1, le=64)

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, values: Any) -> Any:
        return _read_secret_files(values) if isinstance(values, dict) else values

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        for name in ("biometric_key", "biometric_secret"):
            value = getattr(self, name).get_secret_value()
            if self.environment is not Environment.PRODUCTION:
                if not value:
                    setattr(self, name, SecretStr(f"{DEV_SECRET}-{name}-not-for-production"))
                continue
            if value.lower() in PLACEHOLDER_SECRETS or value.startswith(DEV_SECRET):
                raise InsecureSettings(f"{name.upper()} must be set to a real secret in production")
            if len(value) < MIN_SECRET_LENGTH:
                raise InsecureSettings(f"{name.upper()} is too short: use {MIN_SECRET_LENGTH}+")
        return self


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage("Not valid base64", field=field) from exc


def _wire(sealed: Sealed) -> SealedTemplate:
    return SealedTemplate(
        key_id=sealed.key_id, nonce=_b64(sealed.nonce), ciphertext=_b64(sealed.ciphertext)
    )


def create_service_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    keyring = Keyring.from_settings(
        settings.biometric_key.get_secret_value(),
        settings.biometric_previous_keys.get_secret_value(),
    )
    secret = settings.biometric_secret.get_secret_value().encode()
    limiter = anyio.CapacityLimiter(settings.biometric_workers)
    app = FastAPI(title="TAPWORK biometric service", docs_url=None, redoc_url=None)
    install_error_handlers(app)

    async def authenticated(
        x_biometric_secret: Annotated[str | None, Header(alias=SECRET_HEADER)] = None,
    ) -> None:
        given = (x_biometric_secret or "").encode()
        if not hmac.compare_digest(given, secret):
            raise Unauthorized("The shared secret is missing or wrong")

    async def embed(data: bytes) -> list[float]:
        return await anyio.to_thread.run_sync(face.embed, data, limiter=limiter)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        await anyio.to_thread.run_sync(face.model)  # the models load (and are readable)
        return {"status": "ready"}

    @app.post("/v1/enroll", dependencies=[Depends(authenticated)])
    async def enroll(call: EnrollCall, request: Request) -> EnrollAnswer:
        vectors = []
        for index, image in enumerate(call.images):
            vectors.append(await embed(_unb64(image, f"images.{index}")))
        sealed = keyring.seal(face.mean_template(vectors), user_id=call.user_id)
        # Never the images or the vector: only the fact and its size.
        log.info("biometric_enroll", user_id=str(call.user_id), images=len(vectors))
        return EnrollAnswer(template=_wire(sealed), images_used=len(vectors))

    @app.post("/v1/verify", dependencies=[Depends(authenticated)])
    async def verify(call: VerifyCall) -> VerifyAnswer:
        stored = Sealed(
            key_id=call.template.key_id,
            nonce=_unb64(call.template.nonce, "template.nonce"),
            ciphertext=_unb64(call.template.ciphertext, "template.ciphertext"),
        )
        template = keyring.open(stored, user_id=call.user_id)
        probe = await embed(_unb64(call.image, "image"))
        distance = face.distance(template, probe)
        resealed = None
        if stored.key_id != keyring.current_id:
            resealed = _wire(keyring.seal(template, user_id=call.user_id))
        match = distance <= settings.biometric_threshold
        log.info("biometric_verify", user_id=str(call.user_id), match=match)
        return VerifyAnswer(
            match=match,
            distance=round(distance, 4),
            threshold=settings.biometric_threshold,
            resealed=resealed,
        )

    @app.get("/v1/key", dependencies=[Depends(authenticated)])
    async def current_key() -> KeyAnswer:
        return KeyAnswer(key_id=keyring.current_id)

    @app.post("/v1/reseal", dependencies=[Depends(authenticated)])
    async def reseal(call: ResealCall) -> ResealAnswer:
        """Each template sealed again under the current key (one already under it comes back
        as it is). A template no key opens is reported, not fatal: the rest of the batch goes
        on."""
        results = []
        for item in call.templates:
            stored = Sealed(
                key_id=item.template.key_id,
                nonce=_unb64(item.template.nonce, "template.nonce"),
                ciphertext=_unb64(item.template.ciphertext, "template.ciphertext"),
            )
            if stored.key_id == keyring.current_id:
                results.append(
                    ResealResult(user_id=item.user_id, template=item.template, error=None)
                )
                continue
            try:
                vector = keyring.open(stored, user_id=item.user_id)
            except TemplateUnreadable:
                results.append(
                    ResealResult(user_id=item.user_id, template=None, error=TemplateUnreadable.code)
                )
                continue
            sealed = _wire(keyring.seal(vector, user_id=item.user_id))
            results.append(ResealResult(user_id=item.user_id, template=sealed, error=None))
        log.info("biometric_reseal", templates=len(results))
        return ResealAnswer(key_id=keyring.current_id, templates=results)

    return app
