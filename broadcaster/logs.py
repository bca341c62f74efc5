"""The product's log lines: every timestamp in local time with its offset.

A server's clock is usually UTC while the people reading the log, and every time the
log's messages name, are in Việt Nam; a line stamped ``06:45:02`` beside a slot "dự kiến
13:45" reads as a seven-hour fault. So every process — ``broadcaster serve``, the
scheduler, the WSGI entry and the station agent — logs through :class:`LocalFormatter`:
``2026-12-06 13:45:02+07:00 INFO …``, the zone of the settings (Asia/Ho_Chi_Minh by
default), the offset written so the line is unambiguous wherever it is read. A message
that names a moment itself writes it with :func:`stamp`, the same way.

Only the standard library: the station agent uses it too.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
# the server's processes: which part of the product spoke
SERVER_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# the station agent's: read by a commune's operator, every line is the agent's
AGENT_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
# libraries whose information is not news in the product's log
QUIET = ("alembic", "urllib3", "filelock")


def _zone(tz: tzinfo | str | None) -> tzinfo:
    if tz is None:
        return ZoneInfo(DEFAULT_ZONE)
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def stamp(moment: datetime, tz: tzinfo | str | None = None) -> str:
    """``moment`` in local time with its offset: ``2026-12-06 13:45:02+07:00``.

    A naive moment is taken as UTC: the product stores UTC, and a database may hand it
    back without its zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(tz)).isoformat(sep=" ", timespec="seconds")


class LocalFormatter(logging.Formatter):
    """A :class:`logging.Formatter` whose ``%(asctime)s`` is :func:`stamp` of the record."""

    def __init__(self, fmt: str = SERVER_FORMAT, tz: tzinfo | str | None = None) -> None:
        super().__init__(fmt)
        self.tz = _zone(tz)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return stamp(datetime.fromtimestamp(record.created, UTC), self.tz)


def configure(
    tz: tzinfo | str | None = None,
    *,
    level: int = logging.INFO,
    fmt: str = SERVER_FORMAT,
    stream=None,
) -> logging.Handler:
    """Send every log line to stderr (``stream``) through :class:`LocalFormatter`.

    Replaces the root logger's handlers, so that a second call (a test, a command run
    twice in one process) does not print each line twice; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LocalFormatter(fmt, tz))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
