"""Shared fixtures: a database on every backend, sessions, a CLI runner, a Flask app.

Every database test runs on SQLite and, when ``BROADCASTER_TEST_POSTGRES_URL``
is set, on PostgreSQL too. The PostgreSQL half creates its own throwaway
database for the session and drops it at the end; between tests all tables are
emptied. If the URL is set but the server cannot be reached, the tests fail:
they never skip silently in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.cli import main
from broadcaster.config import normalise_database_url
from broadcaster.db import make_engine, make_sessionmaker, migrate, transaction
from broadcaster.models import Base
from broadcaster.services.audit import system_actor

# approved scripts and campaigns written straight to the tables, for every planning test
pytest_plugins = ["tests.planning.fixtures", "tests.api.world", "tests.reports.scene"]

POSTGRES_URL = os.environ.get("BROADCASTER_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The server CI gives (``BROADCASTER_TEST_POSTGRES_URL``), in psycopg 3 form."""
    if not POSTGRES_URL:
        pytest.skip("BROADCASTER_TEST_POSTGRES_URL is not set")
    return normalise_database_url(POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_database(postgres_server_url) -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for the whole test session."""
    admin_url = make_url(postgres_server_url)
    name = f"broadcaster_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_postgres(url: str) -> None:
    from sqlalchemy.exc import OperationalError

    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                # the airing log refuses TRUNCATE through a trigger; replica mode (a
                # superuser's switch, as the test server's owner is) lets the suite empty it
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("SET LOCAL lock_timeout = '60s'"))  # a leak fails loudly
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            break
        except OperationalError as exc:
            # a finished test's background thread (a long-poll, a presence write) may
            # still be reading while the tables are taken: PostgreSQL picks one side of
            # the deadlock to fail; try again once it is gone
            if "deadlock detected" not in str(exc) or attempt == 2:
                raise
            time.sleep(1)
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "broadcaster.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
        yield url
        _truncate_postgres(url)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(factory) -> Iterator[Session]:
    """A session whose work the test commits itself (services never commit)."""
    with factory() as session:
        yield session


@pytest.fixture
def actor():
    return system_actor()


@pytest.fixture
def ha_tinh(factory, actor) -> None:
    """The demo province (Hà Tĩnh: 1 province, 69 communes) and its stations."""
    from broadcaster.services.stations import import_stations
    from broadcaster.services.units import import_units

    with transaction(factory) as s:
        import_units(s, actor, "Hà Tĩnh")
        import_stations(s, actor, "Hà Tĩnh")


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server of the test's own (Debian's, installed when missing and root;
    a failure instead of a skip with BROADCASTER_REQUIRE_PROXY=1)."""
    from tests.agent.live import free_port, wait_for
    from tests.debian import require_program

    server = require_program(["redis-server"], ["redis-server"], "BROADCASTER_REQUIRE_PROXY")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    wait_for(lambda: _pings(client), timeout=20, what="redis-server to answer")
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@dataclass
class Cli:
    """Runs ``broadcaster`` in-process against the test database."""

    env: dict[str, str | None]

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(main, list(args), env=self.env, input=input, catch_exceptions=False)


@pytest.fixture
def cli(db_url, tmp_path) -> Cli:
    return Cli(
        env={
            "BROADCASTER_DATABASE_URL": db_url,
            "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BROADCASTER_AUDIO_DIR": str(tmp_path / "audio"),
            "BROADCASTER_PASSWORD": None,
            "BROADCASTER_USER": None,
            "BROADCASTER_CONFIG": None,
            "DATABASE_URL": None,
            # never the internet: offline voice by default, gTTS (if asked) on a dead port
            "BROADCASTER_TTS_ENGINE": "espeak",
            "BROADCASTER_GTTS_URL": "http://127.0.0.1:9/",
        }
    )


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many tests ran on each backend, so a CI log shows PostgreSQL really ran."""
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        if report.when != "call":
            continue
        for backend in ("sqlite", "postgresql"):
            if f"[{backend}" in report.nodeid or f"-{backend}" in report.nodeid:
                counts[backend] = counts.get(backend, 0) + 1
    if counts:
        summary = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        terminalreporter.write_line(f"database tests run per backend: {summary}")
