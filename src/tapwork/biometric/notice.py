"""The notice an employee accepts before any template is taken (BIPA: written, informed).

Changing the text means a new version: consents record the exact text and version accepted.
"""

from __future__ import annotations

NOTICE_VERSION = "2026-12-1"

_NOTICE = """\
Face verification at the kiosk (optional)

If you agree, {org} takes 3 to 5 photos of your face once and turns them into a face template:
a list of 128 numbers that describes your face. Only the template is kept, encrypted; the photos
are discarded immediately and are never stored or logged. At a kiosk where verification is
required, one photo taken when you scan your badge is compared with your template to confirm the
badge is yours, and is then discarded. Your face is never searched against other people.

Purpose: to stop one person clocking in with another person's badge. Nothing else.
Retention: your template is deleted when you withdraw this consent, when your account is
deleted, or after {days} days without use, whichever comes first.
Your choice: you can refuse or withdraw at any time in your profile, with no consequence; the
badge alone always lets you clock in and out.
"""


def notice_text(*, retention_days: int, org: str = "your employer") -> str:
    return _NOTICE.format(days=retention_days, org=org)
