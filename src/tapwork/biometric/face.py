"""Face embeddings with dlib's ResNet model (the `biometric` extra).

Why this model and its licence: docs/decisions/0006-face-model-dlib.md.

Only the service process imports this module. The model files ship inside the
`face-recognition-models` wheel, so nothing is downloaded at run time. Images live in memory
for the length of one call and are never written anywhere.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from PIL import Image, UnidentifiedImageError

from tapwork.biometric.errors import FaceNotFound, InvalidImage

MAX_SIDE = 800  # a kiosk frame is 640x480; bigger images are scaled down first
MAX_PIXELS = 25_000_000  # refuse decompression bombs before decoding
# Detections scoring under this are not faces we trust (a badge, a patch on clothing scores
# ~0.1; a real face at a kiosk 0.6-2): the largest *confident* face is the one at the kiosk.
MIN_DETECTION_SCORE = 0.3
_lock = threading.Lock()


def _model_dir() -> Path:
    # `import face_recognition_models` needs pkg_resources (gone from setuptools >= 81);
    # the files are found without importing the package.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the biometric extra is not installed (face-recognition-models)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceModel:
    """Detector, 5-point landmarks and the 128-d descriptor network, loaded once."""

    def __init__(self) -> None:
        models = _model_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def _faces(self, pixels: np.ndarray[Any, Any], upsample: int) -> list[Any]:
        rects, scores, _ = self.detector.run(pixels, upsample, 0.0)
        return [r for r, score in zip(rects, scores, strict=True) if score >= MIN_DETECTION_SCORE]

    def embed(self, pixels: np.ndarray[Any, Any]) -> list[float]:
        """The descriptor of the largest face in an RGB uint8 array."""
        # Upsampling finds small faces but costs ~6x; a face at a kiosk fills the frame.
        faces = self._faces(pixels, 0) or self._faces(pixels, 1)
        if not faces:
            raise FaceNotFound("No face was found in the image")
        largest = max(faces, key=lambda rect: rect.area())
        shape = self.landmarks(pixels, largest)
        return [float(v) for v in self.encoder.compute_face_descriptor(pixels, shape)]


@lru_cache(maxsize=1)
def model() -> FaceModel:
    with _lock:
        return FaceModel()


def decode(data: bytes) -> np.ndarray[Any, Any]:
    """JPEG/PNG bytes as an RGB array no larger than MAX_SIDE."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise InvalidImage("The image is too large", max_pixels=MAX_PIXELS)
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidImage("The image could not be decoded (JPEG or PNG expected)") from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def embed(data: bytes) -> list[float]:
    return model().embed(decode(data))


def mean_template(vectors: list[list[float]]) -> list[float]:
    return [float(v) for v in np.mean(np.asarray(vectors), axis=0)]


def distance(a: list[float], b: list[float]) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
