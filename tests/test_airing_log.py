"""The airing log: hash chain, tamper detection, append-only guards, manual confirmation, CLI."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, AiringChainHead, AiringStatus, Script, Slot, SlotStatus
from broadcaster.services import airings, chain, scripts, users
from broadcaster.services.audit import system_actor
from tests.api.test_station_api import post, report
from tests.planning.fixtures import TZ


def _ingest(world, code, slot_ids, status=AiringStatus.AIRED):
    from broadcaster.models import Station

    with transaction(world.factory) as s:
        station_id = s.scalar(select(Station.id).where(Station.code == code))
        start = utcnow() - timedelta(minutes=5)
        return airings.ingest(
            s,
            station_id,
            [
                airings.AiringReport(
                    id=str(uuid.uuid4()),
                    slot_id=i,
                    started_at=start,
                    ended_at=start + timedelta(seconds=30),
                    status=status,
                    note="Mất điện lúc đầu, phát lại — ổn",
                )
                for i in slot_ids
            ],
        )


def _log_with_rows(world, n=5):
    now = utcnow()
    ids = world.add_slots(
        world.station, [now - timedelta(minutes=m) for m in range(n)], audio=False
    )
    for i in ids:
        _ingest(world, world.station, [i])
    return ids


def _unguarded(world):
    """A connection that can change the airing log, as someone with database access could."""
    engine = world.factory.kw["bind"]
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        conn.execute(text("DROP TRIGGER airings_no_update"))
        conn.execute(text("DROP TRIGGER airings_no_delete"))
    return conn


def test_chain_links_every_row_and_verifies(world):
    _log_with_rows(world, 4)
    _ingest(world, world.other, world.add_slots(world.other, [utcnow()], audio=False))
    with world.factory() as s:
        rows = s.scalars(select(Airing).order_by(Airing.station_id, Airing.seq)).all()
        report = chain.verify(s)
        head = s.get(AiringChainHead, rows[0].station_id)
    mine = [r for r in rows if r.station_id == rows[0].station_id]
    assert [r.seq for r in mine] == [1, 2, 3, 4]
    assert mine[0].prev_hash == chain.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(mine))
    assert (head.seq, head.head_hash) == (4, mine[-1].row_hash)
    assert report.ok and report.rows == 5 and report.stations == 2
    assert report.heads[world.station] == (4, mine[-1].row_hash)


@pytest.mark.parametrize(
    ("change", "seq", "reason"),
    [
        ("UPDATE airings SET status = 'failed' WHERE seq = 3", 3, "nội dung"),
        ("UPDATE airings SET note = 'khác' WHERE seq = 2", 2, "nội dung"),
        ("DELETE FROM airings WHERE seq = 2", 2, "thiếu dòng"),
        ("DELETE FROM airings WHERE seq = 5", 5, "đầu chuỗi"),
        ("UPDATE airings SET prev_hash = row_hash WHERE seq = 4", 4, "dòng trước"),
    ],
)
def test_verify_names_the_first_altered_row(world, change, seq, reason):
    _log_with_rows(world, 5)
    with _unguarded(world) as conn:
        conn.execute(text(change))
        conn.commit()
    with world.factory() as s:
        result = chain.verify(s, world.station)
    assert not result.ok
    (brk,) = result.breaks
    assert (brk.station_code, brk.seq) == (world.station, seq)
    assert reason in brk.reason


def test_recomputing_every_hash_is_still_caught_by_the_chain_head(world):
    """A forger who rewrites a row and recomputes the rest must also move the head."""
    _log_with_rows(world, 3)
    with _unguarded(world) as conn:
        conn.execute(text("DELETE FROM airings WHERE seq = 3"))
        conn.commit()
    with world.factory() as s:
        (brk,) = chain.verify(s).breaks
    assert "đầu chuỗi" in brk.reason and brk.seq == 3


@pytest.mark.parametrize("statement", ["UPDATE airings SET note = 'x'", "DELETE FROM airings"])
def test_the_database_refuses_changes_to_the_log(world, statement):
    _log_with_rows(world, 2)
    engine = world.factory.kw["bind"]
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(Airing)) == 2


def test_archiving_or_deleting_a_script_never_removes_its_airings(world):
    _log_with_rows(world, 2)
    with transaction(world.factory) as s:
        slug = s.scalar(select(Script.slug))
        scripts.archive(s, system_actor(), slug, "hết chiến dịch")
    with pytest.raises(IntegrityError), transaction(world.factory) as s:
        s.execute(text("DELETE FROM slots"))
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(Airing)) == 2
        assert chain.verify(s).ok


def test_concurrent_reports_for_one_station_keep_one_chain(world):
    ids = world.add_slots(
        world.station, [utcnow() - timedelta(minutes=m) for m in range(40)], audio=False
    )
    errors = []

    def send(part):
        try:
            for chunk in range(0, len(part), 5):
                r = post(world, {"reports": [report(i) for i in part[chunk : chunk + 5]]})
                assert r.status_code == 200, r.get_json()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(ids[n::4],)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with world.factory() as s:
        seqs = s.scalars(select(Airing.seq).order_by(Airing.seq)).all()
        assert seqs == list(range(1, 41))
        assert chain.verify(s).ok


def test_watchdog_leaves_aired_slots_alone(world, cli, monkeypatch):
    from broadcaster.scheduler import jobs
    from tests.scheduler.test_scheduler import use_environment

    past = utcnow() - timedelta(hours=2)
    aired, missed = world.add_slots(world.station, [past, past + timedelta(minutes=1)], audio=False)
    _ingest(world, world.station, [aired])
    use_environment(cli, monkeypatch)
    jobs.watchdog_job()
    with world.factory() as s:
        assert s.get(Slot, aired).status is SlotStatus.AIRED
        assert s.get(Slot, missed).status is SlotStatus.MISSED


# -- manual confirmation and the CLI -------------------------------------------------------


def _people(world):
    with transaction(world.factory) as s:
        users.add_user(s, system_actor(), "dai-xa", "operator", "password1", scope=world.station)
        users.add_user(s, system_actor(), "bientap", "editor", "password1")


def test_operator_confirms_by_hand_and_the_log_says_who(world, cli):
    _people(world)
    slot = world.slots[0]
    r = cli(
        "airings",
        "confirm",
        world.station,
        str(slot),
        "--user",
        "dai-xa",
        "--password",
        "password1",
        "--note",
        "loa cụm 3 hỏng",
    )
    assert r.exit_code == 0, r.output
    assert "dòng số 1" in r.output
    with world.factory() as s:
        row = s.scalars(select(Airing)).one()
        assert row.source == "manual" and row.confirmed_by == "dai-xa"
        assert row.confirmed_by_id is not None and row.note == "loa cụm 3 hỏng"
        assert s.get(Slot, slot).status is SlotStatus.AIRED
    listed = cli("airings", "list", "--station", world.station, "--json")
    assert json.loads(listed.output)[0]["confirmed_by"] == "dai-xa"
    with world.factory() as s:
        planned = s.get(Slot, world.slots[1]).planned_start
    at = (planned - timedelta(minutes=10)).astimezone(TZ).strftime("%H:%M")  # about now
    late = cli(
        "airings",
        "confirm",
        world.station,
        str(world.slots[1]),
        "--status",
        "partial",
        "--at",
        at,
        "--minutes",
        "0.2",
        "--user",
        "dai-xa",
        "--password",
        "password1",
    )
    assert late.exit_code == 0, late.output
    with world.factory() as s:
        row = s.scalar(select(Airing).where(Airing.slot_id == world.slots[1]))
    assert row.status is AiringStatus.PARTIAL
    assert (row.ended_at - row.started_at).total_seconds() == pytest.approx(12)
    assert row.started_at.astimezone(TZ).strftime("%H:%M") == at


def test_confirmation_is_refused_outside_role_or_scope(world, cli):
    _people(world)
    refused = cli(
        "airings",
        "confirm",
        world.station,
        str(world.slots[0]),
        "--user",
        "bientap",
        "--password",
        "password1",
    )
    assert refused.exit_code == 2 and "không được xác nhận" in refused.output
    other_slot = world.add_slots(world.other, [utcnow()], audio=False)[0]
    foreign = cli(
        "airings",
        "confirm",
        world.other,
        str(other_slot),
        "--user",
        "dai-xa",
        "--password",
        "password1",
    )
    assert foreign.exit_code == 2
    wrong = cli(
        "airings",
        "confirm",
        world.station,
        str(other_slot),
        "--user",
        "dai-xa",
        "--password",
        "password1",
    )
    assert wrong.exit_code == 2 and "không có lượt phát" in wrong.output
    bad_time = cli(
        "airings",
        "confirm",
        world.station,
        str(world.slots[0]),
        "--at",
        "25:00",
        "--user",
        "dai-xa",
        "--password",
        "password1",
    )
    assert bad_time.exit_code == 2 and "HH:MM" in bad_time.output
    with world.factory() as s:
        assert s.scalar(select(func.count()).select_from(Airing)) == 0


def test_audit_verify_cli_passes_then_fails_after_tampering(world, cli):
    _log_with_rows(world, 3)
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "nguyên vẹn" in ok.output
    with _unguarded(world) as conn:
        earlier = (utcnow() - timedelta(hours=1)).replace(tzinfo=None)
        conn.execute(text("UPDATE airings SET started_at = :t WHERE seq = 2"), {"t": earlier})
        conn.commit()
    broken = cli("audit", "verify", "--station", world.station)
    assert broken.exit_code == 1
    assert f"đài {world.station}, dòng số 2" in broken.output
    as_json = json.loads(cli("audit", "verify", "--json").output)
    assert as_json["ok"] is False and as_json["breaks"][0]["seq"] == 2
    assert cli("audit", "verify", "--station", "nope").exit_code == 2
