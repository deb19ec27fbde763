"""The shortcuts on the per-mail path write what the general code wrote: encoded-words cut on
bytes, unsubscribe links without urlencode()."""

from __future__ import annotations

import uuid
from email.header import decode_header, make_header
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from tapwork.config import Settings
from tapwork.notification import mime, unsubscribe
from tapwork.notification.kinds import OPTIONAL_KINDS


def _words_char_by_char(text: str) -> str:
    # The previous implementation: add characters while the word stays within 39 bytes.
    words: list[str] = []
    chunk = bytearray()
    for char in text:
        encoded = char.encode()
        if len(chunk) + len(encoded) > mime._WORD_BYTES:
            words.append(mime._word(bytes(chunk)))
            chunk.clear()
        chunk.extend(encoded)
    if chunk:
        words.append(mime._word(bytes(chunk)))
    return "\r\n ".join(words)


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_encoded_words_cut_on_bytes_as_they_were_cut_on_characters(text: str) -> None:
    assert mime._encoded_words(text) == _words_char_by_char(text)


def test_encoded_words_never_split_a_character() -> None:
    text = "Fichaje · Zoë " + "€" * 30 + " 🙂🙂🙂"
    encoded = mime._encoded_words(text)
    assert all(len(line) <= 76 for line in encoded.split("\r\n "))
    assert str(make_header(decode_header(encoded))) == text


def test_unsubscribe_links_are_what_urlencode_wrote() -> None:
    settings = Settings(TAPWORK_ENV="test", public_url="http://portal.test/")
    for n in range(50):
        user_id = uuid.UUID(int=n * 7919 + 1)
        for kind in sorted(OPTIONAL_KINDS):
            query = urlencode(
                {
                    "u": str(user_id),
                    "k": kind.value,
                    "s": unsubscribe.signature(user_id, kind, settings),
                }
            )
            assert unsubscribe.url(user_id, kind.value, settings) == (
                f"http://portal.test{unsubscribe.PATH}?{query}"
            )
            sig = unsubscribe.url(user_id, kind.value, settings).rpartition("s=")[2]
            assert unsubscribe.verify(user_id, kind.value, sig, settings) is kind
