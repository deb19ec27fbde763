"""A JSON body that is not UTF-8 is malformed JSON: 422 like any other, not a bare 400."""

from __future__ import annotations

import httpx

from tests.support.personas import Org


async def test_a_json_body_that_is_not_utf8_is_a_validation_error(
    client: httpx.AsyncClient, org: Org
) -> None:
    answer = await client.put(
        "/api/v1/users/me",
        content=b"\xdf",
        headers={**org.headers(org.employee), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"] == [
        {"field": "body", "message": "Body is not valid UTF-8", "type": "json_invalid"}
    ]
