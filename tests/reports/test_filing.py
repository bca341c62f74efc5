"""Filing stored reports up to the province: on time, late, missing; versions; scope;
the province's aggregate of the filed reports; reminders before the deadline."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, PermissionDenied
from broadcaster.models import AdminUnit, ReportFiling, Station
from broadcaster.reports import store
from broadcaster.reports.checks import SUMMED
from broadcaster.reports.fields import COUNT_FIELDS
from broadcaster.services.reports import drafts, filing
from tests.planning.fixtures import TZ
from tests.reports.documents import DEADLINE_DAY, aired, scene_month, store_for
from tests.reports.scene import PATTERN
from tests.reports.test_stored import KEY


def _at(day, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


def _file(scene, report_id, *, scope=None, now=None):
    with transaction(scene.factory) as s:
        return filing.file_report(
            s,
            report_id,
            scope_unit_code=scope,
            filed_by="kiểm tra",
            deadline_day=DEADLINE_DAY,
            tz=TZ,
            now=now,
        )


def _status(scene, period, parent=None):
    with scene.factory() as s:
        return filing.filing_status(
            s, period, parent or scene.province, deadline_day=DEADLINE_DAY, tz=TZ
        )


@pytest.fixture
def two(scene, campaign):
    """A second commune of the province with its own station, campaign and airings."""
    with scene.factory() as s:
        station_id, unit_code = s.execute(
            select(Station.id, AdminUnit.code)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(AdminUnit.code != scene.unit)
            .order_by(Station.code)
            .limit(1)
        ).one()
    campaign_id = campaign(
        "ANTT",
        unit_code,
        pattern=PATTERN,
        starts_on=scene.m0 + timedelta(days=2),
        ends_on=scene.m0 + timedelta(days=60),
    )
    scene.plan(scene.m0)
    aired(scene)
    aired(scene, station_id, campaign_id)
    scene.extra["other"] = unit_code
    return scene


def test_on_time_late_and_missing(two):
    scene = two
    period = scene_month(scene)
    due = drafts.deadline(period, DEADLINE_DAY)
    first = store_for(scene, scene.unit, period)
    second = store_for(scene, scene.extra["other"], period)
    on_time = _file(scene, first.id, now=_at(due, "23:59"))  # the deadline's last minute
    late = _file(scene, second.id, now=_at(due + timedelta(days=1), "00:00"))
    assert (on_time.on_time, on_time.version, on_time.parent_code) == (True, 1, scene.province)
    assert (late.on_time, late.deadline) == (False, due)
    status = _status(scene, period)
    states = {u.code: u.state for u in status.units}
    assert states[scene.unit] == "on_time" and states[scene.extra["other"]] == "late"
    with scene.factory() as s:
        communes = s.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.level == 2))
    assert (status.on_time, status.late, status.missing) == (1, 1, communes - 2)
    assert status.deadline == due and len(status.units) == communes
    missing = [u for u in status.units if u.state == "missing"]
    assert all(u.filing is None and u.versions == 0 for u in missing)
    with scene.factory() as s:
        country = filing.filing_status(s, period, None, deadline_day=DEADLINE_DAY, tz=TZ)
    assert [(u.code, u.state) for u in country.units] == [(scene.province, "missing")]


def test_the_province_aggregates_the_filed_reports(two):
    scene = two
    period = scene_month(scene)
    reports = [store_for(scene, code, period) for code in (scene.unit, scene.extra["other"])]
    for info in reports:
        _file(scene, info.id)
    province = store_for(scene, scene.province, period)
    with scene.factory() as s:
        bodies = [store.get(s, info.id)[1] for info in reports]
        _info, body = store.get(s, province.id)
        result = store.verify(s, province.id, key=KEY)
    assert result.ok, result.problems
    filings = body["document"]["filings"]
    assert [u["report_id"] for u in filings["units"]] == [
        info.id for info in sorted(reports, key=lambda i: i.unit_code)
    ]
    agg = filings["aggregate"]
    for name in (*SUMMED, "stations", "relay_slots"):
        assert agg[name] == sum(b["totals"][name] for b in bodies), name
    assert agg["on_time"] == 4 and agg["partial"] == 2 and agg["units"] == 2
    # minutes are summed as whole tenths: 2 + 2.5 + 1.25 (→ 1.3) at each commune
    assert [b["totals"]["minutes_aired"] for b in bodies] == [5.8, 5.8]
    assert agg["minutes_aired"] == 11.6
    due = sum(b["totals"]["due"] for b in bodies)
    assert agg["compliance_pct"] == round(100 * 4 / due, 1)
    assert list(agg)[: len(COUNT_FIELDS)] == list(COUNT_FIELDS)
    # the communes that did not file are listed by name
    assert len(filings["missing"]) == len(_status(scene, period).units) - 2
    assert filings["deadline"] == drafts.deadline(period, DEADLINE_DAY).isoformat()
    # the province's own figures count the same airings
    assert body["totals"]["on_time"] == agg["on_time"]


def test_a_commune_cannot_file_for_another(two):
    scene = two
    period = scene_month(scene)
    other = store_for(scene, scene.extra["other"], period)
    with pytest.raises(PermissionDenied):
        _file(scene, other.id, scope=scene.unit)
    assert _file(scene, other.id, scope=scene.extra["other"]).version == 1
    mine = store_for(scene, scene.unit, period)
    assert _file(scene, mine.id, scope=scene.province).version == 1  # the province may


def test_a_filed_report_stays_a_new_version_is_filed(two):
    scene = two
    period = scene_month(scene)
    due = drafts.deadline(period, DEADLINE_DAY)
    v1 = store_for(scene, scene.unit, period)
    _file(scene, v1.id, now=_at(due, "08:00"))
    with pytest.raises(Conflict):
        _file(scene, v1.id)  # the same report twice
    v2 = store_for(scene, scene.unit, period)
    second = _file(scene, v2.id, now=_at(due + timedelta(days=3), "08:00"))
    assert (second.version, second.on_time) == (2, False)
    with pytest.raises(Conflict):
        _file(scene, v1.id)  # nor the older one again
    with scene.factory() as s:
        rows = s.scalars(select(ReportFiling).order_by(ReportFiling.version)).all()
        assert [(r.report_id, r.version) for r in rows] == [(v1.id, 1), (v2.id, 2)]
        assert [f.version for f in filing.filings_of(s, scene.unit)] == [2, 1]
    status = {u.code: u for u in _status(scene, period).units}[scene.unit]
    assert (status.state, status.versions, status.filing.report_id) == ("on_time", 2, v2.id)
    province = store_for(scene, scene.province, period)
    with scene.factory() as s:
        units = store.get(s, province.id)[1]["document"]["filings"]["units"]
    assert [(u["report_id"], u["version"], u["on_time"]) for u in units] == [(v2.id, 2, True)]


def test_filings_are_append_only_in_the_database(scene, engine):
    period = scene_month(scene)
    _file(scene, store_for(scene, scene.unit, period).id)
    for statement in ("UPDATE report_filings SET on_time = true", "DELETE FROM report_filings"):
        with pytest.raises(DatabaseError), engine.begin() as conn:
            conn.execute(text(statement))
    with scene.factory() as s:
        assert s.scalar(select(func.count()).select_from(ReportFiling)) == 1


def test_what_cannot_be_filed(scene):
    period = scene_month(scene)
    with transaction(scene.factory) as s:
        plain = store.generate(
            s, period, unit_code=scene.unit, key=KEY, generated_by="kiểm tra", tz=TZ
        )
    with pytest.raises(InvalidInput):
        _file(scene, plain.id)  # no document
    national = store_for(scene, None, period)
    with pytest.raises(InvalidInput):
        _file(scene, national.id)  # nothing above the country
    province = store_for(scene, scene.province, period)
    assert _file(scene, province.id).parent_code is None  # a province files to the country


def test_reminders_before_the_deadline_and_gone_once_filed(scene):
    period = scene_month(scene)
    due = drafts.deadline(period, DEADLINE_DAY)

    def reminded(today):
        with scene.factory() as s:
            found = filing.reminders(
                s,
                scene.unit,
                today=today,
                cutoff_day=15,
                deadline_day=DEADLINE_DAY,
                remind_days=5,
            )
        return {(r.period.kind, r.period.key): r for r in found}

    key = ("month", period.key)
    assert key not in reminded(due - timedelta(days=6))
    soon = reminded(due - timedelta(days=5))[key]
    assert (soon.days_left, soon.deadline, soon.filed) == (5, due, False)
    assert reminded(due + timedelta(days=3))[key].days_left == -3  # late, still reminded
    _file(scene, store_for(scene, scene.unit, period).id)
    assert key not in reminded(due - timedelta(days=2))
    assert key not in reminded(due + timedelta(days=3))
