"""Report exports: a report computed by the worker, its progress, and its file kept a while.

The API writes the `report_exports` row and defers `report.export` in the same transaction,
so a job exists exactly when its export does. The worker then computes the report with the
owner's permissions as they are when it runs (a supervisor who no longer manages the
department gets a failed export with the GET's error code, not the file), writing the file in
chunks of about a megabyte to `report_export_chunks` as it goes. It uses two connections: one
streams the report (COPY for CSV), the other writes chunks and progress and commits about
once a second, so every API replica sees the progress and can serve the file (no shared disk).

Housekeeping (hourly): a done export whose `expires_at` passed becomes `expired` and its file
is deleted; the row itself is deleted `KEEP_EXPIRED` later. An unfinished export whose worker
died (no heartbeat for `STALE_RUNNING`, or still queued after `STALE_QUEUED`) is failed with
`EXPORT_ABANDONED`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from psycopg import AsyncConnection
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.db import unit_of_work
from tapwork.errors import AppError, Forbidden
from tapwork.permissions import P
from tapwork.report import labels, render, service
from tapwork.report.errors import ExportNotFound
from tapwork.report.models import ReportExport, ReportExportChunk
from tapwork.report.service import Filters
from tapwork.user.models import User
from tapwork.worker.jobs import app as job_app

log = structlog.get_logger("tapwork.report.exports")

TASK = "report.export"
QUEUE = "reports"
CHUNK_BYTES = 1024 * 1024
PROGRESS_EVERY = 1.0  # seconds between progress commits
STALE_RUNNING = timedelta(minutes=30)
STALE_QUEUED = timedelta(hours=6)
KEEP_EXPIRED = timedelta(days=7)
# Stages of the formats other than CSV: counted, built (JSON: streamed), stored.
STAGES = 3

MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
READERS = frozenset({P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT, P.ATTENDANCE_READ_OWN})
DEPARTMENT_READERS = frozenset({P.REPORTS_READ_ALL, P.REPORTS_READ_DEPARTMENT})


@dataclass(frozen=True, slots=True)
class Request:
    """What to export: a report kind, its format and language, and its filters."""

    kind: str
    format: str
    filters: Filters
    lang: labels.Lang = "en"
    layout: str = "generic"


def filename(export: ReportExport) -> str:
    name = f"{export.kind}_{export.from_date.isoformat()}_{export.to_date.isoformat()}"
    if export.layout != "generic":
        name += f"_{export.layout}"
    return f"{name}.{export.format}"


def filters_of(export: ReportExport) -> Filters:
    return Filters(
        export.from_date, export.to_date, export.department_id, export.employee_id,
        export.location_id, export.record_status,
    )  # fmt: skip


def may_export(permissions: frozenset[str], kind: str) -> bool:
    """The GET endpoints' gates: any report for a reader, the summary for department readers."""
    allowed = DEPARTMENT_READERS if kind == "department-summary" else READERS
    return bool(allowed & permissions)


async def create(
    session: AsyncSession, owner_id: uuid.UUID, request: Request, *, now: datetime
) -> ReportExport:
    """Queue an export (the caller checked the request like the GET would). Flushes; the job
    is deferred on the same transaction, so both exist or neither."""
    f = request.filters
    export = ReportExport(
        id=uuid.uuid4(), user_id=owner_id, kind=request.kind, format=request.format,
        layout=request.layout, lang=request.lang, from_date=f.from_date, to_date=f.to_date,
        department_id=f.department_id, employee_id=f.user_id, location_id=f.location_id,
        record_status=f.status, status="queued", progress_done=0, created_at=now,
    )  # fmt: skip
    session.add(export)
    await session.flush()
    conn = await service.driver_connection(session)
    deferrer = job_app.configure_task(name=TASK, connection=conn)
    await deferrer.defer_async(export_id=str(export.id))
    return export


async def list_own(session: AsyncSession, owner_id: uuid.UUID, limit: int) -> list[ReportExport]:
    found = await session.scalars(
        select(ReportExport)
        .where(ReportExport.user_id == owner_id)
        .order_by(ReportExport.created_at.desc(), ReportExport.id.desc())
        .limit(limit)
    )
    return list(found)


async def get_own(session: AsyncSession, owner_id: uuid.UUID, export_id: uuid.UUID) -> ReportExport:
    """The caller's export, or 404 for any other (HR and admins included: an export is a
    personal file)."""
    export = await session.scalar(
        select(ReportExport).where(ReportExport.id == export_id, ReportExport.user_id == owner_id)
    )
    if export is None:
        raise ExportNotFound("No such export")
    return export


async def remove(session: AsyncSession, export: ReportExport) -> None:
    """Delete an export and its file; a worker still computing it stops at its next write."""
    await session.execute(delete(ReportExport).where(ReportExport.id == export.id))


def is_expired(export: ReportExport, now: datetime) -> bool:
    return export.status == "expired" or (
        export.status == "done" and export.expires_at is not None and export.expires_at <= now
    )


async def chunks(
    sessionmaker: async_sessionmaker[AsyncSession], export_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """The file, one stored chunk at a time (memory stays at a chunk whatever the size)."""
    async with unit_of_work(sessionmaker) as session:
        seq = 0
        while True:
            data = await session.scalar(
                select(ReportExportChunk.data).where(
                    ReportExportChunk.export_id == export_id, ReportExportChunk.seq == seq
                )
            )
            if data is None:
                return
            yield bytes(data)
            seq += 1


# The worker's side.


class _Stopped(Exception):
    """The export was deleted, or failed by housekeeping, while it ran: stop quietly."""


class _Writer:
    """Writes an export's chunks and progress on a connection of its own, committing about once
    a second (and at the end) so that the API sees them."""

    def __init__(self, session: AsyncSession, export_id: uuid.UUID, now: datetime,
                 *, chunk_bytes: int, every: float) -> None:  # fmt: skip
        self.session, self.export_id, self.now = session, export_id, now
        self.chunk_bytes, self.every = chunk_bytes, every
        self.buffer = bytearray()
        self.seq = 0
        self.size = 0
        self.started = self.last = time.monotonic()

    def heartbeat(self) -> datetime:
        """The run's `now` moved on by the time it has taken: a long export keeps beating and
        housekeeping (STALE_RUNNING) never takes it for a dead one."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    async def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.chunk_bytes:
            await self._store(bytes(self.buffer[: self.chunk_bytes]))
            del self.buffer[: self.chunk_bytes]

    async def flush(self) -> None:
        if self.buffer:
            await self._store(bytes(self.buffer))
            self.buffer.clear()

    async def _store(self, data: bytes) -> None:
        self.session.add(ReportExportChunk(export_id=self.export_id, seq=self.seq, data=data))
        try:
            await self.session.flush()
        except IntegrityError as exc:  # its owner deleted it since the last commit
            await self.session.rollback()
            raise _Stopped from exc
        self.seq += 1
        self.size += len(data)

    async def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < self.every:
            return
        values: dict[str, Any] = {"progress_done": done, "heartbeat_at": self.heartbeat()}
        if total is not None:
            values["progress_total"] = total
        await self._update(values)
        self.last = time.monotonic()

    async def _update(self, values: dict[str, Any]) -> None:
        result = await self.session.execute(
            update(ReportExport)
            .where(ReportExport.id == self.export_id, ReportExport.status == "running")
            .values(**values)
            .returning(ReportExport.id)
        )
        if result.scalar() is None:
            await self.session.rollback()
            raise _Stopped
        await self.session.commit()

    async def finish(self, done: int, rows: int, ttl: timedelta) -> None:
        await self.flush()
        await self._update({
            "status": "done", "progress_done": done, "rows": rows, "size_bytes": self.size,
            "heartbeat_at": self.heartbeat(), "finished_at": self.now, "expires_at": self.now + ttl,
        })  # fmt: skip


async def _claim(session: AsyncSession, export_id: uuid.UUID, now: datetime) -> ReportExport | None:
    export = await session.scalar(
        select(ReportExport).where(ReportExport.id == export_id).with_for_update()
    )
    if export is None or export.status != "queued":
        return None
    export.status, export.started_at, export.heartbeat_at = "running", now, now
    return export


async def _fail(
    sessionmaker: async_sessionmaker[AsyncSession], export_id: uuid.UUID, code: str,
    message: str, *, now: datetime, ttl: timedelta,
) -> None:  # fmt: skip
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            delete(ReportExportChunk).where(ReportExportChunk.export_id == export_id)
        )
        await session.execute(
            update(ReportExport)
            .where(ReportExport.id == export_id, ReportExport.status.in_(("queued", "running")))
            .values(status="failed", error_code=code, error_message=message[:1000],
                    finished_at=now, heartbeat_at=now, expires_at=now + ttl)
        )  # fmt: skip


async def _produce(
    conn: AsyncConnection[Any], writer: _Writer, export: ReportExport, scope: service.Scope,
    *, now: datetime, settings: Settings, ttl: timedelta,
) -> None:  # fmt: skip
    f = scope.filters
    sql = service.sql_for(export.kind, f, export.layout)
    if export.format == "csv":
        total = await service.count_rows(conn, sql, scope, now)
        await writer.progress(0, total, force=True)
        delimiter = ";" if export.layout == "datev" else ","
        lines = 0
        async for chunk in service.copy_csv(conn, sql, scope, now, delimiter=delimiter):
            await writer.write(chunk)
            lines += chunk.count(b"\n")
            await writer.progress(min(max(lines - 1, 0), total))
        rows = max(lines - 1, 0)  # the header line
        await writer.finish(rows, rows, ttl)
        return
    rows = await service.count_rows(conn, sql, scope, now)
    if export.format == "xlsx":
        service.check_xlsx_rows(rows)
    await writer.progress(1, STAGES, force=True)
    lang: labels.Lang = "es" if export.lang == "es" else "en"
    meta = render.Meta(export.kind, settings.organisation_name, f.from_date, f.to_date, now, lang)
    if export.format == "json":
        async for chunk in service.json_document(conn, sql, scope, now, meta):
            await writer.write(chunk)
            await writer.progress(1)  # commits the chunks written so far, about once a second
        await writer.progress(2, force=True)
    elif export.format == "xlsx":
        # Built on disk (the worker's /tmp), then copied into the chunks a chunk at a time.
        async with service.xlsx_file(conn, sql, scope, now, meta) as (path, _):
            await writer.progress(2, force=True)
            async with await anyio.open_file(path, "rb") as file:
                while data := await file.read(CHUNK_BYTES):
                    await writer.write(data)
                    await writer.progress(2)
    else:
        data = await service.file_document(conn, sql, scope, now, meta, export.format)
        await writer.progress(2, force=True)
        await writer.write(data)
        del data
    await writer.finish(STAGES, rows, ttl)


async def run(
    sessionmaker: async_sessionmaker[AsyncSession], export_id: uuid.UUID, *, now: datetime,
    settings: Settings,
) -> str:  # fmt: skip
    """Compute one export (the `report.export` task). Returns its final status, or `skipped`
    when it was no longer queued (deleted, or failed by housekeeping before a worker came)."""
    ttl = timedelta(hours=settings.report_export_ttl_hours)
    async with unit_of_work(sessionmaker) as session:
        export = await _claim(session, export_id, now)
        if export is None:
            return "skipped"
        owner = await session.get(User, export.user_id)
    try:
        async with unit_of_work(sessionmaker) as reader, sessionmaker() as writing:
            # The owner's permissions now, not when they asked.
            if owner is None or not owner.is_active or not may_export(owner.permissions,
                                                                      export.kind):  # fmt: skip
                raise Forbidden("You no longer have permission for this report")
            viewer = service.Viewer(owner.id, owner.permissions)
            scope = await service.resolve(reader, viewer, filters_of(export))
            conn = await service.driver_connection(reader)
            writer = _Writer(writing, export.id, now, chunk_bytes=CHUNK_BYTES,
                             every=PROGRESS_EVERY)  # fmt: skip
            await _produce(conn, writer, export, scope, now=now, settings=settings, ttl=ttl)
    except _Stopped:
        log.info("report_export_stopped", export_id=str(export_id))
        return "stopped"
    except AppError as exc:
        # What the GET would have answered (403, 404, a PDF too long...): the owner's error.
        await _fail(sessionmaker, export_id, exc.code, exc.message, now=now, ttl=ttl)
        log.info("report_export_failed", export_id=str(export_id), code=exc.code)
        return "failed"
    except Exception:
        await _fail(sessionmaker, export_id, "EXPORT_FAILED", "The export failed; try again",
                    now=now, ttl=ttl)  # fmt: skip
        raise  # the job fails too, so the admins' job watch hears of it
    log.info("report_export_done", export_id=str(export_id), kind=export.kind,
             format=export.format)  # fmt: skip
    return "done"


async def housekeeping(
    session: AsyncSession, *, now: datetime, settings: Settings
) -> dict[str, int]:
    """Expire files past their time, forget old exports, fail the abandoned. Flushes."""
    ttl = timedelta(hours=settings.report_export_ttl_hours)
    expired = list(
        await session.scalars(
            update(ReportExport)
            .where(ReportExport.status == "done", ReportExport.expires_at <= now)
            .values(status="expired")
            .returning(ReportExport.id)
        )
    )
    abandoned = list(
        await session.scalars(
            update(ReportExport)
            .where(
                (
                    (ReportExport.status == "running")
                    & (func.coalesce(ReportExport.heartbeat_at, ReportExport.created_at)
                       <= now - STALE_RUNNING)
                )
                | (
                    (ReportExport.status == "queued")
                    & (ReportExport.created_at <= now - STALE_QUEUED)
                )
            )
            .values(
                status="failed", error_code="EXPORT_ABANDONED",
                error_message="The export stopped without finishing (its worker went away); "
                "ask again", finished_at=now, expires_at=now + ttl,
            )
            .returning(ReportExport.id)
        )
    )  # fmt: skip
    gone = set(expired) | set(abandoned)
    if gone:
        await session.execute(
            delete(ReportExportChunk).where(ReportExportChunk.export_id.in_(gone))
        )
    forgotten = await session.execute(
        delete(ReportExport)
        .where(
            ReportExport.status.in_(("expired", "failed")),
            ReportExport.expires_at <= now - KEEP_EXPIRED,
        )
        .returning(ReportExport.id)
    )
    counts = {"expired": len(expired), "abandoned": len(abandoned),
              "deleted": len(forgotten.all())}  # fmt: skip
    await session.flush()
    return counts
