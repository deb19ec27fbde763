from __future__ import annotations

from tapwork.errors import Conflict, NotFound


class LocationNotFound(NotFound):
    code = "LOCATION_NOT_FOUND"


class LocationNameTaken(Conflict):
    code = "LOCATION_NAME_TAKEN"


class LocationInUse(Conflict):
    code = "LOCATION_IN_USE"
