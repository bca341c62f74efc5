"""Restoring a backup: checked in full first, then into a scratch copy or the real database.

:func:`verify_backup` (``broadcaster restore --verify FILE``) restores into a scratch
database — on PostgreSQL a new database on the configured server, dropped afterwards;
on SQLite a temporary file — brings it to this version's schema and proves it
(:mod:`broadcaster.backup.verify`). :func:`restore_backup` (``broadcaster restore
FILE``) restores into the configured database.

Before anything is touched, both refuse (:class:`~broadcaster.backup.archive.BackupRefused`)
a file that is cut short or altered, a manifest that is not signed by this
installation's key, a backup of a schema newer than this version knows, a backend other
than the target's; a real restore also refuses a target that holds data (unless
``replace``) and, always, one that holds another installation's data.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from broadcaster.backup import archive, contents, postgres, sqlite
from broadcaster.backup.archive import BackupKey, BackupRefused, Opened
from broadcaster.backup.verify import Progress, Proof, prove
from broadcaster.config import Settings, normalise_database_url
from broadcaster.db import MIGRATIONS_DIR, make_engine, migrate

# say(message): a step begins (the CLI prints it; the bench stays quiet)
Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


def backend_of(url: str) -> str:
    return "sqlite" if make_url(url).get_backend_name() == "sqlite" else "postgresql"


def known_revision(revision: str | None) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if not revision:
        return False
    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except (CommandError, KeyError, ValueError):
        return False


@contextlib.contextmanager
def workspace(settings: Settings) -> Iterator[Path]:
    """A private folder for the extracted members, beside the backups (room for a dump)."""
    base = settings.backup_dir or settings.instance_dir
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".restore-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def check(path: Path, into: Path, settings: Settings) -> Opened:
    """Read and check the whole file; refuse what must not be restored."""
    opened = archive.open_checked(path, into, BackupKey.from_secret(settings.secret_key))
    revision = opened.manifest.get("schema_revision")
    if not known_revision(revision):
        raise BackupRefused(
            "Tệp sao lưu {path} được lập từ một phiên bản mới hơn (lược đồ {revision}, "
            "phiên bản này không biết): hãy nâng cấp broadcaster lên phiên bản {version} "
            "trở lên rồi khôi phục.",
            path=str(path),
            revision=str(revision),
            version=opened.manifest.get("product_version", "?"),
        )
    return opened


@dataclass
class Verified:
    manifest: dict
    size: int
    proof: Proof
    seconds: dict[str, float] = field(default_factory=dict)  # check, restore, migrate

    @property
    def ok(self) -> bool:
        return self.proof.ok


def verify_backup(
    path: Path,
    settings: Settings,
    *,
    scratch_url: str | None = None,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> Verified:
    """Restore into a scratch database and prove it; the scratch is gone afterwards
    (unless the caller named it with ``scratch_url``)."""
    seconds: dict[str, float] = {}
    with workspace(settings) as work:
        t0 = time.perf_counter()
        say("Đang đọc và kiểm tra tệp sao lưu…")
        opened = check(path, work, settings)
        seconds["check"] = time.perf_counter() - t0
        with _scratch(opened, settings, scratch_url, work) as url:
            say(f"Đang khôi phục vào cơ sở dữ liệu tạm ({_label(url)})…")
            t1 = time.perf_counter()
            engine = make_engine(url)
            try:
                if opened.backend == "sqlite":
                    engine.dispose()
                    sqlite.copy(opened.dump, sqlite.path_of(url))
                else:
                    postgres.restore_fresh(url, opened.dump)
                seconds["restore"] = time.perf_counter() - t1
                t2 = time.perf_counter()
                migrate(engine, settings.secret_key)
                seconds["migrate"] = time.perf_counter() - t2
                say("Đang kiểm chứng bản khôi phục (chuỗi băm nhật ký phát, báo cáo đã lưu)…")
                proof = prove(engine, opened.manifest, settings.secret_key, progress)
            finally:
                engine.dispose()
    return Verified(opened.manifest, opened.size, proof, seconds)


def _label(url: str) -> str:
    u = make_url(url)
    return u.database or "" if u.get_backend_name() == "sqlite" else f"{u.host}/{u.database}"


@contextlib.contextmanager
def _scratch(opened: Opened, settings: Settings, scratch_url: str | None, work: Path):
    backend = opened.backend
    if scratch_url:
        url = normalise_database_url(scratch_url)
        if backend_of(url) != backend:
            raise BackupRefused(
                "Bản sao lưu là của {backend}, --scratch-url lại chỉ tới {other}.",
                backend=backend,
                other=backend_of(url),
            )
        _require_empty(url, "--scratch-url")
        yield url
        return
    if backend == "sqlite":
        yield f"sqlite:///{work / 'scratch.db'}"
        return
    if backend_of(settings.database_url) != "postgresql":
        raise BackupRefused(
            "Bản sao lưu là của PostgreSQL mà cơ sở dữ liệu đang cấu hình là SQLite: "
            "chỉ một cơ sở dữ liệu PostgreSQL trống để kiểm chứng bằng --scratch-url."
        )
    with postgres.scratch_database(settings.database_url) as url:
        yield url


def _require_empty(url: str, flag: str) -> None:
    if backend_of(url) == "sqlite":
        if sqlite.has_tables(sqlite.path_of(url)):
            raise BackupRefused("{flag}: cơ sở dữ liệu {url} không trống.", flag=flag, url=url)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            from sqlalchemy import inspect

            if inspect(conn).get_table_names():
                raise BackupRefused(
                    "{flag}: cơ sở dữ liệu {url} không trống.",
                    flag=flag,
                    url=make_url(url).render_as_string(hide_password=True),
                )
    finally:
        engine.dispose()


@dataclass
class Restored:
    manifest: dict
    size: int
    replaced: bool  # the target held data of the same installation
    count_problems: list[str]
    audio_missing: int = 0  # files the database knows that this host's audio folder lacks
    seconds: dict[str, float] = field(default_factory=dict)


def restore_backup(
    path: Path, settings: Settings, *, replace: bool = False, say: Say = _quiet
) -> Restored:
    """Restore into the configured database, after checking the file and the target."""
    from broadcaster.backup.verify import compare_counts

    seconds: dict[str, float] = {}
    url = settings.database_url
    with workspace(settings) as work:
        t0 = time.perf_counter()
        say("Đang đọc và kiểm tra tệp sao lưu…")
        opened = check(path, work, settings)
        if backend_of(url) != opened.backend:
            raise BackupRefused(
                "Bản sao lưu là của {backend}, cơ sở dữ liệu đang cấu hình là {other}: "
                "không khôi phục được sang hệ khác.",
                backend=opened.backend,
                other=backend_of(url),
            )
        has_data = _check_target(url, opened.manifest, replace)
        seconds["check"] = time.perf_counter() - t0
        say("Đang khôi phục vào cơ sở dữ liệu đang cấu hình…")
        t1 = time.perf_counter()
        if opened.backend == "sqlite":
            sqlite.copy(opened.dump, sqlite.path_of(url))
        else:
            postgres.restore_replacing(url, opened.dump)
        seconds["restore"] = time.perf_counter() - t1
        listed = opened.audio()
        missing = sum(
            not (settings.audio_dir / f["path"]).is_file()
            for f in listed.get("assets", []) + listed.get("recordings", [])
        )
    engine = make_engine(url)
    try:
        migrate(engine, settings.secret_key)
        problems = compare_counts(engine, opened.manifest)
    finally:
        engine.dispose()
    return Restored(opened.manifest, opened.size, has_data, problems, missing, seconds)


def _check_target(url: str, manifest: dict, replace: bool) -> bool:
    """Refuse another installation's data, and any data without ``replace``."""
    if backend_of(url) == "sqlite" and not sqlite.has_tables(sqlite.path_of(url)):
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            empty = contents.is_empty(conn)
            theirs = contents.installation_id(conn)
    finally:
        engine.dispose()
    if empty:
        return False
    ours = manifest.get("installation_id")
    if theirs is not None and theirs != ours:
        raise BackupRefused(
            "Bản sao lưu là của cài đặt khác (mã cài đặt {backup}, cơ sở dữ liệu đích có dữ "
            "liệu của cài đặt {target}): không ghi đè. Khôi phục vào một cơ sở dữ liệu trống.",
            backup=str(ours),
            target=theirs,
        )
    if not replace:
        raise BackupRefused(
            "Cơ sở dữ liệu đích đang có dữ liệu: không ghi đè. Thêm --replace để thay toàn bộ "
            "bằng bản sao lưu (dữ liệu hiện có sẽ mất)."
        )
    return True
