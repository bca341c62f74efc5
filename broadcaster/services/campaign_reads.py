"""Reading campaigns for the admin: a scoped page of them, scripts to choose, stations.

Bounded queries only (a page of campaigns, of stations), each list in one query
whatever its length, so the pages stay fast with 3,321 stations. Writes stay in
:mod:`broadcaster.services.campaigns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import literal, or_, select
from sqlalchemy.orm import Session

from broadcaster.errors import InvalidInput
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignStatus,
    CampaignTarget,
    Priority,
    RelaySource,
    Script,
    ScriptVersion,
    Station,
)
from broadcaster.services.campaigns import (
    _LOAD,
    _STATUS_ALIASES,
    TargetInfo,
    _below,
    describe_cadence,
)
from broadcaster.vntext import fold


@dataclass(frozen=True)
class ScriptChoice:
    slug: str
    title: str


def _touches_scope(scope_path: str, unit=AdminUnit):
    """A unit inside the scope, or one holding it (a province's campaign reaches a commune)."""
    return or_(unit.path.startswith(scope_path), literal(scope_path).startswith(unit.path))


@dataclass(frozen=True)
class CampaignRow:
    """A campaign as a list shows it (no station count: counting the stations below
    every target of every row is what made a national list slow)."""

    id: int
    name: str
    status: CampaignStatus
    priority: Priority
    cadence: str
    starts_on: date
    ends_on: date
    scripts: tuple[str, ...]
    targets: tuple[TargetInfo, ...]
    kind: str = "announcement"  # announcement | relay (tiếp âm)


def _row(c: Campaign) -> CampaignRow:
    return CampaignRow(
        id=c.id,
        name=c.name,
        status=c.status,
        priority=c.priority,
        cadence=describe_cadence(c),
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        scripts=tuple(cs.script.slug for cs in c.scripts),
        targets=tuple(TargetInfo(t.unit.code, t.unit.name) for t in c.targets),
        kind=c.kind.value,
    )


def parse_status(status: str | CampaignStatus) -> CampaignStatus:
    value = _STATUS_ALIASES.get(fold(str(status)), fold(str(status)))
    if value not in {s.value for s in CampaignStatus}:
        raise InvalidInput(
            "Trạng thái '{status}' không hợp lệ; chọn active (đang chạy), "
            "paused (tạm dừng) hoặc ended (kết thúc).",
            field="status",
            status=status,
        )
    return CampaignStatus(value)


def campaigns_in_scope(
    session: Session,
    scope_path: str | None,
    status: str | CampaignStatus | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> list[CampaignRow]:
    """Campaigns with a target inside or above ``scope_path`` (None: all), newest first."""
    stmt = select(Campaign).options(*_LOAD)
    if status:
        stmt = stmt.where(Campaign.status == parse_status(status))
    if scope_path is not None:
        stmt = stmt.where(_reaching(scope_path))
    rows = session.scalars(stmt.order_by(Campaign.id.desc()).limit(limit).offset(offset))
    return [_row(c) for c in rows]


def _reaching(scope_path: str):
    return (
        select(CampaignTarget.id)
        .join(AdminUnit, AdminUnit.id == CampaignTarget.unit_id)
        .where(CampaignTarget.campaign_id == Campaign.id, _touches_scope(scope_path))
        .exists()
    )


def campaign_choices(
    session: Session, scope_path: str | None, *, limit: int = 200
) -> list[tuple[int, str]]:
    """(id, name) of the campaigns reaching the scope, newest first: a filter's choices
    (a commune's operator never learns the names of other provinces' campaigns)."""
    stmt = select(Campaign.id, Campaign.name)
    if scope_path is not None:
        stmt = stmt.where(_reaching(scope_path))
    return [(i, n) for i, n in session.execute(stmt.order_by(Campaign.id.desc()).limit(limit))]


def campaign_visible(session: Session, campaign_id: int, scope_path: str | None) -> bool:
    """Does campaign ``campaign_id`` exist and reach the scope?"""
    stmt = select(Campaign.id).where(Campaign.id == campaign_id)
    if scope_path is not None:
        stmt = stmt.where(_reaching(scope_path))
    return session.scalar(stmt) is not None


def reaches_scope(target_paths: Sequence[str], scope_path: str | None) -> bool:
    """Does the campaign reach the scope (a target inside it or holding it)?"""
    if scope_path is None:
        return True
    return any(p.startswith(scope_path) or scope_path.startswith(p) for p in target_paths)


def target_paths(session: Session, campaign_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AdminUnit.path)
            .join(CampaignTarget, CampaignTarget.unit_id == AdminUnit.id)
            .where(CampaignTarget.campaign_id == campaign_id)
        )
    )


def approved_scripts(
    session: Session,
    scope_path: str | None,
    *,
    slugs: Sequence[str] | None = None,
    limit: int = 500,
) -> list[ScriptChoice]:
    """Approved, unarchived scripts a campaign in ``scope_path`` may air, by title
    (only those of ``slugs`` when given: to check what a form sent)."""
    stmt = (
        select(Script.slug, ScriptVersion.title)
        .join(ScriptVersion, ScriptVersion.id == Script.approved_version_id)
        .outerjoin(AdminUnit, AdminUnit.id == Script.unit_id)
        .where(Script.archived_at.is_(None))
    )
    if scope_path is not None:
        stmt = stmt.where(or_(Script.unit_id.is_(None), _touches_scope(scope_path)))
    if slugs is not None:
        stmt = stmt.where(Script.slug.in_(list(slugs)))
    rows = session.execute(stmt.order_by(ScriptVersion.title, Script.slug).limit(limit))
    return [ScriptChoice(slug, title) for slug, title in rows]


@dataclass(frozen=True)
class StationRef:
    id: int
    code: str
    name: str


def campaign_stations(
    session: Session,
    paths: Sequence[str],
    scope_path: str | None,
    *,
    code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[StationRef]:
    """Active stations below the campaign's target ``paths`` and inside the scope, by code."""
    if not paths:
        return []
    stmt = select(Station.id, Station.code, Station.name).join(Station.unit).where(*_below(paths))
    if scope_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(scope_path))
    if code is not None:
        stmt = stmt.where(Station.code == code)
    rows = session.execute(stmt.order_by(Station.code).limit(limit).offset(offset))
    return [StationRef(*row) for row in rows]


def relay_choices(session: Session, scope_path: str | None, *, limit: int = 200) -> list[str]:
    """Names of the active relay sources a campaign in ``scope_path`` may air: nation-wide
    ones (VOV1) and those of a unit inside the scope or holding it, by name."""
    stmt = (
        select(RelaySource.name)
        .outerjoin(AdminUnit, AdminUnit.id == RelaySource.unit_id)
        .where(RelaySource.active.is_(True))
    )
    if scope_path is not None:
        stmt = stmt.where(or_(RelaySource.unit_id.is_(None), _touches_scope(scope_path)))
    return list(session.scalars(stmt.order_by(RelaySource.name).limit(limit)))
