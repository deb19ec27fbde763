"""Assembles /api/v1 from the domain routers."""

from __future__ import annotations

from fastapi import APIRouter

from tapwork.attendance.router import router as attendance_router
from tapwork.attendance.router import scan
from tapwork.audit.router import router as audit_router
from tapwork.auth.router import router as auth_router
from tapwork.badge.router import router as badge_router
from tapwork.biometric.router import router as biometric_router
from tapwork.department.router import router as department_router
from tapwork.holiday.router import router as holiday_router
from tapwork.kiosk.router import router as kiosk_router
from tapwork.limits import general_limit
from tapwork.location.router import router as location_router
from tapwork.notification.router import router as notification_router
from tapwork.report.router import router as report_router
from tapwork.role.router import router as role_router
from tapwork.shift.router import router as shift_router
from tapwork.user.router import router as user_router

API_PREFIX = "/api/v1"


def build_api_router() -> APIRouter:
    # Before every route's own dependencies: counted even when the route refuses the request.
    api = APIRouter(prefix=API_PREFIX, dependencies=[general_limit(exempt={scan})])
    for router in (
        auth_router,
        user_router,
        department_router,
        shift_router,
        location_router,
        holiday_router,
        role_router,
        audit_router,
        notification_router,
        badge_router,
        kiosk_router,
        attendance_router,
        report_router,
        biometric_router,
    ):
        api.include_router(router)
    return api
