"""Reading an employee CSV file into rows and checking each row's cells on their own
(`importer.py` resolves the names against the database and writes the users).

UTF-8 (with or without BOM), comma, semicolon or tab separated (spreadsheets in comma-decimal
locales save with semicolons); header names are case- and space-insensitive.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tapwork.kit.types import Email, EmployeeId, Label, Name
from tapwork.user.errors import ImportInvalid
from tapwork.user.schemas import ImportRowError

REQUIRED_COLUMNS = ("email", "employee_id", "first_name", "last_name")
OPTIONAL_COLUMNS = ("department", "shift", "location", "role")


def _delimiter(header_line: str) -> str:
    # Spreadsheets in comma-decimal locales (es-ES among them) save CSV with semicolons.
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # as in the file: the header is row 1
    cells: dict[str, str]
    extra_values: bool = False


def parse(data: bytes) -> list[RawRow]:
    """The data rows of a CSV file. Raises ImportInvalid for problems that make the whole file
    unreadable (encoding, header)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _unreadable(
            [row_error(line, "file", "The file is not UTF-8 text (save it as CSV UTF-8)")]
        ) from exc
    if not text.strip():
        raise _unreadable([row_error(1, "file", "The file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    records: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            records.append((number, cells))
    except csv.Error as exc:
        raise _unreadable([row_error(reader.line_num, "file", f"Unreadable CSV: {exc}")]) from exc
    header = [h.strip().lower().replace(" ", "_") for h in records[0][1]]
    problems = [
        row_error(1, column, "Required column is missing")
        for column in REQUIRED_COLUMNS
        if column not in header
    ]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems += [row_error(1, h or "(empty)", "Unknown column") for h in header if h not in known]
    problems += [
        row_error(1, h, "Column appears twice") for h in set(header) if header.count(h) > 1
    ]
    if problems:
        raise _unreadable(problems)
    rows = []
    for number, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue  # blank line; numbering still follows the file
        values = dict(zip(header, cells, strict=False))
        rows.append(RawRow(number, values, extra_values=len(cells) > len(header)))
    return rows


def _unreadable(errors: list[ImportRowError]) -> ImportInvalid:
    return ImportInvalid([e.model_dump() for e in errors], rows=0)


def row_error(row: int, field: str, message: str) -> ImportRowError:
    return ImportRowError(row=row, field=field, message=message)


class ImportRow(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    email: Email
    employee_id: EmployeeId
    first_name: Name
    last_name: Name
    department: Label | None = None
    shift: Label | None = None
    location: Label | None = None
    role: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")] | None = None


def _message(error: Any) -> str:
    if error["type"] in ("string_too_short", "missing") or error.get("input") == "":
        return "Required"
    return str(error["msg"]).removeprefix("Value error, ")


@dataclass
class CheckedCells:
    number: int
    row: ImportRow | None  # None when a cell failed validation
    names: dict[str, str]  # department/shift/location/role cells that passed validation
    errors: list[ImportRowError]


def check_cells(raw: RawRow) -> CheckedCells:
    if raw.extra_values:
        error = row_error(raw.number, "row", "More values than columns in the header")
        return CheckedCells(raw.number, None, {}, [error])
    values = {k: (v.strip() or None) if k in OPTIONAL_COLUMNS else v for k, v in raw.cells.items()}
    try:
        row = ImportRow.model_validate(values)
    except ValidationError as exc:
        errors = [
            row_error(raw.number, str(e["loc"][0]) if e["loc"] else "row", _message(e))
            for e in exc.errors()
        ]
        failed = {e.field for e in errors}
        # Names are still checked, so one pass reports every problem of the row.
        names = {c: v for c in OPTIONAL_COLUMNS if (v := values.get(c)) and c not in failed}
        return CheckedCells(raw.number, None, names, errors)
    names = {c: v for c in OPTIONAL_COLUMNS if (v := getattr(row, c))}
    return CheckedCells(raw.number, row, names, [])
