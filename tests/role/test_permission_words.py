"""Every permission the API knows has words on the portal's Roles page, in English and Spanish
(`portal.perm.<name>` in frontend/portal/src/i18n/permissions.*.ts): a new permission without
them fails here, instead of showing `payroll:export` to an admin."""

from __future__ import annotations

import re
from pathlib import Path

from tapwork.permissions import ALL_PERMISSIONS

I18N = Path(__file__).resolve().parents[2] / "frontend/portal/src/i18n"


def _words(lang: str) -> dict[str, str]:
    text = (I18N / f"permissions.{lang}.ts").read_text()
    return dict(re.findall(r'^\s*"portal\.perm\.([^"]+)":\s*"([^"]+)"', text, re.MULTILINE))


def test_every_permission_has_words_in_both_languages() -> None:
    for lang in ("en", "es"):
        assert set(_words(lang)) == set(ALL_PERMISSIONS), lang


def test_every_held_scan_reason_and_system_role_has_words_in_both_languages() -> None:
    from tapwork.attendance.scan import decision
    from tapwork.permissions import SYSTEM_ROLES

    reasons = {v for k, v in vars(decision).items() if k.startswith("HELD_")}
    assert reasons  # the constants the review page shows
    for lang in ("en", "es"):
        text = (I18N / f"labels.{lang}.ts").read_text()
        keys = set(re.findall(r'^\s*"(portal\.[^"]+)":', text, re.MULTILINE))
        missing = {f"portal.heldReason.{r}" for r in reasons} - keys
        missing |= {f"portal.roleDescription.{name}" for name in SYSTEM_ROLES} - keys
        assert missing == set(), lang
