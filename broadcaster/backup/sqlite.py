"""SQLite's side of a backup: its online backup API, both ways.

``sqlite3.Connection.backup`` copies the database page by page under one read
transaction: in WAL mode the server keeps taking airing reports while it runs, and the
copy is the database as it stood at one moment. Restoring goes the same way round, into
the configured file, under SQLite's own lock (other connections wait or see the old or
the new database, never half of each).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from broadcaster.db import SQLITE_BUSY_TIMEOUT_MS


def path_of(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def copy(source: Path, target: Path, *, standalone: bool = False) -> None:
    """Copy ``source`` into ``target`` (a new file, or one replaced whole) by the backup API;
    ``standalone``: a file that needs no -wal beside it (the one in the backup)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = _connect(source)
    try:
        dst = _connect(target)
        try:
            src.backup(dst)  # all pages in one step: one consistent moment
            if standalone:
                dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def dump(url: str, out: Path) -> str:
    """A copy of the configured database in ``out`` (a plain, self-contained file)."""
    copy(path_of(url), out, standalone=True)
    return f"sqlite3 {sqlite3.sqlite_version}"


def has_tables(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = _connect(path)
    try:
        return (
            conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0] > 0
        )
    finally:
        conn.close()
