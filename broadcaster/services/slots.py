"""Reading the plan as plain values: a station's slots for a day, a campaign's week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadcaster.errors import NotFound
from broadcaster.models import Campaign, ScriptVersion, Slot, SlotStatus, Station
from broadcaster.planning.calendar import local_to_utc, week_label


@dataclass(frozen=True)
class SlotInfo:
    id: int
    station_code: str
    campaign_id: int
    campaign: str
    occurrence: str
    title: str
    script_version_id: int
    planned_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: str
    audio_ready: bool
    note: str | None


def _info(slot: Slot, station_code: str, campaign: str | None, title: str) -> SlotInfo:
    return SlotInfo(
        id=slot.id,
        station_code=station_code,
        campaign_id=slot.campaign_id,
        campaign=campaign,
        occurrence=slot.occurrence,
        title=title,
        script_version_id=slot.script_version_id,
        planned_start=slot.planned_start,
        window_end=slot.window_end,
        duration_ms=slot.duration_ms,
        status=slot.status.value,
        audio_ready=slot.audio_asset_id is not None,
        note=slot.note,
    )


def station_day(session: Session, station_code: str, day: date, tz: ZoneInfo) -> list[SlotInfo]:
    """The slots of a local day at a station, in airing order; the week's unplaced ones last."""
    station = session.scalar(select(Station).where(Station.code == station_code))
    if station is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=station_code)
    start = local_to_utc(day, time(0), tz)
    end = local_to_utc(day + timedelta(days=1), time(0), tz)
    rows = session.execute(
        select(Slot, Campaign.name, ScriptVersion.title)
        .join(Campaign, Campaign.id == Slot.campaign_id)
        .join(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .where(
            Slot.station_id == station.id,
            or_(
                (Slot.planned_start >= start) & (Slot.planned_start < end),
                (Slot.planned_start.is_(None)) & (Slot.week == week_label(day)),
            ),
        )
        .order_by(Slot.planned_start.is_(None), Slot.planned_start, Slot.position)
    )
    return [_info(slot, station.code, name, title) for slot, name, title in rows]


def _week_bounds(monday: date, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    start = local_to_utc(monday, time(0), tz)
    end = local_to_utc(monday + timedelta(days=7), time(0), tz)
    return start, end, week_label(monday)


def _in_week(start: datetime, end: datetime, label: str):
    """Placed in [start, end), or unplaced in that ISO week."""
    return or_(
        (Slot.planned_start >= start) & (Slot.planned_start < end),
        (Slot.planned_start.is_(None)) & (Slot.week == label),
    )


def campaign_week(
    session: Session, campaign_id: int, station_id: int, monday: date, tz: ZoneInfo
) -> list[SlotInfo]:
    """One campaign's slots at one station in the week starting ``monday`` (local),
    in airing order, the unplaced ones last."""
    start, end, label = _week_bounds(monday, tz)
    rows = session.execute(
        select(Slot, Station.code, Campaign.name, ScriptVersion.title)
        .join(Station, Station.id == Slot.station_id)
        .join(Campaign, Campaign.id == Slot.campaign_id)
        .join(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .where(
            Slot.station_id == station_id,
            Slot.campaign_id == campaign_id,
            _in_week(start, end, label),
        )
        .order_by(Slot.planned_start.is_(None), Slot.planned_start, Slot.position)
    )
    return [_info(slot, code, name, title) for slot, code, name, title in rows]


@dataclass(frozen=True)
class WeekCounts:
    """A station's slots of one campaign in a week: per local day (Monday first), not
    counting cancelled ones, plus the unplaced and cancelled ones."""

    days: tuple[int, ...]
    unplaced: int
    cancelled: int

    @property
    def total(self) -> int:
        return sum(self.days)


def campaign_week_counts(
    session: Session,
    campaign_id: int,
    station_ids: list[int],
    monday: date,
    tz: ZoneInfo,
) -> dict[int, WeekCounts]:
    """:class:`WeekCounts` for each of ``station_ids`` (a page of them) in one query."""
    if not station_ids:
        return {}
    start, end, label = _week_bounds(monday, tz)
    rows = session.execute(
        select(Slot.station_id, Slot.planned_start, Slot.status).where(
            Slot.station_id.in_(station_ids),
            Slot.campaign_id == campaign_id,
            _in_week(start, end, label),
        )
    )
    days = {sid: [0] * 7 for sid in station_ids}
    unplaced = dict.fromkeys(station_ids, 0)
    cancelled = dict.fromkeys(station_ids, 0)
    for station_id, planned_start, status in rows:
        if status is SlotStatus.CANCELLED:
            cancelled[station_id] += 1
        elif planned_start is None:
            unplaced[station_id] += 1
        else:
            days[station_id][planned_start.astimezone(tz).weekday()] += 1
    return {sid: WeekCounts(tuple(days[sid]), unplaced[sid], cancelled[sid]) for sid in station_ids}


def week_to_open(
    session: Session, campaign_id: int, station_id: int, today: date, tz: ZoneInfo
) -> date:
    """The Monday of the week a campaign's calendar opens on for a station: this week when
    it holds slots there, else the first later week that does (a new campaign starting
    next month), else the last earlier one (an ended campaign), else this week."""
    monday = today - timedelta(days=today.weekday())
    start, end, label = _week_bounds(monday, tz)
    mine = (Slot.campaign_id == campaign_id, Slot.station_id == station_id)
    if session.scalar(select(Slot.id).where(*mine, _in_week(start, end, label)).limit(1)):
        return monday

    def monday_of_slot(first: datetime | None, week: str | None) -> list[date]:
        days = []
        if first is not None:
            local = first.astimezone(tz).date()
            days.append(local - timedelta(days=local.weekday()))
        if week is not None:
            year, number = week.split("-W")
            days.append(date.fromisocalendar(int(year), int(number), 1))
        return days

    later = session.execute(
        select(
            select(func.min(Slot.planned_start))
            .where(*mine, Slot.planned_start >= end)
            .scalar_subquery(),
            select(func.min(Slot.week))
            .where(*mine, Slot.planned_start.is_(None), Slot.week > label)
            .scalar_subquery(),
        )
    ).one()
    found = monday_of_slot(*later)
    if found:
        return min(found)
    earlier = session.execute(
        select(
            select(func.max(Slot.planned_start))
            .where(*mine, Slot.planned_start < start)
            .scalar_subquery(),
            select(func.max(Slot.week))
            .where(*mine, Slot.planned_start.is_(None), Slot.week < label)
            .scalar_subquery(),
        )
    ).one()
    found = monday_of_slot(*earlier)
    return max(found) if found else monday
