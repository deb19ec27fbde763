"""Face images that ship inside scikit-image: the astronaut (one person, varied) and the LFW
subset's faces (other people). Built in memory as JPEG bytes, as a kiosk would send them."""

from __future__ import annotations

import base64
import io
from functools import cache

import numpy as np
from PIL import Image, ImageEnhance
from skimage import data


def jpeg(pixels: np.ndarray | Image.Image, quality: int = 90) -> bytes:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@cache
def astronaut() -> Image.Image:
    return Image.fromarray(data.astronaut())  # type: ignore[no-untyped-call]  # skimage.data is unannotated


def astronaut_variants() -> dict[str, bytes]:
    """The same person as a kiosk might see her: mirrored, lighter, darker, tilted, cropped."""
    base = astronaut()
    return {
        "flip": jpeg(base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "lighter": jpeg(ImageEnhance.Brightness(base).enhance(1.35)),
        "darker": jpeg(ImageEnhance.Brightness(base).enhance(0.6)),
        "rotated_8": jpeg(base.rotate(8, resample=Image.Resampling.BILINEAR)),
        "rotated_-8": jpeg(base.rotate(-8, resample=Image.Resampling.BILINEAR)),
        "crop": jpeg(base.crop((60, 0, 460, 400))),
        "low_quality": jpeg(base, quality=35),
    }


def enrolment_images() -> list[bytes]:
    base = astronaut()
    return [
        jpeg(base),
        jpeg(base.crop((20, 10, 500, 490))),
        jpeg(ImageEnhance.Contrast(base).enhance(1.2)),
    ]


@cache
def other_people() -> list[bytes]:
    """The LFW subset's 100 faces (25x25 grey), scaled up to kiosk size."""
    faces = data.lfw_subset()[:100]  # type: ignore[no-untyped-call]  # skimage.data is unannotated
    out = []
    for face in faces:
        grey = Image.fromarray((face * 255).astype(np.uint8)).resize(
            (200, 200), Image.Resampling.BICUBIC
        )
        out.append(jpeg(grey))
    return out


def two_faces(large: Image.Image, small: Image.Image) -> bytes:
    """One frame with two people: `large` in front, `small` behind."""
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(large.resize((400, 400)), (220, 40))
    canvas.paste(small.resize((160, 160)), (20, 20))
    return jpeg(canvas)
