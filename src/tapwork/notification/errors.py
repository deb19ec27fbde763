from __future__ import annotations

from tapwork.errors import Conflict, NotFound


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"


class NotificationNotFailed(Conflict):
    code = "NOTIFICATION_NOT_FAILED"
