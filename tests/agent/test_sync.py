"""Sending reports: batches of 100, refused reports set aside, the rest resent; heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broadcaster.agent.client import Refused, Unavailable
from broadcaster.agent.clock import ClockDrift
from broadcaster.agent.schedule import Agenda
from broadcaster.agent.spool import Report, Spool
from broadcaster.agent.sync import Syncer

T0 = datetime.now(UTC) - timedelta(hours=1)


class FakeClient:
    """Stands in for ApiClient: refuses reports whose id is in ``bad`` the way the server does."""

    def __init__(self, bad=(), say_which: bool = True, down: bool = False) -> None:
        self.bad = set(bad)
        self.say_which = say_which
        self.down = down
        self.batches: list[list[str]] = []
        self.beats: list[dict] = []
        self.clock = ClockDrift()

    def post_airings(self, reports: list[dict]) -> dict:
        if self.down:
            raise Unavailable("không kết nối được máy chủ")
        self.batches.append([r["id"] for r in reports])
        wrong = [i for i, r in enumerate(reports) if r["id"] in self.bad]
        if wrong:
            details = [
                {"index": i if self.say_which else None, "field": "slot_id", "message": "không có"}
                for i in wrong
            ]
            raise Refused(422, "invalidreports", "Báo cáo sai", details)
        results = [{"id": r["id"], "result": "stored", "seq": n} for n, r in enumerate(reports)]
        return {"stored": len(reports), "duplicates": 0, "results": results}

    def heartbeat(self, beat: dict) -> dict:
        self.beats.append(beat)
        return {"ok": True}


def spool_with(tmp_path, n: int) -> tuple[Spool, list[Report]]:
    spool = Spool(tmp_path / "spool.db")
    reports = [
        Report.new(i + 1, T0 + timedelta(seconds=i), T0 + timedelta(seconds=i + 1), "aired")
        for i in range(n)
    ]
    for r in reports:
        spool.add_report(r)
    return spool, reports


def syncer(tmp_path, spool, client) -> Syncer:
    return Syncer(client, spool, Agenda(), tmp_path)


def test_reports_go_out_in_batches_of_100(tmp_path):
    spool, reports = spool_with(tmp_path, 250)
    client = FakeClient()
    assert syncer(tmp_path, spool, client).flush() == 250
    assert [len(b) for b in client.batches] == [100, 100, 50]
    assert [i for b in client.batches for i in b] == [r.id for r in reports]  # in order, once
    assert spool.counts() == {"sent": 250}
    assert syncer(tmp_path, spool, client).flush() == 0
    assert len(client.batches) == 3


def test_a_refused_report_is_set_aside_and_the_rest_resent(tmp_path, caplog):
    spool, reports = spool_with(tmp_path, 5)
    client = FakeClient(bad={reports[1].id, reports[3].id})
    assert syncer(tmp_path, spool, client).flush() == 3
    assert client.batches[1] == [reports[i].id for i in (0, 2, 4)]
    assert spool.counts() == {"sent": 3, "rejected": 2}
    assert "từ chối báo cáo" in caplog.text
    assert "slot_id: không có" in caplog.text


def test_when_the_server_does_not_say_which_each_is_tried_alone(tmp_path):
    spool, reports = spool_with(tmp_path, 3)
    client = FakeClient(bad={reports[2].id}, say_which=False)
    syncer(tmp_path, spool, client).flush()
    assert client.batches[1:] == [[r.id] for r in reports]
    assert spool.counts() == {"sent": 2, "rejected": 1}


def test_an_unreachable_server_keeps_every_report_pending(tmp_path):
    spool, _ = spool_with(tmp_path, 3)
    with pytest.raises(Unavailable):
        syncer(tmp_path, spool, FakeClient(down=True)).flush()
    assert spool.counts() == {"pending": 3}


def test_a_heartbeat_says_what_the_server_wants_to_know(tmp_path):
    spool, _ = spool_with(tmp_path, 2)
    client = FakeClient()
    client.clock.observe(0, 0.2, "Thu, 01 Jan 1970 00:00:00 GMT")
    syncer(tmp_path, spool, client).heartbeat("playing")
    (beat,) = client.beats
    assert beat["player_state"] == "playing"
    assert beat["spool_pending"] == 2
    assert beat["clock_drift_s"] == pytest.approx(-0.4)
    assert beat["free_disk_bytes"] > 0
    assert beat["agent_version"]
    assert beat["sent_at"].endswith("Z")
    assert "last_sync_at" not in beat  # never synced: left out, not null


def test_tidy_keeps_audio_the_playlist_needs_and_recent_files(tmp_path):
    import os

    from broadcaster.agent.sync import KEEP_AUDIO

    spool = Spool(tmp_path / "spool.db")
    agenda = Agenda()
    needed, old, recent = "a" * 64, "b" * 64, "c" * 64
    agenda.set_playlist({"items": [{"slot_id": 1, "audio": {"sha256": needed}}]}, 0)
    audio = tmp_path / "audio"
    audio.mkdir()
    long_ago = (datetime.now(UTC) - KEEP_AUDIO - timedelta(days=1)).timestamp()
    for name in (f"{needed}.mp3", f"{old}.mp3", f"{old}.mp3.part", f"{recent}.mp3"):
        (audio / name).write_bytes(b"x")
        if not name.startswith("c"):
            os.utime(audio / name, (long_ago, long_ago))
    assert Syncer(FakeClient(), spool, agenda, tmp_path).tidy() == 2
    assert sorted(p.name for p in audio.iterdir()) == [f"{needed}.mp3", f"{recent}.mp3"]


def test_a_timetable_backs_off_while_failing_and_hurries_only_when_healthy():
    from broadcaster.agent.sync import Every

    every = Every(60, gap=1)
    assert every.due(0)
    every.done(0)
    assert not every.due(30)
    every.hurry()
    assert every.due(1)  # brought forward, but not within the gap
    waits = [every.failed(100) for _ in range(5)]
    # doubling from 5 s to the interval, each stretched by up to a quarter (jitter)
    assert all(b <= w <= b * 1.25 for w, b in zip(waits, [5, 10, 20, 40, 60], strict=True))
    assert 90 <= every.failed(200, retry_after=90) <= 112.5  # the server's Retry-After wins
    tiny = Every(0.01)
    assert tiny.failed(0) >= 1.0  # never sooner than the floor, whatever the interval
    every.hurry()
    assert not every.due(250)  # the server is away: asking sooner would not help


class Forgetful(FakeClient):
    """Answers 200 but names only some of the reports it was sent (a broken proxy, a bug)."""

    def post_airings(self, reports: list[dict]) -> dict:
        answer = super().post_airings(reports)
        answer["results"] = answer["results"][::2]
        return answer


def test_only_reports_the_server_names_leave_the_spool(tmp_path):
    spool, _ = spool_with(tmp_path, 4)
    with pytest.raises(Unavailable, match="không xác nhận 2"):
        syncer(tmp_path, spool, Forgetful()).flush()
    assert spool.counts() == {"sent": 2, "pending": 2}


class Silent(FakeClient):
    """Refuses a batch without saying which report, then answers single reports with {}."""

    def post_airings(self, reports: list[dict]) -> dict:
        if len(reports) > 1:
            return super().post_airings(reports)
        return {}


def test_an_empty_answer_to_a_report_sent_alone_keeps_it_pending(tmp_path):
    spool, reports = spool_with(tmp_path, 2)
    with pytest.raises(Unavailable, match="không xác nhận"):
        syncer(tmp_path, spool, Silent(bad={reports[0].id}, say_which=False)).flush()
    assert spool.counts() == {"pending": 2}
