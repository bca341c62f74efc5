"""Which stations hold an emergency long-poll on this server process, written down for all.

Each waiting station is counted here while it waits (on the event loop or in a
server thread); one thread per process writes the waiting ones to
``station_presence`` every :data:`~broadcaster.services.health.PRESENCE_EVERY`
(a newcomer within a second), in one short transaction, so the admin and the CLI
on any process see who is connected now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from broadcaster import metrics
from broadcaster.db import transaction
from broadcaster.services.health import PRESENCE_EVERY, note_waiting

log = logging.getLogger(__name__)


class Presence:
    def __init__(self, factory, every: float = PRESENCE_EVERY.total_seconds()) -> None:
        self._factory = factory
        self._every = every
        self._lock = threading.Lock()
        self._here: Counter[str] = Counter()  # station code → long-polls held now
        self._written: dict[str, float] = {}  # station code → when last written
        self._thread: threading.Thread | None = None
        self._stopped = False

    def stop(self, timeout: float = 10.0) -> None:
        """Forget every waiter and end the writing thread (an app being shut down, and
        the tests, so that nothing is written after the process has moved on)."""
        with self._lock:
            self._stopped = True
            metrics.stations_waiting(-len(self._here))
            self._here.clear()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._here.total()

    def arrive(self, code: str) -> None:
        with self._lock:
            if self._stopped:
                return
            if code not in self._here:
                metrics.stations_waiting(1)
            self._here[code] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="presence")
                self._thread.start()

    def leave(self, code: str) -> None:
        with self._lock:
            if code not in self._here:  # stopped meanwhile
                return
            self._here[code] -= 1
            if self._here[code] <= 0:
                del self._here[code]
                metrics.stations_waiting(-1)

    def _due(self) -> list[str] | None:
        """The codes to write now; None when nobody waits (the thread ends)."""
        now = time.monotonic()
        with self._lock:
            if not self._here:
                self._thread = None
                self._written.clear()
                return None
            return [c for c in self._here if now - self._written.get(c, -1e9) >= self._every]

    def _run(self) -> None:
        while (due := self._due()) is not None:
            if due:
                try:
                    with transaction(self._factory) as session:
                        note_waiting(session, due)
                    stamp = time.monotonic()
                    with self._lock:
                        self._written.update(dict.fromkeys(due, stamp))
                except Exception:  # the database is away: try again at the next turn
                    log.exception("presence: could not write the waiting stations")
            time.sleep(1.0)
