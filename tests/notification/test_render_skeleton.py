"""Per-scan mail filled into a skeleton (render._Skeleton) is byte for byte what the templates
render, for names that are markup, quotes, accents, long or oddly spaced; and a second mail of
the same shape does not run the templates again."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tapwork.config import Settings
from tapwork.notification import render as render_module
from tapwork.notification import unsubscribe
from tapwork.notification.kinds import Kind
from tapwork.notification.mime import build
from tapwork.notification.render import render
from tests.notification.test_render import CONTEXTS, USER

NAMES = [
    "Eve",
    "<b>Ana & Co</b>",
    'O\'Brien "Bob" <script>',
    "Zoë Ñúñez-Çelik",
    "50% off %(name)s {{ x }}",
    "",
    "x" * 119,
    "y" * 290,  # a subject that is cut: rendered in full
    "two  spaces",  # not one plain line: rendered in full
    " edge",
    "line\nbreak",
    "tab\there",
]
LEAVES = ["", "http://portal.test/u?a=1&b=2"]


@pytest.fixture
def cfg() -> Settings:
    return Settings(TAPWORK_ENV="test", public_url="http://portal.test")


def _full(kind: Kind, context: dict[str, Any], cfg: Settings, language: str, leave: str) -> Any:
    return render_module._render(
        kind.value, context, settings=cfg, language=language, unsubscribe_url=leave
    )


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", [Kind.ATTENDANCE_CONFIRMATION, Kind.LATE_ALERT])
def test_a_skeleton_gives_the_templates_bytes(kind: Kind, language: str, cfg: Settings) -> None:
    render_module._skeletons.clear()
    base = {**USER, **CONTEXTS[kind]}
    for name, place, leave in itertools.product(NAMES, NAMES[:6], LEAVES):
        # The same shape again and again: all but the first come from the skeleton.
        for holder in ("first_name", "employee_name", "full_name"):
            context = {**base, holder: name, "location": place, "department": place}
            got = render(
                kind.value, context, settings=cfg, language=language, unsubscribe_url=leave
            )
            assert got == _full(kind, context, cfg, language, leave), (holder, name, place)


@pytest.mark.parametrize("kind", [Kind.ATTENDANCE_CONFIRMATION, Kind.LATE_ALERT])
def test_shapes_that_differ_outside_the_names_get_their_own_skeleton(
    kind: Kind, cfg: Settings
) -> None:
    render_module._skeletons.clear()
    variants: list[dict[str, Any]] = [
        {"status": "on_time", "minutes_late": None},
        {"status": "late", "minutes_late": 1},
        {"status": "late", "minutes_late": True},  # True == 1 in a dict key
        {"status": "late", "minutes_late": 65},
        {"action": "check_out", "worked_minutes": 480, "overtime_minutes": 0},
        {"at_local": "2026-12-07 09:01"},
        {"at_local": "2026-12-07 09:02"},
        {"extra": "a key no template reads"},
    ]
    for variant, first in itertools.product(variants, ["Eve", "Ana"]):
        context = {**USER, **CONTEXTS[kind], **variant, "first_name": first}
        assert render(kind.value, context, settings=cfg) == _full(kind, context, cfg, "en", "")


def test_the_second_mail_of_a_shape_does_not_run_the_templates(
    cfg: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    render_module._skeletons.clear()
    calls: list[str] = []
    real = render_module._render

    def counting(kind: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(kind)
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(render_module, "_render", counting)
    context = {**CONTEXTS[Kind.ATTENDANCE_CONFIRMATION], "location": "Madrid HQ"}
    first = render("attendance_confirmation", {**context, "first_name": "Eve"}, settings=cfg)
    rendered = len(calls)
    second = render("attendance_confirmation", {**context, "first_name": "Ana & Bo"}, settings=cfg)

    assert rendered >= 1
    assert len(calls) == rendered  # filled in, not rendered
    assert "Hello Eve," in first.text
    assert "Hello Ana & Bo," in second.text
    assert "Hello Ana &amp; Bo," in second.html


def test_the_wire_form_is_the_same_with_and_without_the_skeleton(cfg: Settings) -> None:
    render_module._skeletons.clear()
    leave = unsubscribe.url(uuid.UUID(int=7), Kind.ATTENDANCE_CONFIRMATION.value, cfg)
    context = {**USER, **CONTEXTS[Kind.ATTENDANCE_CONFIRMATION]}
    render("attendance_confirmation", context, settings=cfg, unsubscribe_url=leave)
    for name in ("Eve", "Zoë <Ñ>"):
        named = {**context, "first_name": name}
        fast = render("attendance_confirmation", named, settings=cfg, unsubscribe_url=leave)
        slow = _full(Kind.ATTENDANCE_CONFIRMATION, named, cfg, "en", leave)
        kwargs: dict[str, Any] = {
            "to": "eve@example.com",
            "sender": cfg.mail_from,
            "message_id": "00000000-0000-0000-0000-000000000007",
            "date": datetime(2026, 12, 7, 9, 1, tzinfo=UTC),
            "domain": "tapwork.local",
        }
        assert build(fast, **kwargs) == build(slow, **kwargs)
