"""Station heartbeats (what each agent last said of itself, and which stations are offline)
and presence (which stations hold an emergency long-poll now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.models import AdminUnit, Station, StationPresence, StationStatus, StationToken

OFFLINE_AFTER = timedelta(minutes=15)  # three missed heartbeats at the default interval
# A server process writes its waiting stations every PRESENCE_EVERY seconds; a station
# counts as connected while its mark is younger than CONNECTED_WITHIN (two missed writes).
PRESENCE_EVERY = timedelta(seconds=15)
CONNECTED_WITHIN = timedelta(seconds=40)


@dataclass(frozen=True)
class Heartbeat:
    agent_version: str | None = None
    free_disk_bytes: int | None = None
    last_sync_at: datetime | None = None
    player_state: str | None = None
    clock_drift_s: float | None = None
    spool_pending: int | None = None


@dataclass(frozen=True)
class StationHealth:
    station_code: str
    station_name: str
    last_seen_at: datetime | None
    online: bool
    agent_version: str | None
    free_disk_bytes: int | None
    last_sync_at: datetime | None
    player_state: str | None
    clock_drift_s: float | None
    spool_pending: int | None
    # holding an emergency long-poll now (any server process), beside the heartbeat
    connected: bool = False


def _connected(at: datetime | None, now: datetime) -> bool:
    return at is not None and at >= now - CONNECTED_WITHIN


def record_heartbeat(
    session: Session,
    station_id: int,
    token_id: int | None,
    beat: Heartbeat,
    remote_addr: str | None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    row = session.get(StationStatus, station_id)
    if row is None:
        row = StationStatus(station_id=station_id, last_seen_at=now)
        session.add(row)
    row.last_seen_at = now
    row.agent_version = beat.agent_version
    row.free_disk_bytes = beat.free_disk_bytes
    row.last_sync_at = beat.last_sync_at
    row.player_state = beat.player_state
    row.clock_drift_s = beat.clock_drift_s
    row.spool_pending = beat.spool_pending
    row.remote_addr = (remote_addr or "")[:64] or None
    if token_id is not None:
        session.execute(
            update(StationToken).where(StationToken.id == token_id).values(last_used_at=now)
        )


def station_health(
    session: Session,
    *,
    unit_path: str | None = None,
    offline_only: bool = False,
    offline_after: timedelta = OFFLINE_AFTER,
    now: datetime | None = None,
) -> list[StationHealth]:
    """Every active station (under a unit) with its last heartbeat; never-seen ones are offline."""
    now = now or utcnow()
    stmt = (
        select(Station.code, Station.name, StationStatus, StationPresence.connected_at)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .outerjoin(StationPresence, StationPresence.station_id == Station.id)
        .where(Station.active.is_(True))
        .order_by(Station.code)
    )
    if unit_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(unit_path))
    out = []
    for code, name, st, connected_at in session.execute(stmt):
        online = st is not None and now - st.last_seen_at <= offline_after
        if offline_only and online:
            continue
        out.append(_health(code, name, st, online, _connected(connected_at, now)))
    return out


@dataclass(frozen=True)
class StationRow:
    """One line of the admin's station list: the station, its windows and its heartbeat."""

    id: int
    code: str
    name: str
    unit_code: str
    unit_name: str
    windows: tuple[str, ...]
    health: StationHealth


def _health(
    code: str, name: str, st: StationStatus | None, online: bool, connected: bool = False
) -> StationHealth:
    return StationHealth(
        station_code=code,
        station_name=name,
        last_seen_at=st.last_seen_at if st else None,
        online=online,
        agent_version=st.agent_version if st else None,
        free_disk_bytes=st.free_disk_bytes if st else None,
        last_sync_at=st.last_sync_at if st else None,
        player_state=st.player_state if st else None,
        clock_drift_s=st.clock_drift_s if st else None,
        spool_pending=st.spool_pending if st else None,
        connected=connected,
    )


def station_page(
    session: Session,
    *,
    unit_path: str | None = None,
    search: str | None = None,
    online: bool | None = None,
    offset: int = 0,
    limit: int = 50,
    offline_after: timedelta = OFFLINE_AFTER,
    now: datetime | None = None,
) -> list[StationRow]:
    """One page of active stations under ``unit_path``, by unit path then code.

    ``search`` matches the station code exactly or the commune's name with or without
    diacritics; ``online`` keeps only stations heard from (True) or not (False) within
    ``offline_after``. Two queries whatever the page size: the stations with their
    heartbeat, then the page's windows. Fetch ``limit + 1`` to learn whether more follow.
    """
    from broadcaster.models import StationWindow
    from broadcaster.vntext import fold

    now = now or utcnow()
    cutoff = now - offline_after
    stmt = (
        select(
            Station.id,
            Station.code,
            Station.name,
            AdminUnit.code,
            AdminUnit.name,
            StationStatus,
            StationPresence.connected_at,
        )
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .outerjoin(StationPresence, StationPresence.station_id == Station.id)
        .where(Station.active.is_(True))
    )
    if unit_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(unit_path))
    if search:
        folded = fold(search)
        matches = [Station.code == search.strip()]
        if folded:
            matches.append(AdminUnit.name_folded.contains(folded, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if online is True:
        stmt = stmt.where(StationStatus.last_seen_at >= cutoff)
    elif online is False:
        stmt = stmt.where(
            or_(StationStatus.station_id.is_(None), StationStatus.last_seen_at < cutoff)
        )
    rows = session.execute(
        stmt.order_by(AdminUnit.path, Station.code).offset(offset).limit(limit)
    ).all()
    windows: dict[int, list[str]] = {}
    if rows:
        for station_id, starts, ends in session.execute(
            select(StationWindow.station_id, StationWindow.starts_at, StationWindow.ends_at)
            .where(StationWindow.station_id.in_([r[0] for r in rows]))
            .order_by(StationWindow.station_id, StationWindow.starts_at)
        ):
            windows.setdefault(station_id, []).append(f"{starts:%H:%M}–{ends:%H:%M}")
    return [
        StationRow(
            id=sid,
            code=code,
            name=name,
            unit_code=unit_code,
            unit_name=unit_name,
            windows=tuple(windows.get(sid, ())),
            health=_health(
                code,
                name,
                st,
                st is not None and st.last_seen_at >= cutoff,
                _connected(connected_at, now),
            ),
        )
        for sid, code, name, unit_code, unit_name, st, connected_at in rows
    ]


def health_of(
    session: Session,
    station_id: int,
    *,
    offline_after: timedelta = OFFLINE_AFTER,
    now: datetime | None = None,
) -> StationHealth:
    """One station's last heartbeat (offline when never heard from)."""
    now = now or utcnow()
    station = session.get(Station, station_id)
    st = session.get(StationStatus, station_id)
    online = st is not None and now - st.last_seen_at <= offline_after
    presence = session.get(StationPresence, station_id)
    connected = _connected(presence.connected_at if presence else None, now)
    return _health(station.code, station.name, st, online, connected)


# -- presence: who holds an emergency long-poll now ------------------------------------------


def note_waiting(session: Session, station_codes: list[str], now: datetime | None = None) -> int:
    """Mark these stations connected now (they hold a long-poll on this process)."""
    now = now or utcnow()
    if not station_codes:
        return 0
    ids = session.scalars(select(Station.id).where(Station.code.in_(station_codes))).all()
    if not ids:
        return 0
    known = set(
        session.scalars(
            select(StationPresence.station_id).where(StationPresence.station_id.in_(ids))
        ).all()
    )
    if known:
        session.execute(
            update(StationPresence)
            .where(StationPresence.station_id.in_(known))
            .values(connected_at=now)
        )
    session.add_all(StationPresence(station_id=i, connected_at=now) for i in ids if i not in known)
    return len(ids)


def connected_station_ids(
    session: Session, *, unit_path: str | None = None, now: datetime | None = None
) -> set[int]:
    """Active stations (under a unit) holding a long-poll now, on any server process."""
    now = now or utcnow()
    stmt = (
        select(Station.id)
        .join(StationPresence, StationPresence.station_id == Station.id)
        .where(Station.active.is_(True), StationPresence.connected_at >= now - CONNECTED_WITHIN)
    )
    if unit_path is not None:
        stmt = stmt.join(AdminUnit, AdminUnit.id == Station.unit_id).where(
            AdminUnit.path.startswith(unit_path)
        )
    return set(session.scalars(stmt).all())
