"""Signed badge code data: `TW1:<kid>:<badge id>:<mac>`.

Every character is in the QR alphanumeric alphabet (0-9 A-Z space $%*+-./:), which QR encodes
at 5.5 bits a character instead of 8, so a 60-character code fits a version 3 symbol (29x29)
at error correction M, and Code128 readers type it back unchanged.

- `kid`: 1-8 characters of A-Z 2-7 naming the signing key (rotation keeps old kids verifying).
- badge id: the badge UUID as 26 characters of unpadded RFC 4648 base32.
- mac: HMAC-SHA256 over `TW1:<kid>:<badge id>`, truncated to 120 bits (24 base32 characters).

The per-kid key is HMAC(BADGE_SECRET, "tapwork-badge:" + kid): the database stores only the
kid, never key material. Functions here are pure; the scan path calls `verify` once per scan,
so derived keys and verified codes are cached and parsing never allocates more than it must.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from dataclasses import dataclass, field

from tapwork.badge.errors import InvalidQrCode

PREFIX = "TW1"
MAC_BYTES = 15  # 120 bits: far past brute force for an online, rate-limited oracle
MAX_CODE_LENGTH = 128  # badges.code_data column
KID_PATTERN = re.compile(r"[A-Z2-7]{1,8}")
# One pass over the whole code: kid, 26 base32 characters of id (ceil(128 / 5)), 24 of MAC.
# The id's 26th character carries 2 spare bits that must be zero (A E I M Q U Y 4), else one
# id would have four spellings.
_CODE = re.compile(PREFIX + r":([A-Z2-7]{1,8}):([A-Z2-7]{25}[AEIMQUY4]):([A-Z2-7]{24})")
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


# Codes a keyring has verified, remembered: every scan verifies its code, and a site's badges
# come back every day. Only codes that verified are kept (a flood of forged codes adds nothing),
# and a code is looked up by its exact string, so an altered one is checked afresh.
VERIFIED_CODES = 65_536  # about 10 MB at most; the memo starts over when full


@dataclass(slots=True)
class Keyring:
    """Derives (and caches) each kid's key from the badge secret."""

    secret: bytes
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    verified: dict[str, uuid.UUID] = field(default_factory=dict, repr=False)

    def key(self, kid: str) -> bytes:
        key = self._keys.get(kid)
        if key is None:
            key = hmac.digest(self.secret, b"tapwork-badge:" + kid.encode(), "sha256")
            self._keys[kid] = key
        return key


_keyrings: dict[bytes, Keyring] = {}


def keyring_for(secret: str | bytes) -> Keyring:
    """The shared keyring for a secret, so its key cache survives across requests."""
    raw = secret.encode() if isinstance(secret, str) else secret
    ring = _keyrings.get(raw)
    if ring is None:
        ring = _keyrings[raw] = Keyring(raw)
    return ring


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def _mac(keyring: Keyring, kid: str, encoded_id: str) -> str:
    message = f"{PREFIX}:{kid}:{encoded_id}".encode()
    return _b32(hmac.digest(keyring.key(kid), message, "sha256")[:MAC_BYTES])


def encode_id(badge_id: uuid.UUID) -> str:
    return _b32(badge_id.bytes)


def encode(badge_id: uuid.UUID, kid: str, keyring: Keyring) -> str:
    """The code data for a badge, signed with `kid`."""
    if not KID_PATTERN.fullmatch(kid):
        raise ValueError(f"invalid key id {kid!r}")
    encoded_id = encode_id(badge_id)
    return f"{PREFIX}:{kid}:{encoded_id}:{_mac(keyring, kid, encoded_id)}"


@dataclass(frozen=True, slots=True)
class ParsedCode:
    kid: str
    badge_id: uuid.UUID
    encoded_id: str
    mac: str


def parse(code: object) -> ParsedCode:
    """Split code data into its parts, refusing anything not in canonical form.

    Raises only `InvalidQrCode`. Does not check the signature (see `verify`).
    """
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        raise InvalidQrCode(reason="malformed")
    match = _CODE.fullmatch(code)
    if match is None:
        raise InvalidQrCode(reason="malformed")
    kid, encoded_id, mac = match.groups()
    try:
        raw = base64.b32decode(encoded_id + "======")
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the regex admits only valid
        raise InvalidQrCode(reason="malformed") from exc
    return ParsedCode(kid=kid, badge_id=uuid.UUID(bytes=raw), encoded_id=encoded_id, mac=mac)


def verify_parsed(parsed: ParsedCode, keyring: Keyring) -> uuid.UUID:
    expected = _mac(keyring, parsed.kid, parsed.encoded_id)
    if not hmac.compare_digest(expected, parsed.mac):
        raise InvalidQrCode(reason="bad_signature")
    return parsed.badge_id


def verify(code: object, keyring: Keyring) -> uuid.UUID:
    """The badge id a code was signed for. Raises `InvalidQrCode` (and nothing else) when the
    code is malformed or its signature does not match (constant-time comparison). The key of
    a kid is a pure function of the secret, so a code that verified once always will."""
    if isinstance(code, str) and (known := keyring.verified.get(code)) is not None:
        return known
    badge_id = verify_parsed(parse(code), keyring)
    if len(keyring.verified) >= VERIFIED_CODES:
        keyring.verified.clear()
    keyring.verified[code] = badge_id  # type: ignore[index] # parse() accepted only a str
    return badge_id
