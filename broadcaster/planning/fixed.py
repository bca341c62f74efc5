"""Fixed times in a window: relays (tiếp âm) and pattern items, and laying the rest around them.

A relay airs a live stream at a fixed local time for a fixed length on each of its
days; it is placed before anything else and takes its window time first. Items
without a fixed time follow each other from the window's start, skipping over every
fixed interval (relays, pattern items, slots this run keeps), so nothing overlaps a
relay; :func:`lay_out` says where each one starts, or that one would pass the
window's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from broadcaster.planning.calendar import days_on, week_label
from broadcaster.planning.inputs import PlanCampaign, PlanStation

OUTSIDE_WINDOWS = "giờ tiếp âm ngoài khung giờ phát của đài"
RELAYS_OVERLAP = "trùng giờ với một chương trình tiếp âm khác"
OVER_A_RELAY = "trùng giờ tiếp âm"

Interval = tuple[datetime, datetime]


def _minute(at: time) -> int:
    return at.hour * 60 + at.minute


def relay_windows(station: PlanStation, start: time, minutes: int) -> list[int]:
    """The station's windows holding the whole relay (start and end)."""
    first, last = _minute(start), _minute(start) + minutes
    found = []
    for w, window in enumerate(station.windows):
        ends = _minute(window.ends_at) or 24 * 60  # a window ending at midnight
        if _minute(window.starts_at) <= first and last <= ends:
            found.append(w)
    return found


def relay_occurrences(
    c: PlanCampaign, station: PlanStation, monday: date, today: date
) -> list[tuple]:
    """A relay's occurrences of a week, as the planner's tuples: one per allowed day,
    keyed by weekday and start (``2026-W48@2-0600``), no script version."""
    relay = c.relay
    if relay is None or not relay.active:
        return []
    first, last = max(monday, c.starts_on), min(monday + timedelta(days=6), c.ends_on)
    order = relay_windows(station, relay.start, relay.minutes)
    week = week_label(monday)
    return [
        (
            c,
            f"{week}@{day.weekday()}-{relay.start:%H%M}",
            day,
            (day,),
            order,
            relay.start,
            None,
            relay.ms,
        )
        for day in days_on(c.weekdays, first, last)
        if day >= today
    ]


def overlaps(start: datetime, end: datetime, intervals: Sequence[Interval]) -> bool:
    return any(a < end and start < b for a, b in intervals)


def lay_out(
    window_start: datetime,
    window_end: datetime,
    fixed: Sequence[Interval],
    lengths_ms: Sequence[int],
) -> list[datetime] | None:
    """Where each item without a fixed time starts, in order from the window's start,
    skipping over the ``fixed`` intervals; None when one would end past the window."""
    blocks = sorted(fixed)
    cursor, starts = window_start, []
    for ms in lengths_ms:
        length = timedelta(milliseconds=ms)
        start = cursor
        moved = True
        while moved:  # blocks may overlap one another: look again after each move
            moved = False
            for a, b in blocks:
                if a < start + length and start < b:
                    start, moved = b, True
        if start + length > window_end:
            return None
        starts.append(start)
        cursor = start + length
    return starts
