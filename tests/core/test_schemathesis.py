"""Schemathesis over the app's own /openapi.json, as every persona (issue 12).

Cases are generated once per operation from the document the app serves (a fixed seed:
Hypothesis derandomized, a bounded number of examples, positive and negative data), then each
one is sent as anonymous, employee, HR manager, admin and a paired kiosk to the real app on the
test's PostgreSQL. Path ids are the org's real ones in one example of each operation, so the
gates and loaders see objects that exist, not only 404s. Every answer must be no 5xx, a status
the operation declares, and a body that matches the declared schema.

Generation is synchronous (Hypothesis drives Schemathesis's strategies into a list), sending is
async through the test's client: Schemathesis's own `call` would run the app on another event
loop than the test's database connection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.permissions.rules import ADMIN, ANONYMOUS, EMPLOYEE, HR, KIOSK
from tests.support.personas import Org

# Per operation and mode: ~100 operations x (3 + 2) cases x 5 personas ~ 2,500 requests.
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
PERSONAS = (ANONYMOUS, EMPLOYEE, HR, ADMIN, KIOSK)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)


def _examples(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, count: int
) -> list[Case[Any]]:
    cases: list[Case[Any]] = []

    @given(operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Case[Any]) -> None:
        cases.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters, no body)
        collect()
    return cases[:count]


def _real_ids(org: Org, kiosk_id: uuid.UUID) -> dict[str, str]:
    return {
        "user_id": str(org.employee.id),
        "department_id": str(org.department.id),
        "shift_id": str(org.shift.id),
        "location_id": str(org.location.id),
        "kiosk_id": str(kiosk_id),
    }


def _request(case: Case[Any], persona_headers: dict[str, str]) -> dict[str, Any]:
    sent = case.as_transport_kwargs(base_url="http://test")
    headers = {k: str(v) for k, v in sent.get("headers", {}).items()}
    if "X-Kiosk-Token" not in persona_headers:
        headers.pop("Authorization", None)
    headers.update(persona_headers)
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": headers,
        "params": sent.get("params") or None,
    }
    if "json" in sent:
        request["json"] = sent["json"]
    elif isinstance(sent.get("data"), str | bytes):
        request["content"] = sent["data"]
    elif sent.get("data") is not None:
        request["data"] = sent["data"]
    if sent.get("files"):
        request["files"] = sent["files"]
    return request


# ~30 s of CPU; on a loaded shared box its 2,460 requests take several times that in wall time.
@pytest.mark.timeout(600)
async def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    app: FastAPI,
    client: httpx.AsyncClient,
    org: Org,
    kiosk_headers: dict[str, str],
    kiosk: Any,
) -> None:
    settings = app.state.settings
    settings.rate_limit_auth_per_minute = 1_000_000
    settings.rate_limit_general_per_minute = 1_000_000
    settings.rate_limit_kiosk_pair_per_minute = 1_000_000
    settings.rate_limit_reports_per_hour = 1_000_000
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operations.append(result.ok())
    ids = _real_ids(org, kiosk[0].id)
    headers = {
        ANONYMOUS: {},
        EMPLOYEE: org.headers(org.employee),
        HR: org.headers(org.hr),
        # Admin goes last: its deletes may remove what the others' cases point at.
        KIOSK: kiosk_headers,
        ADMIN: org.headers(org.admin),
    }
    tally = Tally()
    for operation in operations:
        cases = _examples(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
        cases += _examples(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
        if cases and cases[0].path_parameters:
            cases[0].path_parameters.update(
                {k: ids[k] for k in cases[0].path_parameters if k in ids}
            )
        for persona in headers:
            for case in cases:
                response = await client.request(**_request(case, headers[persona]))
                tally.requests[persona] += 1
                await response.request.aread()  # a multipart body is a stream until read
                if response.status_code >= 500:
                    tally.server_errors += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    first = "; ".join(f"{f.title}: {f.message[:300]}" for f in group.exceptions)
                    tally.failures.append(
                        f"{persona} {case.method} {case.formatted_path} "
                        f"-> {response.status_code}: {first} {response.text[:200]} "
                        f"sent {response.request.content[:150]!r}"
                    )
    print(  # the figures bench/README.md records
        f"\nschemathesis: {len(operations)} operations, "
        f"{sum(tally.requests.values())} requests {dict(tally.requests)}, "
        f"{tally.server_errors} 5xx, {len(tally.failures)} failures"
    )
    for failure in tally.failures:
        print(failure)
    assert tally.server_errors == 0
    assert tally.failures == []
