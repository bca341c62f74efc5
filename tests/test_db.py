"""Database plumbing: migrations match the models, UTC times, SQLite settings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import make_url

from broadcaster.db import head_revision, make_engine, migrate, schema_revision
from broadcaster.models import AuditEvent, Base


def test_migrations_create_exactly_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert schema_revision(engine) == head_revision()


def test_migrate_is_idempotent(engine):
    migrate(engine)
    migrate(engine)
    assert schema_revision(engine) == head_revision()


def test_times_come_back_utc_aware(factory):
    hanoi = timezone(timedelta(hours=7))
    written = datetime(2026, 1, 1, 6, 30, tzinfo=hanoi)
    with factory() as s:
        s.add(AuditEvent(actor="t", action="x", entity_type="t", entity_id="1", at=written))
        s.commit()
    with factory() as s:
        at = s.scalar(select(AuditEvent.at))
    assert at.tzinfo is not None
    assert at.utcoffset() == timedelta(0)
    assert at == written
    assert at.hour == 23 and at.day == 31  # 06:30 in Hà Nội is 23:30 UTC the day before


def test_naive_times_are_refused(factory):
    with factory() as s:
        naive = datetime(2026, 12, 5, 18, 30)  # no zone
        s.add(AuditEvent(actor="t", action="x", entity_type="t", entity_id="1", at=naive))
        with pytest.raises(Exception, match="naive datetime"):
            s.commit()


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()


def test_unreachable_database_gives_a_clear_error():
    from broadcaster.errors import BroadcasterError

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(BroadcasterError, match="Không kết nối"):
        migrate(engine)


@pytest.mark.postgres
def test_concurrent_starts_on_postgres_migrate_once(postgres_server_url):
    """Three processes starting together on an empty database: all succeed, schema once."""
    import subprocess
    import sys
    import uuid

    from sqlalchemy import create_engine, text

    name = f"broadcaster_race_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    code = (
        "import sys; from broadcaster.db import make_engine, migrate; "
        "migrate(make_engine(sys.argv[1]))"
    )
    try:
        starts = [
            subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        outcomes = [(p.wait(60), p.stderr.read()) for p in starts]
        assert outcomes == [(0, "")] * 3
        engine = make_engine(url)
        assert schema_revision(engine) == head_revision()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_concurrent_starts_on_a_new_sqlite_file_migrate_once(tmp_path):
    """gunicorn's workers starting together on a fresh SQLite file: one migrates, the others
    wait for it (a lock file beside the database), and all of them start."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = (
        "import sys; from broadcaster.db import make_engine, migrate; "
        "migrate(make_engine(sys.argv[1]))"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outcomes = [(p.wait(120), p.stderr.read()) for p in starts]
    assert outcomes == [(0, "")] * 6
    engine = make_engine(url)
    assert schema_revision(engine) == head_revision()
    engine.dispose()
