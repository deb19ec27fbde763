"""The wire form of one mail, built as bytes in a few string operations.

`email.message.EmailMessage` with the default policy cost ~1.7 ms per mail to build and flatten
(header objects, content managers, a generator walking the tree): more than everything else the
worker does for a mail. Our messages always have the same shape, so they are written directly:

    multipart/alternative
      text/plain; charset=utf-8          quoted-printable
      text/html; charset=utf-8           quoted-printable
      (or multipart/related: the HTML, then inline PNGs in base64, for the welcome QR)
    (inside multipart/mixed, followed by the files in base64, when the mail has attachments:
    a scheduled report)

The encoders are the C ones in `binascii`. Headers are checked rather than trusted: the
recipient must be a plain ASCII address (no CR/LF/`<>`, which would be header or SMTP command
injection), the subject is already one line (render.py) and goes out as RFC 2047 encoded-words
when it is not short ASCII. Tests parse the bytes back with the `email` package.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime, parseaddr
from functools import cache

from tapwork.notification.render import Rendered

# Encoded-words: at most 75 characters each; 39 bytes of UTF-8 (52 base64 characters) keep
# a `Subject:` line under 78.
_WORD_BYTES = 39
# A boundary of `=_` cannot occur in quoted-printable (`=` is always `=XX`) or base64 output.
_BOUNDARY = "=_tapwork_{}_{}"
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


class Unencodable(ValueError):
    """The recipient cannot be written into a header or an SMTP command."""


def check_address(address: str) -> str:
    if not address.isascii():
        raise Unencodable(f"the address {address!r} has non-ASCII characters")
    if _PLAIN_ADDRESS.fullmatch(address) is None:
        raise Unencodable(f"the address {address!r} is not a plain mailbox address")
    return address


def _encoded_words(text: str) -> str:
    """Words of at most _WORD_BYTES of UTF-8 each, never splitting a character: the longest
    prefix that fits, cut back to a character boundary (continuation bytes are 0b10xxxxxx)."""
    data = text.encode()
    words: list[str] = []
    start, size = 0, len(data)
    while start < size:
        end = start + _WORD_BYTES
        if end < size:
            while data[end] & 0xC0 == 0x80:
                end -= 1
        words.append(_word(data[start:end]))
        start = end
    return "\r\n ".join(words)


def _word(data: bytes) -> str:
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def header_text(value: str) -> str:
    """A header value: ASCII as is when it fits a line, else encoded-words (RFC 2047)."""
    value = " ".join(value.split())
    if value.isascii() and len(value) <= 76 and "=?" not in value:
        return value
    return _encoded_words(value)


@cache
def _from_header(sender: str) -> tuple[str, str]:
    """`Name <addr>` with the display name encoded when needed, and the envelope address."""
    name, address = parseaddr(sender)
    check_address(address)
    if not name:
        return address, address
    if name.isascii() and re.fullmatch(r"[A-Za-z0-9 .!#$%&'*+/=?^_`{|}~-]*", name):
        return f"{name} <{address}>", address
    return f"{_encoded_words(name)} <{address}>", address


def envelope_sender(sender: str) -> str:
    return _from_header(sender)[1]


def _qp(text: str) -> bytes:
    # istext: line breaks stay line breaks; trailing spaces and `=` are encoded; lines ≤ 76.
    return binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")


def _base64_lines(data: bytes) -> bytes:
    return b"".join(
        binascii.b2a_base64(data[i : i + 57]).replace(b"\n", b"\r\n")
        for i in range(0, len(data), 57)
    )


def _text_part(subtype: str, text: str) -> bytes:
    return (
        f"Content-Type: text/{subtype}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + _qp(text)


def build(
    rendered: Rendered,
    *,
    to: str,
    sender: str,
    message_id: str,
    date: datetime,
    domain: str,
    language: str = "en",
    extra_headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The complete message, CRLF line ends, ready for SMTP DATA."""
    check_address(to)
    from_header, _ = _from_header(sender)
    token = message_id.replace("-", "")
    outer = _BOUNDARY.format("a", token)
    head = [
        f"From: {from_header}",
        f"To: {to}",
        f"Subject: {header_text(rendered.subject)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{message_id}@{domain}>",
        "Auto-Submitted: auto-generated",
        f"Content-Language: {language}",
        *(f"{name}: {value}" for name, value in extra_headers),
        "MIME-Version: 1.0",
        (
            f'Content-Type: multipart/mixed; boundary="{_BOUNDARY.format("m", token)}"'
            if rendered.attachments
            else f'Content-Type: multipart/alternative; boundary="{outer}"'
        ),
    ]
    for line in head:
        unfolded = line.replace("\r\n ", " ")
        if "\n" in unfolded or "\r" in unfolded:
            raise Unencodable(f"a header would span lines: {line[:60]!r}")
    parts = [_text_part("plain", rendered.text)]
    html = _text_part("html", rendered.html)
    if rendered.inline:
        inner = _BOUNDARY.format("r", token)
        related = [html]
        for image in rendered.inline:
            related.append(
                (
                    f'Content-Type: image/png; name="{image.filename}"\r\n'
                    "Content-Transfer-Encoding: base64\r\n"
                    f'Content-Disposition: inline; filename="{image.filename}"\r\n'
                    f"Content-ID: <{image.cid}>\r\n\r\n"
                ).encode()
                + _base64_lines(image.png)
            )
        html = f'Content-Type: multipart/related; boundary="{inner}"\r\n\r\n'.encode() + _join(
            related, inner
        )
    parts.append(html)
    body = _join(parts, outer)
    if rendered.attachments:
        # multipart/mixed: the alternative (text, HTML), then each file in base64.
        mixed = [f'Content-Type: multipart/alternative; boundary="{outer}"\r\n\r\n'.encode() + body]
        for file in rendered.attachments:
            mixed.append(
                (
                    f'Content-Type: {file.media_type}; name="{file.filename}"\r\n'
                    "Content-Transfer-Encoding: base64\r\n"
                    f'Content-Disposition: attachment; filename="{file.filename}"\r\n\r\n'
                ).encode()
                + _base64_lines(file.data)
            )
        body = _join(mixed, _BOUNDARY.format("m", token))
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _join(parts: list[bytes], boundary: str) -> bytes:
    dash = f"--{boundary}\r\n".encode()
    # The CRLF before a boundary belongs to the boundary, so every part gets one more.
    body = b"".join(dash + p + b"\r\n" for p in parts)
    return body + f"--{boundary}--\r\n".encode()
