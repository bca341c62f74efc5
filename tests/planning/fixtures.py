"""Planning fixtures: approved scripts and campaigns written straight to the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from broadcaster.db import transaction
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
)
from broadcaster.services import scripts, users

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 2 November 2026, 00:30 in Hà Tĩnh: before every window of the day
MONDAY = datetime(2026, 11, 1, 17, 30, tzinfo=UTC)


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def approved_script(factory, actor, ha_tinh):
    """Approve scripts by slug: returns a function giving each one's Script id."""
    with transaction(factory) as s:
        users.add_user(s, actor, "soan", "editor", "password1")
        users.add_user(s, actor, "duyet", "approver", "password1")
    with factory() as s:
        editor = users.authenticate(s, "soan", "password1")
        approver = users.authenticate(s, "duyet", "password1")

    def make(slug: str, words: int = 60) -> int:
        body = " ".join(["Kính thưa bà con."] * (words // 4))
        with transaction(factory) as s:
            scripts.save_text(s, editor, ScriptText(slug=slug, title=slug, body=body))
            scripts.submit(s, editor, slug)
            scripts.approve(s, approver, slug)
            return s.scalar(select(Script.id).where(Script.slug == slug))

    return make


@pytest.fixture
def campaign(factory, approved_script):
    """Create a campaign row: campaign(name, unit code, **cadence) -> id."""

    def make(
        name: str = "DVCTT",
        unit: str = "42",
        *,
        times_per_week: int | None = 3,
        weekdays=(0, 1, 2, 3, 4, 5),
        preferred: str = "any",
        pattern=(),
        starts_on: date = date(2026, 11, 2),
        ends_on: date = date(2026, 12, 31),
        priority: Priority = Priority.NORMAL,
        script_slugs=("tin-1",),
        words: int = 60,
        created_at: datetime | None = None,
    ) -> int:
        ids = [approved_script(f"{name.lower()}-{slug}", words) for slug in script_slugs]
        with transaction(factory) as s:
            unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == unit))
            c = Campaign(
                name=name,
                priority=priority,
                times_per_week=None if pattern else times_per_week,
                weekdays=list(weekdays),
                preferred=preferred,
                pattern=[list(p) for p in pattern],
                starts_on=starts_on,
                ends_on=ends_on,
            )
            if created_at is not None:
                c.created_at = created_at
            c.scripts = [CampaignScript(script_id=i, position=n) for n, i in enumerate(ids)]
            c.targets = [CampaignTarget(unit_id=unit_id)]
            s.add(c)
            s.flush()
            return c.id

    return make


@pytest.fixture
def relay_campaign(factory, ha_tinh):
    """Create a relay source (once per name) and a relay campaign on it: -> campaign id."""

    def make(
        source: str = "VOV1",
        at: time = time(6),
        minutes: int = 30,
        *,
        unit: str = "42",
        weekdays=(0, 1, 2, 3, 4, 5, 6),
        starts_on: date = date(2026, 11, 2),
        ends_on: date = date(2026, 12, 31),
        name: str | None = None,
        backup_script_id: int | None = None,
    ) -> int:
        from broadcaster.models import CampaignKind, RelaySource

        with transaction(factory) as s:
            found = s.scalar(select(RelaySource).where(RelaySource.name == source))
            if found is None:
                found = RelaySource(
                    name=source,
                    url=f"http://127.0.0.1:9/{source.lower()}.mp3",
                    backup_script_id=backup_script_id,
                )
                s.add(found)
                s.flush()
            unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == unit))
            c = Campaign(
                name=name or f"Tiếp âm {source}",
                kind=CampaignKind.RELAY,
                relay_source_id=found.id,
                relay_start=at,
                relay_minutes=minutes,
                priority=Priority.NORMAL,
                times_per_week=None,
                weekdays=list(weekdays),
                preferred="any",
                pattern=[],
                starts_on=starts_on,
                ends_on=ends_on,
            )
            c.targets = [CampaignTarget(unit_id=unit_id)]
            s.add(c)
            s.flush()
            return c.id

    return make
