"""Scheduled reports: who may set one, for whom, and reading them back.

Anyone with a reports permission (`reports:read_department` or `reports:read_all`) may
schedule a report for themselves; naming other recipients needs `reports:read_all` (HR).
Every recipient must be active, hold a reports permission and be allowed to see what the
filters ask for (a supervisor recipient of a department they do not manage is refused); each
copy is computed later with its recipient's permissions (report/scheduled.py). A schedule is
visible to its owner and to `reports:read_all`; to anyone else it does not exist (404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit import service as audit_service
from tapwork.department.errors import DepartmentNotFound
from tapwork.department.models import Department
from tapwork.errors import Forbidden
from tapwork.kit.actor import Actor
from tapwork.location.errors import LocationNotFound
from tapwork.location.models import Location
from tapwork.permissions import P
from tapwork.report import service
from tapwork.report.errors import (
    DepartmentForbidden,
    RecipientNotAllowed,
    ScheduleNotFound,
    UserNotFound,
)
from tapwork.report.models import ReportSchedule, ReportScheduleRecipient, ReportScheduleRun
from tapwork.report.schemas import Recipient, ScheduleCreate, ScheduleRead, ScheduleUpdate
from tapwork.report.service import Filters, Viewer
from tapwork.user.models import User

FIELDS = ("kind", "format", "frequency", "department_id", "location_id", "employee_id")


def viewer_of(user: User) -> Viewer:
    return Viewer(user.id, user.permissions)


def _snapshot(schedule: ReportSchedule, recipients: list[uuid.UUID]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: (str(v) if isinstance(v := getattr(schedule, name), uuid.UUID) else v)
        for name in FIELDS
    }
    return {**values, "recipient_ids": sorted(str(r) for r in recipients)}


def filters_of(schedule: ReportSchedule, now: datetime) -> Filters:
    today = now.date()
    return Filters(today, today, schedule.department_id, schedule.employee_id, schedule.location_id)


async def may_receive(session: AsyncSession, user: User, filters: Filters, kind: str) -> bool:
    """Whether `user` can receive a report with these filters (their permissions today)."""
    viewer = viewer_of(user)
    if not user.is_active or not service.can_see_departments(viewer):
        return False
    try:
        await service.resolve(session, viewer, filters)
    except (DepartmentForbidden, UserNotFound):
        return False
    return True


async def _check(
    session: AsyncSession, caller: User, schedule: ReportSchedule, recipient_ids: list[uuid.UUID],
    now: datetime,
) -> None:  # fmt: skip
    if schedule.department_id and await session.get(Department, schedule.department_id) is None:
        raise DepartmentNotFound("No such department", id=str(schedule.department_id))
    if schedule.location_id and await session.get(Location, schedule.location_id) is None:
        raise LocationNotFound("No such location", id=str(schedule.location_id))
    if schedule.employee_id and await session.get(User, schedule.employee_id) is None:
        raise UserNotFound("No such user")
    filters = filters_of(schedule, now)
    await service.resolve(session, viewer_of(caller), filters)  # 403 / 404 for the caller
    if set(recipient_ids) - {caller.id} and P.REPORTS_READ_ALL not in caller.permissions:
        raise Forbidden("Only HR can send a scheduled report to other people")
    found = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(recipient_ids)))}
    for recipient_id in recipient_ids:
        user = found.get(recipient_id)
        if user is None or not await may_receive(session, user, filters, schedule.kind):
            raise RecipientNotAllowed(
                "This person cannot receive this report (no reports permission, inactive, or "
                "not allowed to see what it covers)",
                field="recipient_ids",
                recipient_id=str(recipient_id),
            )


async def _set_recipients(
    session: AsyncSession, schedule_id: uuid.UUID, recipient_ids: list[uuid.UUID]
) -> None:
    await session.execute(
        delete(ReportScheduleRecipient).where(ReportScheduleRecipient.schedule_id == schedule_id)
    )
    session.add_all(
        ReportScheduleRecipient(schedule_id=schedule_id, user_id=user_id)
        for user_id in dict.fromkeys(recipient_ids)
    )
    await session.flush()


async def read(session: AsyncSession, schedules: list[ReportSchedule]) -> list[ScheduleRead]:
    ids = [s.id for s in schedules]
    recipients: dict[uuid.UUID, list[Recipient]] = defaultdict(list)
    rows = await session.execute(
        select(ReportScheduleRecipient.schedule_id, User)
        .join(User, User.id == ReportScheduleRecipient.user_id)
        .where(ReportScheduleRecipient.schedule_id.in_(ids))
        .order_by(User.last_name, User.first_name, User.id)
    )
    for schedule_id, user in rows.all():
        recipients[schedule_id].append(
            Recipient(id=user.id, full_name=user.full_name, email=user.email)
        )
    last = dict(
        (
            await session.execute(
                select(ReportScheduleRun.schedule_id, func.max(ReportScheduleRun.period_start))
                .where(ReportScheduleRun.schedule_id.in_(ids))
                .group_by(ReportScheduleRun.schedule_id)
            )
        ).all()
    )
    return [
        ScheduleRead(
            id=s.id,
            owner_id=s.owner_id,
            kind=s.kind,
            format=s.format,
            frequency=s.frequency,
            department_id=s.department_id,
            location_id=s.location_id,
            employee_id=s.employee_id,
            recipients=recipients[s.id],
            created_at=s.created_at,
            last_period_start=last.get(s.id),
        )
        for s in schedules
    ]


async def list_schedules(session: AsyncSession, caller: Viewer) -> list[ReportSchedule]:
    query = select(ReportSchedule).order_by(ReportSchedule.created_at, ReportSchedule.id)
    if P.REPORTS_READ_ALL not in caller.permissions:
        query = query.where(ReportSchedule.owner_id == caller.user_id)
    return list(await session.scalars(query))


async def get(
    session: AsyncSession, caller: Viewer, schedule_id: uuid.UUID, *, for_update: bool = False
) -> ReportSchedule:
    schedule = await session.get(ReportSchedule, schedule_id, with_for_update=for_update)
    if schedule is None or (
        schedule.owner_id != caller.user_id and P.REPORTS_READ_ALL not in caller.permissions
    ):
        raise ScheduleNotFound("No such scheduled report", id=str(schedule_id))
    return schedule


async def recipient_ids(session: AsyncSession, schedule_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await session.scalars(
            select(ReportScheduleRecipient.user_id).where(
                ReportScheduleRecipient.schedule_id == schedule_id
            )
        )
    )


async def create(
    session: AsyncSession, caller: User, body: ScheduleCreate, *, actor: Actor, now: datetime
) -> ReportSchedule:
    schedule = ReportSchedule(
        id=uuid.uuid4(), owner_id=caller.id, created_at=now, updated_at=now,
        **body.model_dump(include=set(FIELDS)),
    )  # fmt: skip
    recipients = body.recipient_ids or [caller.id]
    await _check(session, caller, schedule, recipients, now)
    session.add(schedule)
    await session.flush()
    await _set_recipients(session, schedule.id, recipients)
    await audit_service.record(
        session, actor, "report.schedule_create", "report_schedule", schedule.id,
        new=_snapshot(schedule, recipients),
    )  # fmt: skip
    return schedule


async def update(
    session: AsyncSession, caller: User, schedule_id: uuid.UUID, body: ScheduleUpdate, *,
    actor: Actor, now: datetime,
) -> ReportSchedule:  # fmt: skip
    schedule = await get(session, viewer_of(caller), schedule_id, for_update=True)
    before = await recipient_ids(session, schedule.id)
    old = _snapshot(schedule, before)
    changes = body.model_dump(exclude_unset=True)
    recipients = changes.pop("recipient_ids", None) or before
    for name, value in changes.items():
        if value is None and name in ("kind", "format", "frequency"):
            continue  # not clearable
        setattr(schedule, name, value)
    await _check(session, caller, schedule, recipients, now)
    schedule.updated_at = now
    await session.flush()
    await _set_recipients(session, schedule.id, recipients)
    await audit_service.record(
        session, actor, "report.schedule_update", "report_schedule", schedule.id,
        old=old, new=_snapshot(schedule, recipients),
    )  # fmt: skip
    return schedule


async def remove(
    session: AsyncSession, caller: Viewer, schedule_id: uuid.UUID, *, actor: Actor
) -> None:
    schedule = await get(session, caller, schedule_id, for_update=True)
    old = _snapshot(schedule, await recipient_ids(session, schedule.id))
    await session.delete(schedule)
    await session.flush()
    await audit_service.record(
        session, actor, "report.schedule_delete", "report_schedule", schedule_id, old=old
    )
