"""``broadcaster agent`` as a real process: --once, a full run stopped by SIGTERM, bad tokens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster.agent import AgentConfig
from broadcaster.agent.players import FileSinkPlayer
from broadcaster.db import utcnow
from broadcaster.models import Airing, AudioAsset, Slot, Station, StationStatus
from tests.agent.live import AgentThread, ThreadServer, wait_for


@pytest.fixture
def server(world):
    live = ThreadServer(world.app)
    yield live
    live.stop()


def agent(
    *args: str, token: str | None = None, settings: dict | None = None, **popen
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_AGENT_")}
    env.update(settings or {})  # what a unit's environment file gives
    if token is not None:
        env["BROADCASTER_AGENT_TOKEN"] = token  # as a deployment would: not in `ps`
    return subprocess.Popen(
        [sys.executable, "-m", "broadcaster.cli", "agent", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    _out, err = process.communicate(timeout=timeout)
    return process.returncode, err


def test_once_pulls_downloads_and_beats_then_exits(world, server, tmp_path):
    folder = tmp_path / "agent"
    code, log = finish(
        agent(
            "--server",
            server.url,
            "--station",
            world.station,
            "--dir",
            str(folder),
            "--once",
            token=world.token,
        )
    )
    assert code == 0, log
    assert "Đồng bộ một lần" in log
    assert "Danh sách phát ngày" in log
    assert "Traceback" not in log
    with world.factory() as s:
        shas = set(
            s.scalars(
                select(AudioAsset.file_sha256)
                .join(Slot, Slot.audio_asset_id == AudioAsset.id)
                .where(Slot.id.in_(world.slots))
            )
        )
    assert {p.stem for p in (folder / "audio").glob("*.mp3")} == shas  # all of it, verified
    assert (folder / "spool.db").is_file()
    with world.factory() as s:
        beat = s.scalar(select(StationStatus).join(Station).where(Station.code == world.station))
    assert beat is not None and beat.player_state == "idle"


def test_a_full_run_plays_reports_and_stops_cleanly_on_sigterm(world, server, tmp_path):
    (slot_id,) = world.add_slots(world.station, [utcnow() + timedelta(seconds=1)])
    sink = tmp_path / "sink"
    process = agent(
        "--server", server.url, "--station", world.station, "--dir", str(tmp_path / "agent"),
        "--player", f"file:{sink}?speed=8", "--poll", "1", "--heartbeat", "1", "--no-long-poll",
        token=world.token,
    )  # fmt: skip
    try:

        def aired():
            with world.factory() as s:
                return s.scalar(select(Airing).where(Airing.slot_id == slot_id))

        landed = wait_for(aired, what="the airing")
    finally:
        process.send_signal(signal.SIGTERM)
        code, log = finish(process)
    assert code == 0, log
    assert str(landed.status) == "aired"
    assert len(list(sink.glob("*.wav"))) == 1
    for line in ("khởi động", "Bắt đầu phát lượt", "đã phát trọn", "Đã gửi 1 báo cáo", "đã dừng"):
        assert line in log
    assert world.token not in log  # the token never reaches the log


@pytest.mark.parametrize("once", [True, False])
def test_a_refused_token_exits_2_with_a_message(world, server, tmp_path, once):
    args = ["--server", server.url, "--station", world.station, "--dir", str(tmp_path / "a")]
    code, log = finish(agent(*args, *(["--once"] if once else []), token="bst_wrong"))
    assert code == 2
    assert "Lỗi: Máy chủ từ chối mã truy cập (HTTP 401)" in log
    assert "Traceback" not in log
    code, log = finish(agent(*args[:2], "--station", world.other, *args[4:], token=world.token))
    assert code == 2
    assert "HTTP 403" in log


def test_an_unreachable_server_is_exit_1_for_once(tmp_path):
    args = ["--server", "http://127.0.0.1:9", "--station", "18073", "--dir", str(tmp_path)]
    code, log = finish(agent(*args, "--once", token="bst_x"))
    assert code == 1
    assert "Không đồng bộ được" in log
    assert "Traceback" not in log


def test_bad_options_are_named(tmp_path):
    code, log = finish(agent("--server", "loa.local", "--station", "1", "--dir", str(tmp_path),
                             token="bst_x"))  # fmt: skip
    assert code == 2
    assert "--server 'loa.local'" in log
    code, log = finish(agent("--server", "http://x", "--station", "1", "--dir", str(tmp_path)))
    assert code == 2
    assert "--token" in log


def test_a_certificate_file_that_is_not_one_is_refused_at_start(tmp_path):
    args = ["--server", "https://127.0.0.1:9", "--station", "1", "--dir", str(tmp_path / "a")]
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    code, log = finish(agent(*args, "--ca-file", str(key), "--once", token="bst_x"))
    assert code == 2
    assert "không phải chứng chỉ PEM" in log and "(--ca-file)" in log
    missing = tmp_path / "none.pem"
    code, log = finish(agent(*args, "--once", token="bst_x",
                             settings={"BROADCASTER_AGENT_CA_FILE": str(missing)}))  # fmt: skip
    assert code == 2
    assert "Không đọc được tệp chứng chỉ" in log and "Traceback" not in log


def test_the_environment_file_sets_the_poll_and_the_heartbeat(tmp_path):
    args = ["--server", "http://127.0.0.1:9", "--station", "1", "--dir", str(tmp_path), "--once"]
    for name, flag in (("POLL", "--poll"), ("HEARTBEAT", "--heartbeat")):
        settings = {f"BROADCASTER_AGENT_{name}": "0.5"}  # below the least allowed, 1 s
        code, log = finish(agent(*args, token="bst_x", settings=settings))
        assert code == 2 and flag in log, log


def test_one_folder_serves_one_agent(tmp_path):
    import filelock

    args = ["--server", "http://127.0.0.1:9", "--station", "1", "--dir", str(tmp_path), "--once"]
    with filelock.FileLock(str(tmp_path / "agent.lock")):
        code, log = finish(agent(*args, token="bst_x"))
    assert code == 2
    assert "Một tác tử khác" in log


def test_an_agent_killed_mid_airing_reports_it_partial_and_airs_it_again(world, server, tmp_path):
    (slot_id,) = world.add_slots(world.station, [utcnow()])
    folder, sink = tmp_path / "agent", tmp_path / "sink"
    args = ["--server", server.url, "--station", world.station, "--dir", str(folder)]
    slow = agent(*args, "--player", f"file:{sink}?speed=0.05", "--no-long-poll", token=world.token)
    try:
        wait_for(lambda: any(p.stat().st_size > 2_000 for p in sink.glob("*.wav")), what="sound")
    finally:
        slow.kill()  # a power cut: no clean stop, no report sent
        finish(slow)

    restarted = AgentThread(
        AgentConfig(server.url, world.token, world.station, folder, poll_s=1, long_poll=False),
        FileSinkPlayer(sink, speed=8),
    )
    try:

        def both():
            with world.factory() as s:
                rows = s.scalars(
                    select(Airing).where(Airing.slot_id == slot_id).order_by(Airing.seq)
                )
                return [(str(a.status), a.note) for a in rows]

        seen = wait_for(lambda: len(both()) == 2 and both(), what="two airings")
    finally:
        restarted.stop()
    assert seen[0][0] == "partial"
    assert "đột ngột" in seen[0][1]
    assert seen[1] == ("aired", None)
