"""The scheduler as real processes: catch-up after SIGKILL, one leader, jobs, serve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction, utcnow
from broadcaster.models import JobRun, Slot, SlotStatus
from broadcaster.planning import plan
from tests.planning.fixtures import TZ

FAST = [
    "--plan-every",
    "2",
    "--watchdog-every",
    "1",
    "--render-every",
    "3600",
    "--standby-poll",
    "0.3",
]


def start(cli, *args: str) -> subprocess.Popen:
    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}}
    for key, value in cli.env.items():
        if value is None:
            env.pop(key, None)
    return subprocess.Popen(
        [sys.executable, "-m", "broadcaster.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def use_environment(cli, monkeypatch) -> None:
    """Run jobs in this process with the test database's settings, as the CLI would."""
    for key, value in cli.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)


def wait_for(condition, timeout: float = 30.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def runs_by(factory, job: str = "plan") -> dict[int, int]:
    with factory() as s:
        rows = s.execute(
            select(JobRun.pid, func.count())
            .where(JobRun.job == job, JobRun.ok.is_(True))
            .group_by(JobRun.pid)
        ).all()
    return dict(rows)


def slot_keys(factory) -> tuple[int, int]:
    with factory() as s:
        total = s.scalar(select(func.count()).select_from(Slot))
        distinct = s.scalar(
            select(func.count()).select_from(
                select(Slot.station_id, Slot.campaign_id, Slot.occurrence).distinct().subquery()
            )
        )
    return total, distinct


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(10)


def test_killed_and_restarted_it_catches_up_and_duplicates_nothing(cli, factory, campaign):
    campaign()
    first = start(cli, "scheduler", *FAST)
    try:
        wait_for(lambda: runs_by(factory).get(first.pid), what="the first plan")
        before = slot_keys(factory)
        assert before[0] > 0 and before[0] == before[1]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        campaign("Mới", preferred="evening")  # added while no scheduler runs
        second = start(cli, "scheduler", *FAST)
        try:
            wait_for(lambda: runs_by(factory).get(second.pid), what="the restarted plan")
            after = slot_keys(factory)
            assert after[0] == after[1]  # nothing duplicated
            assert after[0] > before[0]  # the campaign added while down is planned
        finally:
            stop(second)
    finally:
        stop(first)


def test_a_second_scheduler_waits_while_the_first_leads(cli, factory, campaign):
    campaign()
    a = start(cli, "scheduler", *FAST)
    b = start(cli, "scheduler", *FAST)
    try:
        wait_for(lambda: len(runs_by(factory, "watchdog")) >= 1, what="a leader")
        time.sleep(3)
        leaders = set(runs_by(factory, "watchdog"))
        assert len(leaders) == 1, leaders  # only one process ever fired
        leader, standby = (a, b) if a.pid in leaders else (b, a)
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        wait_for(
            lambda: standby.pid in runs_by(factory, "watchdog"),
            timeout=20,
            what="the standby taking over",
        )
    finally:
        stop(a)
        stop(b)


def test_watchdog_marks_closed_windows_missed(cli, factory, campaign, monkeypatch):
    from broadcaster.scheduler import jobs

    campaign()
    with transaction(factory) as s:
        plan(s, now=utcnow() - timedelta(days=3), days=7, tz=TZ)
    use_environment(cli, monkeypatch)
    jobs.watchdog_job()
    with factory() as s:
        missed = s.scalars(select(Slot).where(Slot.status == SlotStatus.MISSED)).all()
        planned_past = s.scalar(
            select(func.count()).where(
                Slot.status == SlotStatus.PLANNED, Slot.window_end < utcnow() - jobs.MISSED_GRACE
            )
        )
        run = s.scalar(select(JobRun).where(JobRun.job == "watchdog"))
    assert missed and planned_past == 0
    assert run.ok and f"{len(missed)} lượt bị lỡ" == run.detail
    with pytest.raises(ValueError, match="unknown argument version"):
        jobs.watchdog_job(v=99)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_web_and_scheduler_and_stops_cleanly_on_ctrl_c(cli, factory, campaign):
    campaign()
    port = _free_port()
    server = start(cli, "serve", "--port", str(port))
    try:
        page = wait_for(
            lambda: _get(f"http://127.0.0.1:{port}/"), timeout=30, what="the status page"
        )
        assert "broadcaster" in page
        wait_for(lambda: runs_by(factory).get(server.pid), what="the plan job in serve")
        server.send_signal(signal.SIGINT)
        assert server.wait(20) == 0
    finally:
        stop(server)


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def test_render_job_gives_upcoming_slots_their_audio(cli, factory, campaign, monkeypatch):
    from broadcaster.models import AudioAsset
    from broadcaster.scheduler import jobs

    # one station keeps the renders few; every day of the week, so the next 48 hours
    # always hold airings
    campaign(unit="18073", times_per_week=7, weekdays=range(7))
    with transaction(factory) as s:
        plan(s, days=7, tz=TZ)
    use_environment(cli, monkeypatch)
    jobs.render_job()
    with factory() as s:
        soon = s.scalars(
            select(Slot).where(
                Slot.status == SlotStatus.PLANNED,
                Slot.planned_start < utcnow() + jobs.RENDER_AHEAD,
            )
        ).all()
        later = s.scalars(
            select(Slot).where(Slot.planned_start >= utcnow() + jobs.RENDER_AHEAD)
        ).all()
        assets = s.scalars(select(AudioAsset)).all()
        run = s.scalar(select(JobRun).where(JobRun.job == "render"))
    assert run.ok, run.detail
    assert soon and all(slot.audio_asset_id is not None for slot in soon)
    assert later and all(slot.audio_asset_id is None for slot in later)
    by_id = {a.id: a for a in assets}  # the rendered length replaces the estimate
    assert all(slot.duration_ms == by_id[slot.audio_asset_id].duration_ms for slot in soon)
    assert {a.engine for a in assets} == {"espeak"}


def test_rendered_slots_keep_their_audio_and_real_length_when_planned_again(
    cli, factory, campaign, monkeypatch
):
    from broadcaster.library import ScriptText
    from broadcaster.models import Campaign, CampaignScript, Script
    from broadcaster.scheduler import jobs
    from broadcaster.services import scripts as script_svc
    from broadcaster.services import users as user_svc

    cid = campaign(unit="18073", times_per_week=7, weekdays=range(7))
    with transaction(factory) as s:
        plan(s, days=7, tz=TZ)
    use_environment(cli, monkeypatch)
    jobs.render_job()
    with factory() as s:
        rendered = {
            sl.id: (sl.audio_asset_id, sl.duration_ms)
            for sl in s.scalars(select(Slot).where(Slot.audio_asset_id.is_not(None)))
        }
    assert rendered
    with transaction(factory) as s:  # every campaign named: a full computation, no digest
        report = plan(s, days=7, tz=TZ, campaign_ids=[cid])
    assert report.updated == 0
    with factory() as s:
        for slot_id, (asset, ms) in rendered.items():
            slot = s.get(Slot, slot_id)
            assert (slot.audio_asset_id, slot.duration_ms) == (asset, ms)
    # a newly approved version of the script replaces the audio: it must be made anew
    with transaction(factory) as s:
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == cid)
        )
        old_version = s.get(Script, script_id).approved_version_id
    with transaction(factory) as s:
        editor = user_svc.authenticate(s, "soan", "password1")
        approver = user_svc.authenticate(s, "duyet", "password1")
        slug = s.get(Script, script_id).slug
        script_svc.save_text(s, editor, ScriptText(slug=slug, title=slug, body="Nội dung mới."))
        script_svc.submit(s, editor, slug)
        script_svc.approve(s, approver, slug)
    with transaction(factory) as s:
        plan(s, days=7, tz=TZ, campaign_ids=[cid])
    with factory() as s:
        for slot_id in rendered:
            slot = s.get(Slot, slot_id)
            if slot.planned_start > utcnow():
                assert slot.script_version_id != old_version
                assert slot.audio_asset_id is None
        assert s.get(Campaign, cid).status.value == "active"
