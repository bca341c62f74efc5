"""Only one scheduler fires: leadership through the database's own locking.

PostgreSQL: a session-level advisory lock held on a connection kept open for
as long as this process leads. Standbys try the lock every few seconds; when
the leader dies its connection closes, the server releases the lock, and a
standby takes over. SQLite serves one machine, so a lock file beside the
database plays the same part.
"""

from __future__ import annotations

import logging
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

# An arbitrary constant of ours ("sched"), distinct from the migration lock's key.
SCHEDULER_LOCK_KEY = 0x7363686564


class Leadership:
    """try_acquire() until it says True; then still_held() now and then; release() at the end."""

    def __init__(self, engine: Engine, lock_dir: Path) -> None:
        self.engine = engine
        self._conn = None
        self._file = (
            FileLock(lock_dir / "scheduler.lock") if engine.dialect.name == "sqlite" else None
        )
        if self._file is not None:
            lock_dir.mkdir(parents=True, exist_ok=True)

    def try_acquire(self) -> bool:
        if self._file is not None:
            try:
                self._file.acquire(timeout=0)
                return True
            except Timeout:
                return False
        conn = self.engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}
            ).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        """False when the lock's connection is gone (then another process may lead)."""
        if self._file is not None:
            return self._file.is_locked
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            log.warning("scheduler lock connection lost; stepping down")
            self._conn = None
            return False

    def release(self) -> None:
        if self._file is not None:
            if self._file.is_locked:
                self._file.release()
            return
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK_KEY}
                )
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
