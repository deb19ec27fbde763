"""The badge code format: round trips, canonical form, and forgeries rejected."""

from __future__ import annotations

import random
import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapwork.badge import codec
from tapwork.badge.errors import InvalidQrCode

RING = codec.Keyring(b"test-secret-for-badges-0123456789")
OTHER_RING = codec.Keyring(b"another-secret-for-badges-987654")

kids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=1, max_size=8)


@given(badge_id=st.uuids(), kid=kids)
def test_round_trip_in_qr_alphanumeric_alphabet(badge_id: uuid.UUID, kid: str) -> None:
    code = codec.encode(badge_id, kid, RING)
    assert set(code) <= codec.QR_ALPHANUMERIC
    assert len(code) <= codec.MAX_CODE_LENGTH
    assert codec.verify(code, RING) == badge_id


def test_code_is_compact() -> None:
    code = codec.encode(uuid.uuid4(), "ABCD", RING)
    # 60 characters: a version 3 QR symbol at error correction M.
    assert len(code) == 60
    assert code.startswith("TW1:ABCD:")


@given(badge_id=st.uuids())
def test_other_secret_rejects(badge_id: uuid.UUID) -> None:
    code = codec.encode(badge_id, "ABCD", OTHER_RING)
    with pytest.raises(InvalidQrCode):
        codec.verify(code, RING)


@given(garbage=st.one_of(st.text(max_size=200), st.binary(), st.integers(), st.none()))
def test_garbage_raises_only_invalid_qr_code(garbage: object) -> None:
    with pytest.raises(InvalidQrCode):
        codec.verify(garbage, RING)


@given(badge_id=st.uuids(), data=st.data())
def test_any_single_alteration_rejected(badge_id: uuid.UUID, data: st.DataObject) -> None:
    code = codec.encode(badge_id, "ABCD", RING)
    i = data.draw(st.integers(0, len(code) - 1))
    replacement = data.draw(st.sampled_from(sorted(codec.QR_ALPHANUMERIC - {code[i]})))
    with pytest.raises(InvalidQrCode):
        codec.verify(code[:i] + replacement + code[i + 1 :], RING)


def test_non_canonical_id_spelling_rejected() -> None:
    badge_id = uuid.UUID(int=0)
    code = codec.encode(badge_id, "ABCD", RING)
    prefix, kid, encoded_id, mac = code.split(":")
    # The last base32 character of 26 carries 2 spare bits; setting them names the same bytes.
    assert encoded_id[-1] == "A"
    altered = f"{prefix}:{kid}:{encoded_id[:-1]}B:{mac}"
    with pytest.raises(InvalidQrCode) as exc:
        codec.verify(altered, RING)
    assert exc.value.details["reason"] == "malformed"


def test_lowercase_and_whitespace_rejected() -> None:
    code = codec.encode(uuid.uuid4(), "ABCD", RING)
    for variant in (code.lower(), f" {code}", f"{code}\n", code + ":", code.replace(":", "-", 1)):
        with pytest.raises(InvalidQrCode):
            codec.verify(variant, RING)


def _mutations(code: str, rng: random.Random) -> str:
    """A forged, truncated, extended or altered variant of `code` (never `code` itself)."""
    alphabet = sorted(codec.QR_ALPHANUMERIC) + list(string.ascii_lowercase) + ["\x00", "é"]
    kind = rng.randrange(6)
    if kind == 0:  # truncated
        out = code[: rng.randrange(len(code))]
    elif kind == 1:  # extended
        out = code + "".join(rng.choices(alphabet, k=rng.randint(1, 5)))
    elif kind == 2:  # a few characters altered
        chars = list(code)
        for i in rng.sample(range(len(code)), rng.randint(1, 4)):
            chars[i] = rng.choice([c for c in alphabet if c != chars[i]])
        out = "".join(chars)
    elif kind == 3:  # forged: well-formed, random MAC
        prefix, kid, encoded_id, _ = code.split(":")
        mac = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=24))
        out = f"{prefix}:{kid}:{encoded_id}:{mac}"
    elif kind == 4:  # another badge id under this MAC
        prefix, kid, _, mac = code.split(":")
        out = f"{prefix}:{kid}:{codec.encode_id(uuid.UUID(int=rng.getrandbits(128)))}:{mac}"
    else:  # another kid under this MAC
        prefix, _, encoded_id, mac = code.split(":")
        kid = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=rng.randint(1, 8)))
        out = f"{prefix}:{kid}:{encoded_id}:{mac}"
    return out if out != code else code[:-1]


def test_ten_thousand_forged_truncated_or_altered_codes_rejected() -> None:
    rng = random.Random(20261201)
    genuine = [codec.encode(uuid.UUID(int=rng.getrandbits(128)), "ABCD", RING) for _ in range(50)]
    accepted = []
    for n in range(10_000):
        candidate = _mutations(genuine[n % len(genuine)], rng)
        try:
            codec.verify(candidate, RING)
        except InvalidQrCode:
            continue
        accepted.append(candidate)
    assert accepted == []


def test_keyring_caches_derived_keys() -> None:
    ring = codec.Keyring(b"x" * 32)
    assert ring.key("ABCD") is ring.key("ABCD")
    assert ring.key("ABCD") != ring.key("ABCE")
    assert codec.keyring_for("same") is codec.keyring_for("same")


def test_a_verified_code_is_remembered_and_nothing_else_passes_with_it() -> None:
    """Scans verify the same badges every day, so a keyring remembers codes that verified;
    the memo is by exact string and per keyring, holds only good codes and is bounded."""
    ring = codec.Keyring(b"memo-secret-for-badges-0123456789")
    badge_id = uuid.uuid4()
    code = codec.encode(badge_id, "ABCD", ring)
    assert codec.verify(code, ring) == badge_id
    assert ring.verified == {code: badge_id}
    assert codec.verify(code, ring) == badge_id
    rng = random.Random(7)
    for _ in range(500):
        with pytest.raises(InvalidQrCode):
            codec.verify(_mutations(code, rng), ring)
    with pytest.raises(InvalidQrCode):
        codec.verify(code, OTHER_RING)  # verified under another secret: no
    assert list(ring.verified) == [code]  # rejected codes are not remembered
    for n in range(codec.VERIFIED_CODES):
        ring.verified[f"filler-{n}"] = badge_id
    codec.verify(codec.encode(uuid.uuid4(), "ABCD", ring), ring)
    assert len(ring.verified) == 1  # full: started over


@settings(max_examples=50)
@given(kid=st.text(max_size=10).filter(lambda k: not codec.KID_PATTERN.fullmatch(k)))
def test_encode_refuses_bad_kid(kid: str) -> None:
    with pytest.raises(ValueError):
        codec.encode(uuid.uuid4(), kid, RING)
