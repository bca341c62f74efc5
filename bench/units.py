"""Benchmark: importing the whole country's units and stations.

What it measures, per backend (SQLite, and PostgreSQL when a server is given):

* the product path: ``import_units`` (34 provinces + 3,321 communes) in one
  transaction, then ``import_stations`` (one station per commune, two broadcast
  windows each) in a second one, exactly as ``broadcaster units import`` and
  ``broadcaster stations import`` run them;
* a re-run of ``import_units`` on the filled database (the idempotent no-op);
* a baseline measured in the same run on the same backend: a bare SQLAlchemy
  Core ``executemany`` INSERT of the same unit, station and window rows into
  scratch tables with the same columns but no keys, indexes or constraints.
  It is the least the database has to do for this data, so "product time /
  baseline time" says how much the product's own work costs on top.

Every measurement is repeated on fresh databases (``--repeat``, default 3) and
the median is reported. Schema creation and building the baseline rows are not
timed. The exit status is 0 whatever the timings: nothing here asserts on time.

Run it from the repository root::

    .venv/bin/python bench/units.py                      # SQLite (+ PostgreSQL if set)
    .venv/bin/python bench/units.py --backend sqlite --repeat 5
    BROADCASTER_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/units.py --backend postgresql

For PostgreSQL the URL (``BROADCASTER_BENCH_POSTGRES_URL``, else
``BROADCASTER_TEST_POSTGRES_URL``) only names the server and a database to
connect to: the benchmark creates its own ``bench_units_<hex>`` databases there
and drops them afterwards. SQLite databases are files in a temporary directory.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Time,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url

from broadcaster.config import normalise_database_url
from broadcaster.db import UTCDateTime, make_engine, make_sessionmaker, migrate, transaction, utcnow
from broadcaster.models import AdminUnit, Station, StationWindow
from broadcaster.services.audit import system_actor
from broadcaster.services.stations import DEFAULT_WINDOWS, import_stations, parse_windows
from broadcaster.services.units import (
    COMMUNE_LEVEL,
    PROVINCE_LEVEL,
    import_units,
    official_communes,
    official_provinces,
)
from broadcaster.vntext import fold, mid_sentence_name

POSTGRES_URL_VARS = ("BROADCASTER_BENCH_POSTGRES_URL", "BROADCASTER_TEST_POSTGRES_URL")
TARGET_SECONDS = 10.0
TARGET = f"whole country under {TARGET_SECONDS:g} s on SQLite"

Row = dict[str, Any]
FreshDatabase = Callable[[str], AbstractContextManager[Engine]]


# --- the data -----------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """The rows the product will write, prepared up front for the baseline."""

    units: list[Row]
    stations: list[Row]
    windows: list[Row]


def build_dataset() -> Dataset:
    """The baseline's rows: what ``import_units`` and ``import_stations`` store.

    Calling the official lists here also imports ``vietnam_provinces`` before
    any clock starts, so the first product run does not pay for that import.
    """
    now = utcnow()
    provinces = official_provinces()
    communes = official_communes()

    units: list[Row] = []

    def add_unit(code: str, name: str, kind: str, level: int, path: str, codename: str) -> None:
        # parent_id stays NULL: real ids only exist once the parents are stored,
        # and the baseline is about the cost of the INSERT, not of resolving them.
        units.append(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "level": level,
                "parent_id": None,
                "path": path,
                "codename": codename,
                "name_folded": fold(name),
                "created_at": now,
                "updated_at": now,
            }
        )

    for p in provinces:
        add_unit(p.code, p.name, p.kind, PROVINCE_LEVEL, f"/{p.code}/", p.codename)
    for p in provinces:
        for c in communes.get(p.code, []):
            add_unit(c.code, c.name, c.kind, COMMUNE_LEVEL, f"/{p.code}/{c.code}/", c.codename)

    # Stations take their unit's position as unit_id, which is what the ids of
    # a fresh database come out as; the product also walks communes by code.
    unit_ids = {u["code"]: i for i, u in enumerate(units, start=1)}
    commune_rows = sorted(
        (u for u in units if u["level"] == COMMUNE_LEVEL), key=lambda u: u["code"]
    )
    stations = [
        {
            "code": u["code"],
            "name": f"Đài truyền thanh {mid_sentence_name(u['name'], u['kind'])}",
            "unit_id": unit_ids[u["code"]],
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for u in commune_rows
    ]
    windows = [
        {"station_id": station_id, "starts_at": w.starts_at, "ends_at": w.ends_at}
        for station_id in range(1, len(stations) + 1)
        for w in parse_windows(DEFAULT_WINDOWS)
    ]
    return Dataset(units, stations, windows)


def scratch_tables() -> tuple[MetaData, Table, Table, Table]:
    """Tables with the product's columns and types but no keys, indexes or constraints.

    They live on their own MetaData so nothing here can touch the product schema.
    The timestamp columns keep the product's UTCDateTime type so the same values
    are converted and stored the same way.
    """
    metadata = MetaData()
    units = Table(
        "bench_scratch_units",
        metadata,
        Column("code", String(16)),
        Column("name", String(200)),
        Column("kind", String(32)),
        Column("level", SmallInteger),
        Column("parent_id", Integer),
        Column("path", String(255)),
        Column("codename", String(120)),
        Column("name_folded", String(200)),
        Column("created_at", UTCDateTime()),
        Column("updated_at", UTCDateTime()),
    )
    stations = Table(
        "bench_scratch_stations",
        metadata,
        Column("code", String(32)),
        Column("name", String(255)),
        Column("unit_id", Integer),
        Column("active", Boolean(create_constraint=False)),
        Column("created_at", UTCDateTime()),
        Column("updated_at", UTCDateTime()),
    )
    windows = Table(
        "bench_scratch_station_windows",
        metadata,
        Column("station_id", Integer),
        Column("starts_at", Time),
        Column("ends_at", Time),
    )
    return metadata, units, stations, windows


# --- one measurement ------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Seconds of one repetition on one backend."""

    product_units: float
    product_stations: float
    noop_units: float
    baseline_units: float
    baseline_stations: float

    @property
    def product_total(self) -> float:
        return self.product_units + self.product_stations

    @property
    def baseline_total(self) -> float:
        return self.baseline_units + self.baseline_stations


class Timer:
    """Wall-clock seconds of a block, with a collection first so GC noise lands elsewhere."""

    def __enter__(self) -> Timer:
        gc.collect()
        self.seconds = 0.0
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0


def measure_product(engine: Engine, data: Dataset) -> tuple[float, float, float]:
    """Import units, then stations, then units again; seconds of each transaction."""
    migrate(engine)
    factory = make_sessionmaker(engine)
    actor = system_actor()

    with Timer() as units_timer, transaction(factory) as session:
        import_units(session, actor, None)
    with Timer() as stations_timer, transaction(factory) as session:
        import_stations(session, actor, None)
    with Timer() as noop_timer, transaction(factory) as session:
        noop = import_units(session, actor, None)

    # Not timed: check the product wrote what the baseline writes, so the two
    # numbers compare the same work, and that the re-run really changed nothing.
    written = (_count(engine, AdminUnit), _count(engine, Station), _count(engine, StationWindow))
    wanted = (len(data.units), len(data.stations), len(data.windows))
    if written != wanted:
        raise RuntimeError(f"product wrote units/stations/windows {written}, expected {wanted}")
    if noop.created or noop.updated:
        raise RuntimeError(f"re-running import_units changed rows: {noop}")
    return units_timer.seconds, stations_timer.seconds, noop_timer.seconds


def measure_baseline(engine: Engine, data: Dataset) -> tuple[float, float]:
    """Bare executemany INSERTs of the same rows, split into the same two transactions."""
    metadata, units, stations, windows = scratch_tables()
    metadata.create_all(engine)
    try:
        with Timer() as units_timer, engine.begin() as conn:
            conn.execute(insert(units), data.units)
        with Timer() as stations_timer, engine.begin() as conn:
            conn.execute(insert(stations), data.stations)
            conn.execute(insert(windows), data.windows)
    finally:
        metadata.drop_all(engine)
    return units_timer.seconds, stations_timer.seconds


def measure(fresh_database: FreshDatabase, data: Dataset, repeat: int) -> list[Run]:
    runs = []
    for i in range(repeat):
        # Each side gets its own brand-new database: sharing one would let the
        # second side reuse pages or caches the first one just warmed.
        with fresh_database(f"product-{i}") as engine:
            product_units, product_stations, noop_units = measure_product(engine, data)
        with fresh_database(f"baseline-{i}") as engine:
            baseline_units, baseline_stations = measure_baseline(engine, data)
        runs.append(
            Run(product_units, product_stations, noop_units, baseline_units, baseline_stations)
        )
    return runs


# --- backends ---------------------------------------------------------------------


def sqlite_databases(directory: Path) -> FreshDatabase:
    """New database files in ``directory``, one per call."""

    @contextmanager
    def fresh(label: str) -> Iterator[Engine]:
        engine = make_engine(f"sqlite:///{directory / label}.db")
        try:
            yield engine
        finally:
            engine.dispose()

    return fresh


@contextmanager
def postgres_databases(server_url: str) -> Iterator[tuple[FreshDatabase, str]]:
    """Throwaway databases on the server ``server_url`` points at, and its version."""
    url = make_url(normalise_database_url(server_url))
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")

    @contextmanager
    def fresh(_label: str) -> Iterator[Engine]:
        name = f"bench_units_{secrets.token_hex(6)}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine = None
        try:
            engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
            yield engine
        finally:
            if engine is not None:
                engine.dispose()
            with admin.connect() as conn:
                # FORCE (PostgreSQL 13+) ends a connection a failed run may have
                # left behind, so an error never strands a database on the server.
                force = " WITH (FORCE)" if conn.dialect.server_version_info >= (13,) else ""
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))

    try:
        with admin.connect() as conn:
            version = conn.scalar(text("SHOW server_version"))
        yield fresh, f"PostgreSQL {version}"
    finally:
        admin.dispose()


def postgres_url() -> tuple[str | None, str]:
    """The server URL from the environment, and the variable it came from."""
    for var in POSTGRES_URL_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return value, var
    return None, ""


# --- the report -----------------------------------------------------------------


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f}" if seconds > 0 else f"{'-':>10}"


def _line(label: str, rows: int, seconds: float) -> str:
    return f"  {label:<34}{rows:>7,}{seconds:>10.3f}{_rate(rows, seconds)}"


def report(title: str, data: Dataset, runs: list[Run], *, is_sqlite: bool) -> None:
    def median(field: Callable[[Run], float]) -> float:
        return statistics.median(field(r) for r in runs)

    n_units, n_stations, n_windows = len(data.units), len(data.stations), len(data.windows)
    product = median(lambda r: r.product_total)
    baseline = median(lambda r: r.baseline_total)
    windows_note = f"stations (+{n_windows:,} windows)"

    print(f"\n{title} — median of {len(runs)} run(s), each on fresh databases")
    print(f"  {'':<34}{'rows':>7}{'seconds':>10}{'rows/s':>10}")
    print("  product path (import_units, import_stations)")
    print(_line("  units", n_units, median(lambda r: r.product_units)))
    print(_line(f"  {windows_note}", n_stations, median(lambda r: r.product_stations)))
    print(_line("  total (median of run totals)", n_units + n_stations, product))
    print("  baseline (bare executemany INSERT, no indexes or constraints)")
    print(_line("  units", n_units, median(lambda r: r.baseline_units)))
    print(_line(f"  {windows_note}", n_stations, median(lambda r: r.baseline_stations)))
    print(_line("  total (median of run totals)", n_units + n_stations, baseline))
    print(f"  product total per run: {', '.join(f'{r.product_total:.3f}' for r in runs)} s")
    if baseline > 0:
        print(f"  product path: {product / baseline:.1f}× the bare-insert baseline")
    print(
        f"  no-op re-import of units (already filled): {median(lambda r: r.noop_units):.3f} s "
        f"for {n_units:,} unchanged units"
    )
    if is_sqlite:
        verdict = "met" if product < TARGET_SECONDS else "NOT met"
        print(f"  target '{TARGET}': {verdict} ({product:.3f} s)")
    else:
        print(f"  target '{TARGET}': applies to SQLite only ({product:.3f} s here)")


# --- entry point ------------------------------------------------------------------


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument(
        "--repeat", type=_positive_int, default=3, help="runs per measurement (median shown)"
    )
    args = parser.parse_args(argv)

    data = build_dataset()
    provinces = sum(u["level"] == PROVINCE_LEVEL for u in data.units)
    communes = sum(u["level"] == COMMUNE_LEVEL for u in data.units)
    print(
        f"Whole-country import: {len(data.units):,} units ({provinces} provinces + "
        f"{communes:,} communes), {len(data.stations):,} stations with "
        f"{len(data.windows):,} windows ({DEFAULT_WINDOWS}). Rows = units + stations."
    )

    if args.backend in ("sqlite", "all"):
        with tempfile.TemporaryDirectory(prefix="bench-units-") as tmp:
            runs = measure(sqlite_databases(Path(tmp)), data, args.repeat)
        title = f"SQLite {sqlite3.sqlite_version} (files in a temporary directory)"
        report(title, data, runs, is_sqlite=True)

    if args.backend in ("postgresql", "all"):
        server_url, var = postgres_url()
        if server_url is None:
            print(
                f"\nPostgreSQL: skipped, no server given (set {POSTGRES_URL_VARS[0]} or "
                f"{POSTGRES_URL_VARS[1]}, e.g. postgresql://postgres@127.0.0.1:5432/test)."
            )
        else:
            with postgres_databases(server_url) as (fresh, version):
                runs = measure(fresh, data, args.repeat)
            title = f"{version} (throwaway databases, server from {var})"
            report(title, data, runs, is_sqlite=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
