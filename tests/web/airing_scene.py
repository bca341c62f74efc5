"""Airing-log scenery for the admin tests: one approved script, one campaign over Hà Tĩnh,
slots at chosen stations and airings reported by the station agent.

Written with the web fixture's own users (``bientap`` drafts, ``duyet`` approves),
so it does not clash with the planning fixtures' users.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select, text

from broadcaster.db import transaction, utcnow
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    AiringStatus,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Slot,
    Station,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services import airings, scripts, users
from tests.web.conftest import PASSWORD


def make_campaign(web, name: str = "Dịch vụ công trực tuyến") -> int:
    with transaction(web.factory) as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        approver = users.authenticate(s, "duyet", PASSWORD)
    slug = f"tin-{uuid.uuid4().hex[:8]}"
    with transaction(web.factory) as s:
        body = "Kính thưa bà con. Hãy dùng dịch vụ công trực tuyến."
        province = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        text_ = ScriptText(slug=slug, title=f"Tin {name}", body=body)
        scripts.save_text(s, editor, text_, unit=province)
        scripts.submit(s, editor, slug)
        scripts.approve(s, approver, slug)
        script_id = s.scalar(select(Script.id).where(Script.slug == slug))
        unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == "42"))
        c = Campaign(
            name=name,
            priority=Priority.NORMAL,
            times_per_week=3,
            weekdays=[0, 1, 2, 3, 4, 5],
            preferred="any",
            pattern=[],
            starts_on=date(2026, 1, 1),
            ends_on=date(2027, 12, 31),
        )
        c.scripts = [CampaignScript(script_id=script_id, position=0)]
        c.targets = [CampaignTarget(unit_id=unit_id)]
        s.add(c)
        s.flush()
        return c.id


def add_slots(web, campaign_id: int, code: str, starts: list[datetime]) -> list[int]:
    ids = []
    with transaction(web.factory) as s:
        station_id = s.scalar(select(Station.id).where(Station.code == code))
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == campaign_id)
        )
        version_id = s.get(Script, script_id).approved_version_id
        for n, start in enumerate(starts):
            slot = Slot(
                station_id=station_id,
                campaign_id=campaign_id,
                occurrence=f"T{start.timestamp():.0f}#{n}",
                script_version_id=version_id,
                week=week_label(start.date()),
                planned_start=start,
                window_end=start + timedelta(minutes=30),
                position=n,
                duration_ms=20_000,
            )
            s.add(slot)
            s.flush()
            ids.append(slot.id)
    return ids


def report(web, code: str, slot_id: int, status=AiringStatus.AIRED, note=None, minutes_ago=5):
    """The station agent reports one airing of ``slot_id``."""
    with transaction(web.factory) as s:
        station_id = s.scalar(select(Station.id).where(Station.code == code))
        start = utcnow() - timedelta(minutes=minutes_ago)
        (result,) = airings.ingest(
            s,
            station_id,
            [
                airings.AiringReport(
                    id=str(uuid.uuid4()),
                    slot_id=slot_id,
                    started_at=start,
                    ended_at=start + timedelta(seconds=20),
                    status=status,
                    note=note,
                )
            ],
        )
    return result


def unguarded(web):
    """A connection that can change the airing log, as someone with database access could."""
    engine = web.factory.kw["bind"]
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        conn.execute(text("DROP TRIGGER airings_no_update"))
        conn.execute(text("DROP TRIGGER airings_no_delete"))
    return conn
