"""The SMTP side of delivery: one connection per batch, and what an error means."""

from __future__ import annotations

from email.message import EmailMessage

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

    async def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
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
            self._smtp = smtp
        await self._smtp.send_message(message)

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
