"""One renderer per asset at a time (khóa tạo âm thanh), on one host or several.

A :class:`RenderLock` is held while one asset is synthesised and mastered, so that
the same audio is made once however many workers ask for it at the same moment:

- a file lock per asset in this host's own lock folder (``BROADCASTER_AUDIO_LOCK_DIR``,
  default ``<instance>/locks``; never the shared audio folder, where file locks cannot
  be trusted across hosts) queues the threads and processes of one host;
- on PostgreSQL, also a session-level advisory lock per asset, taken with
  ``pg_try_advisory_lock`` on a connection of its own and polled until a deadline:
  it queues the hosts. When a renderer dies, its connection closes and the server
  releases the lock; nothing is left to clean up.

On SQLite (one host by nature) the file lock alone. A folder shared between hosts
therefore needs PostgreSQL (docs/audio-store.md). The lock is about not doing the
same work twice (engine quota, CPU); the files stay whole without it, since every
file is published by an atomic rename.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url

from broadcaster.errors import BroadcasterError

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 900  # a long bulletin on a slow line can take minutes
POLL_FIRST_S = 0.05
POLL_MAX_S = 1.0
# The advisory locks' first key ("audi"): the two-key form is a key space apart from the
# one-key locks of the scheduler and the migrations.
ADVISORY_CLASS = 0x61756469


def advisory_key(sha: str) -> int:
    """The asset's 32-bit advisory key: the first 4 bytes of its sha256, signed. Two
    assets sharing it only wait for each other; they are never mixed up."""
    value = int(sha[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def _timed_out(seconds: float) -> BroadcasterError:
    return BroadcasterError(
        "Một tiến trình khác đang tạo cùng bản âm thanh quá {seconds} giây; hãy thử lại sau.",
        seconds=round(seconds),
    )


class RenderLock:
    """The lock for making one asset: ``with lock.hold(sha): ...``.

    ``lock_dir``: this host's folder for the file locks (None: none, which only a
    PostgreSQL ``database_url`` may leave out). ``database_url``: the installation's
    database; a PostgreSQL one adds the advisory lock that holds across hosts.
    """

    def __init__(
        self,
        lock_dir: Path | None,
        database_url: str | None = None,
        *,
        timeout_s: float = LOCK_TIMEOUT_S,
    ) -> None:
        self.lock_dir = lock_dir
        self.timeout_s = timeout_s
        url = make_url(database_url) if database_url else None
        self.database_url = database_url if url and url.get_backend_name() == "postgresql" else None
        if lock_dir is None and self.database_url is None:
            raise ValueError("a render lock needs a lock folder or a PostgreSQL database")
        self._engine = None
        self._guard = threading.Lock()

    @property
    def across_hosts(self) -> bool:
        """True when the lock also holds between hosts (PostgreSQL)."""
        return self.database_url is not None

    @contextmanager
    def hold(self, sha: str) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        with self._local(sha, deadline), self._database(sha, deadline):
            yield

    # -- this host ----------------------------------------------------------------------

    @contextmanager
    def _local(self, sha: str, deadline: float) -> Iterator[None]:
        if self.lock_dir is None:
            yield
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_dir / f"{sha}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.info("waiting for the render lock of %s (another renderer on this host)", sha[:16])
            try:
                lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            except Timeout as exc:
                raise _timed_out(self.timeout_s) from exc
        try:
            yield
        finally:
            lock.release()

    # -- every host (PostgreSQL) ------------------------------------------------------------

    def _connect(self):
        with self._guard:
            if self._engine is None:
                from sqlalchemy.pool import NullPool

                from broadcaster.db import make_engine

                # a connection of its own, closed when the lock is let go: never a pooled
                # one that would carry the lock back into the pool
                self._engine = make_engine(self.database_url, poolclass=NullPool)
        return self._engine.connect()

    @contextmanager
    def _database(self, sha: str, deadline: float) -> Iterator[None]:
        if self.database_url is None:
            yield
            return
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        keys = {"cls": ADVISORY_CLASS, "key": advisory_key(sha)}
        conn = None
        try:
            conn = self._connect()
            pause, said = POLL_FIRST_S, False
            while not conn.execute(text("SELECT pg_try_advisory_lock(:cls, :key)"), keys).scalar():
                conn.commit()
                if not said:
                    log.info("waiting for the render lock of %s (held on another host)", sha[:16])
                    said = True
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _timed_out(self.timeout_s)
                time.sleep(min(pause, left))
                pause = min(pause * 1.5, POLL_MAX_S)
            conn.commit()
        except SQLAlchemyError as exc:
            if conn is not None:
                conn.close()
            raise BroadcasterError(
                "Không kết nối được cơ sở dữ liệu để giữ khóa tạo âm thanh: {reason}",
                reason=str(getattr(exc, "orig", None) or exc),
            ) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:cls, :key)"), keys)
                conn.commit()
            except SQLAlchemyError:  # closing the connection lets it go all the same
                log.warning("could not unlock the render lock of %s", sha[:16])
            finally:
                conn.close()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


__all__ = ["LOCK_TIMEOUT_S", "RenderLock", "advisory_key"]
