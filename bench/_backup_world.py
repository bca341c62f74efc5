"""The national year of bench/report.py, in a database of bench/backup.py's own.

The rows are bench/_report_world.py's (every commune's station, five campaigns at 3 a
week, the slots and about 2.5 million airings of 2026, each station's log a valid hash
chain); on top of them the world stores two yearly compliance reports (the country and
Hà Tĩnh) sealed with the bench's secret key, so that ``restore --verify`` has stored
reports to prove. The database is ``broadcaster_bench_backup[_N]``: the backup bench never
touches bench/report.py's world, and keeps its own between runs (a marker table holds
the parameters; ``--rebuild`` makes a new one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bench import _report_world as rw
from broadcaster.config import normalise_database_url
from broadcaster.db import make_engine, make_sessionmaker, transaction
from broadcaster.reports.periods import resolve
from broadcaster.reports.seal import SealKey
from broadcaster.reports.store import generate

Log = Callable[[str], None]
STORED_REPORTS = ((None, "cả nước"), (rw.PROVINCE_CODE, "Hà Tĩnh"))


def database_name(stations: int | None) -> str:
    return "broadcaster_bench_backup" + ("" if stations is None else f"_{stations}")


def database_url(server_url: str, name: str) -> str:
    url = make_url(normalise_database_url(server_url))
    return url.set(database=name).render_as_string(hide_password=False)


def _store_reports(engine: Engine, secret: str, log: Log) -> float:
    """The year's stored reports (country, province), as the scheduler would keep them."""
    started = time.perf_counter()
    factory = make_sessionmaker(engine)
    period = resolve("year", "2026", 15)
    for unit_code, label in STORED_REPORTS:
        with transaction(factory) as s:
            generate(
                s,
                period,
                key=SealKey.from_secret(secret),
                unit_code=unit_code,
                generated_by="bench",
                tz=rw.TZ,
                as_of=rw.AS_OF,
            )
        log(f"  stored the yearly report of {label}")
    return time.perf_counter() - started


def postgres_world(
    server_url: str, stations: int | None, rebuild: bool, secret: str, log: Log
) -> tuple[Engine, str, dict, bool]:
    """(engine, database name, build summary, built now) for the world on that server."""
    name = database_name(stations)
    admin = make_engine(
        make_url(normalise_database_url(server_url)).render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    params = rw.world_params(stations) | {"stored_reports": len(STORED_REPORTS)}
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        engine = make_engine(database_url(server_url, name))
        summary = rw._reusable(engine, params) if exists and not rebuild else None
        if summary is not None:
            return engine, name, summary, False
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    engine = make_engine(database_url(server_url, name))
    log(f"building the national year in database {name}")
    summary = rw.build(engine, stations, log)
    summary["seconds"]["reports"] = round(_store_reports(engine, secret, log), 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    rw._write_marker(engine, params, summary)
    return engine, name, summary, True
