"""Database plumbing: engines, sessions, the UTC time type and migrations.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on
every connection; PostgreSQL goes through psycopg 3 with the same code.
Migrations are Alembic's, shipped inside the package and applied by
``broadcaster init`` and on start.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from broadcaster.clock import utcnow as utcnow  # re-exported: the product's clock
from broadcaster.errors import BroadcasterError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC and given its zone back on the way out. Naive input is
    refused: guessing a zone is how airing logs end up an hour off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str, **kwargs) -> Engine:
    """Create an engine with this project's per-backend settings."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, secret_key: str | None = None) -> None:
    """Bring the schema up to the newest migration (idempotent).

    ``secret_key`` is the instance's: a migration that signs (the stored reports'
    chain) uses it, and reads the configured one when it is not given.
    """
    from alembic import command

    cfg = _alembic_config(engine)
    cfg.attributes["secret_key"] = secret_key
    try:
        with _sqlite_migration_lock(engine):
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise BroadcasterError(
            "Không kết nối hoặc không ghi được cơ sở dữ liệu {url}: {reason}",
            url=engine.url.render_as_string(hide_password=True),
            reason=str(exc.orig),
        ) from exc


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Several processes started at once over one SQLite file (gunicorn's workers) migrate
    one after the other: a lock file beside the database. PostgreSQL takes an advisory
    lock instead (migrations/env.py)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    from filelock import FileLock

    with FileLock(f"{database}.migrate.lock", timeout=600):
        yield


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None when it was never initialised."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(make_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head
