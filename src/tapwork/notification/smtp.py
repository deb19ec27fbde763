"""The SMTP side of delivery: one connection per batch, and what an error means."""

from __future__ import annotations

import aiosmtplib

from tapwork.config import Settings

# Errors that mean the server (not this one mail) is unusable: the rest of the batch waits.
CONNECTION_ERRORS = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPHeloError,
    aiosmtplib.SMTPAuthenticationError,
    aiosmtplib.SMTPNotSupported,
    OSError,
)


def describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"


def is_permanent(exc: aiosmtplib.SMTPException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


class Connection:
    """One SMTP session for a batch, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self.last_error = ""

    async def send(self, sender: str, to: str, message: bytes) -> None:
        """Send one built message (mime.build) to one recipient over this session.

        MAIL, RCPT and DATA are issued directly rather than through `sendmail`, which parses
        both addresses with `email.utils` on every mail (a third of the SMTP client's CPU);
        `to` and `sender` were checked by mime.build. A refusal resets the envelope so the
        connection carries on with the next mail.
        """
        smtp = self._smtp or await self._open()
        response = await smtp.execute_command(b"MAIL", b"FROM:<" + sender.encode() + b">")
        if response.code != 250:
            await self._reset()
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
        response = await smtp.execute_command(b"RCPT", b"TO:<" + to.encode() + b">")
        if response.code not in (250, 251):
            await self._reset()
            raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, to)
        try:
            await smtp.data(message)
        except aiosmtplib.SMTPDataError:
            await self._reset()
            raise

    async def _open(self) -> aiosmtplib.SMTP:
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password.get_secret_value() or None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        self._smtp = smtp
        return smtp

    async def _reset(self) -> None:
        if self._smtp is not None:
            await self._smtp.rset()

    def discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def close(self) -> None:
        if self._smtp is None:
            return
        try:
            await self._smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._smtp.close()
        self._smtp = None
