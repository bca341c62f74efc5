"""The product's clock: the moment in UTC, and "today" in the configured zone.

A server's clock is usually UTC, and between 17:00 and 24:00 UTC it is already
tomorrow in Việt Nam, so no part of the product may take a date from the
machine's own calendar or a time without a zone. Every "now" and
"today" comes from here; tests set the clock by replacing :func:`utcnow`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today(tz: ZoneInfo) -> date:
    """Today's date in ``tz`` (the configured zone, Asia/Ho_Chi_Minh by default)."""
    return utcnow().astimezone(tz).date()
