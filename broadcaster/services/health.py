"""Station heartbeats: what each agent last said of itself, and which stations are offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
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
