"""A lived-in demo: the library's scripts reviewed, two campaigns running for three
weeks in Hà Tĩnh, airings reported (most on time, some late, some failed, some
missed), heartbeats, an emergency. For the screenshots in ``docs/screenshots``.

Everything is made through the service functions, as the CLI and the admin do;
the campaigns are back-dated so the airing log and the dashboard have history.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select, update

from broadcaster.db import transaction, utcnow
from broadcaster.models import (
    AdminUnit,
    AiringStatus,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.planning import plan
from broadcaster.planning.calendar import monday_of
from broadcaster.services import airings, health, scripts, users
from tests.web.conftest import PASSWORD

REPO = Path(__file__).resolve().parents[2]


def _at(day: date, hhmm: str, tz) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz)


def build(factory, tz, *, seed: int = 7) -> dict:
    """Fill a database that already holds Hà Tĩnh and the web users."""
    rng = random.Random(seed)
    with factory() as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        approver = users.authenticate(s, "duyet", PASSWORD)
    with transaction(factory) as s:
        scripts.import_library(s, editor, REPO / "scripts", unit="42")
    with factory() as s:
        slugs = sorted(s.scalars(select(Script.slug)))
    for slug in slugs[:7]:
        with transaction(factory) as s:
            scripts.submit(s, editor, slug)
            scripts.approve(s, approver, slug)
    with transaction(factory) as s:
        scripts.submit(s, editor, slugs[7])

    today = utcnow().astimezone(tz).date()
    start = monday_of(today) - timedelta(days=14)
    campaign_ids = []
    with transaction(factory) as s:
        province = s.scalar(select(AdminUnit.id).where(AdminUnit.code == "42"))
        ids = {slug: id_ for slug, id_ in s.execute(select(Script.slug, Script.id))}
        for name, picks, per_week in (
            ("Tuyên truyền dịch vụ công trực tuyến", slugs[:3], 3),
            ("Thanh toán trực tuyến và VNeID", slugs[6:7], 2),
        ):
            c = Campaign(
                name=name,
                priority=Priority.NORMAL,
                times_per_week=per_week,
                weekdays=[0, 1, 2, 3, 4, 5],
                preferred="any",
                pattern=[],
                starts_on=start,
                ends_on=start + timedelta(days=120),
            )
            c.scripts = [CampaignScript(script_id=ids[p], position=n) for n, p in enumerate(picks)]
            c.targets = [CampaignTarget(unit_id=province)]
            s.add(c)
            s.flush()
            campaign_ids.append(c.id)
    with transaction(factory) as s:
        plan(s, now=_at(start, "00:30", tz), days=35, tz=tz)

    now = utcnow()
    with factory() as s:
        past = s.execute(
            select(Slot.id, Slot.station_id, Slot.planned_start, Slot.duration_ms)
            .where(Slot.window_end < now - timedelta(hours=1))
            .where(Slot.status == SlotStatus.PLANNED)
            .order_by(Slot.station_id, Slot.planned_start)
        ).all()
    by_station: dict[int, list] = {}
    for row in past:
        by_station.setdefault(row.station_id, []).append(row)
    for station_id, rows in by_station.items():
        reports = []
        for row in rows:
            luck = rng.random()
            if luck < 0.08:
                continue  # missed: the watchdog below marks it
            length = timedelta(milliseconds=row.duration_ms)
            started = row.planned_start + timedelta(seconds=rng.randint(0, 90))
            status = AiringStatus.AIRED
            if luck < 0.12:
                started += timedelta(hours=3)  # late: after the window closed
            elif luck < 0.15:
                status = AiringStatus.FAILED
                length = timedelta(0)
            reports.append(
                airings.AiringReport(
                    id=str(uuid.uuid4()),
                    slot_id=row.id,
                    started_at=started,
                    ended_at=started + length,
                    status=status,
                    note="mất điện" if status == AiringStatus.FAILED else None,
                )
            )
        for i in range(0, len(reports), 100):
            with transaction(factory) as s:
                airings.ingest(s, station_id, reports[i : i + 100], now=now)
    with transaction(factory) as s:
        s.execute(
            update(Slot)
            .where(Slot.status == SlotStatus.PLANNED, Slot.window_end < now - timedelta(hours=1))
            .values(status=SlotStatus.MISSED, note="quá giờ, chưa phát")
        )
    with transaction(factory) as s:
        stations = s.execute(select(Station.id, Station.code).order_by(Station.code)).all()
        for n, (station_id, _code) in enumerate(stations):
            if n % 9 == 4:
                continue  # a few stations never connected: offline on the dashboard
            beat = health.Heartbeat(
                agent_version="0.1.0",
                free_disk_bytes=8 * 2**30,
                last_sync_at=now - timedelta(minutes=3),
                player_state="idle",
                clock_drift_s=round(rng.uniform(-2, 2), 1),
                spool_pending=0,
            )
            seen = now - timedelta(minutes=2 if n % 7 else 40)
            health.record_heartbeat(s, station_id, None, beat, "127.0.0.1", now=seen)
    return {"slugs": slugs, "campaigns": campaign_ids}
