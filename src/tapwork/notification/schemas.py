from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tapwork.kit.types import Instant, Search, StrictInput
from tapwork.notification.kinds import Kind


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationRead(BaseModel):
    """One email in the outbox and how its delivery went."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    kind: str
    to: str = Field(validation_alias="to_address", description="recipient address")
    subject: str | None = Field(description="set when the mail is rendered for sending")
    status: DeliveryStatus
    attempts: int = Field(description="delivery attempts started so far")
    last_error: str | None = Field(description="why the latest failed attempt failed")
    created_at: datetime
    next_attempt_at: datetime | None = Field(
        description="when a queued mail is tried next (after a failure)"
    )
    sent_at: datetime | None


ConfirmationMode = Literal["per_scan", "daily_digest", "off_for_new_users"]


class MailSettings(BaseModel):
    """Organisation-wide mail settings."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    attendance_confirmations: ConfirmationMode = Field(
        description="per_scan: a mail for every check-in and check-out; daily_digest: one mail "
        "a day per employee with the day's records instead; off_for_new_users: per scan, but "
        "users created from now on start with attendance confirmations turned off. Employees "
        "can still turn them on or off in their preferences."
    )


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str = Field(
        description="the cause, e.g. mail.undeliverable, job.<task>, kiosk.silent.<kiosk id>"
    )
    code: str = Field(
        description="the kind of incident, for clients that write their own text: "
        "mail.undeliverable, job.failed, kiosk.silent, biometric.down (docs/notifications.md)"
    )
    params: dict[str, Any] = Field(
        description="the facts the text is written from, by code: mail.undeliverable "
        "{address, attempts, error}; job.failed {task}; kiosk.silent {kiosk, location, "
        "timezone, minutes, last_seen_at}; biometric.down {since, reason}. Incidents opened "
        "before codes existed may lack them: show `subject` and `message` then"
    )
    subject: str = Field(description="in English")
    message: str = Field(description="in English; paragraphs separated by a blank line")
    opened_at: datetime
    last_seen_at: datetime = Field(description="the latest report of the same cause")
    closed_at: datetime | None = Field(description="when the cause cleared; null while open")


class BulkRetry(StrictInput):
    """Which failed mail to queue again: every filter left out matches all."""

    kind: Kind | None = Field(default=None, description="only this kind of email")
    to: Search | None = Field(default=None, description="part of the recipient address")
    since: Instant | None = Field(default=None, description="created at or after (ISO 8601)")
    until: Instant | None = Field(default=None, description="created before (ISO 8601)")
    dry_run: bool = Field(
        default=False, description="only count the mail that would be queued (for a confirmation)"
    )

    @model_validator(mode="after")
    def _window(self) -> BulkRetry:
        if self.since and self.until and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class BulkRetryResult(BaseModel):
    requeued: int = Field(description="failed mails queued again (or that would be, in a dry run)")
    dry_run: bool
