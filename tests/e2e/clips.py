"""Fake-camera clips for Chromium (`--use-file-for-fake-video-capture`) made from badge codes.

Chromium reads y4m 4:2:0 (`C420jpeg`) and loops it. Frames are rendered with the project's own
badge renderers (segno QR, python-barcode Code128), so the clip shows what a badge prints.
"""

from __future__ import annotations

import io
from pathlib import Path

from barcode import Code128
from PIL import Image, ImageDraw

from tapwork.badge import render


def _to_i420(frame: Image.Image) -> bytes:
    ycbcr = frame.convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (frame.width // 2, frame.height // 2)
    return y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()


def write_y4m(path: Path, frames: list[Image.Image], fps: int = 15) -> Path:
    width, height = frames[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + _to_i420(frame))
    return path


def _place(symbol: Image.Image, size: tuple[int, int], fill: float) -> Image.Image:
    """The symbol centred on a grey 'desk', scaled to `fill` of the frame's width."""
    canvas = Image.new("RGB", size, (120, 124, 130))
    scale = min(size[0] * fill / symbol.width, size[1] * 0.9 / symbol.height)
    resized = symbol.convert("RGB").resize(
        (int(symbol.width * scale), int(symbol.height * scale)), Image.Resampling.NEAREST
    )
    canvas.paste(resized, ((size[0] - resized.width) // 2, (size[1] - resized.height) // 2))
    return canvas


def qr_frame(code: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    return _place(Image.open(io.BytesIO(render.qr_png(code, scale=6))), size, 0.5)


def code128_frame(code: str, size: tuple[int, int] = (1600, 900), px: int = 2) -> Image.Image:
    """The badge's Code128 (python-barcode's own encoding) drawn at exactly `px` pixels per
    module: a 60-character code is ~700 modules, so a webcam needs a wide frame to resolve it
    (resampling a PNG to non-integer module widths blurs the bars past decoding)."""
    modules = Code128(code).build()[0]
    quiet = 12
    symbol = Image.new("L", ((len(modules) + 2 * quiet) * px, 260), 255)
    draw = ImageDraw.Draw(symbol)
    for i, bit in enumerate(modules):
        if bit == "1":
            x = (quiet + i) * px
            draw.rectangle([x, 20, x + px - 1, symbol.height - 21], fill=0)
    canvas = Image.new("RGB", size, (120, 124, 130))
    offset = ((size[0] - symbol.width) // 2, (size[1] - symbol.height) // 2)
    canvas.paste(symbol.convert("RGB"), offset)
    return canvas


def clip(path: Path, frame: Image.Image, *, seconds: float = 2.0, fps: int = 15) -> Path:
    """A looping clip: a few blank frames (the badge is being raised), then the badge."""
    blank = Image.new("RGB", frame.size, (120, 124, 130))
    count = int(seconds * fps)
    return write_y4m(path, [blank] * 3 + [frame] * (count - 3), fps)
