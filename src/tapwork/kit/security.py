"""Password hashing, opaque tokens and JWTs. Domain-free.

Hashing runs in a worker thread: argon2id costs hundreds of milliseconds by design, and a login
must never stall the event loop that serves the kiosks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

JWT_ALGORITHM = "HS256"


class PasswordHasher:
    """argon2id for new hashes; bcrypt hashes from a migrated system verify and get upgraded."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost), BcryptHasher())
        )
        # Verifying against this when the user does not exist keeps timing uniform.
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """(valid, new hash if the stored one should be upgraded)."""
        target = hashed or self._dummy
        valid, updated = await asyncio.to_thread(self._hash.verify_and_update, password, target)
        if hashed is None:
            return False, None
        return bool(valid), updated


def new_token(nbytes: int = 32) -> str:
    """An opaque URL-safe token for refresh, verification, reset and pairing."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are high-entropy, so a slow hash buys nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    a_b = a.encode() if isinstance(a, str) else a
    b_b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_b, b_b)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    sub: uuid.UUID
    role: str
    jti: str
    iat: datetime
    exp: datetime


def encode_access_token(
    *, secret: str, user_id: uuid.UUID, role: str, now: datetime, ttl: timedelta
) -> str:
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM)


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    # bool is an int to Python; a float or a string is not what we sign.
    if type(value) is not int:
        raise jwt.InvalidTokenError(f"claim {name} is not an integer")
    return value


def _str_claim(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise jwt.InvalidTokenError(f"claim {name} is not a string")
    return value


def decode_access_token(token: str, *, secret: str, now: datetime) -> AccessClaims:
    """The token's claims, each of the type we sign it with. Raises `jwt.InvalidTokenError`
    (or its subclass `ExpiredSignatureError`) on a bad signature, a claim of the wrong type,
    expiry or a token that is not an access token: a signed token is still client input."""
    try:
        payload: Any = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            # Checked below with types enforced: PyJWT's own checks let a list or a string
            # `exp` or `iat` through to `int()` (a TypeError, not an InvalidTokenError).
            options={
                "require": ["sub", "exp", "iat", "jti"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except (TypeError, ValueError, OverflowError) as exc:
        raise jwt.InvalidTokenError("malformed token") from exc
    if not isinstance(payload, dict) or payload.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    exp, iat = _int_claim(payload, "exp"), _int_claim(payload, "iat")
    try:
        sub = uuid.UUID(_str_claim(payload, "sub"))
        expires, issued = (datetime.fromtimestamp(t, UTC) for t in (exp, iat))
    except (ValueError, OverflowError, OSError) as exc:
        raise jwt.InvalidTokenError("malformed claim") from exc
    # Expiry is checked against the injected clock, so tests control time.
    if exp <= int(now.timestamp()):
        raise jwt.ExpiredSignatureError("token expired")
    role = payload.get("role", "")
    if not isinstance(role, str):
        raise jwt.InvalidTokenError("claim role is not a string")
    return AccessClaims(sub=sub, role=role, jti=_str_claim(payload, "jti"), iat=issued, exp=expires)
