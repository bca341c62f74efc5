"""Waking waiting stations when an emergency (tin khẩn cấp) is sent.

One :class:`EmergencyWatch` per server process knows the newest emergency id.
On PostgreSQL it hears it from one ``NOTIFY broadcaster_emergencies`` (sent by
:func:`broadcaster.services.emergency.send` in its own transaction, so every
process and replica wakes its stations from the same notification); while that
listener is not connected, and on SQLite, one thread reads the newest id once a
second, and only while somebody waits — a thousand waiting stations cost one
query a second, not a thousand.

It also hears of revoked station tokens (``NOTIFY broadcaster_tokens_revoked``
on PostgreSQL; :func:`~broadcaster.services.tokens.revoked_since` at each look
otherwise), so that the event loop, which lets a station it vouched for wait
again without asking the app, forgets a revoked token within a second.

Two kinds of waiter use it: a server thread blocked in :meth:`wait_beyond`
(WSGI servers such as gunicorn's threads), and the embedded server's event loop
(:mod:`broadcaster.webapp.asgi`), which subscribes with :meth:`subscribe` and
waits without holding a thread.
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable
from datetime import timedelta

from broadcaster.clock import utcnow
from broadcaster.services import tokens
from broadcaster.services.emergency import latest_id

log = logging.getLogger(__name__)


class EmergencyWatch:
    def __init__(self, factory, interval: float = 1.0, max_waiters: int = 4) -> None:
        self._factory = factory
        self._interval = interval
        # Each thread waiter holds a server thread: past this many, a station is told to
        # come back later (503 with Retry-After) so pulls and reports never queue behind
        # long-polls. WSGI deployments set it from their thread count.
        self.max_waiters = max_waiters
        self._cond = threading.Condition()
        self._latest = 0
        self._waiters = 0  # thread waiters plus held interest (the event loop's waiters)
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[int], None]] = []
        self._revoked_listeners: list[Callable[[set[str]], None]] = []
        # revocations older than this were made before this process could vouch for a
        # token (a minute of slack for another host's clock)
        self._revoked_seen = utcnow() - timedelta(minutes=1)
        # set when a LISTEN connection delivers emergencies: no polling needed meanwhile
        self._pushed = False

    @property
    def latest(self) -> int:
        return self._latest

    @property
    def fresh(self) -> bool:
        """Whether :attr:`latest` follows the database by notification (PostgreSQL)."""
        return self._pushed

    def subscribe(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(latest)`` (from the watch's thread) whenever the newest id moves."""
        with self._cond:
            self._listeners.append(listener)

    def subscribe_revoked(self, listener: Callable[[set[str]], None]) -> None:
        """Call ``listener(station_codes)`` (from the watch's thread) when tokens are revoked."""
        with self._cond:
            self._revoked_listeners.append(listener)

    def hold(self) -> None:
        """Somebody outside this class waits: keep looking (see :meth:`release`)."""
        with self._cond:
            self._waiters += 1
            self._ensure_thread()

    def release(self) -> None:
        with self._cond:
            self._waiters -= 1

    def wait_beyond(self, known: int, timeout: float) -> int | None:
        """Block until an emergency newer than ``known`` exists or ``timeout`` passes.

        Returns the newest id seen, or None at once when every waiting place is taken.
        """
        deadline = _time.monotonic() + timeout
        with self._cond:
            if self._waiters >= self.max_waiters:
                return None
            self._waiters += 1
            self._ensure_thread()
            try:
                while self._latest <= known:
                    remaining = deadline - _time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                return self._latest
            finally:
                self._waiters -= 1

    # -- sources -------------------------------------------------------------------------

    def heard(self, latest: int) -> None:
        """A new newest id, from a notification or a look at the database."""
        with self._cond:
            if latest <= self._latest:
                return
            self._latest = latest
            self._cond.notify_all()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(latest)

    def revoked(self, codes: set[str]) -> None:
        """These stations lost a token: this process trusts none of its memories of them."""
        tokens.forget_cached()
        with self._cond:
            listeners = list(self._revoked_listeners)
        for listener in listeners:
            listener(codes)

    def pushed(self, connected: bool) -> None:
        """The LISTEN connection came up (True) or went away (False)."""
        with self._cond:
            self._pushed = connected
            if not connected and self._waiters:
                self._ensure_thread()

    def look(self) -> None:
        """Read the newest id, and the revocations since the last look, from the database."""
        with self._factory() as session:
            latest = latest_id(session)
            seen, codes = tokens.revoked_since(session, self._revoked_seen)
        self._revoked_seen = seen
        if codes:
            self.revoked(codes)
        self.heard(latest)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._pushed:
            self._thread = threading.Thread(target=self._run, daemon=True, name="emergencies")
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._waiters <= 0 or self._pushed:
                    self._thread = None
                    return
            try:
                self.look()
            except Exception:  # a database hiccup: waiters time out and ask again
                log.exception("emergency watch could not read the database")
            _time.sleep(self._interval)
