"""The week calendar of a campaign's slots: which ISO week, and the grid of one station.

A week is named as ISO does (``2026-W49``), Monday to Sunday in the instance's time
zone; the slots come from :mod:`broadcaster.services.slots`, placed ones by local day,
unplaced ones of the week apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from broadcaster.days import FIRST_DAY, LAST_DAY
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.services.slots import SlotInfo

_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})")
STATUS_LABELS = {
    "planned": _l("đã lên lịch"),
    "unplaced": _l("không xếp được"),
    "aired": _l("đã phát"),
    "missed": _l("bị lỡ"),
    "cancelled": _l("đã hủy"),
}
DAY_LABELS = (_l("T2"), _l("T3"), _l("T4"), _l("T5"), _l("T6"), _l("T7"), _l("CN"))


def parse_week(text: str | None, today: date) -> date | None:
    """The Monday of ISO week ``text`` (``2026-W49``); today's week when empty; None when
    malformed or out of range."""
    text = (text or "").strip()
    if not text:
        return monday_of(today)
    m = _WEEK.fullmatch(text.upper()) if len(text) <= 10 else None
    if not m or not FIRST_DAY.year <= int(m[1]) <= LAST_DAY.year:
        return None
    try:
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        return None


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    slots: list[SlotInfo]


@dataclass(frozen=True)
class Week:
    monday: date
    label: str
    previous: str
    next: str
    days: list[Day]
    unplaced: list[SlotInfo]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)


def week_of(monday: date, slots: list[SlotInfo], tz: ZoneInfo) -> Week:
    by_day: list[list[SlotInfo]] = [[] for _ in range(7)]
    unplaced = []
    for slot in slots:
        if slot.planned_start is None:
            unplaced.append(slot)
        else:
            by_day[slot.planned_start.astimezone(tz).weekday()].append(slot)
    return Week(
        monday=monday,
        label=week_label(monday),
        previous=week_label(monday - timedelta(days=7)),
        next=week_label(monday + timedelta(days=7)),
        days=[Day(monday + timedelta(days=i), str(DAY_LABELS[i]), by_day[i]) for i in range(7)],
        unplaced=unplaced,
    )
