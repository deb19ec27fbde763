"""Who may call what: the expected gate for every endpoint under /api/v1.

Each domain lists its endpoints in `tests/<domain>/matrix.py` as
`RULES = {(METHOD, path): allowed}`.
`allowed` is a set of personas; everyone else must be refused (401 anonymous, 403 otherwise).
The matrix test fails for any route that no file lists, so a new endpoint needs a rule.
"""

from __future__ import annotations

import importlib
import pkgutil

import tests

ANONYMOUS = "anonymous"
EMPLOYEE = "employee"
SUPERVISOR = "supervisor"
HR = "hr"
ADMIN = "admin"
OUTSIDER = "outsider"
KIOSK = "kiosk"

PUBLIC = frozenset({ANONYMOUS, EMPLOYEE, SUPERVISOR, HR, ADMIN, OUTSIDER, KIOSK})
SIGNED_IN = frozenset({EMPLOYEE, SUPERVISOR, HR, ADMIN, OUTSIDER})
SUPERVISOR_UP = frozenset({SUPERVISOR, HR, ADMIN})
HR_UP = frozenset({HR, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})
KIOSK_ONLY = frozenset({KIOSK})

Rules = dict[tuple[str, str], frozenset[str]]


def all_rules() -> Rules:
    """Every `RULES` from the `tests/<domain>/matrix.py` modules."""
    merged: Rules = {}
    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            matrix = importlib.import_module(f"tests.{module.name}.matrix")
        except ModuleNotFoundError as exc:
            if exc.name == f"tests.{module.name}.matrix":
                continue
            raise
        for key, allowed in matrix.RULES.items():
            assert key not in merged, f"{key} has two rules"
            merged[key] = allowed
    return merged
