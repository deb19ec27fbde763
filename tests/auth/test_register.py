from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tapwork.audit.models import AuditLog
from tapwork.config import Settings
from tapwork.user.models import User
from tests.auth.conftest import NEW_PASSWORD, fresh, login, mails, registration, token_in
from tests.support.clock import FrozenClock
from tests.support.personas import Org

REGISTER = "/api/v1/auth/register"
VERIFY = "/api/v1/auth/verify-email"


async def _user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def test_register_creates_an_unverified_employee_and_mails_a_link(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    body = registration(
        email="Nora.New@Example.com",
        department_id=str(org.department.id),
        shift_id=str(org.shift.id),
    )
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 202
    user = await _user(session, "nora.new@example.com")
    assert user is not None
    assert user.role.name == "employee"
    assert user.email_verified_at is None
    assert user.department_id == org.department.id
    assert user.shift_id == org.shift.id
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    [mail] = await mails(session, "nora.new@example.com")
    assert mail.kind == "email_verification"
    assert mail.context["first_name"] == "Nora"
    assert mail.context["verify_url"].startswith("http://portal.test/portal/verify-email?token=")
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "auth.register"))
    assert audit is not None
    assert audit.actor_id == user.id
    assert audit.resource_id == str(user.id)
    assert "password_hash" not in (audit.new_values or {})


async def test_unverified_account_cannot_sign_in_until_the_link_is_opened(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = registration()
    await client.post(REGISTER, json=body)

    refused = await login(client, body["email"], NEW_PASSWORD)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"

    [mail] = await mails(session, body["email"], "email_verification")
    verified = await client.post(VERIFY, json={"token": token_in(mail.context["verify_url"])})
    assert verified.status_code == 200

    signed_in = await login(client, body["email"], NEW_PASSWORD)
    assert signed_in.status_code == 200
    [welcome] = await mails(session, body["email"], "welcome")
    assert welcome.context["login_url"] == "http://portal.test/portal/login"
    user = await _user(session, body["email"])
    assert user is not None
    actions = await session.scalars(select(AuditLog.action).where(AuditLog.actor_id == user.id))
    assert {"auth.register", "auth.verify_email", "auth.login"} <= set(actions.all())


async def test_verification_token_works_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = registration()
    await client.post(REGISTER, json=body)
    [mail] = await mails(session, body["email"])
    token = token_in(mail.context["verify_url"])

    assert (await client.post(VERIFY, json={"token": token})).status_code == 200
    again = await client.post(VERIFY, json={"token": token})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "INVALID_TOKEN"
    assert len(await mails(session, body["email"], "welcome")) == 1


async def test_verification_token_expires(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    body = registration()
    await client.post(REGISTER, json=body)
    [mail] = await mails(session, body["email"])

    clock.advance(hours=settings.verify_token_hours, seconds=1)
    response = await client.post(VERIFY, json={"token": token_in(mail.context["verify_url"])})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_TOKEN"
    user = await _user(session, body["email"])
    assert user is not None
    assert user.email_verified_at is None


async def test_existing_email_gets_an_account_exists_mail_and_no_second_account(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    response = await client.post(REGISTER, json=registration(email=org.employee.email.upper()))

    assert response.status_code == 202
    [mail] = await mails(session, org.employee.email)
    assert mail.kind == "account_exists"
    assert mail.context["login_url"] == "http://portal.test/portal/login"
    assert mail.context["reset_url"] == "http://portal.test/portal/reset-password"
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.email == org.employee.email)
    )
    assert count == 1
    # The owner's password is untouched: the stranger's password does nothing.
    assert (await login(client, org.employee.email)).status_code == 200


async def test_duplicate_employee_id_is_409_naming_the_field(
    client: httpx.AsyncClient, org: Org
) -> None:
    response = await client.post(REGISTER, json=registration(employee_id=org.employee.employee_id))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "EMPLOYEE_ID_TAKEN"
    assert error["details"]["field"] == "employee_id"


async def test_duplicate_employee_id_is_409_whether_or_not_the_email_exists(
    client: httpx.AsyncClient, org: Org
) -> None:
    # Otherwise a known employee_id would tell whether any email has an account.
    taken = org.employee.employee_id
    known = await client.post(REGISTER, json=registration(email=org.hr.email, employee_id=taken))
    unknown = await client.post(REGISTER, json=registration(employee_id=taken))
    assert known.status_code == unknown.status_code == 409


async def test_unknown_department_or_shift_is_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    for field in ("department_id", "shift_id"):
        response = await client.post(REGISTER, json=registration(**{field: str(uuid.uuid4())}))
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [f["field"] for f in error["details"]["fields"]] == [f"body.{field}"]


async def test_weak_password_is_422_with_a_message_saying_what_is_wrong(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    body = registration(password="short")
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 422
    [field] = response.json()["error"]["details"]["fields"]
    assert field["field"] == "body.password"
    assert f"at least {settings.password_min_length} characters" in field["message"]
    assert await _user(session, body["email"]) is None


async def test_nul_bytes_and_overlong_names_are_422(client: httpx.AsyncClient) -> None:
    for body in (registration(first_name="Nu\x00ll"), registration(last_name="x" * 101)):
        response = await client.post(REGISTER, json=body)
        assert response.status_code == 422
        fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
        assert fields in (["body.first_name"], ["body.last_name"])


async def test_registration_switched_off_is_403(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    settings.registration_enabled = False
    body = registration()
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "REGISTRATION_DISABLED"
    assert await _user(session, body["email"]) is None


async def test_deactivated_user_cannot_verify(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    body = registration()
    await client.post(REGISTER, json=body)
    [mail] = await mails(session, body["email"])
    user = await _user(session, body["email"])
    assert user is not None
    user.is_active = False
    await session.flush()

    response = await client.post(VERIFY, json={"token": token_in(mail.context["verify_url"])})
    assert response.status_code == 400
    assert (await fresh(session, user)).email_verified_at is None


async def test_the_account_speaks_the_browsers_language_unless_one_is_chosen(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spanish = registration(email="sofia@example.com")
    chosen = registration(email="chloe@example.com", language="en")
    plain = registration(email="pat@example.com")
    browser = {"Accept-Language": "es-ES,es;q=0.9,en;q=0.8"}

    assert (await client.post(REGISTER, json=spanish, headers=browser)).status_code == 202
    assert (await client.post(REGISTER, json=chosen, headers=browser)).status_code == 202
    assert (await client.post(REGISTER, json=plain)).status_code == 202
    bad = await client.post(REGISTER, json=registration(language="fr"))
    assert bad.status_code == 422

    languages = {}
    for email in ("sofia@example.com", "chloe@example.com", "pat@example.com"):
        user = await _user(session, email)
        assert user is not None
        languages[email] = user.language
    assert languages == {
        "sofia@example.com": "es",
        "chloe@example.com": "en",
        "pat@example.com": "en",
    }
