"""The printed card's vector QR and Code128 decode back to the badge's code data.

No PDF rasteriser is installed, so the test reads the drawing operators (`x y w h re`) of an
uncompressed sheet, paints them into an image and decodes that with zxing-cpp.
"""

from __future__ import annotations

import re
import uuid

import zxingcpp
from PIL import Image, ImageDraw

from tapwork.badge import codec
from tapwork.badge.sheet import CARDS_PER_PAGE, Card, build_sheet

RING = codec.Keyring(b"sheet-test-secret-0123456789abcdef")
_RECT = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re\b")


def _rects(pdf: bytes) -> list[tuple[float, float, float, float]]:
    return [tuple(float(v) for v in m) for m in _RECT.findall(pdf)]  # type: ignore[misc]


def _decode(image: Image.Image) -> list[tuple[str, str]]:
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


def _qr_image(rects: list[tuple[float, float, float, float]]) -> Image.Image:
    modules = [(x, y, w) for x, y, w, h in rects if abs(w - h) < 1e-3 and w < 5]
    size = modules[0][2]
    left = min(x for x, _, _ in modules)
    top = max(y for _, y, _ in modules)
    cells = {(round((top - y) / size), round((x - left) / size)) for x, y, _ in modules}
    count = max(max(r, c) for r, c in cells) + 1
    scale, border = 8, 4
    image = Image.new("L", ((count + 2 * border) * scale,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for row, col in cells:
        x0, y0 = (col + border) * scale, (row + border) * scale
        draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill=0)
    return image


def _code128_image(rects: list[tuple[float, float, float, float]]) -> Image.Image:
    tallest = max(h for *_, h in rects if h < 100)
    bars = [(x, w) for x, _, w, h in rects if abs(h - tallest) < 1e-3]
    module = min(w for _, w in bars)
    px = 4  # pixels per module
    start = min(x for x, _ in bars)
    width = max(x + w for x, w in bars) - start
    quiet = 10 * px
    image = Image.new("L", (round(width / module * px) + 2 * quiet, 80), 255)
    draw = ImageDraw.Draw(image)
    for x, w in bars:
        x0 = quiet + round((x - start) / module * px)
        x1 = quiet + round((x + w - start) / module * px) - 1
        draw.rectangle((x0, 10, x1, 69), fill=0)
    return image


def test_card_qr_and_code128_decode_to_the_code() -> None:
    code = codec.encode(uuid.uuid4(), "ABCD", RING)
    pdf = build_sheet([Card("Eve Tester", "E00001", "Engineering", code)], compress=False)
    rects = _rects(pdf)
    assert _decode(_qr_image(rects)) == [("QRCode", code)]
    assert _decode(_code128_image(rects)) == [("Code128", code)]
    assert b"(Eve Tester)" in pdf
    assert b"(E00001)" in pdf
    assert b"(Engineering)" in pdf


def test_ten_cards_a_page_and_one_outline_entry_each() -> None:
    cards = [
        Card(f"Person {i}", f"E{i:05d}", "Sales", codec.encode(uuid.uuid4(), "ABCD", RING))
        for i in range(CARDS_PER_PAGE * 2 + 1)
    ]
    drawn: list[str] = []
    pdf = build_sheet(cards, on_card=lambda card: drawn.append(card.employee_id))
    assert drawn == [c.employee_id for c in cards]
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 3
    titles = re.findall(rb"/Title \((E\d{5}) ", pdf)
    assert [t.decode() for t in titles] == [c.employee_id for c in cards]


def test_long_names_are_shortened_to_fit() -> None:
    name = "Maximiliana Wolfeschlegelsteinhausenbergerdorff von Habsburg-Lothringen"
    code = codec.encode(uuid.uuid4(), "ABCD", RING)
    pdf = build_sheet([Card(name, "E00002", "Research", code)], compress=False)
    assert f"({name})".encode() not in pdf
    assert b"(Maximiliana" in pdf


def test_empty_selection_is_a_valid_pdf() -> None:
    pdf = build_sheet([])
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 1
