"""`tapwork report` writes the API's report files from a committed database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from pathlib import Path

import openpyxl
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from tapwork.attendance.models import AttendanceRecord
from tapwork.cli import app
from tapwork.config import Settings
from tapwork.report import cli
from tapwork.report.service import Filters
from tests.support import factories as f


async def _one_record(committed_db: async_sessionmaker[AsyncSession]) -> None:
    async with committed_db() as s:
        location = await f.make_location(s, timezone="Europe/Madrid")
        shift = await f.make_shift(s, start=time(9), end=time(17))
        user = await f.make_user(s, shift=shift, location=location, last_name="Cli")
        user.employee_id, user.created_at = "CLI1", datetime(2026, 1, 1, tzinfo=UTC)
        s.add(
            AttendanceRecord(
                user_id=user.id, shift_id=shift.id, location_id=location.id,
                work_date=date(2026, 3, 3), check_in_at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
                check_out_at=datetime(2026, 3, 3, 16, 30, tzinfo=UTC), status="on_time",
                minutes_late=0, worked_minutes=510, overtime_minutes=30, early_leave_minutes=0,
            )
        )  # fmt: skip
        await s.commit()


async def test_export_writes_csv_and_xlsx(
    committed_db: async_sessionmaker[AsyncSession], base_settings: Settings, tmp_path: Path
) -> None:
    await _one_record(committed_db)
    console = Console(file=io.StringIO(), force_terminal=False)
    week = Filters(date(2026, 3, 2), date(2026, 3, 6))
    out = tmp_path / "timesheet.csv"
    rows = await cli.export(base_settings, "timesheet", week, "csv", out, console=console)
    assert rows == 1
    [row] = list(csv.DictReader(out.open()))
    # 08:00 UTC is 09:00 in Madrid; 510 minutes worked, 30 over the 8-hour shift.
    assert (row["employee_id"], row["pairs"], row["worked_minutes"], row["overtime_minutes"]) == (
        "CLI1", "09:00-17:30", "510", "30",
    )  # fmt: skip
    xlsx = tmp_path / "attendance.xlsx"
    await cli.export(base_settings, "attendance", week, "xlsx", xlsx, lang="es", console=console)
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, next(sheet.iter_rows(min_row=2, values_only=True)), strict=True))
    assert (values["N.º empleado"], values["Días presentes"], values["Ausencias"]) == ("CLI1", 1, 4)


def test_command_refuses_unknown_kind_and_bad_dates(tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(
        app, ["report", "payslips", "--from", "2026-03-01", "--to", "2026-03-31",
              "--output", str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert unknown.exit_code != 0
    assert "kind is one of" in unknown.output
    bad = runner.invoke(
        app, ["report", "timesheet", "--from", "March", "--to", "2026-03-31",
              "--output", str(tmp_path / "x.csv")],
    )  # fmt: skip
    assert bad.exit_code != 0
    assert not (tmp_path / "x.csv").exists()
