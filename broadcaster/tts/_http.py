"""What the online engines (gTTS, FPT.AI) share about talking HTTP: how long a
Retry-After asks to wait, and whether a failed connection means the line is down."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
import urllib3


def unreachable(error: BaseException) -> bool:
    """Connection refused, no route, or no DNS: the line is down, not just slow."""
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.Timeout):
        return False
    inner = error.args[0] if error.args else None
    return isinstance(getattr(inner, "reason", inner), urllib3.exceptions.NewConnectionError)


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
