"""Listening for slot changes and emergencies (PostgreSQL ``LISTEN``).

Migration 0005 makes every write to ``slots`` notify the stations it touched.
One thread per server process listens and counts a generation per station; a
cached playlist answer stays good while its station's generation has not moved
and the listener has been connected throughout, so a pull costs no query at all.
Whenever the listener is not sure (starting, reconnecting after the database
went away), :meth:`SlotNotices.generation` answers None and pulls fall back to
checking the fingerprint query.

The same connection listens on ``broadcaster_emergencies``: a sent emergency
notifies its id once, and the process's :class:`EmergencyWatch` wakes every
station waiting here; and on ``broadcaster_tokens_revoked``, which names a
station that lost a token, so the watch forgets it at once. After a
reconnection the watch looks at the database for whatever it missed.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import make_url

from broadcaster.services.emergency import NOTIFY_CHANNEL
from broadcaster.services.tokens import REVOKED_CHANNEL

if TYPE_CHECKING:
    from broadcaster.webapp.emergency_watch import EmergencyWatch

log = logging.getLogger(__name__)

CHANNEL = "broadcaster_slots"
EMERGENCY_CHANNEL = NOTIFY_CHANNEL  # payload: the new emergency's id
APP_NAME = "broadcaster-slot-notices"


class SlotNotices:
    def __init__(
        self, database_url: str, retry_s: float = 5.0, watch: EmergencyWatch | None = None
    ) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._retry_s = retry_s
        self._lock = threading.Lock()
        self._generations: dict[int, int] = {}
        self._epoch = 0  # bumped at every (re)connection: answers from before are not trusted
        self._connected = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._watch = watch

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="slot-notices", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def generation(self, station_id: int) -> tuple[int, int] | None:
        """The station's change count under the current connection, or None when unsure."""
        if self._thread is None:
            self.start()
        with self._lock:
            if not self._connected:
                return None
            return self._epoch, self._generations.get(station_id, 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=10, application_name=APP_NAME
                ) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {EMERGENCY_CHANNEL}")
                    conn.execute(f"LISTEN {REVOKED_CHANNEL}")
                    with self._lock:
                        self._epoch += 1
                        self._generations.clear()
                        self._connected = True
                    if self._watch is not None:
                        self._watch.pushed(True)
                        self._watch.look()  # what was sent before we listened
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=1.0):
                            if notice.channel == EMERGENCY_CHANNEL:
                                self._emergency(notice.payload)
                            elif notice.channel == REVOKED_CHANNEL:
                                if self._watch is not None:
                                    self._watch.revoked({notice.payload})
                            else:
                                self._bump(notice.payload)
                        conn.execute("SELECT 1")  # notice a dead connection within a second
            except Exception as exc:  # the database went away: distrust the cache, retry
                log.warning("slot notices: %s; pulls check the database until reconnected", exc)
            finally:
                with self._lock:
                    self._connected = False
                if self._watch is not None:
                    self._watch.pushed(False)
            self._stop.wait(self._retry_s)

    def _bump(self, payload: str) -> None:
        try:
            station_id = int(payload)
        except ValueError:
            return
        with self._lock:
            self._generations[station_id] = self._generations.get(station_id, 0) + 1

    def _emergency(self, payload: str) -> None:
        try:
            emergency_id = int(payload)
        except ValueError:
            return
        if self._watch is not None:
            self._watch.heard(emergency_id)
