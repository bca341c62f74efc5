"""What the server side of ``bench/fanout.py`` did, seen from inside each server process.

Imported by the bench's uvicorn factory when ``FANOUT_TRACE_DIR`` is set. It wraps
a few methods of the station front (nothing in the product changes) and writes,
per worker process, a small JSON file the bench reads after a send:

* when the process heard of each emergency (the watch);
* when it had answered the last station it woke, and how many;
* when it had served the last copy of the emergency's audio, and how many;
* the longest stall of its event loop (a 50 ms tick that came late).

So a slow delivery can be told apart: the server late, or the simulated stations
(thousands of client threads on the same two cores) slow to take what it sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path

from broadcaster.webapp import asgi, emergency_watch, fanout

TICK_S = 0.05


class Trace:
    def __init__(self, folder: Path) -> None:
        self.path = folder / f"worker-{os.getpid()}.json"
        self.lock = threading.Lock()
        self.heard: dict[int, float] = {}
        self.answered = 0
        self.last_answer = 0.0
        self.audio = 0
        self.last_audio = 0.0
        self.stall = 0.0  # longest event-loop stall since the last reset
        self.ticking: asyncio.Task | None = None

    def write(self) -> None:
        with self.lock:
            document = {
                "heard": {str(k): v for k, v in self.heard.items()},
                "answered": self.answered,
                "last_answer": self.last_answer,
                "audio": self.audio,
                "last_audio": self.last_audio,
                "stall": self.stall,
            }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document))
        os.replace(tmp, self.path)

    async def tick(self) -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(TICK_S)
            self.stall = max(self.stall, time.monotonic() - began - TICK_S)

    def writer(self) -> None:
        while True:
            time.sleep(0.5)
            self.write()


def install(folder: str) -> None:
    trace = Trace(Path(folder))
    threading.Thread(target=trace.writer, daemon=True, name="fanout-trace").start()

    heard = emergency_watch.EmergencyWatch.heard

    def traced_heard(self, latest: int) -> None:
        if latest > self.latest:
            with trace.lock:  # what follows counts for this emergency
                trace.heard[latest] = time.time()
                trace.stall = 0.0
                trace.answered = trace.audio = 0
                trace.last_answer = trace.last_audio = 0.0
        heard(self, latest)

    answer = fanout.EmergencyBook.answer

    async def traced_answer(self, *args, **kwargs):
        document = await answer(self, *args, **kwargs)
        if document is not None and document.get("items"):
            trace.answered += 1
            trace.last_answer = time.time()
        return document

    audio = fanout.EmergencyBook.audio

    async def traced_audio(self, *args, **kwargs):
        found = await audio(self, *args, **kwargs)
        if found is not None:
            trace.audio += 1
            trace.last_audio = time.time()
        return found

    call = asgi.StationFront.__call__

    async def traced_call(self, scope, receive, send):
        if trace.ticking is None:
            trace.ticking = asyncio.ensure_future(trace.tick())
        return await call(self, scope, receive, send)

    emergency_watch.EmergencyWatch.heard = traced_heard
    fanout.EmergencyBook.answer = traced_answer
    fanout.EmergencyBook.audio = traced_audio
    asgi.StationFront.__call__ = traced_call


def read(folder: Path) -> list[dict]:
    """Every worker's latest record."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("worker-*.json"))]
