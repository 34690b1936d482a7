"""Domain errors, in one place and without HTTP: the blueprints (``cockpit/http``) and the Dash
callbacks decide what a caller sees (a status code, a message on the page).

Each error says what was wrong in words a user can act on; ``ParamError`` also names the field.
"""

from __future__ import annotations


class CockpitError(ValueError):
    """Something a caller asked for that the cockpit refuses (bad input, unknown thing, wrong state)."""


class ParamError(CockpitError):
    """A bad parameter: names the field and the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


class UnknownScope(CockpitError):
    """The scope code is neither a known region nor an adcode we can place."""


class AlertError(CockpitError):
    """A refused alert action (missing field, unknown state name)."""


class UnknownAlert(AlertError):
    """No alert has this id."""


class AlertStateError(AlertError):
    """The alert's state does not allow the action (already resolved, not firing yet, ...)."""


class AlertInputError(ParamError, AlertError):
    """A missing or bad field of an alert action or a silence (names the field)."""
