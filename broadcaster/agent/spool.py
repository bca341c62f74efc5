"""The agent's local spool (hàng đợi cục bộ): one SQLite file in the agent's folder.

It keeps what must survive network loss, server restarts, agent restarts and a
pulled plug:

- ``reports`` — every airing report, with the client UUID it is sent under. A
  report is ``pending`` until the server has answered for it (``stored`` or
  ``duplicate``: both mean the server has it), then ``sent``; one the server
  refuses is ``rejected`` with the reason. Sending again after a crash is
  harmless because the server keeps the first copy of a UUID: exactly once in
  effect.
- ``plays`` — per slot, whether it is playing, aired, partial or failed, and how
  many times it was tried, so a restarted agent does not air a slot twice. A slot
  left ``playing`` by a crash is reported ``partial`` up to the last time the agent
  noted it was still playing.
- ``meta`` — the last playlist and its ETag, so the agent plays on without the server.

WAL with ``synchronous=FULL``: a committed row is on disk before the call returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.errors import BroadcasterError

SCHEMA_VERSION = 2  # 2: a relay's report keeps relayed_s and relay_used
KEEP_SENT = timedelta(days=60)  # the server refuses reports older than this anyway

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    slot_id INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    status TEXT NOT NULL,
    audio_sha256 TEXT,
    note TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'rejected')),
    created_at TEXT NOT NULL,
    sent_at TEXT,
    server_seq INTEGER,
    error TEXT,
    relayed_s INTEGER,
    relay_used TEXT
);
CREATE INDEX IF NOT EXISTS reports_by_state ON reports (state, created_at);
CREATE TABLE IF NOT EXISTS plays (
    slot_id INTEGER PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('playing', 'aired', 'partial', 'failed')),
    attempts INTEGER NOT NULL,
    audio_sha256 TEXT,
    started_at TEXT NOT NULL,
    progress_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Report:
    """One airing as the agent saw it (times in the server's clock, UTC)."""

    id: str
    slot_id: int
    started_at: datetime
    ended_at: datetime
    status: str  # aired | partial | failed
    audio_sha256: str | None = None
    note: str | None = None
    relayed_s: int | None = None  # a relay's: seconds relayed, and the source used
    relay_used: str | None = None

    @classmethod
    def new(cls, slot_id: int, started_at: datetime, ended_at: datetime, status: str, **kw):
        return cls(str(uuid.uuid4()), slot_id, started_at, ended_at, status, **kw)

    def to_api(self) -> dict[str, Any]:
        """The report as ``POST /stations/{code}/airings`` takes it."""
        body: dict[str, Any] = {
            "id": self.id,
            "slot_id": self.slot_id,
            "started_at": _ts(self.started_at).replace("+00:00", "Z"),
            "ended_at": _ts(self.ended_at).replace("+00:00", "Z"),
            "status": self.status,
            "source": "agent",
        }
        if self.audio_sha256:
            body["audio_sha256"] = self.audio_sha256
        if self.note:  # a player's error text could hold anything; the server takes no NUL
            body["note"] = self.note.replace("\x00", "")[:500]
        if self.relayed_s is not None:
            body["relayed_s"] = self.relayed_s
        if self.relay_used is not None:
            body["relay_used"] = self.relay_used
        return body


@dataclass(frozen=True)
class PlayRecord:
    slot_id: int
    state: str  # playing | aired | partial | failed
    attempts: int
    started_at: datetime
    progress_at: datetime


class Spool:
    """The spool file; safe to share between the agent's threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise BroadcasterError(
                "Tệp {path} do phiên bản tác tử mới hơn tạo (lược đồ {version}); "
                "hãy cập nhật broadcaster.",
                path=str(path),
                version=version,
            )
        self._db.executescript(_SCHEMA)  # idempotent: CREATE … IF NOT EXISTS
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(reports)")}
        for column, kind in (("relayed_s", "INTEGER"), ("relay_used", "TEXT")):
            if column not in columns:  # a spool written by an agent before relays
                self._db.execute(f"ALTER TABLE reports ADD COLUMN {column} {kind}")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- meta and the cached playlist ----------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def put(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    def save_playlist(self, document: dict[str, Any], etag: str | None) -> None:
        self.put("playlist", {"etag": etag, "document": document})

    def cached_playlist(self) -> tuple[dict[str, Any], str | None] | None:
        saved = self.get("playlist")
        return (saved["document"], saved["etag"]) if saved else None

    # -- plays ---------------------------------------------------------------------------

    def play(self, slot_id: int) -> PlayRecord | None:
        rows = self._query("SELECT * FROM plays WHERE slot_id = ?", (slot_id,))
        if not rows:
            return None
        r = rows[0]
        return PlayRecord(
            r["slot_id"], r["state"], r["attempts"], _dt(r["started_at"]), _dt(r["progress_at"])
        )

    def begin_play(self, slot_id: int, audio_sha256: str | None, at: datetime) -> int:
        """Note that a slot starts playing; returns which attempt this is (1, 2, …)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO plays (slot_id, state, attempts, audio_sha256, started_at, "
                "progress_at, updated_at) VALUES (?, 'playing', 1, ?, ?, ?, ?) "
                "ON CONFLICT (slot_id) DO UPDATE SET state = 'playing', "
                "attempts = attempts + 1, audio_sha256 = excluded.audio_sha256, "
                "started_at = excluded.started_at, progress_at = excluded.progress_at, "
                "updated_at = excluded.updated_at",
                (slot_id, audio_sha256, _ts(at), _ts(at), _ts(_now())),
            )
            return db.execute(
                "SELECT attempts FROM plays WHERE slot_id = ?", (slot_id,)
            ).fetchone()[0]

    def still_playing(self, slot_id: int, at: datetime) -> None:
        """How far a crash would have let it play: the end of a recovered partial report."""
        with self._tx() as db:
            db.execute(
                "UPDATE plays SET progress_at = ? WHERE slot_id = ? AND state = 'playing'",
                (_ts(at), slot_id),
            )

    def finish_play(self, report: Report) -> None:
        """A play ended: its outcome and its report land together, or neither does."""
        with self._tx() as db:
            self._insert_report(db, report)
            db.execute(
                "UPDATE plays SET state = ?, progress_at = ?, updated_at = ? WHERE slot_id = ?",
                (report.status, _ts(report.ended_at), _ts(_now()), report.slot_id),
            )

    def recover(self) -> list[Report]:
        """Plays a crash left open, closed as ``partial`` (reported, and replayable)."""
        reports = []
        with self._tx() as db:
            for row in db.execute("SELECT * FROM plays WHERE state = 'playing'").fetchall():
                report = Report.new(
                    row["slot_id"],
                    _dt(row["started_at"]),
                    _dt(row["progress_at"]),
                    "partial",
                    audio_sha256=row["audio_sha256"],
                    note="máy đài tắt hoặc tác tử dừng đột ngột khi đang phát",
                )
                self._insert_report(db, report)
                db.execute(
                    "UPDATE plays SET state = 'partial', updated_at = ? WHERE slot_id = ?",
                    (_ts(_now()), row["slot_id"]),
                )
                reports.append(report)
        return reports

    # -- reports -------------------------------------------------------------------------

    @staticmethod
    def _insert_report(db: sqlite3.Connection, report: Report) -> None:
        db.execute(
            "INSERT INTO reports (id, slot_id, started_at, ended_at, status, audio_sha256, "
            "note, created_at, relayed_s, relay_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.id,
                report.slot_id,
                _ts(report.started_at),
                _ts(report.ended_at),
                report.status,
                report.audio_sha256,
                report.note,
                _ts(_now()),
                report.relayed_s,
                report.relay_used,
            ),
        )

    def add_report(self, report: Report) -> None:
        with self._tx() as db:
            self._insert_report(db, report)

    def pending(self, limit: int = 100) -> list[Report]:
        rows = self._query(
            "SELECT * FROM reports WHERE state = 'pending' ORDER BY created_at, rowid LIMIT ?",
            (limit,),
        )
        return [
            Report(
                r["id"],
                r["slot_id"],
                _dt(r["started_at"]),
                _dt(r["ended_at"]),
                r["status"],
                r["audio_sha256"],
                r["note"],
                r["relayed_s"],
                r["relay_used"],
            )
            for r in rows
        ]

    def pending_count(self) -> int:
        return self._query("SELECT count(*) AS n FROM reports WHERE state = 'pending'")[0]["n"]

    def counts(self) -> dict[str, int]:
        rows = self._query("SELECT state, count(*) AS n FROM reports GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    def mark_sent(self, results: dict[str, int | None]) -> None:
        """The server has these reports (``{id: its seq in the airing log}``)."""
        at = _ts(_now())
        with self._tx() as db:
            db.executemany(
                "UPDATE reports SET state = 'sent', sent_at = ?, server_seq = ?, error = NULL "
                "WHERE id = ? AND state = 'pending'",
                [(at, seq, report_id) for report_id, seq in results.items()],
            )

    def mark_rejected(self, report_id: str, reason: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE reports SET state = 'rejected', error = ?, sent_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (reason[:1000], _ts(_now()), report_id),
            )

    def prune(self, now: datetime | None = None) -> int:
        """Forget sent reports and finished plays older than :data:`KEEP_SENT`."""
        cutoff = _ts((now or _now()) - KEEP_SENT)
        with self._tx() as db:
            gone = db.execute(
                "DELETE FROM reports WHERE state != 'pending' AND created_at < ?", (cutoff,)
            ).rowcount
            db.execute("DELETE FROM plays WHERE state != 'playing' AND updated_at < ?", (cutoff,))
        return gone
