"""The SMTP side of delivery: one connection per batch, driven from a thread, and what a reply
means.

The client is the standard library's `smtplib`, run in a worker thread a chunk of mails at a
time (`Connection.send`): measured on the bench's relay, it costs ~0.18 ms of CPU per mail
against 0.6-0.75 ms for aiosmtplib's protocol and transport layers, and one thread hop per
chunk costs less than the awaits of one mail did. The socket timeout is
`SMTP_TIMEOUT_SECONDS`, so every read and write is bounded as before, and the event loop is
never blocked by a slow relay. smtplib sets up the session (greeting, EHLO, STARTTLS, AUTH);
MAIL, RCPT and DATA are written here, so a refusal is a reply to record rather than an
exception, and with a relay that offers PIPELINING (RFC 2920, Postfix does) they go out in one
write with their three replies read back after it.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

from tapwork.config import Settings

_DOT_LINES = re.compile(rb"(?m)^\.")
_LINE_ENDS = re.compile(rb"\r\n|\n|\r(?!\n)")


@dataclass(frozen=True, slots=True)
class Mail:
    """One message for one recipient: the addresses were checked by mime.build."""

    sender: str
    to: str
    message: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """The relay refused this one mail; the connection carries on with the next."""

    command: str
    code: int
    text: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.command} {self.code} {self.text}"


@dataclass(slots=True)
class Outcome:
    """What became of a chunk. `replies[i]` is mail i's (None: accepted). After them, when
    `error` is set, the next mail met a connection-level failure (the relay is unusable: it
    and every later mail wait); when `stopped`, the caller asked to stop and the later mails
    were not tried."""

    replies: list[Refused | None] = field(default_factory=list)
    error: BaseException | None = None
    stopped: bool = False


def describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"


@cache
def _local_hostname() -> str:
    # smtplib would ask for it (a DNS lookup) on every connection.
    return socket.getfqdn()


def _data(message: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, the terminating dot."""
    if message.count(b"\r") != message.count(b"\n") or message.count(b"\n") != message.count(
        b"\r\n"
    ):
        message = _LINE_ENDS.sub(b"\r\n", message)
    if message.startswith(b".") or b"\n." in message:
        message = _DOT_LINES.sub(b"..", message)
    return message + (b".\r\n" if message.endswith(b"\r\n") else b"\r\n.\r\n")


class Connection:
    """One SMTP session for a batch, opened on first use. Its socket is only ever used by one
    thread at a time (the lock), whichever thread of the executor that is."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._pipelining = False
        self._reset_needed = False
        self._lock = threading.Lock()
        # When the awaiting task is cancelled: what the thread did before it stopped.
        self.interrupted: Outcome | None = None

    @property
    def pipelining(self) -> bool:
        """Whether the open session pipelines MAIL/RCPT/DATA (the relay offered it)."""
        return self._pipelining

    async def send(self, mails: Sequence[Mail], may_start: Callable[[], bool]) -> Outcome:
        """Send `mails` in order, in a worker thread. `may_start()` is called (from that
        thread) before each mail; False stops the chunk there. A cancelled caller stops the
        thread before its next mail and waits for it, leaving the outcome in `interrupted`
        so that what the relay accepted can still be recorded."""
        cancelled = threading.Event()

        def keep_going() -> bool:
            return not cancelled.is_set() and may_start()

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._send_all, list(mails), keep_going)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled.set()
            self.interrupted = await future
            raise

    async def close(self) -> None:
        if self._smtp is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._quit)

    # -- in the worker thread -------------------------------------------------------------

    def _send_all(self, mails: list[Mail], keep_going: Callable[[], bool]) -> Outcome:
        outcome = Outcome()
        with self._lock:
            for mail in mails:
                if not keep_going():
                    outcome.stopped = True
                    break
                try:
                    outcome.replies.append(self._send_one(mail))
                except OSError as exc:  # smtplib's errors are OSErrors too
                    self._discard()
                    outcome.error = _timeout_or(exc, self._settings.smtp_timeout_seconds)
                    break
        return outcome

    def _send_one(self, mail: Mail) -> Refused | None:
        smtp = self._smtp or self._open()
        if self._reset_needed:
            self._command(smtp, b"RSET\r\n", "RSET", (250,))
            self._reset_needed = False
        mail_from = b"MAIL FROM:<" + mail.sender.encode("ascii") + b">\r\n"
        rcpt_to = b"RCPT TO:<" + mail.to.encode("ascii") + b">\r\n"
        if self._pipelining:
            smtp.send(mail_from + rcpt_to + b"DATA\r\n")
            replies = [_reply(smtp), _reply(smtp), _reply(smtp)]
        else:
            replies = []
            for command, ok in ((mail_from, 250), (rcpt_to, 250)):
                smtp.send(command)
                replies.append(_reply(smtp))
                if replies[-1][0] != ok and replies[-1][0] != 251:
                    break
            else:
                smtp.send(b"DATA\r\n")
                replies.append(_reply(smtp))
        refusal = _first_refusal(replies)
        if len(replies) == 3 and replies[2][0] == 354:
            if refusal is not None:
                # Pipelined and DATA accepted although MAIL or RCPT was not: an empty message
                # ends the transaction (RFC 2920, 3.1).
                smtp.send(b".\r\n")
                _reply(smtp)
                self._reset_needed = True
                return refusal
            smtp.send(_data(mail.message))
            code, text = _reply(smtp)
            if code != 250:
                return _refused("DATA", code, text)
            return None
        self._reset_needed = True
        return refusal or _refused("DATA", *replies[-1])

    def _command(self, smtp: smtplib.SMTP, line: bytes, name: str, ok: tuple[int, ...]) -> None:
        smtp.send(line)
        code, text = _reply(smtp)
        if code not in ok:
            raise smtplib.SMTPResponseException(code, f"{name}: {text}")

    def _open(self) -> smtplib.SMTP:
        s = self._settings
        smtp = smtplib.SMTP(local_hostname=_local_hostname(), timeout=s.smtp_timeout_seconds)
        try:
            smtp.connect(s.smtp_host, s.smtp_port)
            code, text = smtp.ehlo()
            if code != 250:
                code, text = smtp.helo()
                if code != 250:
                    raise smtplib.SMTPHeloError(code, text)
            if s.smtp_starttls:
                # Refuses (SMTPNotSupportedError) when the relay does not offer it: never
                # send credentials or mail in clear when TLS was asked for.
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        self._pipelining = smtp.has_extn("pipelining")
        self._reset_needed = False
        return smtp

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _quit(self) -> None:
        with self._lock:
            if self._smtp is None:
                return
            try:
                self._smtp.quit()
            except OSError:
                self._smtp.close()
            self._smtp = None


def _reply(smtp: smtplib.SMTP) -> tuple[int, str]:
    code, text = smtp.getreply()
    message = text.decode("utf-8", "replace")
    if code == 421:
        # The relay is closing the session (shutting down, overloaded): not about this mail.
        smtp.close()
        raise smtplib.SMTPServerDisconnected(f"421 {message}")
    return code, message


def _first_refusal(replies: list[tuple[int, str]]) -> Refused | None:
    for command, (code, text) in zip(("MAIL", "RCPT"), replies, strict=False):
        if code not in (250, 251):
            return _refused(command, code, text)
    return None


def _refused(command: str, code: int, text: str) -> Refused:
    return Refused(command, code, " ".join(text.split()))


def _timeout_or(exc: OSError, timeout: float) -> OSError:
    """smtplib reports a read that timed out as a lost connection; say what happened."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return TimeoutError(f"the relay did not answer within {timeout:g} s")
    return exc
