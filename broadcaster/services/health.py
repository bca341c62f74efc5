"""Station heartbeats: what each agent last said of itself, and which stations are offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.models import AdminUnit, Station, StationStatus, StationToken

OFFLINE_AFTER = timedelta(minutes=15)  # three missed heartbeats at the default interval


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
        select(Station.code, Station.name, StationStatus)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .where(Station.active.is_(True))
        .order_by(Station.code)
    )
    if unit_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(unit_path))
    out = []
    for code, name, st in session.execute(stmt):
        online = st is not None and now - st.last_seen_at <= offline_after
        if offline_only and online:
            continue
        out.append(
            StationHealth(
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
            )
        )
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


def _health(code: str, name: str, st: StationStatus | None, online: bool) -> StationHealth:
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
            Station.id, Station.code, Station.name, AdminUnit.code, AdminUnit.name, StationStatus
        )
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
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
            health=_health(code, name, st, st is not None and st.last_seen_at >= cutoff),
        )
        for sid, code, name, unit_code, unit_name, st in rows
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
    return _health(station.code, station.name, st, online)
