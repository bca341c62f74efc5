"""Scripts written straight through the services, for the admin's scripts tests."""

from __future__ import annotations

from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.library import ScriptText, used_placeholders
from broadcaster.models import AuditEvent, Script, ScriptVersion
from broadcaster.services import scripts as svc
from broadcaster.services import users
from broadcaster.services.units import get_unit
from tests.web.conftest import PASSWORD

BODY = "Kính thưa toàn thể nhân dân! UBND xã thông báo lịch tiêm phòng."


def seed(
    web,
    slug: str,
    *,
    title: str | None = None,
    body: str = BODY,
    author: str = "bientap",
    unit: str | None = "42",
    submit: bool = False,
    approver: str | None = None,
) -> None:
    """One script by ``author`` (optionally submitted, and approved by ``approver``)."""
    with transaction(web.factory) as s:
        writer = users.authenticate(s, author, PASSWORD)
        owner = get_unit(s, unit) if unit else None
        text = ScriptText(
            slug=slug, title=title or slug, body=body, placeholders=used_placeholders(body)
        )
        svc.save_text(s, writer, text, owner)
        if submit or approver:
            svc.submit(s, writer, slug)
        if approver:
            svc.approve(s, users.authenticate(s, approver, PASSWORD), slug)


def script(web, slug: str) -> svc.ScriptInfo:
    with web.factory() as s:
        return svc.get_script(s, slug)


def script_count(web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(Script))


def version_count(web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(ScriptVersion))


def audit_actions(web, slug: str) -> list[str]:
    with web.factory() as s:
        script_id = s.scalar(select(Script.id).where(Script.slug == slug))
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == "script", AuditEvent.entity_id == str(script_id))
                .order_by(AuditEvent.id)
            )
        )


def add_editor(web, name: str, scope: str) -> None:
    with transaction(web.factory) as s:
        actor = users.authenticate(s, "quantri", PASSWORD)
        users.add_user(s, actor, name, "editor", PASSWORD, scope=scope)
