"""Reading the plan as plain values: a station's day and weeks (relays, recordings,
synthesised items and emergencies in airing order, each with its state), a campaign's week.

Every reader here goes through one query (:func:`_slot_rows`): a slot with its campaign,
what it airs (script version or relay source) and its audio.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from broadcaster.errors import NotFound
from broadcaster.models import (
    Airing,
    AiringStatus,
    AudioAsset,
    Campaign,
    Emergency,
    RelaySource,
    ScriptVersion,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.planning.calendar import local_to_utc, week_label
from broadcaster.services.airing_log import is_due


class ItemKind(enum.StrEnum):
    """What a slot airs: the playlist item's ``content``, with emergencies apart."""

    RELAY = "relay"  # tiếp âm: a live stream at a fixed time and length
    RECORDING = "recording"  # ghi âm: a script version read by a person, or a programme
    SPEECH = "speech"  # tin đọc máy: a script version synthesised from its text
    EMERGENCY = "emergency"  # tin khẩn cấp


def item_kind(slot: Slot, recording_sha256: str | None) -> ItemKind:
    """The kind of ``slot``, given its script version's ``recording_sha256``."""
    if slot.emergency_id is not None:
        return ItemKind.EMERGENCY
    if slot.relay_source_id is not None:
        return ItemKind.RELAY
    return ItemKind.RECORDING if recording_sha256 else ItemKind.SPEECH


@dataclass(frozen=True)
class _Row:
    slot: Slot
    station_code: str
    campaign: str | None
    title: str  # the script version's title; a relay's source name; an emergency's title
    kind: ItemKind
    audio_sha256: str | None


def _slot_rows(session: Session, *where, limit: int | None = None) -> list[_Row]:
    """Slots matching ``where`` with what each airs, in airing order, the unplaced last."""
    stmt = (
        select(
            Slot,
            Station.code,
            Campaign.name,
            ScriptVersion.title,
            ScriptVersion.recording_sha256,
            RelaySource.name,
            Emergency.title,
            AudioAsset.file_sha256,
        )
        .join(Station, Station.id == Slot.station_id)
        .outerjoin(Campaign, Campaign.id == Slot.campaign_id)
        .outerjoin(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .outerjoin(RelaySource, RelaySource.id == Slot.relay_source_id)
        .outerjoin(Emergency, Emergency.id == Slot.emergency_id)
        .outerjoin(AudioAsset, AudioAsset.id == Slot.audio_asset_id)
        .where(*where)
        .order_by(Slot.planned_start.is_(None), Slot.planned_start, Slot.position, Slot.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        _Row(slot, code, campaign, relay or alert or title or "", item_kind(slot, recording), sha)
        for slot, code, campaign, title, recording, relay, alert, sha in session.execute(stmt)
    ]


@dataclass(frozen=True)
class SlotInfo:
    id: int
    station_code: str
    campaign_id: int | None
    campaign: str | None
    occurrence: str
    title: str
    kind: str
    script_version_id: int | None
    planned_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: str
    audio_ready: bool
    note: str | None


def _info(row: _Row) -> SlotInfo:
    slot = row.slot
    return SlotInfo(
        id=slot.id,
        station_code=row.station_code,
        campaign_id=slot.campaign_id,
        campaign=row.campaign,
        occurrence=slot.occurrence,
        title=row.title,
        kind=str(row.kind),
        script_version_id=slot.script_version_id,
        planned_start=slot.planned_start,
        window_end=slot.window_end,
        duration_ms=slot.duration_ms,
        status=slot.status.value,
        audio_ready=slot.audio_asset_id is not None,
        note=slot.note,
    )


def _station_id(session: Session, station_code: str) -> int:
    station_id = session.scalar(select(Station.id).where(Station.code == station_code))
    if station_id is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=station_code)
    return station_id


def station_day(session: Session, station_code: str, day: date, tz: ZoneInfo) -> list[SlotInfo]:
    """The slots of a local day at a station, in airing order; the week's unplaced ones last."""
    station_id = _station_id(session, station_code)
    start, end = _local_midnight(day, tz), _local_midnight(day + timedelta(days=1), tz)
    rows = _slot_rows(session, Slot.station_id == station_id, _in_week(start, end, week_label(day)))
    return [_info(row) for row in rows]


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return local_to_utc(day, time(0), tz)


def _week_bounds(monday: date, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    start = local_to_utc(monday, time(0), tz)
    end = local_to_utc(monday + timedelta(days=7), time(0), tz)
    return start, end, week_label(monday)


def _in_week(start: datetime, end: datetime, *labels: str):
    """Placed in [start, end), or unplaced in one of those ISO weeks."""
    return or_(
        (Slot.planned_start >= start) & (Slot.planned_start < end),
        (Slot.planned_start.is_(None)) & (Slot.week.in_(labels)),
    )


def campaign_week(
    session: Session, campaign_id: int, station_id: int, monday: date, tz: ZoneInfo
) -> list[SlotInfo]:
    """One campaign's slots at one station in the week starting ``monday`` (local),
    in airing order, the unplaced ones last."""
    start, end, label = _week_bounds(monday, tz)
    rows = _slot_rows(
        session,
        Slot.station_id == station_id,
        Slot.campaign_id == campaign_id,
        _in_week(start, end, label),
    )
    return [_info(row) for row in rows]


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


# -- a station's day (the station page, the operator's page, the printed week) ----------

MAX_SCHEDULE_SLOTS = 1000  # two weeks of a busy station is a few hundred slots


@dataclass(frozen=True)
class Reported:
    """One report already in the log for a slot."""

    seq: int
    status: str
    source: str
    confirmed_by: str | None
    started_at: datetime
    relayed_s: int | None = None  # a relay's seconds actually relayed
    relay_used: str | None = None  # main | backup | file


@dataclass(frozen=True)
class DayItem:
    """One item of a station's day, in the station's local time.

    ``state`` is one word: ``waiting`` (not yet due), ``due`` (due, nothing reported),
    ``aired``/``partial``/``failed``/``skipped`` (the last report; ``aired`` if any
    report says so), ``missed`` (its window closed unreported), ``cancelled`` or
    ``unplaced`` (no room in the week: ``start`` and ``end`` are None).
    """

    id: int
    kind: ItemKind
    title: str  # the script version's title; a relay's source name (VOV1)
    campaign: str | None
    planned_start: datetime | None  # UTC
    start: datetime | None  # local
    end: datetime | None  # local: start + length
    duration_ms: int
    state: str
    due: bool
    audio_sha256: str | None  # the file's sha256, as the station API serves it
    reported: tuple[Reported, ...]
    relayed_s: int | None  # a relay's seconds relayed, by the best report
    note: str | None

    @property
    def local_day(self) -> date | None:
        return self.start.date() if self.start is not None else None

    @property
    def emergency(self) -> bool:
        return self.kind is ItemKind.EMERGENCY


def _state(slot: Slot, reported: list[Reported], due: bool) -> str:
    if reported:
        statuses = {r.status for r in reported}
        if str(AiringStatus.AIRED) in statuses:
            return "aired"
        return reported[-1].status
    if slot.status is SlotStatus.PLANNED:
        return "due" if due else "waiting"
    return str(slot.status)


def _reports(session: Session, station_id: int, slot_ids: list[int]) -> dict[int, list[Reported]]:
    found: dict[int, list[Reported]] = {}
    if not slot_ids:
        return found
    for a in session.scalars(
        select(Airing)
        .where(Airing.station_id == station_id, Airing.slot_id.in_(slot_ids))
        .order_by(Airing.seq)
    ):
        found.setdefault(a.slot_id, []).append(
            Reported(
                a.seq,
                str(a.status),
                a.source,
                a.confirmed_by,
                a.started_at,
                a.relayed_s,
                a.relay_used,
            )
        )
    return found


def station_schedule(
    session: Session,
    station_id: int,
    *,
    tz: ZoneInfo,
    first_day: date,
    now: datetime,
    days: int = 1,
    unplaced: bool = False,
) -> list[DayItem]:
    """Everything a station airs from local ``first_day`` for ``days`` days — relays,
    recordings, synthesised items and emergencies — in airing order, each with its times,
    length, kind and state (two queries). With ``unplaced``, the slots of those ISO weeks
    that found no room come last."""
    start = _local_midnight(first_day, tz)
    end = _local_midnight(first_day + timedelta(days=days), tz)
    if unplaced:
        weeks = {week_label(first_day + timedelta(days=n)) for n in range(days)}
        when = _in_week(start, end, *sorted(weeks))
    else:
        when = (Slot.planned_start >= start) & (Slot.planned_start < end)
    rows = _slot_rows(session, Slot.station_id == station_id, when, limit=MAX_SCHEDULE_SLOTS)
    reported = _reports(session, station_id, [r.slot.id for r in rows])
    out = []
    for row in rows:
        slot = row.slot
        due = is_due(slot.planned_start, now) and slot.status is not SlotStatus.CANCELLED
        mine = reported.get(slot.id, [])
        local = slot.planned_start.astimezone(tz) if slot.planned_start is not None else None
        relayed = [r.relayed_s for r in mine if r.relayed_s is not None]
        out.append(
            DayItem(
                id=slot.id,
                kind=row.kind,
                title=row.title,
                campaign=row.campaign,
                planned_start=slot.planned_start,
                start=local,
                end=local + timedelta(milliseconds=slot.duration_ms) if local else None,
                duration_ms=slot.duration_ms,
                state="unplaced" if local is None else _state(slot, mine, due),
                due=due,
                audio_sha256=row.audio_sha256,
                reported=tuple(mine),
                relayed_s=max(relayed) if relayed else None,
                note=slot.note,
            )
        )
    return out
