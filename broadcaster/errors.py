"""Errors the user can act on, as data.

Every service raises :class:`BroadcasterError` (or a subclass) for bad input. An error
carries three things, and no words of the shell that shows it:

* ``template`` — the message id: Vietnamese text with ``{name}`` placeholders
  (:meth:`str.format` syntax, so ``{day:%d/%m/%Y}`` formats a date);
* ``params`` — the values for the placeholders;
* ``field`` — the input the error is about (``"ends_on"``, ``"pattern"``), or None.

The CLI prints it with the flag that sets ``field`` (``--to``); the web shows it beside
the form field, translated through Babel into the reader's language (the message ids are
extracted from the ``raise`` sites, see docs/i18n.md). A parameter that is itself text a
person reads in their language — a field's name passed to a shared parser — is given as
:class:`Words`, and is translated too. The CLI exits with status 2, the web answers 4xx.
Anything else is a bug.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable

log = logging.getLogger(__name__)


class Words(str):
    """Text inside an error's parameters that is translated with the message."""

    __slots__ = ()


def _same(text: str) -> str:
    return text


def _names(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}


class BroadcasterError(Exception):
    """Bad input or a refused action, with a message meant for the user."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.template = message
        self.field = field
        self.params = params

    @property
    def message(self) -> str:
        """The message in Vietnamese (the language of the message ids)."""
        return self.render()

    def render(self, translate: Callable[[str], str] = _same) -> str:
        """The message through ``translate`` (a Babel ``gettext``), placeholders filled."""
        if not self.params:
            return translate(self.template)
        values = {
            key: translate(value) if isinstance(value, Words) else value
            for key, value in self.params.items()
        }
        text = translate(self.template)
        if text is not self.template and _names(text) != _names(self.template):
            log.warning("translation of %r has other placeholders; shown untranslated", text)
            text = self.template
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("message %r could not be filled with %r", text, sorted(values))
            return self.template.format(**values)

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

    def __init__(self, message: str, retry_after: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


# The names under which ``pybabel extract`` finds the message ids (docs/i18n.md): these
# classes and the subclasses whose messages a page can show (speech, audio, the report
# chain). The station agent's, the players' and the configuration's stay Vietnamese:
# they are read in a terminal or a log, never in the admin.
MESSAGE_KEYWORDS = (
    "BroadcasterError",
    "NotFound",
    "PermissionDenied",
    "Conflict",
    "InvalidInput",
    "TooMany",
    "Words",
    "TtsError",
    "EngineUnavailable",
    "AudioError",
    "ChainRefused",
)
