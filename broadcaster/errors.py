"""Errors the user can act on.

Every service raises :class:`BroadcasterError` (or a subclass) for bad input;
the CLI prints its message and exits with status 2, the web layer answers 4xx.
Anything else is a bug.
"""

from __future__ import annotations


class BroadcasterError(Exception):
    """Bad input or a refused action, with a message meant for the user."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(BroadcasterError):
    """The named unit, station, user or script does not exist."""


class PermissionDenied(BroadcasterError):
    """The acting user's role or scope does not allow this action."""


class Conflict(BroadcasterError):
    """The action clashes with what is already stored (duplicate, wrong state)."""


class InvalidInput(BroadcasterError):
    """A value, file or field is malformed."""


class TooMany(BroadcasterError):
    """The acting user did this too often just now; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
