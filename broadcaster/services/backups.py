"""Taking backups (sao lưu), keeping the newest, and what the dashboard says about them.

:func:`take_backup` writes one file (:mod:`broadcaster.backup.archive`) of the
configured database, PostgreSQL or SQLite, while the server keeps running: the dump and
the facts its manifest states come from one consistent moment (an exported snapshot on
PostgreSQL, the online backup's copy on SQLite). :func:`run_recorded` does it as the
scheduler's daily ``backup`` job and ``broadcaster backup`` do: a ``job_runs`` row whose
``detail`` is a small versioned JSON object (file, bytes, seconds; or the error), and
then the retention (the newest ``backup_keep`` files of the backup folder stay).
:func:`status` reads those rows back for the admin's dashboard.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session

from broadcaster import __version__
from broadcaster.backup import archive, contents, postgres, sqlite
from broadcaster.backup.archive import BackupKey
from broadcaster.backup.restore import backend_of, workspace
from broadcaster.config import Settings
from broadcaster.db import make_engine, make_sessionmaker, transaction, utcnow
from broadcaster.errors import BroadcasterError
from broadcaster.models import Installation, JobRun

JOB = "backup"
DETAIL_VERSION = 1
NAME_PREFIX = "broadcaster-"
NAME_SUFFIX = ".tar"
STALE_AFTER = timedelta(hours=36)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    seconds: float
    manifest: dict
    removed: tuple[Path, ...] = ()  # older backups the retention deleted


def default_path(settings: Settings, now: datetime | None = None) -> Path:
    local = (now or utcnow()).astimezone(settings.tz)
    folder = settings.backup_dir or settings.instance_dir / "backups"
    stem = f"{NAME_PREFIX}{local:%Y-%m-%d-%H%M%S}"
    path, n = folder / f"{stem}{NAME_SUFFIX}", 1
    while path.exists():  # two backups within a second (a manual one beside the job's)
        n += 1
        path = folder / f"{stem}-{n}{NAME_SUFFIX}"
    return path


def ensure_installation(engine) -> str:
    """This installation's id (made by migration 0015; made again if the row went)."""
    with transaction(make_sessionmaker(engine)) as s:
        found = s.scalar(select(Installation.id).order_by(Installation.created_at))
        if found is None:
            found = str(uuid.uuid4())
            s.add(Installation(id=found))
        return found


def _facts(conn, settings: Settings) -> tuple[dict, dict]:
    facts = {
        "schema_revision": contents.schema_revision(conn),
        "installation_id": contents.installation_id(conn),
        "row_counts": contents.row_counts(conn),
    }
    return facts, contents.audio_manifest(conn, settings.audio_dir)


def take_backup(settings: Settings, output: Path | None = None) -> BackupResult:
    """Write one backup file of the configured database (default: into the backup folder)."""
    started = time.perf_counter()
    created = utcnow()
    path = (output or default_path(settings, created)).resolve()
    if path.exists() and path.is_dir():
        raise BroadcasterError("{path} là một thư mục: hãy cho tên tệp.", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    url = settings.database_url
    backend = backend_of(url)
    engine = make_engine(url)
    try:
        ensure_installation(engine)
        with workspace(settings) as work:
            dump = work / archive.DUMPS[backend]
            if backend == "postgresql":
                facts, audio, tool_version = _dump_postgres(engine, url, dump, settings)
            else:
                tool_version = sqlite.dump(url, dump)
                copy = create_engine(f"sqlite:///{dump}")  # no pragmas: the copy stays as made
                try:
                    with copy.connect() as conn:
                        facts, audio = _facts(conn, settings)
                finally:
                    copy.dispose()
            audio_file = work / archive.AUDIO_MANIFEST
            audio_file.write_text(json.dumps(audio, ensure_ascii=False, indent=1), "utf-8")
            key = BackupKey.from_secret(settings.secret_key)
            manifest = {
                "format": archive.FORMAT,
                "version": archive.FORMAT_VERSION,
                "created_at": created.isoformat(),
                "product_version": __version__,
                "backend": backend,
                "tool": tool_version,
                "key_fingerprint": key.fingerprint,
                "audio": {
                    "assets": len(audio["assets"]),
                    "recordings": len(audio["recordings"]),
                    "missing": audio["missing"],
                },
                **facts,
            }
            members = {archive.DUMPS[backend]: dump, archive.AUDIO_MANIFEST: audio_file}
            size = archive.write(path, manifest, members, key)
    finally:
        engine.dispose()
    return BackupResult(path, size, time.perf_counter() - started, manifest)


def _dump_postgres(engine, url: str, dump: Path, settings: Settings):
    """pg_dump under a snapshot exported here; the facts read in that same snapshot."""
    postgres.tool("pg_dump")  # a clear message before any work when the client is missing
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts, audio = _facts(conn, settings)
            # the transaction stays open until pg_dump has taken the snapshot over (and done)
            tool_version = postgres.dump(url, dump, snapshot)
    return facts, audio, tool_version


def backups_in(folder: Path) -> list[Path]:
    """The backup files of a folder, oldest first (by the time they were written)."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.startswith(NAME_PREFIX) and p.name.endswith(NAME_SUFFIX)
    ]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backup files of ``folder``; answers the deleted."""
    files = backups_in(folder)
    gone = files[: max(0, len(files) - keep)]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def run_recorded(
    settings: Settings, output: Path | None = None, *, retention: bool = True
) -> BackupResult:
    """A backup recorded in ``job_runs`` (job ``backup``), then the retention when the file
    went into the backup folder. A failure is recorded and raised again."""
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    try:
        with transaction(factory) as s:
            run = JobRun(job=JOB, host=socket.gethostname()[:120], pid=os.getpid())
            s.add(run)
            s.flush()
            run_id = run.id
        ok, detail = False, {"v": DETAIL_VERSION, "error": "bị ngắt giữa chừng"}
        try:
            result = take_backup(settings, output)
            removed: list[Path] = []
            if retention and settings.backup_dir and result.path.parent == settings.backup_dir:
                removed = prune(settings.backup_dir, settings.backup_keep)
            result = BackupResult(
                result.path, result.size, result.seconds, result.manifest, tuple(removed)
            )
            ok = True
            detail = {
                "v": DETAIL_VERSION,
                "file": result.path.name,
                "bytes": result.size,
                "seconds": round(result.seconds, 1),
                "removed": len(removed),
            }
            return result
        except Exception as exc:
            message = exc.message if isinstance(exc, BroadcasterError) else str(exc)
            detail = {"v": DETAIL_VERSION, "error": message or type(exc).__name__}
            raise
        finally:
            with transaction(factory) as s:
                s.execute(
                    update(JobRun)
                    .where(JobRun.id == run_id)
                    .values(
                        finished_at=utcnow(),
                        ok=ok,
                        detail=json.dumps(detail, ensure_ascii=False)[:2000],
                    )
                )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class BackupStatus:
    """The newest backup run and the newest good one, for the admin's dashboard."""

    last_at: datetime | None = None
    last_ok: bool | None = None  # None: running now (or never finished)
    last_file: str | None = None
    last_bytes: int | None = None
    last_error: str | None = None
    good_at: datetime | None = None

    @property
    def never(self) -> bool:
        return self.last_at is None

    def stale(self, now: datetime) -> bool:
        """No good backup, or the newest good one older than :data:`STALE_AFTER`."""
        return self.good_at is None or now - self.good_at > STALE_AFTER


def _detail(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "")
    except ValueError:
        return {"error": raw} if raw else {}
    return value if isinstance(value, dict) else {}


def status(session: Session) -> BackupStatus:
    last = session.scalar(
        select(JobRun).where(JobRun.job == JOB).order_by(JobRun.id.desc()).limit(1)
    )
    if last is None:
        return BackupStatus()
    good = session.scalar(
        select(JobRun.finished_at)
        .where(JobRun.job == JOB, JobRun.ok.is_(True))
        .order_by(JobRun.id.desc())
        .limit(1)
    )
    detail = _detail(last.detail)
    return BackupStatus(
        last_at=last.finished_at or last.started_at,
        last_ok=last.ok,
        last_file=detail.get("file"),
        last_bytes=detail.get("bytes"),
        last_error=detail.get("error") if last.ok is False else None,
        good_at=good,
    )
