"""Relays (tiếp âm) against real live streams on loopback: ffmpeg's HTTP server sending a
tone as MP3 at the pace of real time, killed and restarted mid-relay, a socket that
never answers, a backup stream and a backup recording. What the player wrote (the file
sink's WAV) is listened to window by window.

No timed assertions: the relays are short (10–16 s) and what is checked is what was
heard and reported, with wide margins.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcaster.agent import AgentConfig
from broadcaster.agent.players import INTERRUPTED, CommandPlayer, FileSinkPlayer, PlayerError
from broadcaster.agent.relay import BACKUP, FILE, MAIN, RelayPlan, RelaySettings, relay
from broadcaster.agent.schedule import Agenda
from broadcaster.agent.spool import Report, Spool
from broadcaster.audio._ffmpeg import ffmpeg_exe
from broadcaster.db import utcnow
from broadcaster.models import Airing, Slot, SlotStatus
from broadcaster.services import chain
from tests.agent.live import AgentThread, ThreadServer, wait_for
from tests.agent.relayworld import (
    SilentSocket,
    StallingStream,
    ToneStream,
    add_relay,
    heard,
    sounded_s,
    tone_gap_tone,
)
from tests.agent.sound import tone

# generous for a loaded machine: a stream's first sound may take seconds there
QUICK = RelaySettings(lead_s=3.0, backup_after_s=60.0, stall_s=3.0, retry_s=0.5)


@pytest.fixture
def streams():
    made: list[ToneStream] = []

    def make(freq: int = 440) -> ToneStream:
        stream = ToneStream(freq).start()
        made.append(stream)
        return stream

    yield make
    for stream in made:
        stream.stop()


@pytest.fixture
def silent():
    sock = SilentSocket()
    yield sock
    sock.close()


def plan(url, *, seconds: float, lead: float = 3.0, backup_url=None, backup_file=None):
    now = time.monotonic()
    return RelayPlan(url, backup_url, backup_file, now + lead, now + lead + seconds, "thu")


class Background:
    """A relay in a thread, so the test can break its streams meanwhile."""

    def __init__(self, player, the_plan, settings, stop=None) -> None:
        self.stop = stop or threading.Event()
        self.outcome = None
        self.thread = threading.Thread(
            target=lambda: setattr(self, "outcome", relay(player, the_plan, self.stop, settings)),
            daemon=True,
        )
        self.thread.start()

    def result(self):
        self.thread.join(120)
        assert self.outcome is not None
        return self.outcome


def only_tone(windows: list[int], freq: int) -> bool:
    """Every sounding window holds ``freq``; a half-second window cut by a drop (part tone,
    part silence) reads a little off (spectral leakage), so within 60 Hz — far from the
    backup streams' 660 Hz."""
    return all(abs(f - freq) <= 60 for f in windows if f)


def only_wav(sink: Path) -> Path:
    (wav,) = sink.glob("*.wav")
    return wav


def test_a_clean_relay_plays_the_stream_from_its_start_to_its_end(streams, tmp_path):
    stream = streams(440)
    the_plan = plan(stream.url, seconds=10)
    outcome = relay(FileSinkPlayer(tmp_path), the_plan, threading.Event(), QUICK)

    assert outcome.result == "completed"
    assert outcome.status(10) == "aired"
    assert outcome.used == MAIN
    assert 9.8 <= outcome.relayed_s <= 11
    assert outcome.first_sample_at >= the_plan.start_at  # nothing before its start
    windows = heard(only_wav(tmp_path))
    assert len(windows) >= 19
    assert set(windows[:-1]) == {440}  # the tone throughout, no gap


def test_a_dropped_stream_is_reopened_and_the_relay_is_partial(streams, tmp_path):
    stream = streams(440)
    sink = tmp_path / "sink"
    job = Background(FileSinkPlayer(sink), plan(stream.url, seconds=16), QUICK)
    wait_for(lambda: sounded_s(sink) > 4, what="the relay to sound")
    stream.stop()  # the stream's server goes down mid-relay…
    time.sleep(2.5)  # …for a couple of seconds, then comes back on the same address
    stream.start()
    outcome = job.result()

    assert outcome.status(16) == "partial"
    assert outcome.used == MAIN and set(outcome.seconds) == {MAIN}
    assert 4 <= outcome.relayed_s <= 14
    assert any(p.startswith("luồng chính:") for p in outcome.problems)
    windows = heard(only_wav(sink))
    assert tone_gap_tone(windows)  # tone, silence, tone again
    assert only_tone(windows, 440)


def test_a_stream_that_stalls_is_reopened_and_the_relay_is_partial(tmp_path):
    # 4 s of tone per connection, then the server keeps the connection open and sends
    # nothing: the agent must notice the stall, open the stream again and carry on
    stream = StallingStream(flowing_s=4.0)
    try:
        sink = tmp_path / "sink"
        outcome = relay(
            FileSinkPlayer(sink), plan(stream.url, seconds=16), threading.Event(), QUICK
        )
    finally:
        stream.close()

    assert outcome.status(16) == "partial"
    assert outcome.used == MAIN
    assert stream.connections >= 2  # opened again after the stall
    assert 4 <= outcome.relayed_s <= 14
    windows = heard(only_wav(sink))
    assert tone_gap_tone(windows)  # the tone, the stall's silence, the tone again
    assert only_tone(windows, 440)


def test_a_stream_down_too_long_gives_way_to_the_backup_stream(streams, tmp_path):
    main, backup = streams(440), streams(660)
    sink = tmp_path / "sink"
    settings = RelaySettings(lead_s=3.0, backup_after_s=3.0, stall_s=2.0, retry_s=0.5)
    job = Background(
        FileSinkPlayer(sink), plan(main.url, seconds=16, backup_url=backup.url), settings
    )
    wait_for(lambda: sounded_s(sink) > 4, what="the main")
    main.stop()  # and it stays down
    outcome = job.result()

    assert outcome.status(16) == "partial"
    assert outcome.seconds[MAIN] > 0 and outcome.seconds[BACKUP] > 0
    assert outcome.used in (MAIN, BACKUP)
    assert outcome.used == max(outcome.seconds, key=outcome.seconds.get)
    assert any("chuyển sang luồng dự phòng" in p for p in outcome.problems)
    windows = [f for f in heard(only_wav(sink)) if f]
    assert windows[0] == 440 and windows[-1] == 660  # the main, then the backup
    assert windows.index(660) > windows.index(440)


def test_a_stream_that_never_answers_gives_way_to_the_backup_recording(silent, tmp_path):
    recording = tone(tmp_path / "backup.mp3", 3, freq=660)  # shorter than the slot: again
    settings = RelaySettings(lead_s=2.0, backup_after_s=2.0, stall_s=1.5, retry_s=0.5)
    outcome = relay(
        FileSinkPlayer(tmp_path / "sink"),
        plan(silent.url, seconds=10, lead=2.0, backup_file=recording),
        threading.Event(),
        settings,
    )

    assert silent.accepted  # it was asked, and said nothing
    assert outcome.used == FILE and set(outcome.seconds) == {FILE}
    assert outcome.relayed_s >= 6  # the recording, played more than twice
    assert any(p.startswith("luồng chính: không có âm thanh") for p in outcome.problems)
    windows = [f for f in heard(only_wav(tmp_path / "sink")) if f]
    assert set(windows) == {660}


def test_a_stream_that_never_answers_without_a_backup_fails_with_the_reason(silent, tmp_path):
    settings = RelaySettings(lead_s=2.0, backup_after_s=3.0, stall_s=1.5, retry_s=0.5)
    outcome = relay(
        FileSinkPlayer(tmp_path / "sink"),
        plan(silent.url, seconds=5, lead=2.0),
        threading.Event(),
        settings,
    )
    assert outcome.status(5) == "failed"
    assert (outcome.relayed_s, outcome.used) == (0, None)
    assert "luồng chính: không có âm thanh 1.5 giây" in outcome.note()
    assert set(heard(only_wav(tmp_path / "sink"))) == {0}  # silence went out, nothing else


def test_a_relay_stops_at_once_when_told(streams, tmp_path):
    stream = streams(440)
    sink = tmp_path / "sink"
    job = Background(FileSinkPlayer(sink), plan(stream.url, seconds=60), QUICK)
    wait_for(lambda: sounded_s(sink) > 2, what="the relay")
    job.stop.set()  # an emergency
    outcome = job.result()
    assert outcome.result == INTERRUPTED
    assert outcome.status(60) == "partial"
    assert 1 <= outcome.relayed_s < 50


def test_the_command_player_takes_pcm_on_its_standard_input(streams, tmp_path):
    out = tmp_path / "out.wav"
    player = CommandPlayer([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", "{file}", str(out)])
    assert player.stream_command(44_100) == [
        *(ffmpeg_exe(), "-y", "-loglevel", "error"),
        *("-f", "s16le", "-ar", "44100", "-ac", "1", "-i", "pipe:0", str(out)),
    ]
    stream = streams(440)
    outcome = relay(player, plan(stream.url, seconds=4), threading.Event(), QUICK)
    assert outcome.status(4) == "aired" and outcome.detail is None
    assert set(heard(out)[:-1]) == {440}  # what the command wrote: the stream's tone


def test_a_player_command_that_cannot_take_a_stream_is_named():
    mpg123 = CommandPlayer("mpg123 -q {file}")
    with pytest.raises(PlayerError, match="không nhận được luồng"):
        mpg123.stream_command(44_100, fallback=["afplay", "{file}"])
    outcome = relay(
        CommandPlayer(["/nonexistent/player", "-i", "{file}"]),
        plan("http://127.0.0.1:9/", seconds=2, lead=0),
        threading.Event(),
        QUICK,
    )
    assert outcome.result == "error" and "/nonexistent/player" in outcome.detail
    assert outcome.status(2) == "failed"


# -- the agenda and the spool ---------------------------------------------------------------

NOW = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def playlist_item(slot_id: int, seconds_from_now: float, *, relay_item: bool, length_s=600):
    start = NOW + timedelta(seconds=seconds_from_now)
    item = {
        "slot_id": slot_id,
        "kind": "relay" if relay_item else "campaign",
        "content": "relay" if relay_item else "speech",
        "title": f"Mục {slot_id}",
        "planned_start": start.isoformat(),
        "window_end": (start + timedelta(hours=1)).isoformat(),
        "duration_ms": length_s * 1000,
        "status": "planned",
        "audio": None if relay_item else {"url": "x", "sha256": "a" * 64, "size": 1},
    }
    if relay_item:
        item["relay"] = {
            "source_id": 7,
            "name": "VOV1",
            "url": "http://127.0.0.1:9/vov1",
            "backup_url": None,
            "backup_audio_url": "http://x/api/v1/audio/" + "b" * 64 + ".mp3",
            "backup_audio_sha256": "b" * 64,
        }
    return item


def test_a_relay_is_due_its_lead_early_before_waiting_items_and_until_its_end():
    agenda = Agenda()
    document = {
        "date": "2026-03-03",
        "items": [
            playlist_item(1, -60, relay_item=False),  # an announcement still waiting
            playlist_item(2, 4, relay_item=True),
        ],
    }
    agenda.set_playlist(document, 0)
    relay_item = agenda.get(2)
    assert relay_item.is_relay and relay_item.sha256 is None
    assert relay_item.file_sha256 == "b" * 64  # its backup recording is downloaded ahead
    assert relay_item.ends_at == relay_item.planned_start + timedelta(minutes=10)

    def never(_item):
        return False

    assert agenda.due(NOW, never).slot_id == 1  # without a lead the relay is not due yet
    assert agenda.due(NOW, never, lead_s=5).slot_id == 2  # pre-opened, before the waiting one
    assert agenda.next_start(NOW, never, lead_s=3) == NOW + timedelta(seconds=1)
    later = NOW + timedelta(minutes=9, seconds=30)
    assert agenda.due(later, never, lead_s=5).slot_id == 2  # joined late, still on
    end = relay_item.ends_at
    assert agenda.due(end - timedelta(seconds=0.5), never, lead_s=5).slot_id == 1  # its last second
    assert agenda.get(2).closed_at(end)


def test_a_relay_report_goes_through_the_spool_with_its_seconds(tmp_path):
    path = tmp_path / "spool.db"
    # a spool an older agent wrote (schema 1, no relay columns) is brought up to date
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE reports (id TEXT PRIMARY KEY, slot_id INTEGER NOT NULL, "
            "started_at TEXT NOT NULL, ended_at TEXT NOT NULL, status TEXT NOT NULL, "
            "audio_sha256 TEXT, note TEXT, state TEXT NOT NULL DEFAULT 'pending', "
            "created_at TEXT NOT NULL, sent_at TEXT, server_seq INTEGER, error TEXT);"
            "PRAGMA user_version=1;"
        )
    spool = Spool(path)
    report = Report.new(
        3,
        NOW,
        NOW + timedelta(minutes=10),
        "partial",
        relayed_s=412,
        relay_used="backup",
        note="luồng chính 200 giây",
    )
    spool.add_report(report)
    (pending,) = spool.pending()
    assert (pending.relayed_s, pending.relay_used) == (412, "backup")
    body = pending.to_api()
    assert (body["relayed_s"], body["relay_used"], body["status"]) == (412, "backup", "partial")
    assert "audio_sha256" not in body
    plain = Report.new(4, NOW, NOW, "aired").to_api()
    assert "relayed_s" not in plain and "relay_used" not in plain
    spool.close()


# -- through the real server ------------------------------------------------------------------


@pytest.fixture
def server(world):
    live = ThreadServer(world.app)
    yield live
    live.stop()


def agent_config(world, url: str, folder: Path, **changes) -> AgentConfig:
    values = {
        "server": url,
        "token": world.token,
        "station": world.station,
        "folder": folder,
        "poll_s": 1.0,
        "heartbeat_s": 5.0,
        "long_poll": False,
        "relay_lead_s": 3.0,
        "relay_backup_after_s": 60.0,
        "relay_stall_s": 3.0,
    }
    return AgentConfig(**{**values, **changes})


def test_the_agent_relays_a_loopback_stream_through_a_drop_and_reports_the_seconds(
    world, server, streams, tmp_path
):
    stream = streams(440)
    start = utcnow() + timedelta(seconds=6)
    slot_id = add_relay(world, start, 16, url=stream.url)
    sink = tmp_path / "sink"
    agent = AgentThread(agent_config(world, server.url, tmp_path / "agent"), FileSinkPlayer(sink))
    try:
        wait_for(lambda: sounded_s(sink) > 4, what="the relay")
        stream.stop()  # the stream's server goes down mid-relay, and comes back
        time.sleep(2.5)
        stream.start()
        (airing,) = wait_for(lambda: relay_airings(world, slot_id), what="the relay's report")
        wait_for(lambda: agent.runner.spool.pending_count() == 0, what="an empty spool")
    finally:
        agent.stop()

    with world.factory() as s:
        slot = s.get(Slot, slot_id)
        assert chain.verify(s, world.station).ok
    assert str(airing.status) == "partial"
    assert airing.relay_used == "main"
    assert 4 <= airing.relayed_s <= 14
    assert airing.relay_source_id == slot.relay_source_id
    assert airing.script_version_id is None
    assert airing.started_at >= slot.planned_start  # its first sample, never early
    assert airing.ended_at <= slot.planned_start + timedelta(seconds=18)
    assert "luồng chính" in airing.note
    windows = heard(only_wav(sink))
    assert tone_gap_tone(windows)  # tone, silence, tone again
    assert slot.status is SlotStatus.PLANNED  # a partial relay did not air the slot


def relay_airings(world, slot_id: int) -> list[Airing]:
    with world.factory() as s:
        return list(s.scalars(select(Airing).where(Airing.slot_id == slot_id)))


def test_an_emergency_interrupts_a_relay_which_is_joined_again_after(
    world, server, streams, tmp_path
):
    from tests.agent.test_e2e import send_emergency

    stream = streams(440)
    start = utcnow() + timedelta(seconds=5)
    slot_id = add_relay(world, start, 40, url=stream.url)
    sink = tmp_path / "sink"
    agent = AgentThread(
        agent_config(
            world, server.url, tmp_path / "agent", long_poll=True, long_poll_wait=5, poll_s=30
        ),
        FileSinkPlayer(sink, speed=4),
    )
    try:
        wait_for(lambda: sounded_s(sink, "*relay*.wav") > 3, what="the relay to sound")
        sent = send_emergency(world, repeat=1)
        # the interrupted agent hangs up, and the one-listener stream ends with it: served
        # again for the agent's return
        wait_for(lambda: not stream.serving, what="the agent to hang up")
        stream.start()
        wait_for(lambda: len(relay_airings(world, slot_id)) >= 2, timeout=90, what="two relays")
    finally:
        agent.stop()

    first, second = relay_airings(world, slot_id)[:2]
    with world.factory() as s:
        urgent = s.scalar(select(Airing).where(Airing.emergency_id == sent.id))
    assert (str(first.status), first.relay_used) == ("partial", "main")
    assert "khẩn cấp" in first.note
    assert str(urgent.status) == "aired"
    assert first.ended_at <= urgent.started_at <= urgent.ended_at <= second.started_at
    assert second.relayed_s > 0 and second.relay_used == "main"  # the stream again, after
    assert first.relayed_s + second.relayed_s < 40
    with world.factory() as s:
        assert chain.verify(s, world.station).ok


def test_a_stream_that_never_answers_is_replaced_by_the_backup_file_from_the_server(
    world, server, silent, tmp_path
):
    from broadcaster.models import CampaignScript
    from broadcaster.services.relay_backups import attach_backups

    with world.factory() as s:
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == world.campaign_id)
        )
    start = utcnow() + timedelta(seconds=8)
    slot_id = add_relay(world, start, 12, url=silent.url, backup_script_id=script_id)
    attach_backups(world.factory, world.renderer)  # the render job's part
    sink = tmp_path / "sink"
    config = agent_config(
        world, server.url, tmp_path / "agent", relay_backup_after_s=2.0, relay_stall_s=1.5
    )
    agent = AgentThread(config, FileSinkPlayer(sink))
    try:
        (airing,) = wait_for(lambda: relay_airings(world, slot_id), what="the relay's report")
    finally:
        agent.stop()

    assert silent.accepted  # the main stream was asked, and said nothing
    assert airing.relay_used == "file"
    assert airing.relayed_s >= 6
    assert str(airing.status) in ("aired", "partial")
    assert "luồng chính: không có âm thanh" in airing.note
    assert "bản ghi dự phòng" in airing.note
    (wav,) = sink.glob("*relay*.wav")
    assert any(heard(wav))  # the backup recording sounded
    with world.factory() as s:
        assert chain.verify(s, world.station).ok
