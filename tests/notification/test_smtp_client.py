"""The SMTP client (notification/smtp.py) against real aiosmtpd servers: pipelining when the
relay offers it, AUTH, refusals that keep the session, a relay that closes it, dot-stuffing."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tapwork.config import Settings
from tapwork.devstack.embedded_pg import free_port
from tapwork.notification.smtp import Connection, Mail, Refused

# The test relay takes AUTH in clear; production relays require STARTTLS (SMTP_STARTTLS).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

BODY = b"Subject: hi\r\n\r\nfirst line\r\n.a line that starts with a dot\r\n..two\r\nlast\r\n"


class Relay:
    """Keeps what it accepts; refuses no-such-user@ (550), busy@ (451); bye@ closes (421)."""

    def __init__(self, *, pipelining: bool) -> None:
        self.pipelining = pipelining
        self.accepted: list[tuple[str, bytes]] = []
        self.authenticated: list[bool] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("no-such-user@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy"
        if address.startswith("bye@"):
            return "421 4.3.2 Shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.authenticated.append(bool(session.authenticated))
        for to in envelope.rcpt_tos:
            self.accepted.append((to, envelope.original_content))
        return "250 OK"


def _start(relay: Relay, **options: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write the client makes on its socket."""
    seen: list[bytes] = []
    send = smtplib.SMTP.send

    def spy(self: smtplib.SMTP, data: Any) -> None:
        seen.append(data if isinstance(data, bytes) else data.encode())
        send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", spy)
    return seen


def _mail(to: str) -> Mail:
    return Mail("tapwork@example.com", to, BODY)


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def relay(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Relay]:
    relay = Relay(pipelining=request.param)
    controller, settings.smtp_port = _start(relay)
    yield relay
    controller.stop()


async def test_refusals_keep_the_session_and_mail_arrives_intact(
    relay: Relay, settings: Settings, writes: list[bytes]
) -> None:
    connection = Connection(settings)
    to = ["one@example.com", "no-such-user@example.com", "busy@example.com", "two@example.com"]

    outcome = await connection.send([_mail(t) for t in to], lambda: True)
    await connection.close()

    assert outcome.error is None
    assert outcome.replies == [
        None,
        Refused("RCPT", 550, "5.1.1 No such user"),
        Refused("RCPT", 451, "4.3.0 Mailbox busy"),
        None,
    ]
    assert [r.permanent for r in outcome.replies if r] == [True, False]
    # Dots at line starts were doubled on the wire and undone by the relay.
    assert relay.accepted == [("one@example.com", BODY), ("two@example.com", BODY)]
    envelopes = [w for w in writes if w.startswith(b"MAIL FROM:")]
    assert len(envelopes) == 4
    together = [b"RCPT TO:" in w and w.endswith(b"DATA\r\n") for w in envelopes]
    # With PIPELINING (RFC 2920) MAIL, RCPT and DATA go out in one write; else one each.
    assert together == [relay.pipelining] * 4
    assert connection.pipelining is relay.pipelining


async def test_a_relay_closing_the_session_stops_the_chunk(
    relay: Relay, settings: Settings
) -> None:
    connection = Connection(settings)
    mails = [_mail("one@example.com"), _mail("bye@example.com"), _mail("two@example.com")]

    outcome = await connection.send(mails, lambda: True)
    await connection.close()

    # 421 is about the session, not the mail: the rest of the batch waits for the next try.
    assert outcome.replies == [None]
    assert isinstance(outcome.error, smtplib.SMTPServerDisconnected)
    assert "421" in str(outcome.error)
    assert [to for to, _ in relay.accepted] == ["one@example.com"]


async def test_stops_before_the_mail_it_is_told_not_to_start(
    relay: Relay, settings: Settings
) -> None:
    connection = Connection(settings)
    asked: list[int] = []

    def may_start() -> bool:
        asked.append(1)
        return len(asked) <= 2

    outcome = await connection.send([_mail(f"m{n}@example.com") for n in range(4)], may_start)
    await connection.close()

    assert (outcome.replies, outcome.stopped) == ([None, None], True)
    assert len(relay.accepted) == 2


class Credentials:
    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"relay-user",
            b"relay-secret",
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_relay(settings: Settings) -> Iterator[Relay]:
    relay = Relay(pipelining=True)
    controller, settings.smtp_port = _start(
        relay, authenticator=Credentials(), auth_require_tls=False, auth_required=True
    )
    yield relay
    controller.stop()


async def test_logs_in_with_the_configured_credentials(
    auth_relay: Relay, settings: Settings
) -> None:
    settings = Settings.model_validate(
        settings.model_dump() | {"smtp_user": "relay-user", "smtp_password": "relay-secret"}
    )
    connection = Connection(settings)

    outcome = await connection.send([_mail("one@example.com")], lambda: True)
    await connection.close()

    assert (outcome.replies, outcome.error) == ([None], None)
    assert auth_relay.authenticated == [True]


async def test_wrong_credentials_are_a_connection_failure(
    auth_relay: Relay, settings: Settings
) -> None:
    settings = Settings.model_validate(
        settings.model_dump() | {"smtp_user": "relay-user", "smtp_password": "wrong"}
    )
    connection = Connection(settings)

    outcome = await connection.send(
        [_mail("one@example.com"), _mail("two@example.com")], lambda: True
    )

    # Not the mail's fault: it and the rest of the batch wait (delivery reschedules them).
    assert outcome.replies == []
    assert isinstance(outcome.error, smtplib.SMTPAuthenticationError)
    assert auth_relay.accepted == []
