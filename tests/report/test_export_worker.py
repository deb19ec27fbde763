"""Exports computed by procrastinate's worker, with real commits (the worker streams the report
on one connection and writes the file and progress on another, which the API then reads)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.attendance.models import AttendanceRecord
from tapwork.config import Settings
from tapwork.department.models import Department
from tapwork.main import create_app
from tapwork.report import exports, service
from tapwork.report.models import ReportExport, ReportExportChunk
from tapwork.user.models import User
from tapwork.worker import jobs
from tests.support import factories as f
from tests.support.clock import FrozenClock
from tests.support.waiting import until

Maker = async_sessionmaker[AsyncSession]
RANGE = {"from": "2026-03-02", "to": "2026-03-15"}
URL = "/api/v1/reports/exports"


@dataclass
class Company:
    hr: User
    supervisor: User
    eve: User
    omar: User
    department: Department
    settings: Settings
    clock: FrozenClock

    def headers(self, user: User) -> dict[str, str]:
        return f.bearer(user, self.settings, self.clock())


@pytest.fixture
async def company(committed_db: Maker, settings: Settings) -> Company:
    """Eve in Engineering (managed by Sam) and Omar in Sales, each with two weeks of records."""
    clock = FrozenClock(datetime(2026, 3, 20, 12, tzinfo=UTC))
    async with committed_db() as session:
        location = await f.make_location(session, timezone="Europe/Madrid")
        shift = await f.make_shift(session)
        engineering = await f.make_department(session)
        sales = await f.make_department(session)
        sam = await f.make_user(session, role_name="supervisor", department=engineering,
                                shift=shift, location=location, first_name="Sam")  # fmt: skip
        engineering.manager_id = sam.id
        hr = await f.make_user(session, role_name="hr_manager", department=sales)
        eve = await f.make_user(session, department=engineering, shift=shift, location=location,
                                first_name="Eve")  # fmt: skip
        omar = await f.make_user(session, department=sales, shift=shift, location=location,
                                 first_name="Omar")  # fmt: skip
        await session.execute(update(User).values(created_at=datetime(2026, 1, 5, tzinfo=UTC)))
        for user in (eve, omar, sam):
            for day in range(2, 16):
                if date(2026, 3, day).isoweekday() > 5:
                    continue
                check_in = datetime(2026, 3, day, 8, day % 7, tzinfo=UTC)  # 09:0x Madrid
                session.add(AttendanceRecord(
                    user_id=user.id, shift_id=shift.id, location_id=location.id,
                    work_date=date(2026, 3, day), check_in_at=check_in,
                    check_out_at=check_in + timedelta(hours=8, minutes=day),
                    status="late" if day % 7 > 5 else "on_time", minutes_late=max(0, day % 7 - 5),
                    worked_minutes=480 + day, overtime_minutes=0, early_leave_minutes=0,
                ))  # fmt: skip
        await session.commit()
    return Company(hr, sam, eve, omar, engineering, settings, clock)


@pytest.fixture
async def api(company: Company, committed_db: Maker) -> AsyncIterator[httpx.AsyncClient]:
    """The API on sessions that really commit (what the worker writes, it reads)."""
    app: FastAPI = create_app(company.settings, clock=company.clock)
    app.state.sessionmaker = committed_db
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def work(company: Company, committed_db: Maker) -> None:
    """A real procrastinate worker runs the queued export jobs, then returns."""
    jobs.install_runtime(
        jobs.Runtime(settings=company.settings, sessionmaker=committed_db, clock=company.clock)
    )
    try:
        async with jobs.open_app(company.settings) as app:
            await app.run_worker_async(wait=False, install_signal_handlers=False,
                                       queues=[exports.QUEUE])  # fmt: skip
    finally:
        jobs.install_runtime(None)


async def test_csv_export_is_the_direct_gets_csv_byte_for_byte_with_progress(
    company: Company, api: httpx.AsyncClient, committed_db: Maker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Small chunks and no pause between progress commits, to see them as the API would.
    monkeypatch.setattr(exports, "CHUNK_BYTES", 256)
    monkeypatch.setattr(service, "COPY_BATCH", 512)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)
    seen: list[tuple[str, int, int | None]] = []
    update_ = exports._Writer._update

    async def observed(writer: Any, values: dict[str, Any]) -> None:
        await update_(writer, values)
        async with committed_db() as other:  # another connection: only committed rows show
            row = await other.get(ReportExport, writer.export_id)
            assert row is not None
            seen.append((row.status, row.progress_done, row.progress_total))

    monkeypatch.setattr(exports._Writer, "_update", observed)
    headers = company.headers(company.hr)
    created = await api.post(URL, json={"kind": "timesheet", "format": "csv", **RANGE},
                             headers=headers)  # fmt: skip
    assert created.status_code == 202, created.text
    export_id = created.json()["id"]
    await work(company, committed_db)

    done = (await api.get(f"{URL}/{export_id}", headers=headers)).json()
    direct = await api.get("/api/v1/reports/timesheet", params={**RANGE, "format": "csv"},
                           headers=headers)  # fmt: skip
    rows = len(list(csv.DictReader(io.StringIO(direct.text))))
    assert rows == 30  # 3 people x 10 working days
    assert done["status"] == "done"
    assert (done["progress_done"], done["progress_total"], done["rows"]) == (rows, rows, rows)
    assert done["file_url"] == f"{URL}/{export_id}/file"
    assert datetime.fromisoformat(done["expires_at"]) == company.clock() + timedelta(hours=24)
    # Progress was committed as it went: running, rising, then done.
    assert seen[0] == ("running", 0, rows)
    middle = [done_ for status, done_, _ in seen if status == "running"]
    assert middle == sorted(middle)
    assert any(0 < n < rows for n in middle), seen
    assert seen[-1] == ("done", rows, rows)
    async with committed_db() as session:
        chunks = await session.scalar(
            select(func.count()).select_from(ReportExportChunk)
            .where(ReportExportChunk.export_id == uuid.UUID(export_id))
        )  # fmt: skip
    assert chunks == -(-len(direct.content) // 256)

    file = await api.get(done["file_url"], headers=headers)
    assert file.status_code == 200
    assert file.headers["content-type"] == "text/csv; charset=utf-8"
    assert file.headers["content-disposition"] == (
        'attachment; filename="timesheet_2026-03-02_2026-03-15.csv"'
    )
    assert file.content == direct.content
    assert done["size_bytes"] == len(direct.content)


async def test_large_xlsx_get_answers_202_and_the_worker_makes_the_workbook(
    company: Company, api: httpx.AsyncClient, committed_db: Maker
) -> None:
    company.settings.report_inline_rows = 2  # three employees
    headers = company.headers(company.hr)
    queued = await api.get("/api/v1/reports/attendance", params={**RANGE, "format": "xlsx"},
                           headers=headers)  # fmt: skip
    assert queued.status_code == 202, queued.text
    await work(company, committed_db)
    done = (await api.get(queued.headers["Location"], headers=headers)).json()
    assert (done["status"], done["progress_done"], done["progress_total"], done["rows"]) == (
        "done", exports.STAGES, exports.STAGES, 3,
    )  # fmt: skip
    file = await api.get(done["file_url"], headers=headers)
    assert file.headers["content-type"] == exports.MEDIA["xlsx"]
    book = openpyxl.load_workbook(io.BytesIO(file.content))
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    header = sheet[0]
    people = {r[0]: dict(zip(header, r, strict=True)) for r in sheet[1:] if r[0] and r[1]}
    ids = {company.eve.employee_id, company.omar.employee_id, company.supervisor.employee_id}
    assert ids <= set(people)
    assert people[company.eve.employee_id]["Days present"] == 10


async def test_employee_export_holds_only_themselves(
    company: Company, api: httpx.AsyncClient, committed_db: Maker
) -> None:
    headers = company.headers(company.eve)
    created = await api.post(URL, json={"kind": "timesheet", "format": "csv", **RANGE},
                             headers=headers)  # fmt: skip
    await work(company, committed_db)
    export = (await api.get(f"{URL}/{created.json()['id']}", headers=headers)).json()
    file = await api.get(export["file_url"], headers=headers)
    ids = {r["employee_id"] for r in csv.DictReader(io.StringIO(file.text))}
    assert ids == {company.eve.employee_id}


async def test_export_runs_with_the_owners_permissions_when_it_runs(
    company: Company, api: httpx.AsyncClient, committed_db: Maker
) -> None:
    headers = company.headers(company.supervisor)
    created = await api.post(
        URL, json={"kind": "attendance", "format": "xlsx", **RANGE,
                   "department_id": str(company.department.id)}, headers=headers,
    )  # fmt: skip
    assert created.status_code == 202
    # Before the worker gets to it, Sam stops managing Engineering.
    async with committed_db() as session:
        await session.execute(
            update(Department).where(Department.id == company.department.id).values(manager_id=None)
        )
        await session.commit()
    await work(company, committed_db)
    export = (await api.get(f"{URL}/{created.json()['id']}", headers=headers)).json()
    assert (export["status"], export["error_code"]) == ("failed", "DEPARTMENT_FORBIDDEN")
    file = await api.get(f"{URL}/{export['id']}/file", headers=headers)
    assert file.status_code == 409
    # The housekeeping fails it no further, and a second run of its job leaves it alone.
    async with committed_db() as session:
        result = await exports.run(
            committed_db, uuid.UUID(export["id"]), now=company.clock(), settings=company.settings
        )
        assert result == "skipped"
        counts = await exports.housekeeping(session, now=company.clock(), settings=company.settings)
        assert counts["abandoned"] == 0


async def test_deleting_a_running_export_stops_its_worker_quietly(
    company: Company, api: httpx.AsyncClient, committed_db: Maker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(exports, "CHUNK_BYTES", 256)
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(service, "COPY_BATCH", 512)
    headers = company.headers(company.hr)
    created = await api.post(URL, json={"kind": "timesheet", "format": "csv", **RANGE},
                             headers=headers)  # fmt: skip
    export_id = created.json()["id"]
    store = exports._Writer._store
    deleting: list[asyncio.Task[httpx.Response]] = []

    async def through_or_waiting() -> bool:
        if deleting[0].done():
            return True
        async with committed_db() as probe:
            waiting = await probe.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'DELETE FROM report_exports%'"
            ))  # fmt: skip
        return bool(waiting)

    async def deleted_meanwhile(writer: Any, data: bytes) -> None:
        if writer.seq == 2 and not deleting:
            # The owner deletes it through the API while the worker writes: the DELETE goes
            # through, or waits for the writer's open transaction (its chunks hold the row).
            deleting.append(asyncio.create_task(api.delete(f"{URL}/{export_id}", headers=headers)))
            await until(through_or_waiting, 10, "the DELETE to be done or waiting")
        await store(writer, data)

    monkeypatch.setattr(exports._Writer, "_store", deleted_meanwhile)
    result = await exports.run(committed_db, uuid.UUID(export_id), now=company.clock(),
                               settings=company.settings)  # fmt: skip
    assert result == "stopped"
    assert (await deleting[0]).status_code == 204
    async with committed_db() as session:
        left = await session.scalar(select(func.count()).select_from(ReportExportChunk))
    assert left == 0
