"""The real server for end-to-end agent tests: waitress in a thread, or a `serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import waitress
from requests.adapters import HTTPAdapter
from waitress import wasyncore

from broadcaster.agent import AgentConfig, Runner
from broadcaster.agent.players import FileSinkPlayer, Player, PlayOutcome


def wait_for(condition: Callable, timeout: float = 60.0, what: str = "", every: float = 0.1):
    """Poll until ``condition()`` is truthy (generous timeouts: CI machines are slow)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Recorder:
    """WSGI middleware noting each request's method and path."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    def __call__(self, environ, start_response):
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.app(environ, start_response)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, p in list(self.seen) if m == method and p.endswith(suffix))


class ThreadServer:
    """The world's Flask app under waitress, in this process."""

    def __init__(self, app) -> None:
        self.recorder = Recorder(app)
        self.server = waitress.create_server(
            self.recorder, host="127.0.0.1", port=0, threads=6, ident="test"
        )
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        # closed from inside waitress's own loop (a socket closed under its select() from
        # another thread is EBADF there); every keep-alive connection with it
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(10)
        # a long poll from an agent the test killed may still wait out its time: not for us
        self.server.task_dispatcher.shutdown(timeout=1)


class FrontServer:
    """The app as ``broadcaster serve`` runs it: uvicorn and the station front, in a thread.

    ``seen`` counts the requests that reached it, by path.
    """

    def __init__(self, app, *, capacity: int | None = None, workers: int = 4) -> None:
        import asyncio

        import uvicorn

        from broadcaster.webapp.asgi import DEFAULT_CAPACITY, StationFront

        self.front = StationFront(app, workers=workers, capacity=capacity or DEFAULT_CAPACITY)
        self.seen: list[str] = []
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"

        async def counted(scope, receive, send):
            if scope["type"] == "http":
                self.seen.append(scope["path"])
            await self.front(scope, receive, send)

        config = uvicorn.Config(
            counted, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve()), daemon=True, name="uvicorn"
        )
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=30, what="uvicorn to start")

    def count(self, suffix: str) -> int:
        return sum(1 for p in list(self.seen) if p.endswith(suffix))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessServer:
    """``broadcaster serve --no-scheduler`` as its own process: killable, restartable."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.where = ["--host", "127.0.0.1", "--port", str(self.port)]
        out = open(self.log, "ab")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broadcaster.cli", "serve", "--no-scheduler", *self.where],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        wait_for(self._healthy, timeout=60, what="the server to answer", every=0.2)

    def _healthy(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class AgentThread:
    """A :class:`Runner` running in a thread of the test process."""

    def __init__(self, config: AgentConfig, player: Player) -> None:
        self.runner = Runner(config, player=player)
        self.result: dict = {}
        self.thread = threading.Thread(target=self._run, daemon=True, name="agent-under-test")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result["exit"] = self.runner.run()
        except BaseException as exc:  # surfaced by stop()
            self.result["error"] = exc

    def stop(self) -> None:
        self.runner.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the agent did not stop"
        if "error" in self.result:
            raise self.result["error"]


class Gate(Player):
    """Plays nothing until the test opens the gate; then plays through ``inner``."""

    def __init__(self, inner: Player) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.waiting = threading.Event()

    def play(self, path: Path, stop: threading.Event) -> PlayOutcome:
        self.waiting.set()
        while not self.open.wait(0.05):
            if stop.is_set():
                break
        return self.inner.play(path, stop)


class SlowOnce(Player):
    """Plays the named files slowly the first time (something long to interrupt)."""

    def __init__(self, sink: Path, slow: set[str], slow_speed: float, speed: float) -> None:
        self.slow = set(slow)
        self.slow_player = FileSinkPlayer(sink, speed=slow_speed)
        self.fast_player = FileSinkPlayer(sink, speed=speed)

    def play(self, path: Path, stop: threading.Event) -> PlayOutcome:
        if path.stem in self.slow:
            self.slow.discard(path.stem)
            return self.slow_player.play(path, stop)
        return self.fast_player.play(path, stop)


class FromAddress(HTTPAdapter):
    """Connections that leave from one loopback address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)
