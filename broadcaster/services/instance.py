"""Instance-wide operations: first admin, and the status summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.models import (
    Airing,
    Campaign,
    CampaignStatus,
    Role,
    Slot,
    SlotStatus,
    Station,
    StationStatus,
)
from broadcaster.services import scripts as scripts_svc
from broadcaster.services import units as units_svc
from broadcaster.services import users as users_svc
from broadcaster.services.audit import Actor
from broadcaster.services.health import OFFLINE_AFTER

FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class Status:
    provinces: int
    communes: int
    stations: int
    active_stations: int
    users: int
    scripts_by_state: dict[str, int]
    active_campaigns: int = 0
    # planned: the coming 14 days; unplaced: all; missed: the last 7 days
    slots_by_status: dict[str, int] | None = None
    stations_online: int = 0  # a heartbeat within health.OFFLINE_AFTER
    airings_7d: int = 0  # airing log rows started in the last 7 days


def ensure_first_admin(session: Session, actor: Actor) -> str | None:
    """Create the first admin when there is no user at all.

    Returns the generated password (to be shown once), or None when users exist.
    """
    if users_svc.count_users(session):
        return None
    password = users_svc.generate_password()
    users_svc.add_user(
        session, actor, FIRST_ADMIN, Role.ADMIN, password, full_name="Quản trị hệ thống"
    )
    return password


def status(session: Session) -> Status:
    levels = units_svc.count_units(session)
    stations = session.execute(
        select(func.count(), func.count().filter(Station.active.is_(True))).select_from(Station)
    ).one()
    by_state: dict[str, int] = {}
    for s in scripts_svc.list_scripts(session):
        by_state[s.state] = by_state.get(s.state, 0) + 1
    now = utcnow()

    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(Slot).where(*where)) or 0

    slots = {
        "planned": count(
            Slot.status == SlotStatus.PLANNED,
            Slot.planned_start.between(now, now + timedelta(days=14)),
        ),
        "unplaced": count(Slot.status == SlotStatus.UNPLACED),
        "missed": count(
            Slot.status == SlotStatus.MISSED, Slot.planned_start >= now - timedelta(days=7)
        ),
        "aired": count(
            Slot.status == SlotStatus.AIRED, Slot.planned_start >= now - timedelta(days=7)
        ),
    }
    online = session.scalar(
        select(func.count())
        .select_from(StationStatus)
        .where(StationStatus.last_seen_at >= now - OFFLINE_AFTER)
    )
    aired = session.scalar(
        select(func.count()).select_from(Airing).where(Airing.started_at >= now - timedelta(days=7))
    )
    campaigns = session.scalar(select(func.count()).where(Campaign.status == CampaignStatus.ACTIVE))
    return Status(
        provinces=levels.get(units_svc.PROVINCE_LEVEL, 0),
        communes=levels.get(units_svc.COMMUNE_LEVEL, 0),
        stations=stations[0],
        active_stations=stations[1],
        users=users_svc.count_users(session),
        scripts_by_state=by_state,
        active_campaigns=campaigns or 0,
        slots_by_status=slots,
        stations_online=online or 0,
        airings_7d=aired or 0,
    )
