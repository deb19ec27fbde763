from __future__ import annotations

from tapwork.errors import Conflict, NotFound


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"


class NotificationNotFailed(Conflict):
    code = "NOTIFICATION_NOT_FAILED"


class UnsubscribeLinkInvalid(NotFound):
    """A forged or mangled link, a security kind, or a user who no longer exists: the same
    answer for each, so the link cannot be used to probe for accounts."""

    code = "UNSUBSCRIBE_LINK_INVALID"
