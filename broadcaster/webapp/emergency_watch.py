"""Waking long-polling stations when an emergency (tin khẩn cấp) is sent."""

from __future__ import annotations

import logging
import threading
import time as _time

from broadcaster.services.emergency import latest_id

log = logging.getLogger(__name__)


class EmergencyWatch:
    """Wakes long-polling stations when a new emergency exists.

    One thread per process looks at the newest emergency id once a second, and
    only while someone waits, so a thousand waiting stations cost one query a
    second, not a thousand.
    """

    def __init__(self, factory, interval: float = 1.0, max_waiters: int = 4) -> None:
        self._factory = factory
        self._interval = interval
        # Each waiter holds a server thread: past this many, a station is answered at
        # once (as with wait=0) so pulls and reports never queue behind long-polls.
        # ``broadcaster serve`` sets it to half its threads.
        self.max_waiters = max_waiters
        self._cond = threading.Condition()
        self._latest = 0
        self._waiters = 0
        self._thread: threading.Thread | None = None

    def wait_beyond(self, known: int, timeout: float) -> int | None:
        """Block until an emergency newer than ``known`` exists or ``timeout`` passes.

        Returns the newest id seen, or None at once when too many stations wait already.
        """
        deadline = _time.monotonic() + timeout
        with self._cond:
            if self._waiters >= self.max_waiters:
                return None
            self._waiters += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="emergencies")
                self._thread.start()
            try:
                while self._latest <= known:
                    remaining = deadline - _time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                return self._latest
            finally:
                self._waiters -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._waiters == 0:
                    self._thread = None
                    return
            try:
                with self._factory() as session:
                    latest = latest_id(session)
            except Exception:  # a database hiccup: waiters time out and ask again
                log.exception("emergency watch could not read the database")
                latest = self._latest
            with self._cond:
                if latest != self._latest:
                    self._latest = latest
                    self._cond.notify_all()
            _time.sleep(self._interval)
