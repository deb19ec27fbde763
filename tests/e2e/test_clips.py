"""The fake-camera clips show decodable badges (so a failing camera test means the kiosk)."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image

from tests.e2e import clips

CODE = "TW1:AB12:T3S3GN7BXNA5JKTBGTRTZIIFWY:NTWJGNQUPVSTUMRPVJBL5TJV"


def _decode(frame: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(frame.convert("L"))]


def test_qr_and_code128_frames_decode_to_the_badge_code() -> None:
    assert _decode(clips.qr_frame(CODE)) == [CODE]
    assert _decode(clips.code128_frame(CODE)) == [CODE]


def test_clip_is_a_420_y4m_with_the_frames(tmp_path: Path) -> None:
    frame = clips.qr_frame(CODE)
    path = clips.clip(tmp_path / "c.y4m", frame, seconds=1, fps=15)
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg"
    frame_bytes = len(b"FRAME\n") + 640 * 480 * 3 // 2
    assert len(rest) == 15 * frame_bytes
