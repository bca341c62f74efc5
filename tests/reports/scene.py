"""A compliance scene: one commune's station, a campaign planned by the real planner.

Everything is dated relative to this week, three weeks back, so the reports
stay inside the airing log's 60-day window whenever the suite runs. Campaign
"DVCTT" has a fixed weekly pattern — Monday 06:00, Wednesday 06:00, Friday
17:30 — so every required airing can be counted by hand; it starts on the
first week's Wednesday (a partial week: two airings, not three).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.models import AdminUnit, AiringStatus, Slot, Station
from broadcaster.planning import plan
from broadcaster.planning.calendar import monday_of
from broadcaster.services import airings
from tests.planning.fixtures import TZ

PATTERN = ((0, "06:00"), (2, "06:00"), (4, "17:30"))


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


@dataclass
class Scene:
    factory: object
    m0: date  # the first week's Monday, three weeks before this one
    unit: str  # the commune's code
    province: str
    unit_name: str
    station: str
    station_id: int
    campaign_id: int
    extra: dict = field(default_factory=dict)

    def plan(self, day: date, days: int = 21, campaign_ids=None):
        with transaction(self.factory) as s:
            return plan(
                s,
                now=at(day, "00:30"),
                days=days,
                tz=TZ,
                campaign_ids=campaign_ids,
            )

    def slot(self, day: date, station_id: int | None = None, campaign_id: int | None = None):
        """The campaign slot of ``day`` at the station (local day)."""
        lo = at(day, "00:00")
        with self.factory() as s:
            return s.scalars(
                select(Slot).where(
                    Slot.station_id == (station_id or self.station_id),
                    Slot.campaign_id == (campaign_id or self.campaign_id),
                    Slot.planned_start >= lo,
                    Slot.planned_start < lo + timedelta(days=1),
                )
            ).one()

    def report(self, slot: Slot, start: datetime, minutes: float, status="aired", rid=None):
        """The station's agent reports one airing; returns the report id."""
        rid = rid or str(uuid.uuid4())
        with transaction(self.factory) as s:
            airings.ingest(
                s,
                slot.station_id,
                [
                    airings.AiringReport(
                        id=rid,
                        slot_id=slot.id,
                        started_at=start,
                        ended_at=start + timedelta(minutes=minutes),
                        status=AiringStatus(status),
                    )
                ],
            )
        return rid


@pytest.fixture
def scene(factory, ha_tinh, campaign) -> Scene:
    today = utcnow().astimezone(TZ).date()
    m0 = monday_of(today) - timedelta(days=21)
    with factory() as s:
        station_id, code, unit_code, unit_name, path = s.execute(
            select(Station.id, Station.code, AdminUnit.code, AdminUnit.name, AdminUnit.path)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .order_by(Station.code)
            .limit(1)
        ).one()
    campaign_id = campaign(
        "DVCTT",
        unit_code,
        pattern=PATTERN,
        starts_on=m0 + timedelta(days=2),
        ends_on=m0 + timedelta(days=60),
    )
    scene = Scene(
        factory=factory,
        m0=m0,
        unit=unit_code,
        province=path.strip("/").split("/")[0],
        unit_name=unit_name,
        station=code,
        station_id=station_id,
        campaign_id=campaign_id,
    )
    scene.plan(m0)
    return scene
