"""Badge images: QR (segno) and Code128 (python-barcode), as PNG and SVG, of the same code data.

QR uses error correction M: the 60-character alphanumeric code fits version 3 (29x29 modules),
big enough to read from a phone screen across a counter, small enough for a webcam at arm's
length.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import segno
from barcode import Code128
from barcode.writer import ImageWriter, SVGWriter

Format = Literal["png", "svg", "code128.png", "code128.svg"]
QR_ERROR = "m"


def qr(code_data: str) -> Any:
    """The QR symbol (segno.QRCode) for code data; also drawn into the PDF sheet."""
    return segno.make_qr(code_data, error=QR_ERROR, boost_error=False)


def qr_png(code_data: str, *, scale: int = 8, border: int = 4) -> bytes:
    out = io.BytesIO()
    qr(code_data).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(code_data: str, *, scale: int = 8, border: int = 4) -> bytes:
    out = io.BytesIO()
    qr(code_data).save(out, kind="svg", scale=scale, border=border, title="TAPWORK badge")
    return out.getvalue()


_CODE128_OPTIONS = {"module_height": 15.0, "quiet_zone": 6.5, "write_text": False}


def code128_png(code_data: str) -> bytes:
    out = io.BytesIO()
    Code128(code_data, writer=ImageWriter()).write(out, options=_CODE128_OPTIONS)
    return out.getvalue()


def code128_svg(code_data: str) -> bytes:
    out = io.BytesIO()
    Code128(code_data, writer=SVGWriter()).write(out, options=_CODE128_OPTIONS)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Rendered:
    content: bytes
    media_type: str
    extension: str


# A code's image never changes and pure-Python PNG encoding costs milliseconds: keep the
# recent ones (a portal reload, HR paging through people) at a few KiB each.
@lru_cache(maxsize=1024)
def render(code_data: str, fmt: Format) -> Rendered:
    if fmt == "png":
        return Rendered(qr_png(code_data), "image/png", "png")
    if fmt == "svg":
        return Rendered(qr_svg(code_data), "image/svg+xml", "svg")
    if fmt == "code128.png":
        return Rendered(code128_png(code_data), "image/png", "code128.png")
    return Rendered(code128_svg(code_data), "image/svg+xml", "code128.svg")
