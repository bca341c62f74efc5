"""Reliability: the airing log survives a crashing server and a lossy link, exactly once.

The issue's test: kill the server (SIGKILL) repeatedly while an agent reports 5,000
airings over a lossy link; restart; all 5,000 are in the log exactly once, and
``audit verify`` passes.

Everything is real except the link: the ``broadcaster serve`` process (killed and
restarted on its port), the ``broadcaster agent`` process sending its spool in
batches of 100 (``--poll 1``, the least it takes, so a failed send is tried again
within a second), and the spool, filled through the calls the agent's player makes
for each airing (``begin_play``, then ``finish_play`` with the report). The link is
:class:`~tests.agent.lossy.LossyProxy`, which drops about a quarter of the requests
— before the server sees them, after the server answered, or halfway through the
answer — and delays the rest a little.

The slots lie in the four hours before today's local midnight: old enough for every
report to be valid, and outside today's playlist, so the agent's pulls stay small
and the load is the reports' own.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from broadcaster.agent.spool import Report, Spool
from broadcaster.db import transaction
from broadcaster.models import Airing, CampaignScript, Script, Slot, SlotStatus, Station
from broadcaster.planning.calendar import week_label
from broadcaster.services import chain
from broadcaster.vntext import nfc
from tests.agent.live import ProcessServer
from tests.agent.lossy import AFTER, BEFORE, MID, LossyProxy

AIRINGS = 5000
SEED = 20261123
MIN_KILLS = 5
KILL_EVERY = (1.0, 3.0)  # seconds the server lives between kills
DRAIN_TIMEOUT = 600.0  # generous: a slow CI box is not a failure

NOTES = (
    "ngắt để phát tin khẩn cấp “Bão số 3”",
    "trình phát lỗi: thiết bị âm thanh không phản hồi",
    "phát dở: mất điện khu vực thôn Đông",
)


def bulk_slots(world, code: str, starts: list[datetime]) -> list[int]:
    """Slots of the world's campaign at ``code`` (one Core insert: 5,000 rows fast)."""
    with transaction(world.factory) as s:
        station_id = s.scalar(select(Station.id).where(Station.code == code))
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == world.campaign_id)
        )
        version_id = s.get(Script, script_id).approved_version_id
        s.execute(
            insert(Slot),
            [
                {
                    "station_id": station_id,
                    "campaign_id": world.campaign_id,
                    "occurrence": f"R{n}",
                    "script_version_id": version_id,
                    "week": week_label(start.date()),
                    "planned_start": start,
                    "window_end": start + timedelta(minutes=30),
                    "position": 0,
                    "duration_ms": 20_000,
                    "status": SlotStatus.PLANNED,
                }
                for n, start in enumerate(starts)
            ],
        )
        rows = s.execute(
            select(Slot.id, Slot.planned_start)
            .where(Slot.station_id == station_id)
            .order_by(Slot.planned_start, Slot.id)
        ).all()
    assert len(rows) == len(starts)
    return [r.id for r in rows]


def record_airings(spool_path: Path, slots: list[tuple[int, datetime]], rng) -> list[Report]:
    """What the player writes for each airing: ``begin_play``, then the report with
    ``finish_play`` (one transaction, as after a real play); each report its own UUID."""
    spool = Spool(spool_path)
    reports = []
    try:
        for slot_id, planned in slots:
            started = planned + timedelta(microseconds=rng.randrange(3_000_000))
            spool.begin_play(slot_id, None, started)
            draw = rng.random()
            status, note = "aired", None
            if draw < 0.06:
                status, note = "partial", rng.choice(NOTES)
            elif draw < 0.09:
                status, note = "failed", NOTES[1]
            if note and rng.random() < 0.5:
                # a player's text may come decomposed: a resend must still be the same report
                note = unicodedata.normalize("NFD", note)
            ended = started + timedelta(seconds=2 if status == "failed" else 20)
            report = Report.new(slot_id, started, ended, status, note=note)
            spool.finish_play(report)
            reports.append(report)
        assert spool.counts() == {"pending": len(slots)}
    finally:
        spool.close()
    return reports


def spooled(spool_path: Path, sql: str) -> list[tuple]:
    """Rows of the agent's spool, read from outside its process (read-only)."""
    db = sqlite3.connect(f"file:{spool_path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def pending(spool_path: Path) -> int:
    return spooled(spool_path, "SELECT count(*) FROM reports WHERE state = 'pending'")[0][0]


def start_agent(world, url: str, folder: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BROADCASTER_AGENT_TOKEN": world.other_token}
    out = open(log, "ab")  # noqa: SIM115 (the child keeps it)
    try:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "broadcaster.cli", "agent"),
                *("--server", url, "--station", world.other, "--dir", str(folder)),
                *("--player", f"file:{folder.parent / 'sink'}"),
                # --poll paces the retries of a failed send (backing off up to it)
                *("--poll", "1", "--heartbeat", "5", "--no-long-poll"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


def stop_agent(agent: subprocess.Popen) -> int:
    """SIGTERM, as systemd stops it: a clean stop exits 0."""
    if agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
        try:
            return agent.wait(30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(10)
            raise
    return agent.returncode


@dataclass(frozen=True)
class Kill:
    pending: int  # reports the agent still had to send
    aimed: bool  # timed to land while the server worked on a batch
    restart_s: float  # until the new server answered /healthz


def kill_until_sent(server, proxy, agent, spool_path: Path, rng, log: Path) -> list[Kill]:
    """SIGKILL the server after 1–3 s of life and start it again, until the spool is empty.

    Half the kills, drawn at random, are aimed: each waits for the next batch to go out to
    the server and strikes 0–40 ms later — before, during or just after its transaction
    (the server takes 15–30 ms a batch here); the others fall wherever they fall.
    """
    kills: list[Kill] = []
    started = time.monotonic()

    def left() -> int:
        assert agent.poll() is None, log.read_text()
        assert time.monotonic() - started < DRAIN_TIMEOUT, "the spool did not drain"
        return pending(spool_path)

    while True:
        life_ends = time.monotonic() + rng.uniform(*KILL_EVERY)
        aimed = rng.random() < 0.5
        strike = rng.uniform(0, 0.04)
        while (n := left()) and time.monotonic() < life_ends:
            time.sleep(0.05)
        if aimed and n:
            proxy.watched.clear()
            while (n := left()) and not proxy.watched.wait(0.05):
                pass
            time.sleep(strike)
        if not n:
            return kills
        server.kill()
        down = time.monotonic()
        server.start()  # the same port: the proxy (and so the agent) finds it again
        kills.append(Kill(n, aimed, time.monotonic() - down))


def test_killed_server_and_lossy_link_lose_and_double_nothing(world, cli, tmp_path):
    rng = random.Random(SEED)
    midnight = datetime.now(world.settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(hours=4) / AIRINGS
    starts = [midnight - AIRINGS * step + n * step for n in range(AIRINGS)]
    timings: dict[str, float] = {}

    t = time.monotonic()
    slot_ids = bulk_slots(world, world.other, starts)
    folder = tmp_path / "agent"
    spool_path = folder / "spool.db"
    reports = record_airings(spool_path, list(zip(slot_ids, starts, strict=True)), rng)
    timings["setup"] = time.monotonic() - t

    env = {
        "BROADCASTER_DATABASE_URL": world.settings.database_url,
        "BROADCASTER_AUDIO_DIR": str(world.settings.audio_dir),
        "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
        "BROADCASTER_SECRET_KEY": "test",
        "BROADCASTER_TTS_ENGINE": "espeak",
    }
    server = ProcessServer(env, tmp_path / "server.log")
    server.start()
    proxy = LossyProxy(server.port, seed=SEED, watch="/airings")
    agent_log = tmp_path / "agent.log"
    agent = None
    try:
        t = time.monotonic()
        agent = start_agent(world, proxy.url, folder, agent_log)
        kills = kill_until_sent(server, proxy, agent, spool_path, rng, agent_log)
        timings["drain"] = time.monotonic() - t
        t = time.monotonic()
        assert stop_agent(agent) == 0, agent_log.read_text()
        timings["stop"] = time.monotonic() - t
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(10)
        proxy.close()
        server.kill()

    # not vacuous: the server died while reports were pending (some kills aimed at a
    # batch in progress), and answers the server had given were lost on the way back
    log = agent_log.read_text()
    assert "Lỗi không lường trước" not in log, log
    assert len(kills) >= MIN_KILLS, f"only {len(kills)} kills before the spool drained"
    posts = [e for e in proxy.events if e.method == "POST" and e.path.endswith("/airings")]
    fates = Counter(e.fate for e in posts)
    answered_then_lost = sum(1 for e in posts if e.fate in (AFTER, MID) and e.status == 200)
    assert answered_then_lost >= 2, fates
    assert fates[BEFORE] + fates[AFTER] + fates[MID] >= 5, fates
    duplicates = sum(int(n) for n in re.findall(r"đã có từ trước (\d+)\)", log))
    assert duplicates >= 100, "no batch the server had already stored was sent again"

    # exactly once: every spooled report is in the log once, in one gap-free chain
    states = spooled(spool_path, "SELECT state, count(*) FROM reports GROUP BY state")
    assert dict(states) == {"sent": AIRINGS}
    told = dict(spooled(spool_path, "SELECT id, server_seq FROM reports"))
    t = time.monotonic()
    with world.factory() as s:
        station_id = s.scalar(select(Station.id).where(Station.code == world.other))
        rows = s.execute(
            select(Airing.report_id, Airing.seq, Airing.status, Airing.note).where(
                Airing.station_id == station_id
            )
        ).all()
        aired_slots = set(
            s.scalars(
                select(Slot.id).where(
                    Slot.station_id == station_id, Slot.status == SlotStatus.AIRED
                )
            )
        )
        verified = chain.verify(s)
    assert len(rows) == AIRINGS
    assert {r.report_id for r in rows} == {r.id for r in reports}
    assert sorted(r.seq for r in rows) == list(range(1, AIRINGS + 1))
    assert {r.report_id: r.seq for r in rows} == told  # what the agent was told
    by_id = {r.report_id: r for r in rows}
    for report in reports:
        row = by_id[report.id]
        assert str(row.status) == report.status
        assert row.note == (nfc(report.note) if report.note else None)
    assert aired_slots == {r.slot_id for r in reports if r.status == "aired"}
    assert verified.ok, verified.breaks
    assert verified.rows == AIRINGS
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    timings["check"] = time.monotonic() - t

    answered = [e.server_s for e in posts if e.status == 200]
    print(
        f"\nreliability [{make_url(world.settings.database_url).get_backend_name()}]: "
        f"setup {timings['setup']:.1f} s, drain {timings['drain']:.1f} s, agent stop "
        f"{timings['stop']:.1f} s, checks {timings['check']:.1f} s; "
        f"{len(kills)} kills ({sum(k.aimed for k in kills)} aimed at a batch), "
        f"pending at each {[k.pending for k in kills]}, restart "
        f"{statistics.mean(k.restart_s for k in kills):.1f} s on average; "
        f"{len(posts)} batch POSTs {dict(fates)}, {answered_then_lost} answered then lost, "
        f"{duplicates} reports answered duplicate; server per batch median "
        f"{statistics.median(answered) * 1000:.0f} ms, max {max(answered) * 1000:.0f} ms"
    )
