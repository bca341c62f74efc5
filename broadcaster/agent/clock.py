"""How far the station PC's clock is from the server's (độ lệch đồng hồ), from HTTP ``Date``.

Every answer from the server carries a ``Date`` header (one-second resolution).
The station's clock at the middle of the round trip, compared with the middle
of that second, gives one sample; the median of the recent samples is the drift.
Positive drift means the station clock is ahead of the server.

A station PC without NTP can be minutes off. The agent plays at the server's
time and reports airings in it, so a wrong clock does not move broadcasts nor
get reports refused; small drifts (under :data:`CORRECT_FROM` seconds) are left
alone because one-second headers cannot measure them better than that.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

CORRECT_FROM = 2.0  # seconds; below this a Date header's resolution is the error
MAX_ROUND_TRIP = 5.0  # a slower answer says little about when the server wrote Date
SAMPLES = 15


class ClockDrift:
    """Median drift of the station clock against the server, from recent responses."""

    def __init__(self, wall=time.time) -> None:
        self._wall = wall
        self._samples: deque[float] = deque(maxlen=SAMPLES)
        self._lock = threading.Lock()

    def observe(self, sent: float, received: float, date_header: str | None) -> None:
        """One response: local wall times (epoch seconds) around it, and its ``Date``."""
        if not date_header or received - sent > MAX_ROUND_TRIP or received < sent:
            return
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        # Date is truncated to the second: the server wrote it somewhere in [D, D + 1)
        sample = (sent + received) / 2 - (server + 0.5)
        with self._lock:
            self._samples.append(sample)

    @property
    def drift_s(self) -> float | None:
        """The station clock minus the server's, seconds (None before any answer)."""
        with self._lock:
            if not self._samples:
                return None
            return round(statistics.median(self._samples), 3)

    @property
    def correction(self) -> timedelta:
        """What to subtract from the station clock to get the server's time."""
        drift = self.drift_s
        if drift is None or abs(drift) < CORRECT_FROM:
            return timedelta(0)
        return timedelta(seconds=drift)

    def now(self) -> datetime:
        """The server's time, as well as the station knows it (UTC)."""
        return self.to_server(datetime.fromtimestamp(self._wall(), UTC))

    def to_server(self, local: datetime) -> datetime:
        """A station-clock instant (e.g. when a player started) in the server's time."""
        return local - self.correction
