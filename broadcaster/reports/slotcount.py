"""What counting slots over a report period shares (announcements and relays alike).

Which slots a period holds (an unplaced slot belongs to the period holding its
week's Monday), whether a slot is still open at the report's moment, exact time
arithmetic in SQL on both backends, and the one rounding rule for minutes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import BigInteger, Integer, and_, case, cast, func, or_

from broadcaster.models import Slot
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.reports.periods import Period
from broadcaster.reports.sections import bounds


def micros(value):
    """SQLite: a stored UTC timestamp as integer microseconds since the epoch.

    SQLite keeps timestamps as text, ``YYYY-MM-DD HH:MM:SS.ffffff``: the whole
    seconds from ``strftime('%s')`` of the text up to the seconds (given the
    fraction too, SQLite rounds it to milliseconds, and .9999995 s becomes the
    next second) and the microseconds from the text itself, so the arithmetic is
    exact (``julianday()`` differences are floating point, and put a third of the
    quarter-hour window ends on the wrong side of the grace).
    """
    whole = cast(func.strftime("%s", func.substr(value, 1, 19)), Integer)
    return whole * 1_000_000 + cast(func.substr(value, 21, 6), Integer)


def milliseconds(session, start, end):
    """Whole milliseconds from ``start`` to ``end``, an integer on both backends."""
    if session.get_bind().dialect.name == "sqlite":
        span = micros(end) - micros(start)
    else:
        span = func.floor(func.extract("epoch", end - start) * 1_000_000)
    return cast(func.round(span / 1000.0), BigInteger)


def minutes(milliseconds):
    """Minutes to one decimal, halves rounded up: the one rounding rule of every minutes
    figure, applied once, to the exact sum (a number or a numpy array)."""
    tenths = (np.asarray(milliseconds, np.int64) + 3_000) // 6_000
    return tenths / 10.0


def pct(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    """``part / whole`` in percent to one decimal; None where ``whole`` is 0."""
    ratio = np.round(100.0 * part / np.maximum(whole, 1), 1)
    return [None if w == 0 else r for r, w in zip(ratio.tolist(), whole.tolist(), strict=True)]


def weeks(period: Period) -> list[tuple[str, date, date]]:
    """The period's ISO weeks: (label, first day inside the period, last day inside)."""
    out, monday = [], monday_of(period.start)
    while monday <= period.end:
        out.append(
            (week_label(monday), max(monday, period.start), min(monday + timedelta(6), period.end))
        )
        monday += timedelta(days=7)
    return out


def period_slots(period: Period, tz: ZoneInfo, as_of: datetime, grace: timedelta):
    """``(held, still_open)``: the condition for a slot of the period, and the 1/0 column
    saying its window (plus grace) had not closed at ``as_of``."""
    lo, hi = bounds(period, tz)
    all_weeks = weeks(period)
    # an unplaced slot has no day: it belongs to the period holding its week's Monday...
    unplaced_weeks = [w for w, first, _ in all_weeks if first == monday_of(first)]
    # ... and waits ("pending") until that week is over
    today = as_of.astimezone(tz).date()
    open_weeks = [w for w, _first, last in all_weeks if monday_of(last) + timedelta(7) > today]
    held = or_(
        and_(Slot.planned_start >= lo, Slot.planned_start < hi),
        and_(Slot.planned_start.is_(None), Slot.week.in_(unplaced_weeks)),
    )
    still_open = case(
        (Slot.window_end > as_of - grace, 1),
        (and_(Slot.planned_start.is_(None), Slot.week.in_(open_weeks)), 1),
        else_=0,
    )
    return held, still_open


class Table:
    """Counted rows as columns (station, campaign and week as indexes), summed by any key.

    ``names`` are the summed columns after the three keys; ``counts`` turns rows of sums
    into the report's figures (the announcements' Counts, or the relays' figures)."""

    def __init__(self, station, campaign, week, values: dict[str, np.ndarray], counts) -> None:
        self.station, self.campaign, self.week, self.values = station, campaign, week, values
        self.counts = counts
        self.n = len(campaign)

    @classmethod
    def of(cls, rows, station_index, campaign_index, week_index, names, counts) -> Table:
        """``*_index`` map a column's values to indexes (None: the column is not used)."""
        n = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * (3 + len(names))

        def index(column, mapping):
            if mapping is None:
                return np.zeros(n, np.int64)
            return np.fromiter(map(mapping.__getitem__, column), np.int64, n)

        return cls(
            index(columns[0], station_index),
            index(columns[1], campaign_index),
            index(columns[2], week_index),
            {name: np.asarray(columns[3 + i], np.float64) for i, name in enumerate(names)},
            counts,
        )

    def by(self, key: np.ndarray, size: int) -> list[dict]:
        return self.counts(
            {
                name: np.bincount(key, weights=col, minlength=size)
                for name, col in self.values.items()
            }
        )

    def total(self) -> dict:
        return self.counts({name: np.asarray([col.sum()]) for name, col in self.values.items()})[0]
