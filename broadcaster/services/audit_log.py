"""Reading the audit trail (nhật ký thao tác): one bounded page of events, newest first.

Who sees what: an admin or auditor with the whole country as scope sees every
event. One with a scope (a province) sees the events done by users whose own
scope lies inside it; events carry no unit of their own, so this is the one
rule that holds for every kind of event. Events of the system (the CLI without
``--user``) and of national users are therefore not shown to a provincial
reader. Pages are keyset by id (``before``), never a COUNT of the trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import AdminUnit, AuditEvent, User
from broadcaster.planning.calendar import local_to_utc


@dataclass(frozen=True)
class EventQuery:
    scope_path: str | None = None
    action_prefix: str | None = None
    actor: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    entity_ids: tuple[str, ...] = ()  # any of these (a station is named by id or by code)
    day_from: date | None = None
    day_to: date | None = None
    before_id: int | None = None


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    address: str | None = None  # where an admin action came from

    @staticmethod
    def pretty(value: dict[str, Any] | None) -> str:
        """A before/after value as indented JSON, Vietnamese left readable."""
        return "" if value is None else json.dumps(value, ensure_ascii=False, indent=2, default=str)


def events_page(
    session: Session, q: EventQuery, *, tz: ZoneInfo, limit: int = 50
) -> list[EventRow]:
    """Up to ``limit`` events matching ``q``, newest first."""
    stmt = select(AuditEvent)
    if q.scope_path is not None:
        readers = (
            select(User.id)
            .join(AdminUnit, AdminUnit.id == User.scope_unit_id)
            .where(AdminUnit.path.startswith(q.scope_path, autoescape=True))
        )
        stmt = stmt.where(AuditEvent.actor_id.in_(readers))
    if q.action_prefix:
        stmt = stmt.where(AuditEvent.action.startswith(q.action_prefix, autoescape=True))
    if q.actor:
        stmt = stmt.where(AuditEvent.actor == q.actor)
    if q.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == q.entity_type)
    if q.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == q.entity_id)
    if q.entity_ids:
        stmt = stmt.where(AuditEvent.entity_id.in_(q.entity_ids))
    if q.day_from is not None:
        stmt = stmt.where(AuditEvent.at >= local_to_utc(q.day_from, time(0), tz))
    if q.day_to is not None:
        stmt = stmt.where(AuditEvent.at < local_to_utc(q.day_to + timedelta(days=1), time(0), tz))
    if q.before_id is not None:
        stmt = stmt.where(AuditEvent.id < q.before_id)
    return [
        EventRow(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            before=e.before,
            after=e.after,
            note=e.note,
            address=e.address,
        )
        for e in session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit))
    ]
