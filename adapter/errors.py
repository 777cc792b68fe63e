"""Domain errors of Evergraph's core.

The core (``adapter``, ``workflows``, ``activities``) raises these, never an HTTP
exception; the web layer alone (``api/errors.py``) turns each kind into a status code
with the body ``{"detail": message}``. Every message names the input that was wrong.

| error | meaning | HTTP (``api/errors.py``) |
|---|---|---|
| :class:`NotFound` | the resource does not exist, or the caller may not see it | 404 |
| :class:`Conflict` | it clashes with the resource's current state (busy thread, existing id) | 409 |
| :class:`Refused` | understood, but refused as given (e.g. ``context`` with ``configurable``) | 400 |
| :class:`Invalid` | a value does not fit (wrong form, out of range) | 422 |
| :class:`Unavailable` | a backend (Temporal, storage) could not do it now | 503 |
"""

from __future__ import annotations

__all__ = ["Conflict", "EvergraphError", "Invalid", "NotFound", "Refused", "Unavailable"]


class EvergraphError(Exception):
    """Base of the domain errors.

    Args:
        message: what was wrong, naming the input (sent to API clients as ``detail``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EvergraphError):
    """The resource does not exist, or the caller may not see it."""


class Conflict(EvergraphError):
    """The request clashes with the resource's current state."""


class Refused(EvergraphError):
    """The request is understood but refused as given."""


class Invalid(EvergraphError):
    """A value of the request does not fit its field."""


class Unavailable(EvergraphError):
    """A backend could not serve the request now; retrying later may succeed."""
