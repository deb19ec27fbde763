"""Scans counted by result (the batch metrics need the lanes of a real server: see
tests/core/test_pooler.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession

from tests.attendance.conftest import Scanner, badge_code
from tests.support.clock import FrozenClock
from tests.support.personas import Org


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_scans_are_counted_by_result(
    scanner: Scanner,
    org: Org,
    session: AsyncSession,
    clock: FrozenClock,
    at_madrid: Callable[..., datetime],
) -> None:
    at_madrid(2026, 3, 2, 9, 0)
    code = await badge_code(session, org.employee, org.settings, clock())
    before = {
        "check_in": _value("tapwork_scans_total", result="check_in"),
        "check_out": _value("tapwork_scans_total", result="check_out"),
        "invalid": _value("tapwork_scans_total", result="INVALID_BADGE"),
    }
    assert (await scanner.scan(code)).status_code == 200
    at_madrid(2026, 3, 2, 17, 30)
    assert (await scanner.scan(code)).status_code == 200
    bad = await scanner.scan(code[:-4] + "AAAA")
    assert bad.status_code in (400, 404, 422), bad.text
    code_of_bad = bad.json()["error"]["code"]

    assert _value("tapwork_scans_total", result="check_in") == before["check_in"] + 1
    assert _value("tapwork_scans_total", result="check_out") == before["check_out"] + 1
    if code_of_bad == "INVALID_BADGE":
        assert _value("tapwork_scans_total", result="INVALID_BADGE") == before["invalid"] + 1
