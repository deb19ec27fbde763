"""The internal REST contract between the API and the biometric service (`/v1/...`).

The service keeps no state: the API stores the sealed template it gets from `enroll` and hands
it back with each `verify`. The key never leaves the service; the images never leave memory.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from tapwork.biometric.schemas import Base64Image

SECRET_HEADER = "X-Biometric-Secret"


class SealedTemplate(BaseModel):
    key_id: str = Field(max_length=16)
    nonce: str = Field(max_length=32, description="base64")
    ciphertext: str = Field(max_length=4096, description="base64")


class EnrollCall(BaseModel):
    user_id: uuid.UUID
    images: list[Base64Image] = Field(min_length=3, max_length=5)


class EnrollAnswer(BaseModel):
    template: SealedTemplate
    images_used: int


class VerifyCall(BaseModel):
    user_id: uuid.UUID
    image: Base64Image
    template: SealedTemplate


class VerifyAnswer(BaseModel):
    match: bool
    distance: float
    threshold: float
    # Set when the template was sealed with a previous key: store this one instead.
    resealed: SealedTemplate | None = None


# Re-sealing under the current key (`tapwork biometric rekey`): the API side has the rows,
# the service has the keys; templates go through it in batches, never decrypted elsewhere.
RESEAL_BATCH_MAX = 500


class KeyAnswer(BaseModel):
    key_id: str = Field(description="The key new and re-sealed templates are sealed with")


class ResealItem(BaseModel):
    user_id: uuid.UUID
    template: SealedTemplate


class ResealCall(BaseModel):
    templates: list[ResealItem] = Field(max_length=RESEAL_BATCH_MAX)


class ResealResult(BaseModel):
    user_id: uuid.UUID
    template: SealedTemplate | None = Field(description="Sealed with `key_id`; None on error")
    error: str | None = Field(description="BIOMETRIC_TEMPLATE_UNREADABLE: no key opens it")


class ResealAnswer(BaseModel):
    key_id: str
    templates: list[ResealResult]
