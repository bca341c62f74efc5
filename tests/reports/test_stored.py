"""Stored reports: immutable, stamped with the chain heads, and proven (or not) later."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, ComplianceReport, JobRun
from broadcaster.reports import periodic, store
from broadcaster.reports.periods import custom, resolve
from broadcaster.reports.seal import SealKey
from tests.planning.fixtures import TZ
from tests.reports.scene import at

KEY = SealKey.from_secret("khóa bí mật của máy chủ thử")


def _unguarded(factory, table: str):
    """A connection that can change ``table`` as someone with database access could."""
    engine = factory.kw["bind"]
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
    return conn


def _aired(scene):
    d = scene.m0
    scene.report(scene.slot(d + timedelta(2)), at(d + timedelta(2), "06:02"), 2)
    scene.report(scene.slot(d + timedelta(4)), at(d + timedelta(4), "17:40"), 2)
    scene.report(scene.slot(d + timedelta(7)), at(d + timedelta(7), "06:00"), 1, "partial")


def _stored(scene):
    with transaction(scene.factory) as s:
        return store.generate(
            s,
            custom(scene.m0, scene.m0 + timedelta(20)),
            unit_code=scene.province,
            key=KEY,
            generated_by="kiểm tra",
            tz=TZ,
        )


def test_a_stored_report_keeps_its_bytes_and_verifies(scene):
    _aired(scene)
    info = _stored(scene)
    with scene.factory() as s:
        row = s.get(ComplianceReport, info.id)
        _info, body = store.get(s, info.id)
        result = store.verify(s, info.id, key=KEY)
    assert result.ok, result.problems
    assert result.stations == 1  # only the scene's station has a chain yet
    assert body["stamp"]["heads"][scene.station][0] == 3
    assert body["totals"]["on_time"] == 2 and row.compliance_pct == body["totals"]["compliance_pct"]
    # later reports do not disturb it: the chain grew past the stamp, the recount stops there
    scene.report(scene.slot(scene.m0 + timedelta(9)), at(scene.m0 + timedelta(9), "06:00"), 2)
    with scene.factory() as s:
        assert store.verify(s, info.id, key=KEY).ok


def test_the_database_refuses_to_change_a_stored_report(scene):
    info = _stored(scene)
    with pytest.raises(DatabaseError, match="immutable"), transaction(scene.factory) as s:
        s.execute(text("UPDATE compliance_reports SET stations = 0 WHERE id = :i"), {"i": info.id})
    with pytest.raises(DatabaseError, match="immutable"), transaction(scene.factory) as s:
        s.execute(text("DELETE FROM compliance_reports"))


def test_an_altered_airing_row_fails_verification(scene):
    _aired(scene)
    info = _stored(scene)
    with _unguarded(scene.factory, "airings") as conn:
        conn.execute(text("UPDATE airings SET status = 'aired' WHERE seq = 3"))
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert not result.ok
    assert result.problems == [
        f"đài {scene.station}, dòng số 3: nội dung dòng không khớp mã băm (dòng bị sửa)"
    ]


def test_a_rehashed_chain_still_fails_against_the_stamp(scene):
    """Someone rewrites a row and recomputes its hash and the head: the stamp still knows."""
    from broadcaster.services import chain

    _aired(scene)
    info = _stored(scene)
    with scene.factory() as s:
        row = s.scalars(select(Airing).where(Airing.seq == 3)).one()
        row.status = "aired"
        forged = chain.link(row.prev_hash, chain.canonical(scene.station, row))
        s.expunge_all()
    with _unguarded(scene.factory, "airings") as conn:
        conn.execute(
            text("UPDATE airings SET status = 'aired', row_hash = :h WHERE seq = 3"), {"h": forged}
        )
        conn.execute(text("UPDATE airing_chain_heads SET head_hash = :h"), {"h": forged})
        conn.commit()
    with scene.factory() as s:
        assert chain.verify(s).ok  # the chain alone looks fine now...
        result = store.verify(s, info.id, key=KEY)
    assert result.problems == [  # ...but not against what the report saw
        f"đài {scene.station}, dòng số 3: dòng cuối không khớp dấu chuỗi băm đã lưu"
    ]


def test_a_backdated_airing_shows_in_the_recount(scene):
    _aired(scene)
    info = _stored(scene)
    scene.report(scene.slot(scene.m0 + timedelta(9)), at(scene.m0 + timedelta(9), "06:00"), 2)
    with _unguarded(scene.factory, "airings") as conn:  # pretend it arrived before the report
        conn.execute(
            text("UPDATE airings SET received_at = :t WHERE seq = 4"),
            {"t": (utcnow() - timedelta(days=1)).replace(tzinfo=None)},
        )
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    # every section that holds the airing says so, each level on its own
    week = f"{scene.m0 + timedelta(9):%G-W%V}"
    campaign = scene.campaign_id
    changed = "đếm lại khác báo cáo ở on_time 2 → 3, aired_agent 2 → 3, minutes_aired 5.0 → 7.0"
    # that week already held a partial airing of one minute
    weekly = "đếm lại khác báo cáo ở on_time 0 → 1, aired_agent 0 → 1, minutes_aired 1.0 → 3.0"
    assert result.problems == [
        f"dòng tổng cộng: {changed}",
        f"tỉnh {scene.province}: {changed}",
        f"xã {scene.unit}: {changed}",
        f"đài {scene.station}: {changed}",
        f"chiến dịch {campaign}: {changed}",
        f"tuần {week}: {weekly}",
        f"đài × chiến dịch {scene.station} × {campaign}: {changed}",
        f"đài × chiến dịch × tuần {scene.station} × {campaign} × {week}: {weekly}",
    ]


def test_an_altered_body_fails_verification(scene):
    info = _stored(scene)
    with scene.factory() as s:
        body = json.loads(s.get(ComplianceReport, info.id).body)
    body["totals"]["on_time"] = 999
    with _unguarded(scene.factory, "compliance_reports") as conn:
        conn.execute(
            text("UPDATE compliance_reports SET body = :b WHERE id = :i"),
            {"b": json.dumps(body, ensure_ascii=False), "i": info.id},
        )
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert result.problems == ["nội dung báo cáo không khớp mã băm đã lưu (báo cáo bị sửa)"]


def test_the_periodic_run_stores_every_unit_once(scene):
    _aired(scene)
    # the month holding the scene's first weeks, on its report day
    today = utcnow().astimezone(TZ).date()
    period = None
    for months_back in range(3):
        y, m = today.year, today.month - months_back
        if m < 1:
            y, m = y - 1, m + 12
        candidate = resolve("month", f"{y}-{m:02d}")
        if candidate.start <= scene.m0 + timedelta(2) <= candidate.end:
            period = candidate
    assert period is not None
    report_day = period.end + timedelta(days=6)
    run = periodic.run(
        scene.factory, report_day, tz=TZ, cutoff_day=15, report_day=report_day.day, key=KEY
    )
    assert run.periods[0] == f"month {period.key}"
    # the country, Hà Tĩnh and its 69 communes; a quarter or year may be due that day too
    per_period = 1 + 1 + 69
    assert run.stored % per_period == 0 and run.stored >= per_period and run.failed == 0
    again = periodic.run(
        scene.factory, report_day, tz=TZ, cutoff_day=15, report_day=report_day.day, key=KEY
    )
    assert (again.stored, again.already) == (0, run.stored)
    with scene.factory() as s:
        keys = set(s.scalars(select(ComplianceReport.schedule_key)))
        assert f"month:{period.key}:15:VN" in keys
        assert f"month:{period.key}:15:{scene.unit}" in keys
        commune_id = s.scalar(
            select(ComplianceReport.id).where(
                ComplianceReport.schedule_key == f"month:{period.key}:15:{scene.unit}"
            )
        )
        _info, body = store.get(s, commune_id)
        assert body["scope"]["unit"]["code"] == scene.unit and body["totals"]["stations"] == 1
        assert store.verify(s, commune_id, key=KEY).ok


def test_the_scheduler_job_records_its_run(scene, db_url, tmp_path, monkeypatch):
    from broadcaster.scheduler import jobs

    monkeypatch.setenv("BROADCASTER_DATABASE_URL", db_url)
    monkeypatch.setenv("BROADCASTER_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("BROADCASTER_REPORT_DAY", "1")  # every closed month is due at once
    jobs.reports_job(v=1)
    with scene.factory() as s:
        run = s.scalars(select(JobRun).where(JobRun.job == "reports")).one()
        stored = s.scalar(select(func.count()).select_from(ComplianceReport))
    assert run.ok, run.detail
    assert "lưu" in run.detail and stored >= 71
