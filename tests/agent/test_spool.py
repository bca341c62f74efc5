"""The spool: reports sent exactly once in effect, plays remembered, all of it across reopens."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.agent.spool import Report, Spool
from broadcaster.errors import BroadcasterError

T0 = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def report(slot_id: int, status: str = "aired", minutes: int = 0) -> Report:
    start = T0 + timedelta(minutes=minutes)
    return Report.new(slot_id, start, start + timedelta(seconds=20), status, audio_sha256="a" * 64)


def test_a_report_is_pending_until_the_server_has_it_then_never_again(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    first, second = report(1), report(2, minutes=5)
    spool.add_report(first)
    spool.add_report(second)
    assert [r.id for r in spool.pending()] == [first.id, second.id]  # oldest first

    spool.mark_sent({first.id: 7})
    assert [r.id for r in spool.pending()] == [second.id]
    spool.mark_sent({first.id: 99})  # an answer for a sent report changes nothing
    spool.mark_rejected(first.id, "too late")
    assert spool.counts() == {"sent": 1, "pending": 1}

    spool.mark_rejected(second.id, "started_at: quá cũ")
    assert spool.pending() == []
    assert spool.counts() == {"sent": 1, "rejected": 1}


def test_reports_and_plays_survive_reopening(tmp_path):
    path = tmp_path / "spool.db"
    spool = Spool(path)
    r = report(5)
    assert spool.begin_play(5, "a" * 64, r.started_at) == 1
    spool.finish_play(r)
    spool.save_playlist({"date": "2026-03-03", "items": []}, '"etag-1"')
    spool.close()

    again = Spool(path)
    (pending,) = again.pending()
    assert pending == r  # every field, times with their zone
    assert again.play(5).state == "aired"
    assert again.play(5).attempts == 1
    assert again.cached_playlist() == ({"date": "2026-03-03", "items": []}, '"etag-1"')
    assert again.play(6) is None


def test_report_to_api_is_what_the_server_takes(tmp_path):
    body = Report(
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        3,
        T0,
        T0 + timedelta(seconds=1.5),
        "partial",
        note="x" * 600,
    ).to_api()
    assert body == {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "slot_id": 3,
        "started_at": "2026-03-02T23:00:00Z",
        "ended_at": "2026-03-02T23:00:01.500000Z",
        "status": "partial",
        "source": "agent",
        "note": "x" * 500,
    }


def test_a_play_a_crash_left_open_is_reported_partial_up_to_its_last_progress(tmp_path):
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.begin_play(8, "b" * 64, T0)
    spool.still_playing(8, T0 + timedelta(seconds=12))
    spool.close()  # as if killed: nothing else was written

    again = Spool(path)
    (recovered,) = again.recover()
    assert (recovered.slot_id, recovered.status) == (8, "partial")
    assert recovered.started_at == T0
    assert recovered.ended_at == T0 + timedelta(seconds=12)
    assert again.play(8).state == "partial"
    assert [r.id for r in again.pending()] == [recovered.id]
    assert again.recover() == []  # recovered once
    assert again.begin_play(8, "b" * 64, T0 + timedelta(minutes=1)) == 2  # the replay


def test_a_killed_process_loses_no_committed_report(tmp_path):
    path = tmp_path / "spool.db"
    code = (
        "import os\n"
        "from datetime import UTC, datetime\n"
        "from broadcaster.agent.spool import Report, Spool\n"
        f"s = Spool(__import__('pathlib').Path({str(path)!r}))\n"
        "now = datetime.now(UTC)\n"
        "s.begin_play(4, None, now)\n"
        "s.finish_play(Report('11111111-2222-4333-8444-555555555555', 4, now, now, 'aired'))\n"
        "s.begin_play(5, None, now)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert done.returncode == -9, done.stderr.decode()

    spool = Spool(path)
    assert [r.id for r in spool.pending()] == ["11111111-2222-4333-8444-555555555555"]
    assert spool.play(4).state == "aired"
    assert [r.slot_id for r in spool.recover()] == [5]


def test_a_report_id_is_never_stored_twice(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    r = report(1)
    spool.add_report(r)
    with pytest.raises(sqlite3.IntegrityError):
        spool.add_report(r)
    assert len(spool.pending()) == 1


def test_a_spool_from_a_newer_agent_is_refused_clearly(tmp_path):
    path = tmp_path / "spool.db"
    Spool(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(BroadcasterError, match="mới hơn"):
        Spool(path)


def test_prune_forgets_old_sent_reports_but_never_pending_ones(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    sent, waiting = report(1), report(2)
    spool.add_report(sent)
    spool.add_report(waiting)
    spool.mark_sent({sent.id: 1})
    assert spool.prune(datetime.now(UTC) + timedelta(days=61)) == 1
    assert [r.id for r in spool.pending()] == [waiting.id]
