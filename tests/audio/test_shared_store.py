"""Audio shared between hosts: real processes, each a "host", over one audio folder.

Each host has its own lock folder (``BROADCASTER_AUDIO_LOCK_DIR``), so their file
locks cannot see each other, as on two machines sharing an NFS folder; only the
database can make them wait. The engine is the real offline espeak-ng, counting its
pieces in a file all the processes append to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from broadcaster.audio.stores.folder import TEMP_PREFIX
from tests.conftest import REPO

TEXT = "Bà con chú ý. Chiều nay cắt điện."
PIECES = 2  # one per sentence
WAITING = "waiting for the render lock"
GUARD_S = 120  # a hang guard for the test itself, never a measure of speed


@dataclass
class Host:
    name: str
    process: subprocess.Popen
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def result(self) -> dict:
        out, _ = self.process.communicate(timeout=GUARD_S)
        assert self.process.returncode == 0, f"{self.name} failed:\n{self.log()}"
        return json.loads(out.strip().splitlines()[-1])


@dataclass
class Site:
    """The shared audio folder, the database, and what the hosts write to tell us."""

    root: Path
    database_url: str

    @property
    def audio(self) -> Path:
        return self.root / "shared-audio"

    @property
    def count_file(self) -> Path:
        return self.root / "synthesised.txt"

    def pieces(self) -> int:
        if not self.count_file.exists():
            return 0
        return len(self.count_file.read_text().splitlines())

    def host(self, name: str, *, lock_dir: str | None = None, **extra: str) -> Host:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")},
            "DATABASE_URL": "",
            "BROADCASTER_DATABASE_URL": self.database_url,
            "BROADCASTER_AUDIO_DIR": str(self.audio),
            "BROADCASTER_AUDIO_LOCK_DIR": str(self.root / (lock_dir or name) / "locks"),
            "BROADCASTER_INSTANCE_DIR": str(folder / "instance"),
            "BROADCASTER_TTS_ENGINE": "espeak",
            "SHARED_COUNT_FILE": str(self.count_file),
            **extra,
        }
        stderr = folder / "stderr.txt"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.audio.shared_host", TEXT],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr.open("w"),
            text=True,
        )
        return Host(name, process, stderr)

    def leftovers(self) -> list[Path]:
        return sorted(p for p in self.audio.rglob(f"{TEMP_PREFIX}*"))


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def hold_at_gate(site: Site, name: str, **kw) -> tuple[Host, Path]:
    """A host that takes the render lock and stops at its first piece until ``go``."""
    gate = site.root / f"gate-{name}"
    gate.mkdir()
    host = site.host(name, SHARED_GATE=str(gate), **kw)
    wait_until(
        lambda: (gate / "started").exists() or host.process.poll() is not None,
        f"{name} inside the lock",
    )
    assert host.process.poll() is None, host.log()
    return host, gate


@pytest.fixture
def pg_site(tmp_path, postgres_database) -> Site:
    return Site(tmp_path, postgres_database)


@pytest.fixture
def sqlite_site(tmp_path) -> Site:
    return Site(tmp_path, f"sqlite:///{tmp_path / 'broadcaster.db'}")


@pytest.mark.postgres
def test_two_hosts_at_the_same_moment_synthesise_once(pg_site):
    start = pg_site.root / "start"
    hosts = [pg_site.host(name, SHARED_START=str(start)) for name in ("host-a", "host-b")]
    wait_until(lambda: all("ready" in h.log() for h in hosts), "both hosts ready")
    start.touch()
    a, b = (h.result() for h in hosts)
    assert a["across_hosts"] and b["across_hosts"] and a["lock_dir"] != b["lock_dir"]
    assert a["sha256"] == b["sha256"] and a["path"] == b["path"]
    assert a["file_sha256"] == b["file_sha256"]
    assert sorted([a["cached"], b["cached"]]) == [False, True]  # made once, found once
    assert pg_site.pieces() == PIECES
    assert pg_site.leftovers() == []
    assert not (pg_site.audio / "locks").exists()  # the locks stay on each host


@pytest.mark.postgres
def test_the_second_host_waits_for_the_database_lock_and_finds_the_file(pg_site):
    first, gate = hold_at_gate(pg_site, "host-a")
    second = pg_site.host("host-b")
    # different lock folders: only the database lock can make it wait
    wait_until(lambda: WAITING in second.log(), "host-b waiting for host-a")
    assert "held on another host" in second.log()
    assert second.process.poll() is None
    (gate / "go").touch()
    made, found = first.result(), second.result()
    assert (made["cached"], found["cached"]) == (False, True)
    assert made["file_sha256"] == found["file_sha256"]
    assert pg_site.pieces() == PIECES
    assert pg_site.leftovers() == []


@pytest.mark.postgres
def test_a_renderer_killed_inside_the_lock_blocks_nobody(pg_site):
    dead, _ = hold_at_gate(pg_site, "host-a")
    other = pg_site.host("host-b")
    wait_until(lambda: WAITING in other.log(), "host-b waiting for host-a")
    dead.process.send_signal(signal.SIGKILL)  # no unlock, no clean-up: only its socket closes
    dead.process.wait(GUARD_S)
    done = other.result()  # the server released the lock with the connection
    assert done["cached"] is False  # host-a never finished: host-b made it
    assert Path(done["path"]).is_file()
    assert pg_site.pieces() == 1 + PIECES  # host-a's first piece, never finished, and host-b's
    assert pg_site.leftovers() == []  # killed before writing: nothing half-made


def test_on_sqlite_the_file_lock_serialises_two_processes_of_one_host(sqlite_site):
    first, gate = hold_at_gate(sqlite_site, "worker-1", lock_dir="this-host")
    second = sqlite_site.host("worker-2", lock_dir="this-host")
    wait_until(lambda: WAITING in second.log(), "worker-2 waiting for worker-1")
    assert "on this host" in second.log()
    (gate / "go").touch()
    made, found = first.result(), second.result()
    assert (made["cached"], found["cached"]) == (False, True)
    assert not made["across_hosts"]
    assert sqlite_site.pieces() == PIECES
    assert sqlite_site.leftovers() == []


def test_on_sqlite_two_hosts_are_not_serialised_which_is_why_sharing_needs_postgresql(
    sqlite_site,
):
    # the control: without the database lock, lock folders apart means nothing waits
    first, gate = hold_at_gate(sqlite_site, "host-a")
    second = sqlite_site.host("host-b")
    alone = second.result()  # finishes while host-a is still inside its own lock
    assert alone["cached"] is False and WAITING not in second.log()
    (gate / "go").touch()
    assert first.result()["cached"] is False
    assert sqlite_site.pieces() == 2 * PIECES
    assert sqlite_site.leftovers() == []  # synthesised twice, but every file whole
