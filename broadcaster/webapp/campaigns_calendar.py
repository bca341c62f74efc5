"""The week calendar of a campaign's slots: which week, which station, and the grid.

A week is Monday to Sunday in the instance's time zone. People choose it by a day
(``?day=2026-12-09``: the week holding it, a date field) or by the previous/next links;
the links name it as ISO does (``?week=2026-W50``), which old URLs use too. With
neither, the calendar opens on the week of the station's slots nearest now
(:func:`broadcaster.services.slots.week_to_open`): a new campaign starting next month
opens on its first week, not on an empty one. The station is chosen by name among the
campaign's stations in the user's scope (:mod:`broadcaster.webapp.pickers`). The slots
come from :mod:`broadcaster.services.slots`, placed ones by local day, unplaced ones of
the week apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_

from broadcaster.days import FIRST_DAY, LAST_DAY, DayError, read_day
from broadcaster.models import AdminUnit
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.services.campaign_reads import campaign_stations
from broadcaster.services.slots import SlotInfo, campaign_week, campaign_week_counts, week_to_open
from broadcaster.webapp.common import PAGE_SIZE, Page, actor, db, offset, page_number, settings
from broadcaster.webapp.pickers import pick_station

_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})")
STATUS_LABELS = {
    "planned": _l("đã lên lịch"),
    "unplaced": _l("không xếp được"),
    "aired": _l("đã phát"),
    "missed": _l("bị lỡ"),
    "cancelled": _l("đã hủy"),
}
DAY_LABELS = (_l("T2"), _l("T3"), _l("T4"), _l("T5"), _l("T6"), _l("T7"), _l("CN"))


def parse_day_week(day_text: str | None, week_text: str | None, today: date) -> date | None:
    """The Monday of the week holding ``day_text`` (YYYY-MM-DD, a date field), else of
    ISO week ``week_text``; today's when both are empty; None when malformed."""
    day_text = (day_text or "").strip()
    if day_text:
        try:
            day = read_day(day_text, vietnamese=False)
        except DayError:
            return None
        return monday_of(day)
    return parse_week(week_text, today)


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


def calendar_view(campaign_id: int, paths: list[str], args, today: date) -> tuple[dict, int]:
    """The calendar part of a campaign's page: the week, the station picker and its grid,
    and the page of per-station counts; and the status (400 for a bad day or name). A
    station code in the URL that is not one of the campaign's stations is 404."""
    tz = settings().tz
    number = page_number(args)
    stations = campaign_stations(
        db(), paths, actor().scope_path, limit=PAGE_SIZE + 1, offset=offset(number)
    )
    page = Page.of(stations, number)
    within = [or_(*(AdminUnit.path.startswith(p, autoescape=True) for p in paths))]
    pick = pick_station(args, within=within if paths else [false()])
    if pick.error and not (args.get("station_name") or "").strip():
        abort(404, description=_("Đài này không nhận chiến dịch này."))
    if pick.chosen is None and pick.error is None and page.rows:
        pick = pick_station({"station": page.rows[0].code}, within=within)
    station = pick.chosen
    asked = (args.get("day") or "").strip() or (args.get("week") or "").strip()
    monday = parse_day_week(args.get("day"), args.get("week"), today)
    week_error = None
    if monday is None:
        if (args.get("day") or "").strip():
            week_error = _("Ngày không hợp lệ: chọn một ngày trong lịch.")
        else:  # a week in an old or hand-made link
            week_error = _("Tuần không hợp lệ: chọn một ngày trong lịch.")
        monday = monday_of(today)
    elif not asked and station is not None:
        monday = week_to_open(db(), campaign_id, station.id, today, tz)
    slots = campaign_week(db(), campaign_id, station.id, monday, tz) if station else []
    counts = campaign_week_counts(db(), campaign_id, [s.id for s in page.rows], monday, tz)
    context = {
        "week": week_of(monday, slots, tz),
        "week_error": week_error,
        "day_value": (args.get("day") or "")[:10] if week_error else monday.isoformat(),
        "station": station,
        "station_pick": pick,
        "page": page,
        "counts": counts,
    }
    return context, 400 if week_error or pick.error else 200
