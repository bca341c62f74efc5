"""Instance-wide operations: first admin, and the status summary."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import Role, Station
from broadcaster.services import scripts as scripts_svc
from broadcaster.services import units as units_svc
from broadcaster.services import users as users_svc
from broadcaster.services.audit import Actor

FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class Status:
    provinces: int
    communes: int
    stations: int
    active_stations: int
    users: int
    scripts_by_state: dict[str, int]


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
    return Status(
        provinces=levels.get(units_svc.PROVINCE_LEVEL, 0),
        communes=levels.get(units_svc.COMMUNE_LEVEL, 0),
        stations=stations[0],
        active_stations=stations[1],
        users=users_svc.count_users(session),
        scripts_by_state=by_state,
    )
