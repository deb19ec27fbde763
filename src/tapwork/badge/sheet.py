"""Printable A4 sheets of ID cards: ten 95 x 55 mm cards a page (2 x 5, cut lines drawn).

Each card shows name, employee id and department, the QR (the same segno symbol as the PNG,
drawn as vector squares) and a full-width Code128 of the same code data. The Code128 of a
60-character code is ~715 modules, so across 91 mm a module is ~0.127 mm (5 mil): fine for
laser printers at 600 dpi and 2D imagers; USB laser scanners should read the QR instead.

Each card is also a PDF outline entry ("E00012 Eve Tester"), so a viewer lists who is on
which page and tests can count cards without rendering.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tapwork.badge import render

CARD_W, CARD_H = 95 * mm, 55 * mm
COLUMNS, ROWS = 2, 5
CARDS_PER_PAGE = COLUMNS * ROWS
_MARGIN_X = (A4[0] - COLUMNS * CARD_W) / 2
_MARGIN_Y = (A4[1] - ROWS * CARD_H) / 2
_PAD = 4 * mm
_QR_SIZE = 30 * mm
_CODE128_H = 11 * mm
_QUIET_MODULES = 10

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True, slots=True)
class Card:
    name: str
    employee_id: str
    department: str
    code_data: str


def _fonts() -> tuple[str, str]:
    """DejaVu when the system has it (names beyond Latin-1), else the PDF base fonts."""
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        if "TapworkSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("TapworkSans", str(regular)))
            pdfmetrics.registerFont(TTFont("TapworkSans-Bold", str(bold)))
        return "TapworkSans", "TapworkSans-Bold"
    return "Helvetica", "Helvetica-Bold"  # pragma: no cover - depends on the host


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> str:
    if canvas.stringWidth(text, font, size) <= width:
        return text
    while text and canvas.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_qr(canvas: Canvas, code_data: str, x: float, y: float, size: float) -> None:
    symbol = render.qr(code_data)
    matrix = symbol.matrix
    border = 2  # modules of quiet zone inside the drawn square
    count = len(matrix) + 2 * border
    module = size / count
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * module
        for col_index, dark in enumerate(row):
            if dark:
                path.rect(x + (col_index + border) * module, top, module, module)
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_code128(canvas: Canvas, code_data: str, x: float, y: float, width: float) -> None:
    probe = Code128(code_data, barWidth=1, humanReadable=False, quiet=0)
    modules = probe.width + 2 * _QUIET_MODULES
    bar = width / modules
    barcode = Code128(
        code_data,
        barWidth=bar,
        barHeight=_CODE128_H,
        humanReadable=False,
        quiet=1,
        lquiet=_QUIET_MODULES * bar,
        rquiet=_QUIET_MODULES * bar,
    )
    barcode.drawOn(canvas, x, y)


def _draw_card(canvas: Canvas, card: Card, x: float, y: float, fonts: tuple[str, str]) -> None:
    regular, bold = fonts
    canvas.setStrokeColorRGB(0.75, 0.75, 0.75)
    canvas.setDash(2, 2)
    canvas.rect(x, y, CARD_W, CARD_H, stroke=1, fill=0)
    canvas.setDash()
    text_w = CARD_W - 3 * _PAD - _QR_SIZE
    top = y + CARD_H - _PAD
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    canvas.setFont(bold, 7)
    canvas.drawString(x + _PAD, top - 7, "TAPWORK")
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setFont(bold, 12)
    canvas.drawString(x + _PAD, top - 22, _fit(canvas, card.name, bold, 12, text_w))
    canvas.setFont(regular, 9)
    canvas.drawString(x + _PAD, top - 36, _fit(canvas, card.employee_id, regular, 9, text_w))
    canvas.drawString(x + _PAD, top - 48, _fit(canvas, card.department, regular, 9, text_w))
    _draw_qr(canvas, card.code_data, x + CARD_W - _PAD - _QR_SIZE, top - _QR_SIZE, _QR_SIZE)
    _draw_code128(canvas, card.code_data, x + _PAD / 2, y + _PAD / 2, CARD_W - _PAD)
    key = f"card-{card.employee_id}"
    canvas.bookmarkHorizontal(key, x, y + CARD_H)
    canvas.addOutlineEntry(f"{card.employee_id} {card.name}", key, level=0)


def build_sheet(
    cards: Sequence[Card],
    *,
    on_card: Callable[[Card], None] | None = None,
    title: str = "",
    compress: bool = True,
) -> bytes:
    """The PDF bytes; `on_card` is called after each card (progress bars)."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1 if compress else 0)
    canvas.setTitle(title or "TAPWORK badges")
    canvas.setCreator("TAPWORK")
    fonts = _fonts()
    for index, card in enumerate(cards):
        slot = index % CARDS_PER_PAGE
        if index and slot == 0:
            canvas.showPage()
        column, row = slot % COLUMNS, slot // COLUMNS
        x = _MARGIN_X + column * CARD_W
        y = A4[1] - _MARGIN_Y - (row + 1) * CARD_H
        _draw_card(canvas, card, x, y, fonts)
        if on_card is not None:
            on_card(card)
    if not cards:
        canvas.setFont(fonts[0], 11)
        canvas.drawString(_MARGIN_X, A4[1] - _MARGIN_Y, "No badges to print.")
    canvas.showOutline()
    canvas.save()
    return out.getvalue()
