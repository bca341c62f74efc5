"""Reading the airing log (nhật ký phát) for the admin: one page of rows, and when an
operator may confirm a slot (a station's weeks day by day are
:func:`broadcaster.services.slots.station_schedule`).

A page is bounded: newest written first (by id, the order rows were appended in,
which the primary key serves without sorting), ``limit`` rows after a keyset
(``before`` an id), never a COUNT of the log. The slot, campaign and script title of
the rows on the page come from one extra query by their slot ids, not one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import (
    AdminUnit,
    Airing,
    AiringStatus,
    Campaign,
    ScriptVersion,
    Slot,
    Station,
)
from broadcaster.planning.calendar import local_to_utc


@dataclass(frozen=True)
class LogQuery:
    """Which rows: every field is already checked (codes known, in scope)."""

    scope_path: str | None = None  # the reader's subtree; None: the country
    unit_path: str | None = None  # a unit asked for (inside the scope)
    station_id: int | None = None
    campaign_id: int | None = None
    day_from: date | None = None
    day_to: date | None = None
    status: AiringStatus | None = None
    source: str | None = None
    before_id: int | None = None


@dataclass(frozen=True)
class LogRow:
    id: int
    station_code: str
    station_name: str
    seq: int
    slot_id: int
    planned_start: datetime | None
    campaign: str | None
    title: str | None
    started_at: datetime
    ended_at: datetime
    status: str
    source: str
    confirmed_by: str | None
    note: str | None
    row_hash: str


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return local_to_utc(day, time(0), tz)


def log_page(session: Session, q: LogQuery, *, tz: ZoneInfo, limit: int = 50) -> list[LogRow]:
    """Up to ``limit`` rows matching ``q``, newest written first."""
    stmt = select(Airing, Station.code, Station.name).join(Station, Station.id == Airing.station_id)
    for path in (q.scope_path, q.unit_path):
        if path is not None:
            stations = (
                select(Station.id)
                .join(AdminUnit, AdminUnit.id == Station.unit_id)
                .where(AdminUnit.path.startswith(path, autoescape=True))
            )
            stmt = stmt.where(Airing.station_id.in_(stations))
    if q.station_id is not None:
        stmt = stmt.where(Airing.station_id == q.station_id)
    if q.campaign_id is not None:
        stmt = stmt.where(Airing.campaign_id == q.campaign_id)
    if q.day_from is not None:
        stmt = stmt.where(Airing.started_at >= _local_midnight(q.day_from, tz))
    if q.day_to is not None:
        stmt = stmt.where(Airing.started_at < _local_midnight(q.day_to + timedelta(days=1), tz))
    if q.status is not None:
        stmt = stmt.where(Airing.status == q.status)
    if q.source is not None:
        stmt = stmt.where(Airing.source == q.source)
    if q.before_id is not None:
        stmt = stmt.where(Airing.id < q.before_id)
    rows = session.execute(stmt.order_by(Airing.id.desc()).limit(limit)).all()
    slots = _slot_labels(session, {a.slot_id for a, _c, _n in rows})
    out = []
    for a, code, name in rows:
        planned, campaign, title = slots.get(a.slot_id, (None, None, None))
        out.append(
            LogRow(
                id=a.id,
                station_code=code,
                station_name=name,
                seq=a.seq,
                slot_id=a.slot_id,
                planned_start=planned,
                campaign=campaign,
                title=title,
                started_at=a.started_at,
                ended_at=a.ended_at,
                status=str(a.status),
                source=a.source,
                confirmed_by=a.confirmed_by,
                note=a.note,
                row_hash=a.row_hash,
            )
        )
    return out


def _slot_labels(session: Session, slot_ids: set[int]) -> dict[int, tuple]:
    """Planned time, campaign name and script title of each slot, in one query."""
    if not slot_ids:
        return {}
    rows = session.execute(
        select(Slot.id, Slot.planned_start, Campaign.name, ScriptVersion.title)
        .outerjoin(Campaign, Campaign.id == Slot.campaign_id)
        .outerjoin(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .where(Slot.id.in_(slot_ids))
    )
    return {i: (planned, name, title) for i, planned, name, title in rows}


def stations_in_scope(session: Session, scope_path: str | None, limit: int = 2) -> list[Station]:
    """A few stations of a scope (to tell an operator's one station from a wider scope)."""
    stmt = select(Station).join(AdminUnit, AdminUnit.id == Station.unit_id)
    if scope_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(scope_path, autoescape=True))
    return list(session.scalars(stmt.order_by(Station.code).limit(limit)))


# -- the operator's weeks: their Monday, and when a slot may be confirmed ----------------


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def is_due(planned_start: datetime | None, now: datetime) -> bool:
    """May an operator confirm a slot planned then? Only once its time has come."""
    return planned_start is not None and planned_start <= now
