"""Signed one-click unsubscribe links for optional kinds (RFC 8058).

The link names a user and a kind and carries an HMAC of both under a key derived from
`JWT_SECRET` (its own purpose string, so it can never pass for a session token or the other
way round). It does not expire: it can only turn one optional kind off for one user, which
the user can turn on again in the portal. Rotating `JWT_SECRET` invalidates old links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from functools import cache

from tapwork.config import Settings
from tapwork.notification.kinds import OPTIONAL_KINDS, Kind

PATH = "/api/v1/notifications/unsubscribe"
_PURPOSE = b"tapwork/unsubscribe/v1"


def _key(settings: Settings) -> bytes:
    return _derived(settings.jwt_secret.get_secret_value())


@cache
def _derived(secret: str) -> bytes:
    # Once per secret, not once per mail (the worker signs a link for every optional mail).
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def signature(user_id: uuid.UUID, kind: str, settings: Settings) -> str:
    mac = hmac.new(_key(settings), f"{user_id}:{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def url(user_id: uuid.UUID, kind: str, settings: Settings) -> str:
    """The link for `kind`, or "" for a security kind (never unsubscribable)."""
    try:
        known = Kind(kind)
    except ValueError:
        return ""
    if known not in OPTIONAL_KINDS:
        return ""
    # What urlencode() gives, written directly: a UUID, a kind name ([a-z_]) and 24
    # characters of URL-safe base64 (18 bytes, no padding) need no escaping.
    query = f"u={user_id}&k={known.value}&s={signature(user_id, kind, settings)}"
    return f"{settings.public_url.rstrip('/')}{PATH}?{query}"


def verify(user_id: uuid.UUID, kind: str, sig: str, settings: Settings) -> Kind | None:
    """The optional kind the link turns off, or None for a forged or non-optional one."""
    try:
        known = Kind(kind)
    except ValueError:
        return None
    if known not in OPTIONAL_KINDS:
        return None
    if not hmac.compare_digest(signature(user_id, kind, settings), sig):
        return None
    return known
