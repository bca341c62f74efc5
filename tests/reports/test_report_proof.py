"""A stored report's proof against someone who can write the database: every figure
recounted, the levels agreeing, and the reports chained under a signed head."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from broadcaster.db import _alembic_config, make_engine, make_sessionmaker, migrate, transaction
from broadcaster.models import ComplianceReport, ReportChainHead, Slot, SlotStatus
from broadcaster.reports import checks, compliance, seal, store
from broadcaster.reports.export import to_json
from broadcaster.reports.periods import custom
from broadcaster.reports.seal import ChainRefused, SealKey
from tests.conftest import BACKENDS
from tests.planning.fixtures import TZ
from tests.reports.test_stored import KEY, _aired, _stored, _unguarded


def _body(scene) -> dict:
    with scene.factory() as s:
        return compliance.compute(
            s, custom(scene.m0, scene.m0 + timedelta(20)), unit_code=scene.province, tz=TZ
        )


def _rewrite(scene, report_id: int, body: dict, *, digest: bool = True) -> str:
    """Replace a stored body (and, as a careful forger would, its digest) in place."""
    raw = to_json(body).decode("utf-8")
    sha = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    with _unguarded(scene.factory, "compliance_reports") as conn:
        if digest:
            conn.execute(
                text(
                    "UPDATE compliance_reports SET body = :b, body_sha256 = :h, "
                    "compliance_pct = :pct WHERE id = :i"
                ),
                {"b": raw, "h": sha, "pct": body["totals"]["compliance_pct"], "i": report_id},
            )
        else:
            conn.execute(
                text("UPDATE compliance_reports SET body = :b WHERE id = :i"),
                {"b": raw, "i": report_id},
            )
        conn.commit()
    return sha


def _pct(part: int, whole: int) -> float | None:
    return compliance._pct(np.asarray([part]), np.asarray([whole]))[0]


def _one_more_on_time(body: dict) -> dict:
    """The forgery that agrees with itself: one missed airing made on time, at every level."""
    forged = copy.deepcopy(body)
    cell = next(d for d in forged["detail"] if d["missed"] > 0)
    station = next(r for r in forged["stations"] if r["code"] == cell["station_code"])
    rows = [
        forged["totals"],
        cell,
        station,
        next(r for r in forged["provinces"] if r["code"] == station["province_code"]),
        next(r for r in forged["communes"] if r["code"] == station["unit_code"]),
        next(r for r in forged["campaigns"] if r["id"] == cell["campaign_id"]),
        next(r for r in forged["weeks"] if r["week"] == cell["week"]),
        next(
            r
            for r in forged["station_campaigns"]
            if (r["station_code"], r["campaign_id"]) == (cell["station_code"], cell["campaign_id"])
        ),
    ]
    for row in rows:
        row["on_time"] += 1
        row["aired_agent"] += 1
        row["missed"] -= 1
        row["compliance_pct"] = _pct(row["on_time"] + row["late"], row["due"])
        row["on_time_pct"] = _pct(row["on_time"], row["due"])
    for behind in forged["behind"]:
        if behind["station_code"] == station["code"]:
            behind["missing"] -= 1
            behind["compliance_pct"] = station["compliance_pct"]
    forged["behind"] = [b for b in forged["behind"] if b["missing"]]
    return forged


def test_a_true_report_agrees_at_every_level(scene):
    _aired(scene)
    body = _body(scene)
    assert body["detail"] and body["station_campaigns"] and body["weeks"]
    assert checks.agreement(body) == []


@pytest.mark.parametrize(
    ("section", "label"),
    [
        ("totals", "dòng tổng cộng"),
        ("provinces", "tỉnh"),
        ("communes", "xã"),
        ("stations", "đài"),
        ("campaigns", "chiến dịch"),
        ("weeks", "tuần"),
        ("station_campaigns", "đài × chiến dịch"),
        ("detail", "đài × chiến dịch × tuần"),
    ],
)
def test_a_figure_changed_in_any_one_section_breaks_the_agreement(scene, section, label):
    _aired(scene)
    body = _body(scene)
    row = body[section] if section == "totals" else body[section][0]
    row["late"] += 1  # and nothing else: missed and the percentages no longer follow
    problems = checks.agreement(body)
    assert any(p.startswith(label) for p in problems), problems
    row["missed"] -= 1
    row["compliance_pct"] = _pct(row["on_time"] + row["late"], row["due"])
    row["aired_manual"] += 1  # now the row agrees with itself...
    # ...but not with the other levels
    problems = checks.agreement(body)
    assert problems and all("compliance_pct" not in p for p in problems), problems


def test_emergencies_offline_behind_and_stamp_follow_their_rows(scene):
    _aired(scene)
    body = _body(scene)
    for forge, words in (
        (lambda b: b["emergencies"].update(sent=1), "tin khẩn cấp"),
        (lambda b: b["offline"].update(count=0), "đài mất kết nối"),
        (lambda b: b["behind"].clear(), "các đài chậm nhất"),
        (lambda b: b["stamp"].update(rows=b["stamp"]["rows"] + 1), "dấu chuỗi băm"),
    ):
        forged = copy.deepcopy(body)
        forge(forged)
        assert any(p.startswith(words) for p in checks.agreement(forged)), words


def test_rewritten_totals_with_their_digest_are_caught(scene):
    _aired(scene)
    info = _stored(scene)
    with scene.factory() as s:
        body = json.loads(s.get(ComplianceReport, info.id).body)
    body["totals"]["on_time"] += 5  # only the totals, as the independent test did
    _rewrite(scene, info.id, body)
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert "báo cáo số 1 (vị trí 1): mã băm hoặc mắt xích bị sửa" in result.problems
    assert any(p.startswith("tổng các dòng tỉnh khác dòng tổng cộng") for p in result.problems)
    assert not result.ok


def test_a_self_consistent_forgery_is_caught_by_the_recount_and_the_signed_head(scene):
    _aired(scene)
    info = _stored(scene)
    with scene.factory() as s:
        body = json.loads(s.get(ComplianceReport, info.id).body)
    forged = _one_more_on_time(body)
    assert checks.agreement(forged) == []  # the levels agree: only a recount can tell
    sha = _rewrite(scene, info.id, forged)
    chain = seal.link(1, seal.GENESIS, sha)
    with _unguarded(scene.factory, "compliance_reports") as conn:  # re-linked, head moved too
        conn.execute(text("UPDATE compliance_reports SET chain_sha256 = :c"), {"c": chain})
        conn.execute(text("UPDATE report_chain_head SET chain_sha256 = :c"), {"c": chain})
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert result.problems[0] == "chữ ký của đầu chuỗi báo cáo không đúng (đầu chuỗi bị sửa)"
    recounted = [p for p in result.problems if "đếm lại khác báo cáo ở on_time" in p]
    # totals, province, commune, station, campaign, station × campaign, and the weeks behind
    assert len(recounted) >= 6, result.problems
    with pytest.raises(ChainRefused, match="chữ ký"), transaction(scene.factory) as s:
        store.store(s, _body(scene), key=KEY, generated_by="kiểm tra")  # nothing signs it on


def test_a_report_removed_from_the_middle_or_the_end_is_caught(scene):
    ids = [_stored(scene).id for _ in range(3)]
    with scene.factory() as s:
        assert store.verify(s, ids[0], key=KEY).ok
    with _unguarded(scene.factory, "compliance_reports") as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS compliance_reports_no_delete"))
        conn.execute(text("DELETE FROM compliance_reports WHERE id = :i"), {"i": ids[1]})
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, ids[0], key=KEY)
    assert result.problems == [
        f"chuỗi báo cáo đứt trước báo cáo số {ids[2]}, vị trí 3 (thiếu vị trí 2–2: bị xóa)"
    ]
    with _unguarded(scene.factory, "compliance_reports") as conn:
        conn.execute(text("DELETE FROM compliance_reports WHERE id = :i"), {"i": ids[2]})
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, ids[0], key=KEY)
    assert result.problems == [
        "chuỗi báo cáo không khớp đầu chuỗi đã ký: thiếu báo cáo ở vị trí 2–3 (bị xóa)"
    ]


def test_another_instance_key_neither_proves_nor_extends_the_chain(scene):
    info = _stored(scene)
    other = SealKey.from_secret("một khóa khác")
    assert other.id != KEY.id and "khóa khác" not in repr(other)
    with scene.factory() as s:
        problems = store.verify(s, info.id, key=other).problems
    assert len(problems) == 1 and f"ký bằng khóa {KEY.id}" in problems[0]
    with pytest.raises(ChainRefused, match="đã đổi"), transaction(scene.factory) as s:
        store.store(s, _body(scene), key=other, generated_by="kiểm tra")
    with scene.factory() as s:
        assert s.scalar(select(func.count()).select_from(ComplianceReport)) == 1


def test_a_plan_changed_after_the_report_is_a_note_not_a_forgery(scene):
    _aired(scene)
    info = _stored(scene)
    with transaction(scene.factory) as s:  # a slot that nothing aired in is cancelled later
        slot = s.get(Slot, scene.slot(scene.m0 + timedelta(14)).id)
        slot.status = SlotStatus.CANCELLED
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert result.ok, result.problems
    assert any("kế hoạch đã đổi sau khi lập: required" in n for n in result.notes), result.notes


def test_concurrent_stores_make_one_unbroken_chain(scene):
    body = _body(scene)
    errors: list[BaseException] = []

    def keep() -> None:
        try:
            for _ in range(3):
                with transaction(scene.factory) as s:
                    store.store(s, body, key=KEY, generated_by="kiểm tra")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=keep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with scene.factory() as s:
        check = seal.check(s, KEY)
        places = s.scalars(select(ComplianceReport.chain_seq).order_by("chain_seq")).all()
    assert (check.problems, check.head_seq, places) == ([], 12, list(range(1, 13)))


@pytest.fixture(params=BACKENDS)
def before_the_chain(request, tmp_path):
    """An empty database migrated only up to the revision before the chain (0010)."""
    from alembic import command

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        server = request.getfixturevalue("postgres_server_url")
        name = f"broadcaster_chain_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    engine = make_engine(url)
    command.upgrade(_alembic_config(engine), "0010")
    yield engine
    engine.dispose()
    if drop:
        drop()


def test_the_migration_chains_the_reports_stored_before_it(before_the_chain):
    engine = before_the_chain
    insert = text(
        "INSERT INTO compliance_reports (period_kind, period_key, period_from, period_to, "
        "cutoff_day, generated_at, generated_by, stations, heads_sha256, body_sha256, body) "
        "VALUES ('month', :key, '2026-10-15', '2026-11-14', 15, :at, 'cũ', 0, :h, :h, '{}')"
    )
    made = datetime(2026, 11, 20, 6, tzinfo=UTC)
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                insert,
                {
                    "key": f"2026-1{n}",
                    "at": made if engine.dialect.name == "postgresql" else str(made)[:19],
                    "h": hashlib.sha256(str(n).encode()).hexdigest(),
                },
            )
    migrate(engine, "khóa bí mật của máy chủ thử")
    with make_sessionmaker(engine)() as s:
        check = seal.check(s, KEY)
        head = s.get(ReportChainHead, 1)
    assert (check.problems, check.reports, head.seq, head.key_id) == ([], 3, 3, KEY.id)
    # the guards are back, and the chain goes on from there
    with pytest.raises(DatabaseError, match="immutable"), engine.begin() as conn:
        conn.execute(text("UPDATE compliance_reports SET stations = 1"))
