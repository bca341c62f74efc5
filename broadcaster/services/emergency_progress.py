"""Watching emergencies go out (tin khẩn cấp) from the admin: scoped and paginated.

What a signed-in user sees of an emergency is what reaches their scope: the
items sent to a unit inside it or holding it, and only the stations inside it.
Every read is a bounded number of queries, whatever the number of stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import utcnow
from broadcaster.errors import PermissionDenied
from broadcaster.models import (
    AdminUnit,
    Airing,
    Emergency,
    EmergencyTarget,
    Slot,
    SlotStatus,
    Station,
    StationPresence,
    StationStatus,
)
from broadcaster.services.audit import Actor
from broadcaster.services.emergency import EmergencyInfo, _info, _load
from broadcaster.services.emergency_draft import target_units
from broadcaster.services.health import CONNECTED_WITHIN


@dataclass(frozen=True)
class EmergencyProgress:
    """An emergency with how far it got among the stations of one scope."""

    info: EmergencyInfo
    stations: int  # slots at stations in the scope
    picked_up: int
    aired: int

    @property
    def status(self) -> str:
        """cancelled | expired | done (every station aired) | active."""
        if self.info.cancelled_at is not None:
            return "cancelled"
        if self.stations and self.aired >= self.stations:
            return "done"
        if self.info.expires_at <= utcnow():
            return "expired"
        return "active"


def _reaches(scope_path: str | None):
    """An emergency reaches a scope when one of its target units lies inside the scope
    or holds it (a province-wide item reaches each commune of the province)."""
    if scope_path is None:
        return None
    return (
        select(EmergencyTarget.id)
        .join(AdminUnit, AdminUnit.id == EmergencyTarget.unit_id)
        .where(
            EmergencyTarget.emergency_id == Emergency.id,
            or_(
                AdminUnit.path.startswith(scope_path),
                literal(scope_path).startswith(AdminUnit.path),
            ),
        )
        .exists()
    )


def _progress(
    session: Session, emergency_ids: list[int], scope_path: str | None
) -> dict[int, tuple[int, int, int]]:
    """(stations, picked up, aired) per emergency among the scope's stations, one query."""
    if not emergency_ids:
        return {}
    stmt = (
        select(
            Slot.emergency_id,
            func.count(),
            func.count(Slot.picked_up_at),
            func.count().filter(Slot.status == SlotStatus.AIRED),
        )
        .where(Slot.emergency_id.in_(emergency_ids))
        .group_by(Slot.emergency_id)
    )
    if scope_path is not None:
        stmt = (
            stmt.join(Station, Station.id == Slot.station_id)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(AdminUnit.path.startswith(scope_path))
        )
    return {eid: (total, picked, aired) for eid, total, picked, aired in session.execute(stmt)}


def list_in_scope(
    session: Session, scope_path: str | None, *, offset: int = 0, limit: int = 50
) -> list[EmergencyProgress]:
    """The newest emergencies reaching a scope, with their progress there."""
    stmt = select(Emergency).options(
        selectinload(Emergency.targets).selectinload(EmergencyTarget.unit)
    )
    reaches = _reaches(scope_path)
    if reaches is not None:
        stmt = stmt.where(reaches)
    rows = session.scalars(stmt.order_by(Emergency.id.desc()).offset(offset).limit(limit)).all()
    counts = _progress(session, [e.id for e in rows], scope_path)
    out = []
    for e in rows:
        total, picked, aired = counts.get(e.id, (0, 0, 0))
        info = _info(e, [t.unit for t in e.targets], total)
        out.append(EmergencyProgress(info, total, picked, aired))
    return out


def progress_in_scope(
    session: Session, emergency_id: int, scope_path: str | None
) -> EmergencyProgress:
    """One emergency's progress in a scope: NotFound when unknown, PermissionDenied when
    it reaches nowhere in the scope."""
    e = _load(session, emergency_id)
    if scope_path is not None and not any(
        t.unit.path.startswith(scope_path) or scope_path.startswith(t.unit.path) for t in e.targets
    ):
        raise PermissionDenied(
            "Tin khẩn cấp số {number} không gửi tới đơn vị trong phạm vi của bạn.", number=e.id
        )
    total, picked, aired = _progress(session, [e.id], scope_path).get(e.id, (0, 0, 0))
    return EmergencyProgress(_info(e, [t.unit for t in e.targets], total), total, picked, aired)


@dataclass(frozen=True)
class DeliveryRow:
    """One station's line on an emergency's page."""

    station_code: str
    station_name: str
    picked_up_at: datetime | None
    aired_at: datetime | None
    status: str  # as EmergencyDelivery.status, or playing
    connected: bool = False  # holding a long-poll now (any server process)
    playing_at: datetime | None = None  # a heartbeat since it was fetched said "playing"


def delivery_page(
    session: Session,
    emergency_id: int,
    scope_path: str | None,
    *,
    offset: int = 0,
    limit: int = 50,
) -> list[DeliveryRow]:
    """A page of an emergency's stations in a scope, by station code: two queries (the
    slots, then the airings of those slots by the slot index)."""
    stmt = (
        select(
            Slot.id,
            Slot.status,
            Slot.picked_up_at,
            Station.code,
            Station.name,
            StationPresence.connected_at,
            StationStatus.player_state,
            StationStatus.last_seen_at,
        )
        .join(Station, Station.id == Slot.station_id)
        .outerjoin(StationPresence, StationPresence.station_id == Station.id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .where(Slot.emergency_id == emergency_id)
    )
    if scope_path is not None:
        stmt = stmt.join(AdminUnit, AdminUnit.id == Station.unit_id).where(
            AdminUnit.path.startswith(scope_path)
        )
    slots = session.execute(stmt.order_by(Station.code).offset(offset).limit(limit)).all()
    reported: dict[int, list[tuple[str, datetime]]] = {}
    if slots:
        for slot_id, status, started in session.execute(
            select(Airing.slot_id, Airing.status, Airing.started_at)
            .where(Airing.slot_id.in_([s[0] for s in slots]))
            .order_by(Airing.started_at)
        ):
            reported.setdefault(slot_id, []).append((str(status), started))
    out = []
    now = utcnow()
    for slot_id, slot_status, picked_up_at, code, name, connected_at, player, beat_at in slots:
        airings = reported.get(slot_id, [])
        aired = next((at for status, at in airings if status == "aired"), None)
        playing_at = None
        if (
            not airings
            and picked_up_at is not None
            and player == "playing"
            and beat_at is not None
            and beat_at >= picked_up_at
        ):
            playing_at = beat_at
        if aired is not None:
            status = "aired"
        elif airings:
            status = airings[-1][0]
        elif slot_status is SlotStatus.MISSED:
            status = "missed"
        elif slot_status is SlotStatus.CANCELLED:
            status = "cancelled"
        elif playing_at is not None:
            status = "playing"
        elif picked_up_at is not None:
            status = "picked_up"
        else:
            status = "waiting"
        connected = connected_at is not None and connected_at >= now - CONNECTED_WITHIN
        out.append(DeliveryRow(code, name, picked_up_at, aired, status, connected, playing_at))
    return out


def reach(session: Session, actor: Actor, unit_codes: list[str]) -> int:
    """How many active stations an emergency to these units would go to (the same
    checks as :func:`send`: unknown unit NotFound, outside the scope PermissionDenied)."""
    return reach_now(session, actor, unit_codes)[0]


def reach_now(session: Session, actor: Actor, unit_codes: list[str]) -> tuple[int, int]:
    """(stations, of which connected now) under these units, with :func:`reach`'s checks."""
    units = target_units(session, actor, unit_codes)
    fresh = StationPresence.connected_at >= utcnow() - CONNECTED_WITHIN
    total, connected = session.execute(
        select(func.count(), func.count(StationPresence.station_id).filter(fresh))
        .select_from(Station)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationPresence, StationPresence.station_id == Station.id)
        .where(
            Station.active.is_(True),
            or_(*(AdminUnit.path.startswith(u.path) for u in units)),
        )
    ).one()
    return total or 0, connected or 0


def connected_count(session: Session, emergency_id: int, scope_path: str | None) -> int:
    """How many of an emergency's stations in a scope hold a long-poll now."""
    stmt = (
        select(func.count())
        .select_from(Slot)
        .join(StationPresence, StationPresence.station_id == Slot.station_id)
        .where(
            Slot.emergency_id == emergency_id,
            StationPresence.connected_at >= utcnow() - CONNECTED_WITHIN,
        )
    )
    if scope_path is not None:
        stmt = (
            stmt.join(Station, Station.id == Slot.station_id)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(AdminUnit.path.startswith(scope_path))
        )
    return session.scalar(stmt) or 0


MAX_RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class StationEmergency:
    """An emergency of the last day at one station, with how it is going there."""

    emergency_id: int
    title: str
    created_at: datetime
    slot_status: str


def recent_at_station(
    session: Session, station_id: int, *, now: datetime | None = None
) -> list[StationEmergency]:
    """The emergencies of the last 24 hours at a station, newest first (by the station's
    slot index: planned start is the sending time)."""
    since = (now or utcnow()) - MAX_RECENT
    rows = session.execute(
        select(Emergency.id, Emergency.title, Emergency.created_at, Slot.status)
        .join(Emergency, Emergency.id == Slot.emergency_id)
        .where(Slot.station_id == station_id, Slot.planned_start >= since)
        .order_by(Emergency.id.desc())
        .limit(20)
    )
    return [StationEmergency(eid, title, at, str(status)) for eid, title, at, status in rows]
