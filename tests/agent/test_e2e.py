"""The agent against a real server: slots play on time into a file sink and their airings land.

Every test runs on SQLite and PostgreSQL (the ``db_url`` fixture behind ``world``).
Waiting is by polling with generous time-outs, never by fixed sleeps or timed asserts.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster.agent import AgentConfig
from broadcaster.agent.client import ApiClient
from broadcaster.agent.players import FileSinkPlayer
from broadcaster.agent.schedule import Agenda
from broadcaster.agent.spool import Report, Spool
from broadcaster.agent.sync import Syncer
from broadcaster.db import transaction, utcnow
from broadcaster.models import (
    AdminUnit,
    Airing,
    AudioAsset,
    Slot,
    SlotStatus,
    Station,
    StationStatus,
)
from broadcaster.services import chain, emergency
from broadcaster.services.audit import system_actor
from tests.agent.live import AgentThread, Gate, ProcessServer, SlowOnce, ThreadServer, wait_for
from tests.audio.probe import ffprobe


@pytest.fixture
def server(world):
    live = ThreadServer(world.app)
    yield live
    live.stop()


def config(world, url: str, folder, **changes) -> AgentConfig:
    values = {
        "server": url,
        "token": world.token,
        "station": world.station,
        "folder": folder,
        "poll_s": 1.0,
        "heartbeat_s": 1.0,
        "long_poll": False,
    }
    return AgentConfig(**{**values, **changes})


def airings(world, *slot_ids: int) -> list[Airing]:
    with world.factory() as s:
        stmt = select(Airing).order_by(Airing.seq)
        if slot_ids:
            stmt = stmt.where(Airing.slot_id.in_(slot_ids))
        return list(s.scalars(stmt))


def audio_sha(world, slot_id: int) -> str:
    with world.factory() as s:
        return s.scalar(
            select(AudioAsset.file_sha256)
            .join(Slot, Slot.audio_asset_id == AudioAsset.id)
            .where(Slot.id == slot_id)
        )


def slot(world, slot_id: int) -> Slot:
    with world.factory() as s:
        return s.get(Slot, slot_id)


def chain_ok(world) -> bool:
    with world.factory() as s:
        return chain.verify(s, world.station).ok


def wavs(sink, sha: str | None = None) -> list:
    return sorted(p for p in sink.glob("*.wav") if sha is None or sha[:16] in p.name)


def soon(world, *seconds: float) -> list[int]:
    now = utcnow()
    return world.add_slots(world.station, [now + timedelta(seconds=s) for s in seconds])


def test_the_agent_plays_due_slots_and_the_airings_land_on_the_server(world, server, tmp_path):
    ids = soon(world, 2, 3)
    sink = tmp_path / "sink"
    agent = AgentThread(config(world, server.url, tmp_path / "agent"), FileSinkPlayer(sink, 8))
    try:
        done = wait_for(lambda: len(airings(world, *ids)) == 2 and airings(world, *ids), what="2")
        wait_for(lambda: agent.runner.spool.pending_count() == 0, what="an empty spool")
    finally:
        agent.stop()

    for airing, slot_id in zip(done, ids, strict=True):
        planned = slot(world, slot_id).planned_start
        assert airing.slot_id == slot_id
        assert str(airing.status) == "aired"
        assert airing.source == "agent"
        assert airing.started_at >= planned  # never early
        assert airing.ended_at > airing.started_at
        assert airing.audio_sha256 == audio_sha(world, slot_id)
        assert slot(world, slot_id).status is SlotStatus.AIRED
    assert done[0].ended_at <= done[1].started_at  # one after the other
    assert chain_ok(world)

    played = wavs(sink)
    assert len(played) == 2  # the two due slots, nothing else
    for wav, slot_id in zip(played, ids, strict=True):
        assert audio_sha(world, slot_id)[:16] in wav.name
        assert ffprobe(wav).duration_s == pytest.approx(
            slot(world, slot_id).duration_ms / 1000, abs=0.3
        )

    with world.factory() as s:
        beat = s.scalar(select(StationStatus).join(Station).where(Station.code == world.station))
    assert beat.agent_version
    assert beat.spool_pending is not None
    assert beat.last_sync_at is not None
    assert beat.clock_drift_s is not None and abs(beat.clock_drift_s) < 3
    assert beat.free_disk_bytes > 0
    assert server.recorder.count("GET", "/playlist") >= 2
    # the audio of later slots is already on disk, verified, for when the network is down
    later = [audio_sha(world, i) for i in world.slots]
    assert all((tmp_path / "agent" / "audio" / f"{sha}.mp3").is_file() for sha in later)


def send_emergency(world, repeat: int = 2):
    with transaction(world.factory) as s:
        unit = s.scalar(select(AdminUnit.code).join(Station).where(Station.code == world.station))
        return emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Bão số 3 đổ bộ",
            body="Bà con khẩn trương chằng chống nhà cửa, không ra biển.",
            unit_codes=[unit],
            repeat=repeat,
        )


@pytest.mark.parametrize("long_poll", [True, False], ids=["long-poll", "poll-only"])
def test_an_emergency_interrupts_the_slot_playing_and_airs_twice(
    world, server, tmp_path, long_poll
):
    (slot_id,) = soon(world, 0)
    sink = tmp_path / "sink"
    campaign_sha = audio_sha(world, slot_id)
    player = SlowOnce(sink, {campaign_sha}, slow_speed=0.05, speed=8)
    agent = AgentThread(
        config(
            world,
            server.url,
            tmp_path / "agent",
            poll_s=30 if long_poll else 1,  # without the long poll, the next poll brings it
            long_poll=long_poll,
            long_poll_wait=5,
        ),
        player,
    )
    try:
        wait_for(lambda: agent.runner.player_state == "playing", what="the slot to start")
        sent = send_emergency(world, repeat=2)
        with world.factory() as s:
            (e_slot,) = s.scalars(
                select(Slot.id)
                .join(Station)
                .where(Slot.emergency_id == sent.id, Station.code == world.station)
            ).all()
        wait_for(lambda: len(airings(world, slot_id, e_slot)) >= 3, what="three airings")
    finally:
        agent.stop()

    interrupted, urgent, replayed = airings(world, slot_id, e_slot)[:3]
    assert (interrupted.slot_id, str(interrupted.status)) == (slot_id, "partial")
    assert "khẩn cấp" in interrupted.note
    assert (urgent.slot_id, str(urgent.status)) == (e_slot, "aired")
    assert urgent.emergency_id == sent.id
    assert urgent.note == "phát 2/2 lần"
    assert urgent.started_at >= interrupted.ended_at
    assert (replayed.slot_id, str(replayed.status)) == (slot_id, "aired")  # played again after
    assert replayed.started_at >= urgent.ended_at
    assert len(wavs(sink, audio_sha(world, e_slot))) == 2  # the emergency, twice
    assert len(wavs(sink, campaign_sha)) == 2  # cut short, then whole
    assert slot(world, e_slot).picked_up_at is not None
    assert chain_ok(world)


def test_a_restarted_agent_neither_resends_nor_replays(world, server, tmp_path):
    (slot_id,) = soon(world, 0)
    sink = tmp_path / "sink"
    folder = tmp_path / "agent"
    first = AgentThread(config(world, server.url, folder), FileSinkPlayer(sink, 8))
    try:
        wait_for(lambda: airings(world, slot_id), what="the airing")
        wait_for(lambda: first.runner.spool.pending_count() == 0, what="an empty spool")
    finally:
        first.stop()
    posts = server.recorder.count("POST", "/airings")
    pulls = server.recorder.count("GET", "/playlist")

    second = AgentThread(config(world, server.url, folder), FileSinkPlayer(sink, 8))
    try:
        wait_for(lambda: server.recorder.count("GET", "/playlist") >= pulls + 3, what="polls")
    finally:
        second.stop()
    assert server.recorder.count("POST", "/airings") == posts
    assert len(airings(world, slot_id)) == 1
    assert len(wavs(sink)) == 1
    spool = Spool(folder / "spool.db")
    assert spool.counts() == {"sent": 1}
    assert spool.play(slot_id).attempts == 1


def test_reports_wait_in_the_spool_while_the_server_is_down(world, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="broadcaster.agent")
    env = {
        "BROADCASTER_DATABASE_URL": world.settings.database_url,
        "BROADCASTER_AUDIO_DIR": str(world.settings.audio_dir),
        "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
        "BROADCASTER_SECRET_KEY": "test",
        "BROADCASTER_TTS_ENGINE": "espeak",
    }
    server = ProcessServer(env, tmp_path / "server.log")
    server.start()
    (slot_id,) = soon(world, 0)
    folder = tmp_path / "agent"
    gate = Gate(FileSinkPlayer(tmp_path / "sink", 8))
    agent = AgentThread(config(world, server.url, folder), gate)
    try:
        wait_for(gate.waiting.is_set, what="the slot to be due")
        server.kill()  # the network goes down (or the server restarts) mid-broadcast
        gate.open.set()
        spool = agent.runner.spool
        wait_for(lambda: (spool.play(slot_id) or 0) and spool.play(slot_id).state == "aired")
        assert spool.pending_count() == 1
        wait_for(lambda: "báo cáo chờ gửi" in caplog.text, what="a failed attempt to send")
        assert airings(world, slot_id) == []
        assert spool.pending_count() == 1

        server.start()  # back, on the same address
        (landed,) = wait_for(lambda: airings(world, slot_id), what="the airing after restart")
        wait_for(lambda: spool.pending_count() == 0, what="an empty spool")
    finally:
        agent.stop()
        server.kill()
    assert str(landed.status) == "aired"
    assert Spool(folder / "spool.db").counts() == {"sent": 1}
    assert chain_ok(world)


def test_a_report_resent_after_a_crash_is_a_duplicate_not_a_rejection(world, server, tmp_path):
    """The server stored it but the agent died before noting so: sending again is harmless."""
    client = ApiClient(server.url, world.token, world.station)
    spool = Spool(tmp_path / "spool.db")
    started = utcnow() - timedelta(minutes=3, microseconds=123_457)
    report = Report.new(
        world.slots[0],
        started,
        started + timedelta(seconds=20, microseconds=5),
        "partial",
        audio_sha256=audio_sha(world, world.slots[0]),
        note="ngắt để phát tin khẩn cấp “Bão số 3”",
    )
    spool.add_report(report)
    sync = Syncer(client, spool, Agenda(), tmp_path)
    assert sync.flush() == 1
    with sqlite3.connect(tmp_path / "spool.db") as db:  # as if the answer never came
        db.execute("UPDATE reports SET state = 'pending'")
    assert sync.flush() == 1
    assert spool.counts() == {"sent": 1}
    (stored,) = airings(world, world.slots[0])
    assert stored.report_id == report.id
    assert str(stored.status) == "partial"


def test_a_cut_download_resumes_against_the_real_server(world, server, tmp_path):
    sha = audio_sha(world, world.slots[0])
    client = ApiClient(server.url, world.token, world.station)
    folder = tmp_path / "audio"
    full = client.download(sha, folder)
    data = full.read_bytes()
    full.unlink()
    (folder / f"{sha}.mp3.part").write_bytes(data[: len(data) // 3])
    before = server.recorder.count("GET", f"/{sha}.mp3")
    assert client.download(sha, folder).read_bytes() == data
    assert server.recorder.count("GET", f"/{sha}.mp3") == before + 1  # one ranged request


def test_an_emergency_cancelled_while_it_plays_is_cut_off(world, server, tmp_path):
    player = SlowOnce(tmp_path / "sink", set(), slow_speed=1, speed=0.05)  # all slow
    agent = AgentThread(config(world, server.url, tmp_path / "agent"), player)
    try:
        sent = send_emergency(world, repeat=1)
        wait_for(lambda: agent.runner.player_state == "playing", what="the emergency to start")
        with transaction(world.factory) as s:
            emergency.cancel(s, system_actor(), sent.id)
        (cut,) = wait_for(lambda: airings(world), what="the airing")
    finally:
        agent.stop()
    assert (str(cut.status), cut.emergency_id) == ("partial", sent.id)
    assert cut.note == "tin khẩn cấp đã bị hủy"
