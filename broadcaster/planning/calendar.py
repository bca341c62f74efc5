"""Calendar arithmetic for planning, done by APScheduler's triggers.

ISO weeks (with week 53 and the year boundary) and "which of these weekdays
fall between two dates" are asked of :class:`CronTrigger`, not worked out by
hand: it already knows every corner of the calendar the planner needs.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UTC = ZoneInfo("UTC")


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_between(first: date, last: date) -> list[date]:
    """The Monday of every ISO week that has a day in [first, last]."""
    trigger = CronTrigger(day_of_week="mon", hour=0, minute=0, timezone=_UTC)
    mondays, fire = [], _midnight(monday_of(first))
    end = _midnight(last)
    fire = trigger.get_next_fire_time(None, fire)
    while fire is not None and fire <= end:
        mondays.append(fire.date())
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return mondays


@functools.lru_cache(maxsize=4096)
def days_on(weekdays: tuple[int, ...], first: date, last: date) -> tuple[date, ...]:
    """Dates in [first, last] whose weekday (0 = Monday) is in ``weekdays``."""
    if not weekdays or last < first:
        return ()
    spec = ",".join(_DAY_NAMES[d] for d in sorted(set(weekdays)))
    trigger = CronTrigger(
        day_of_week=spec,
        hour=0,
        minute=0,
        timezone=_UTC,
        start_date=_midnight(first),
        end_date=_midnight(last),
    )
    found, fire = [], trigger.get_next_fire_time(None, _midnight(first))
    while fire is not None:
        found.append(fire.date())
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return tuple(found)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=_UTC)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(_UTC)
