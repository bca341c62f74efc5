"""Compliance figures against hand-counted scenes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.errors import InvalidInput, NotFound
from broadcaster.models import Slot, SlotStatus, Station
from broadcaster.reports import compliance
from broadcaster.reports.periods import custom
from broadcaster.services import airings, campaigns, health, stations
from broadcaster.services.audit import system_actor
from tests.planning.fixtures import TZ
from tests.reports.scene import at


def _report(scene, first, last, **kw):
    with scene.factory() as s:
        return compliance.compute(s, custom(first, last), tz=TZ, **kw)


def _counts(row, *names):
    return {n: row[n] for n in names}


def _three_weeks(scene):
    """Reports for the eight airings of the three weeks (see the table in the test)."""
    d = scene.m0
    s1 = scene.slot(d + timedelta(2))  # W0 Wed 06:00
    s2 = scene.slot(d + timedelta(4))  # W0 Fri 17:30
    s3 = scene.slot(d + timedelta(7))  # W1 Mon 06:00
    s4 = scene.slot(d + timedelta(9))  # W1 Wed 06:00
    s6 = scene.slot(d + timedelta(14))  # W2 Mon 06:00
    s7 = scene.slot(d + timedelta(16))  # W2 Wed 06:00
    scene.report(s1, at(d + timedelta(2), "06:02"), 2)  # on time
    scene.report(s2, at(d + timedelta(4), "18:40"), 2)  # late: window 17:00–18:00, +15 min
    scene.report(s3, at(d + timedelta(7), "06:00"), 1, status="partial")
    rid = scene.report(s4, at(d + timedelta(9), "06:01"), 2)
    scene.report(s4, at(d + timedelta(9), "06:01"), 2, rid=rid)  # re-sent: stored once
    scene.report(s4, at(d + timedelta(9), "06:10"), 2)  # aired again: the slot counts once
    scene.report(s6, at(d + timedelta(14), "06:00"), 0.5, status="failed")
    with transaction(scene.factory) as s:  # the operator confirms by hand
        airings.confirm(
            s,
            system_actor(),
            scene.station,
            s7.id,
            started_at=at(d + timedelta(16), "06:05"),
            ended_at=at(d + timedelta(16), "06:08"),
        )
    # W1 Fri and W2 Fri: nothing reported -> missed


def test_three_weeks_counted_by_hand(scene):
    _three_weeks(scene)
    r = _report(scene, scene.m0, scene.m0 + timedelta(20))
    t = r["totals"]
    # W0: Wed on time, Fri late. W1: Mon partial, Wed on time (3 reports), Fri missed.
    # W2: Mon failed, Wed on time (manual), Fri missed.
    assert _counts(
        t, "required", "due", "on_time", "late", "partial", "failed", "missed", "pending"
    ) == {
        "required": 8,
        "due": 8,
        "on_time": 3,
        "late": 1,
        "partial": 1,
        "failed": 1,
        "missed": 2,
        "pending": 0,
    }
    assert (t["aired_agent"], t["aired_manual"]) == (3, 1)
    assert t["compliance_pct"] == 50.0 and t["on_time_pct"] == 37.5
    # real lengths of full and partial airings: 2 + 2 + 1 + (2 + 2) + 3; the failed one not
    assert t["minutes_aired"] == 12.0
    weeks = {w["week"]: w for w in r["weeks"]}
    assert [w["week"] for w in r["weeks"]] == sorted(weeks)
    assert [(w["required"], w["on_time"], w["late"], w["compliance_pct"]) for w in r["weeks"]] == [
        (2, 1, 1, 100.0),
        (3, 1, 0, 33.3),
        (3, 1, 0, 33.3),
    ]
    # the station, its commune, its province and the campaign all carry the same totals
    (station,) = [s for s in r["stations"] if s["code"] == scene.station]
    (commune,) = [c for c in r["communes"] if c["code"] == scene.unit]
    (province,) = [p for p in r["provinces"] if p["code"] == scene.province]
    (campaign,) = r["campaigns"]
    for row in (station, commune, province, campaign):
        assert {k: row[k] for k in compliance.COUNTS} == {k: t[k] for k in compliance.COUNTS}
    assert province["name"] == "Tỉnh Hà Tĩnh" or "Hà Tĩnh" in province["name"]
    assert commune["name"] == scene.unit_name
    # the detail rows add up to the totals, week by week
    assert len(r["detail"]) == 3 and r["detail_omitted"] is None
    assert sum(d["missed"] for d in r["detail"]) == 2
    assert r["behind"][0]["station_code"] == scene.station and r["behind"][0]["missing"] == 4


def test_other_stations_of_the_province_are_listed_with_honest_zeros(scene):
    r = _report(scene, scene.m0, scene.m0 + timedelta(20), unit_code=scene.province)
    assert r["totals"]["stations"] == 69  # every station of Hà Tĩnh
    zeros = [s for s in r["stations"] if s["code"] != scene.station]
    assert all(s["required"] == 0 and s["compliance_pct"] is None for s in zeros)
    assert r["totals"]["required"] == 8 and r["totals"]["missed"] == 8


def test_partial_week_and_local_day_boundary(scene):
    d = scene.m0
    # Monday of W1 to Tuesday of W2: all of W1 and only W2's Monday
    r = _report(scene, d + timedelta(7), d + timedelta(15))
    assert [(w["week"], w["required"]) for w in r["weeks"]] == [
        (r["weeks"][0]["week"], 3),
        (r["weeks"][1]["week"], 1),
    ]
    assert r["weeks"][1]["from"] == (d + timedelta(14)).isoformat()
    assert r["weeks"][1]["to"] == (d + timedelta(15)).isoformat()
    # W2's Monday 06:00 in Hà Nội time is Sunday 23:00 UTC: it belongs to Monday's period
    assert _report(scene, d, d + timedelta(13))["totals"]["required"] == 5
    assert _report(scene, d + timedelta(14), d + timedelta(14))["totals"]["required"] == 1


def test_paused_campaign_counts_only_what_was_planned(scene, campaign):
    d = scene.m0
    paused = campaign(
        "Chuyển đổi số",
        scene.unit,
        pattern=((1, "06:00"), (3, "17:30")),
        starts_on=d,
        ends_on=d + timedelta(60),
    )
    scene.plan(d, campaign_ids=[paused])
    with transaction(scene.factory) as s:
        campaigns.pause_campaign(s, system_actor(), paused)
    # paused on W1's Wednesday: its Thursday and all of W2 are cancelled by the planner
    scene.plan(d + timedelta(9), campaign_ids=[paused])
    r = _report(scene, d, d + timedelta(20), campaign_id=paused)
    assert r["scope"]["campaign"] == {"id": paused, "name": "Chuyển đổi số"}
    assert [w["required"] for w in r["weeks"]] == [2, 1, 0]
    with scene.factory() as s:
        cancelled = s.scalar(
            select(Slot.id)
            .where(Slot.campaign_id == paused, Slot.status == SlotStatus.CANCELLED)
            .limit(1)
        )
    assert cancelled is not None


def test_station_added_mid_period(scene, actor):
    d = scene.m0
    with transaction(scene.factory) as s:
        stations.add_station(s, actor, scene.unit, code="MOI-01", name="Đài mới lắp")
    scene.plan(d + timedelta(9), campaign_ids=[scene.campaign_id])  # planned from W1 Wed
    r = _report(scene, d, d + timedelta(20), unit_code=scene.unit)
    by_code = {s["code"]: s for s in r["stations"]}
    assert by_code["MOI-01"]["required"] == 5  # W1 Wed, Fri; W2 Mon, Wed, Fri
    assert by_code[scene.station]["required"] == 8
    (commune,) = r["communes"]
    assert commune["stations"] == 2 and commune["required"] == 13


def test_window_change_judges_each_slot_by_its_own_window(scene, actor):
    d = scene.m0
    before = scene.slot(d + timedelta(7))  # W1 Mon, planned in the old 05:30–06:30 window
    with transaction(scene.factory) as s:
        stations.set_windows(s, actor, scene.station, "05:45-07:00,17:00-18:30")
    scene.plan(d + timedelta(9))  # W1 Wed onwards move to the new windows
    after = scene.slot(d + timedelta(9))
    assert after.window_end.astimezone(TZ).time().isoformat() == "07:00:00"
    # both aired at 06:50: late in the old window (06:30 + 15 min), on time in the new one
    scene.report(before, at(d + timedelta(7), "06:50"), 2)
    scene.report(after, at(d + timedelta(9), "06:50"), 2)
    r = _report(scene, d + timedelta(7), d + timedelta(9))
    assert (r["totals"]["on_time"], r["totals"]["late"]) == (1, 1)


def test_pending_until_the_window_closes(scene):
    d = scene.m0
    s1 = scene.slot(d + timedelta(2))
    window_end = s1.window_end
    with scene.factory() as s:
        early = compliance.compute(
            s, custom(d, d + timedelta(2)), tz=TZ, as_of=window_end - timedelta(minutes=30)
        )
        late = compliance.compute(
            s, custom(d, d + timedelta(2)), tz=TZ, as_of=window_end + timedelta(minutes=16)
        )
    assert (early["totals"]["pending"], early["totals"]["due"]) == (1, 0)
    assert early["totals"]["compliance_pct"] is None
    assert (late["totals"]["pending"], late["totals"]["missed"]) == (0, 1)


def test_reports_received_after_as_of_are_left_out(scene):
    d = scene.m0
    s1 = scene.slot(d + timedelta(2))
    before = utcnow() - timedelta(seconds=2)
    scene.report(s1, at(d + timedelta(2), "06:02"), 2)
    with scene.factory() as s:
        then = compliance.compute(s, custom(d, d + timedelta(6)), tz=TZ, as_of=before)
        now = compliance.compute(s, custom(d, d + timedelta(6)), tz=TZ)
    assert (then["totals"]["on_time"], now["totals"]["on_time"]) == (0, 1)


def test_emergencies_and_offline_stations(scene, tmp_path):
    from broadcaster.audio.render import AudioRenderer
    from broadcaster.config import AudioSettings
    from broadcaster.services import emergency

    renderer = AudioRenderer(tmp_path / "audio", AudioSettings(engine="espeak"))
    with transaction(scene.factory) as s:
        sent = emergency.send(
            s,
            system_actor(),
            renderer,
            title="Bão số 3",
            body="Bà con chú ý: bão số 3 sắp đổ bộ.",
            unit_codes=[scene.unit],
        )
        slot = s.scalars(select(Slot).where(Slot.emergency_id == sent.id)).one()
        health.record_heartbeat(
            s, slot.station_id, None, health.Heartbeat(agent_version="1.0"), "127.0.0.1"
        )
    start = utcnow() - timedelta(seconds=5)
    with transaction(scene.factory) as s:
        airings.ingest(
            s,
            slot.station_id,
            [
                airings.AiringReport(
                    id="6f1d2a3b-0000-4000-8000-000000000001",
                    slot_id=slot.id,
                    started_at=start,
                    ended_at=start + timedelta(seconds=20),
                    status=airings.AiringStatus.AIRED,
                )
            ],
        )
    today = utcnow().astimezone(TZ).date()
    r = _report(scene, today - timedelta(1), today, unit_code=scene.province)
    e = r["emergencies"]
    assert (e["sent"], e["deliveries"], e["aired"]) == (1, 1, 1)
    assert e["items"][0]["title"] == "Bão số 3"
    assert 0 <= e["median_seconds"] <= 60 and e["max_seconds"] == e["median_seconds"]
    assert r["offline"]["count"] == 68 and r["offline"]["never_seen"] == 68
    assert scene.station not in r["offline"]["stations"]


def test_bad_input_is_named(scene):
    with scene.factory() as s:
        with pytest.raises(NotFound, match="mã 'XX-999'"):
            compliance.compute(s, custom(scene.m0, scene.m0), unit_code="XX-999", tz=TZ)
        with pytest.raises(NotFound, match="chiến dịch nào số 424242"):
            compliance.compute(s, custom(scene.m0, scene.m0), campaign_id=424242, tz=TZ)
    with pytest.raises(InvalidInput, match="trước ngày bắt đầu"):
        custom(scene.m0, scene.m0 - timedelta(1))
    with pytest.raises(InvalidInput, match="dài quá 3 năm"):
        custom(scene.m0, scene.m0 + timedelta(3650))


def test_a_period_with_no_data_is_an_honest_empty_report(scene):
    far = scene.m0 - timedelta(days=400)
    r = _report(scene, far, far + timedelta(30))
    t = r["totals"]
    assert t["required"] == 0 and t["compliance_pct"] is None and t["stations"] == 69 + 0
    assert r["campaigns"] == [] and len(r["weeks"]) >= 5
    assert all(w["required"] == 0 for w in r["weeks"])


def test_stations_are_ordered_and_json_safe(scene):
    import json

    r = _report(scene, scene.m0, scene.m0 + timedelta(6))
    json.dumps(r)  # only plain types
    codes = [s["code"] for s in r["stations"]]
    assert codes == sorted(codes)
    with scene.factory() as s:
        assert len(codes) == s.query(Station).count()


def test_large_scopes_count_the_same(scene, monkeypatch):
    """Above DETAIL_MAX_STATIONS PostgreSQL counts by grouping sets: the figures must not move."""
    _three_weeks(scene)
    first, last, now = scene.m0, scene.m0 + timedelta(20), utcnow()
    small = _report(scene, first, last, unit_code=scene.province, as_of=now)
    monkeypatch.setattr(compliance, "DETAIL_MAX_STATIONS", 10)
    large = _report(scene, first, last, unit_code=scene.province, as_of=now)
    assert small["detail"] is not None and large["detail"] is None
    assert "69 đài" in large["detail_omitted"]
    for key in ("totals", "provinces", "communes", "campaigns", "weeks", "station_campaigns"):
        assert large[key] == small[key], key
    assert [s["code"] for s in large["stations"]] == [s["code"] for s in small["stations"]]
    assert [{k: s[k] for k in compliance.COUNTS} for s in large["stations"]] == [
        {k: s[k] for k in compliance.COUNTS} for s in small["stations"]
    ]
