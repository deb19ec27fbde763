"""Templates sealed with AES-GCM (`cryptography`), with a key id so keys can be rotated.

`BIOMETRIC_KEY` is any high-entropy secret; the 256-bit AES key is derived from it with HKDF,
so an operator can paste a generated string without caring about its encoding. Old keys stay
readable through `BIOMETRIC_PREVIOUS_KEYS` until `tapwork biometric rekey` re-seals everything.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tapwork.biometric.errors import TemplateUnreadable

_INFO = b"tapwork biometric template v1"
NONCE_BYTES = 12
DIMENSIONS = 128


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def key_id_of(key: bytes) -> str:
    """A short public name for a key: a hash of the derived key, not of the secret."""
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


class Keyring:
    """The current key (seals) and the previous ones (open only)."""

    def __init__(self, current: str, previous: list[str] | None = None) -> None:
        if not current:
            raise ValueError("BIOMETRIC_KEY is empty")
        self.current = _derive(current)
        self.current_id = key_id_of(self.current)
        self._keys = {self.current_id: self.current}
        for secret in previous or []:
            key = _derive(secret)
            self._keys.setdefault(key_id_of(key), key)

    @classmethod
    def from_settings(cls, current: str, previous: str) -> Keyring:
        return cls(current, [s.strip() for s in previous.split(",") if s.strip()])

    def seal(self, vector: list[float], *, user_id: uuid.UUID) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        plaintext = struct.pack(f"<{len(vector)}d", *vector)
        ciphertext = AESGCM(self.current).encrypt(nonce, plaintext, user_id.bytes)
        return Sealed(self.current_id, nonce, ciphertext)

    def open(self, sealed: Sealed, *, user_id: uuid.UUID) -> list[float]:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise TemplateUnreadable(
                "The template was sealed with an unknown key", key_id=sealed.key_id
            )
        try:
            plaintext = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, user_id.bytes)
        except InvalidTag as exc:
            raise TemplateUnreadable("The template does not decrypt with its key") from exc
        return list(struct.unpack(f"<{len(plaintext) // 8}d", plaintext))
