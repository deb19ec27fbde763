"""XLSX and PDF renderings of a report's rows (already computed by SQL).

XLSX: typed cells (numbers, dates, hours as decimals), a frozen header, a totals row whose
formulas carry their computed value (so readers without a formula engine see it), and one
sheet per part (the data, then the report's particulars and legend).
PDF: the organisation, the range, the generation time, summary figures, two charts (attendance
rate per day; late and absent per department) and the table, with page numbers.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import xlsxwriter
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tapwork.report import labels
from tapwork.report.labels import Column, Lang
from tapwork.report.queries import CODES

# Platypus splits one huge table across pages quadratically; tables of this many rows, one
# after the other, render the same page layout in linear time.
_CHUNK = 40


@dataclass(frozen=True, slots=True)
class Meta:
    kind: str
    organisation: str
    from_date: date
    to_date: date
    generated_at: datetime  # in the viewer's display zone already
    lang: Lang

    def range_text(self) -> str:
        joint = " al " if self.lang == "es" else " to "
        return f"{self.from_date.isoformat()}{joint}{self.to_date.isoformat()}"


def columns_for(kind: str, rows: Sequence[dict[str, Any]], meta: Meta) -> tuple[Column, ...]:
    return sheet_columns(kind, meta.from_date, meta.to_date)


def sheet_columns(kind: str, from_date: date, to_date: date) -> tuple[Column, ...]:
    if kind != "monthly-sheet":
        return labels.COLUMNS[kind]
    person = labels.COLUMNS["attendance"][:4]
    days = []
    day = from_date
    while day <= to_date:
        iso = day.isoformat()
        days.append(Column(iso, "code", iso[8:], iso[8:]))
        day = date.fromordinal(day.toordinal() + 1)
    return (*person, *days, *labels.SHEET_TOTALS)


def _summable(column: Column) -> bool:
    return column.type in ("int", "hours") and column.key not in ("employees",)


class XlsxBook:
    """An XLSX report written a batch of rows at a time to a file, in xlsxwriter's
    constant-memory mode: each row goes to the worksheet's temporary file (in `tmpdir`) as the
    next one starts, so memory holds a batch whatever the report's size. The totals row needs
    the row count and the sums, which are kept as the rows pass and written by `close()`.
    Synchronous: call it from a thread."""

    def __init__(self, path: str, meta: Meta, *, tmpdir: str | None = None) -> None:
        self.meta = meta
        book = self.book = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tmpdir})
        self.bold = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        self.formats = {
            "int": book.add_format({"num_format": "0"}),
            "hours": book.add_format({"num_format": "0.00"}),
            "rate": book.add_format({"num_format": "0.0"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "code": book.add_format({"align": "center"}),
            "text": None,
        }
        self.columns = columns_for(meta.kind, (), meta)
        # Summed in the rows' order, as one sum() over them all would: the same floats.
        self.sums: dict[int, float] = {
            c: 0 for c, column in enumerate(self.columns) if c and _summable(column)
        }
        self.rows = 0
        sheet = self.sheet = book.add_worksheet(labels.title(meta.kind, meta.lang)[:31])
        sheet.freeze_panes(1, 0)
        for c, column in enumerate(self.columns):
            sheet.write_string(0, c, column.label(meta.lang), self.bold)
            width = (
                6 if column.type == "code" else max(10, min(28, len(column.label(meta.lang)) + 2))
            )
            sheet.set_column(c, c, width)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        sheet, formats, sums = self.sheet, self.formats, self.sums
        for r, row in enumerate(rows, start=self.rows + 1):
            for c, column in enumerate(self.columns):
                value = row.get(column.key)
                if c in sums:
                    sums[c] += float(value or 0)
                if value is None or value == "":
                    continue
                fmt = formats[column.type]
                if column.type in ("int", "hours", "rate"):
                    sheet.write_number(r, c, float(value), fmt)
                elif column.type in ("date", "datetime"):
                    sheet.write_datetime(r, c, _as_datetime(value), fmt)
                else:
                    sheet.write_string(r, c, str(value), fmt)
        self.rows += len(rows)

    def close(self) -> None:
        """The totals row and the particulars sheet, then the file."""
        book, meta, last = self.book, self.meta, self.rows
        total_int = book.add_format({"bold": True, "num_format": "0", "top": 1})
        total_hours = book.add_format({"bold": True, "num_format": "0.00", "top": 1})
        total_label = book.add_format({"bold": True, "top": 1})
        total_row = last + 1
        self.sheet.write_string(total_row, 0, labels.text("total", meta.lang), total_label)
        for c, total in self.sums.items():
            letter = xlsxwriter.utility.xl_col_to_name(c)
            formula = f"=SUM({letter}2:{letter}{last + 1})" if last else "=0"
            fmt = total_hours if self.columns[c].type == "hours" else total_int
            self.sheet.write_formula(total_row, c, formula, fmt, round(total, 2))
        info = book.add_worksheet(labels.text("report", meta.lang))
        info.set_column(0, 0, 22)
        info.set_column(1, 1, 40)
        particulars = [
            (labels.text("report", meta.lang), labels.title(meta.kind, meta.lang)),
            (labels.text("organisation", meta.lang), meta.organisation),
            (labels.text("range", meta.lang), meta.range_text()),
            (labels.text("generated", meta.lang), meta.generated_at.strftime("%Y-%m-%d %H:%M %Z")),
        ]
        if meta.kind == "monthly-sheet":
            particulars += [(code, text) for code, text in labels.legend(meta.lang)]
        for r, (key, value) in enumerate(particulars):
            info.write_string(r, 0, key, self.bold)
            info.write_string(r, 1, value)
        book.close()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - a local date
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


# -- PDF -----------------------------------------------------------------------------------


def _cell(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if column.type == "hours":
        return f"{float(value):.2f}"
    if column.type == "rate":
        return f"{float(value):.1f}"
    if column.type == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rate_chart(daily: Sequence[dict[str, Any]], lang: Lang, width: float) -> Drawing:
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for row in daily:
        per_day[row["date"]][0] += row["present_scheduled"]
        per_day[row["date"]][1] += row["present_scheduled"] + row["absent"]
    days = sorted(per_day)
    points = [
        (float(i), 100.0 * per_day[day][0] / per_day[day][1])
        for i, day in enumerate(days)
        if per_day[day][1]
    ]
    drawing = Drawing(width, 150)
    drawing.add(String(0, 138, labels.text("rate_per_day", lang), fontSize=10))
    if not points:
        return drawing
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 30, 15, width - 50, 110
    plot.data = [points]
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = 0, 100
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.valueMax = max(1.0, float(len(days) - 1))
    step = max(1, len(days) // 10)
    plot.xValueAxis.valueSteps = [float(i) for i in range(0, len(days), step)]
    plot.xValueAxis.labelTextFormat = lambda i: days[int(i)].strftime("%m-%d")
    plot.xValueAxis.labels.fontSize = 6
    plot.lines[0].strokeColor = colors.HexColor("#1f6feb")
    drawing.add(plot)
    return drawing


def _department_chart(daily: Sequence[dict[str, Any]], lang: Lang, width: float) -> Drawing:
    late: dict[str, int] = defaultdict(int)
    absent: dict[str, int] = defaultdict(int)
    for row in daily:
        late[row["department"] or "—"] += row["late"]
        absent[row["department"] or "—"] += row["absent"]
    names = sorted(late)[:20]
    drawing = Drawing(width, 170)
    drawing.add(String(0, 158, labels.text("late_absent", lang), fontSize=10))
    if not names:
        return drawing
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 30, width - 140, 115
    chart.data = [[late[n] for n in names], [absent[n] for n in names]]
    chart.categoryAxis.categoryNames = [n[:14] for n in names]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#d29922")
    chart.bars[1].fillColor = colors.HexColor("#cf222e")
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 100, 130
    legend.colorNamePairs = [
        (colors.HexColor("#d29922"), labels.text("late", lang)),
        (colors.HexColor("#cf222e"), labels.text("absent", lang)),
    ]
    drawing.add(legend)
    return drawing


def pdf(
    rows: Sequence[dict[str, Any]],
    daily: Sequence[dict[str, Any]],
    summary: dict[str, Any],
    meta: Meta,
) -> bytes:
    """`daily`: the department summary rows (for the charts); `summary`: headline figures."""
    out = io.BytesIO()
    wide = meta.kind in ("monthly-sheet", "timesheet", "attendance")
    pagesize = landscape(A4) if wide else A4
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=labels.title(meta.kind, meta.lang),
        author=meta.organisation,
    )
    styles = getSampleStyleSheet()
    width = pagesize[0] - 24 * mm
    generated = meta.generated_at.strftime("%Y-%m-%d %H:%M %Z")
    story: list[Any] = [
        Paragraph(
            f"{_esc(meta.organisation)} — {labels.title(meta.kind, meta.lang)}", styles["Title"]
        ),
        Paragraph(
            f"{labels.text('range', meta.lang)}: {meta.range_text()} · "
            f"{labels.text('generated', meta.lang)}: {generated}",
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
    ]
    figures = [[labels.text(k, meta.lang), str(v)] for k, v in summary.items()]
    if figures:
        table = Table(figures, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [("FONTSIZE", (0, 0), (-1, -1), 9), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]
            )
        )
        story += [Paragraph(labels.text("summary", meta.lang), styles["Heading2"]), table]
    story += [
        Spacer(1, 4 * mm),
        _rate_chart(daily, meta.lang, width),
        _department_chart(daily, meta.lang, width),
    ]
    columns = columns_for(meta.kind, rows, meta)
    header = [c.label(meta.lang) for c in columns]
    font = 5 if meta.kind == "monthly-sheet" else 6.5
    style = TableStyle(
        [
            ("FONTSIZE", (0, 0), (-1, -1), font),
            ("LEADING", (0, 0), (-1, -1), font + 1.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
            ("GRID", (0, 0), (-1, -1), 0.2, colors.grey),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ]
    )
    if not rows:
        story.append(Paragraph(labels.text("no_data", meta.lang), styles["Normal"]))
    for start in range(0, len(rows), _CHUNK):
        body = [[_cell(row.get(c.key), c) for c in columns] for row in rows[start : start + _CHUNK]]
        table = Table([header, *body], repeatRows=1, hAlign="LEFT")
        table.setStyle(style)
        story.append(table)
    if meta.kind == "monthly-sheet":
        story.append(
            Paragraph(
                f"{labels.text('legend', meta.lang)}: "
                + " · ".join(f"{code} = {text}" for code, text in labels.legend(meta.lang)),
                styles["Normal"],
            )
        )
    page = labels.text("page", meta.lang)

    def footer(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(12 * mm, 7 * mm, f"{meta.organisation} · {generated}")
        canvas.drawRightString(pagesize[0] - 12 * mm, 7 * mm, f"{page} {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


assert set(CODES) == set(labels.LEGEND)
