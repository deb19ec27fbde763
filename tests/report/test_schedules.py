"""Scheduled reports: who may set one for whom, and the worker that mails each finished period
once, each copy computed with its recipient's permissions, nothing when there is no data."""

from __future__ import annotations

import base64
import csv
import io
import random
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import openpyxl
import pypdf
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tapwork.config import Settings
from tapwork.notification import delivery
from tapwork.notification.models import OutboxEmail
from tapwork.report import scheduled
from tapwork.report.models import ReportSchedule, ReportScheduleRun
from tests.report.conftest import Acme, _at, _record
from tests.support.clock import FrozenClock
from tests.support.personas import Org
from tests.support.smtp import SmtpServer, body_text

URL = "/api/v1/reports/schedules"
MONDAY_NOON = datetime(2026, 3, 30, 12, 30, tzinfo=UTC)  # the week of 23 March is over everywhere
APRIL_2 = datetime(2026, 4, 1, 12, 30, tzinfo=UTC)  # ... and March


async def _create(client: httpx.AsyncClient, org: Org, persona: str, **body: Any) -> httpx.Response:
    return await client.post(URL, headers=org.headers(org.persona(persona)), json=body)


async def _backdate(session: AsyncSession) -> None:
    """Schedules made before the periods the tests mail (the clock reads 1 April)."""
    await session.execute(
        update(ReportSchedule).values(created_at=datetime(2026, 3, 10, tzinfo=UTC))
    )


def _attachment(mail: EmailMessage) -> tuple[str, bytes]:
    [part] = list(mail.iter_attachments())
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(part.get_filename()), payload


def _xlsx_ids(data: bytes) -> set[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), data_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return {str(row[0]) for row in rows[1:-1]}  # header, rows, totals


async def test_hr_schedules_for_others_supervisors_only_for_themselves(
    acme: Acme, org: Org, client: httpx.AsyncClient
) -> None:
    body = {"kind": "attendance", "format": "xlsx", "frequency": "weekly"}
    made = await _create(
        client, org, "hr", **body, recipient_ids=[str(org.hr.id), str(org.supervisor.id)]
    )
    assert made.status_code == 201, made.text
    assert {r["email"] for r in made.json()["recipients"]} == {org.hr.email, org.supervisor.email}
    # A supervisor schedules for themselves (the default), never for others.
    own = await _create(client, org, "supervisor", **body)
    assert own.status_code == 201
    assert [r["id"] for r in own.json()["recipients"]] == [str(org.supervisor.id)]
    refused = await _create(client, org, "supervisor", **body, recipient_ids=[str(org.hr.id)])
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    other = await _create(client, org, "supervisor", **body, department_id=str(acme.operations_id))
    assert other.json()["error"]["code"] == "DEPARTMENT_FORBIDDEN"
    # Recipients must be able to receive it: a reports permission, and sight of what it covers.
    for recipient, department in ((org.employee, None), (org.supervisor, acme.operations_id)):
        bad = await _create(
            client, org, "hr", **body, recipient_ids=[str(recipient.id)],
            department_id=str(department) if department else None,
        )  # fmt: skip
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "RECIPIENT_NOT_ALLOWED"
        assert bad.json()["error"]["details"]["recipient_id"] == str(recipient.id)
    # Bad input is the SPEC's error shape, never a 500.
    assert (await _create(client, org, "hr", **body, typo=1)).status_code == 422
    assert (await _create(client, org, "hr", **{**body, "format": "json"})).status_code == 422
    unknown = await _create(client, org, "hr", **body, location_id=str(org.hr.id))
    assert unknown.json()["error"]["code"] == "LOCATION_NOT_FOUND"

    # The supervisor sees only their own; HR sees both and can change or delete either.
    sam = org.headers(org.supervisor)
    assert [s["id"] for s in (await client.get(URL, headers=sam)).json()] == [own.json()["id"]]
    hr_id = made.json()["id"]
    for method in ("GET", "PATCH", "DELETE"):
        answer = await client.request(
            method, f"{URL}/{hr_id}", headers=sam, json={} if method == "PATCH" else None
        )
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "SCHEDULE_NOT_FOUND"
    hr = org.headers(org.hr)
    assert len((await client.get(URL, headers=hr)).json()) == 2
    changed = await client.patch(f"{URL}/{own.json()['id']}", headers=hr, json={"format": "pdf"})
    assert changed.json()["format"] == "pdf"
    assert (await client.delete(f"{URL}/{own.json()['id']}", headers=hr)).status_code == 204
    assert [s["id"] for s in (await client.get(URL, headers=hr)).json()] == [hr_id]


async def test_each_recipient_gets_their_own_copy_once_and_nothing_without_data(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, smtp: SmtpServer,
    clock: FrozenClock,
) -> None:  # fmt: skip
    # Eve (Engineering, Sam's department) worked on Monday 23 March.
    await _record(
        session, org.employee, org.shift, org.location,
        _at("Europe/Madrid", 2026, 3, 23, 9, 0), _at("Europe/Madrid", 2026, 3, 23, 17, 0),
    )  # fmt: skip
    recipients = [str(org.hr.id), str(org.supervisor.id)]
    weekly = await _create(client, org, "hr", kind="attendance", format="xlsx",
                           frequency="weekly", recipient_ids=recipients)  # fmt: skip
    assert weekly.status_code == 201, weekly.text
    await _backdate(session)
    sam = org.supervisor
    org.supervisor.language = "es"
    await session.flush()

    first = await scheduled.send_due(session, now=MONDAY_NOON, settings=settings)
    assert first == 2
    assert await scheduled.send_due(session, now=MONDAY_NOON, settings=settings) == 0
    assert await session.scalar(select(func.count()).select_from(ReportScheduleRun)) == 1
    await session.commit()
    clock.set(MONDAY_NOON)
    await delivery.deliver_batch(sessionmaker, settings, clock=clock, rng=random.Random(1))

    [hr_mail] = smtp.inbox.wait_for(org.hr.email)
    name, data = _attachment(hr_mail)
    assert name == "attendance_2026-03-23_2026-03-29.xlsx"
    assert {"N001", "P001", "O001", org.employee.employee_id} <= _xlsx_ids(data)
    assert hr_mail["Subject"] == "Attendance summary, 23 Mar 2026 to 29 Mar 2026"
    assert name in body_text(hr_mail)
    # Sam's copy: only the department he manages, labelled in his language.
    [sam_mail] = smtp.inbox.wait_for(sam.email)
    assert sam_mail["Subject"] == "Resumen de asistencia, del 23 mar 2026 al 29 mar 2026"
    _, sam_data = _attachment(sam_mail)
    assert _xlsx_ids(sam_data) == {org.employee.employee_id, org.supervisor.employee_id}


async def test_a_period_without_data_sends_nothing_and_csv_reads_back(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    hr = [str(org.hr.id)]
    empty = await _create(
        client, org, "hr", kind="timesheet", format="csv", frequency="weekly",
        department_id=str(org.employee.department_id), recipient_ids=hr,
    )  # fmt: skip
    monthly = await _create(client, org, "hr", kind="timesheet", format="csv",
                            frequency="monthly", department_id=str(acme.sales_id),
                            recipient_ids=hr)  # fmt: skip
    assert empty.status_code == monthly.status_code == 201
    await _backdate(session)
    # Engineering had no record in the week of 23 March: no mail, the period still handled.
    assert await scheduled.send_due(session, now=MONDAY_NOON, settings=settings) == 0
    runs = (await session.scalars(select(ReportScheduleRun))).all()
    assert [(str(r.schedule_id), r.mailed) for r in runs] == [(empty.json()["id"], 0)]
    # March for Sales (Olive in New York): the timesheet as CSV, parsed back.
    assert await scheduled.send_due(session, now=APRIL_2, settings=settings) == 1
    mail = await session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "scheduled_report"))
    assert mail is not None
    assert mail.to_address == org.hr.email
    assert mail.context["attachment"]["filename"] == "timesheet_2026-03-01_2026-03-31.csv"
    text = base64.b64decode(mail.context["attachment"]["data"]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["employee_id"] for r in rows} == {"O001"}
    # (the 24th: only a held scan, flagged)
    assert [r["date"] for r in rows] == [f"2026-03-{d}" for d in (23, 24, 25, 26, 27)]
    assert rows[1]["flags"] == "held"


async def test_a_pdf_copy_is_attached_in_the_recipients_language(
    acme: Acme, org: Org, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    made = await _create(client, org, "hr", kind="attendance", format="pdf", frequency="monthly")
    assert made.status_code == 201, made.text
    await _backdate(session)
    org.hr.language = "es"
    await session.flush()
    assert await scheduled.send_due(session, now=APRIL_2, settings=settings) == 1
    mail = await session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "scheduled_report"))
    assert mail is not None
    attachment = mail.context["attachment"]
    assert (attachment["filename"], attachment["media_type"]) == (
        "attendance_2026-03-01_2026-03-31.pdf", "application/pdf",
    )  # fmt: skip
    pdf = pypdf.PdfReader(io.BytesIO(base64.b64decode(attachment["data"])))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "2026-03-01 al 2026-03-31" in text
    assert "N001" in text
