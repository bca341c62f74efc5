"""Benchmark: taking airing reports in, against a bare insert of the same rows.

What it measures, per backend (SQLite, and PostgreSQL when a server is given):

* the product path: ``--reports`` airing reports (20,000 by default) from
  ``--stations`` stations (4) of Hà Tĩnh, sent in batches of ``--batch`` (100)
  as ``POST /api/v1/stations/{code}/airings`` through the real Flask app
  (``create_app``, its test client: the whole WSGI handler, token check,
  validation, idempotency look-up, slot checks, hash chain, one transaction
  per batch), the stations taking turns. The slots are the stations' last 14
  days (bench/_station_world.py); the reports are what an agent sends: local
  times with their offset, mostly ``aired``, some ``partial``, ``failed`` or
  ``skipped`` with a note;
* the baseline, in the same run: the rows the product stored (read back, so
  the same values with their hashes already computed) inserted into a second
  fresh database of the same world by SQLAlchemy Core ``insert(Airing)``
  executemany, in the same batches, one transaction per batch. Target: product
  reports/s at least 0.3 of the baseline's rows/s.

The two sides run in lockstep: batch k is posted (timed), its rows are read
back (not timed) and inserted into the baseline's database (timed), then
batch k+1. Whatever else the machine is doing then slows both sides alike,
which keeps the ratio steady on a shared box. Besides wall-clock figures the
table shows this process's CPU time per batch: on PostgreSQL the difference
between the two is mostly waiting for the server.

Building the world and the request bodies is not timed. After each product
run the benchmark checks, untimed, that every report is stored exactly once,
that a re-sent batch is answered "duplicate" and stores nothing, and that
``broadcaster.services.chain.verify`` finds every chain intact.

Run it from the repository root::

    .venv/bin/python bench/ingest.py                      # SQLite (+ PostgreSQL if set)
    .venv/bin/python bench/ingest.py --backend sqlite --reports 20000 --repeat 3
    BROADCASTER_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/ingest.py --backend postgresql
    .venv/bin/python bench/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/test

For PostgreSQL the URL (``--postgres``, else ``BROADCASTER_BENCH_POSTGRES_URL``,
else ``BROADCASTER_TEST_POSTGRES_URL``) only names the server: the benchmark
creates its own databases there and drops them afterwards. The exit status is
0 whatever the timings, 1 if a check fails.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._station_world import (  # noqa: E402
    TZ,
    World,
    bench_settings,
    build_world,
    busy_note,
    machine_busy,
)
from bench.units import postgres_databases, postgres_url, sqlite_databases  # noqa: E402
from broadcaster.clock import local_today  # noqa: E402
from broadcaster.db import make_sessionmaker  # noqa: E402
from broadcaster.models import Airing  # noqa: E402
from broadcaster.services import chain  # noqa: E402
from broadcaster.webapp import create_app, freeze_startup_objects  # noqa: E402

TARGET = 0.3
HISTORY_DAYS = 14
STATUSES = ["aired"] * 17 + ["partial", "failed", "skipped"]
NOTES = {
    "partial": "Mất điện giữa chừng, phát lại không trọn bản tin.",
    "failed": "Bộ khuếch đại cụm loa thôn 3 hỏng, chưa phát được.",
    "skipped": "Nhường giờ cho thông báo khẩn của xã.",
}


class CheckFailed(Exception):
    pass


# --- the reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    code: str
    ids: list[str]
    body: bytes


def make_batches(world: World, total: int, size: int, seed: int = 42) -> list[Batch]:
    """``total`` reports over the world's stations in batches of ``size``, stations in turn."""
    rng = random.Random(seed)
    per_station = [
        total // len(world.codes) + (i < total % len(world.codes)) for i in range(len(world.codes))
    ]
    queues: list[list[Batch]] = []
    for code, count in zip(world.codes, per_station, strict=True):
        slots = world.slots[code]
        reports = []
        for k in range(count):
            slot_id, planned, _sha = slots[k % len(slots)]
            started = planned + timedelta(seconds=k // len(slots), milliseconds=rng.randrange(1000))
            status = STATUSES[rng.randrange(len(STATUSES))]
            played = 20 if status == "aired" else rng.randrange(0, 20)
            report = {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "slot_id": slot_id,
                "started_at": started.astimezone(TZ).isoformat(),
                "ended_at": (started + timedelta(seconds=played)).astimezone(TZ).isoformat(),
                "status": status,
                "audio_sha256": hashlib.sha256(f"audio-{slot_id}".encode()).hexdigest(),
                "source": "agent",
            }
            if status in NOTES:
                report["note"] = NOTES[status]
            reports.append(report)
        queues.append(
            [
                Batch(
                    code,
                    [r["id"] for r in reports[i : i + size]],
                    json.dumps({"reports": reports[i : i + size]}, ensure_ascii=False).encode(),
                )
                for i in range(0, len(reports), size)
            ]
        )
    batches = []
    for turn in range(max(len(q) for q in queues)):
        batches.extend(q[turn] for q in queues if turn < len(q))
    return batches


# --- one measurement ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    reports: int
    product: float  # seconds, wall clock, summed over the batches
    baseline: float
    product_cpu: float  # seconds of this process's CPU
    baseline_cpu: float

    @property
    def ratio(self) -> float:
        return self.baseline / self.product


def _world(engine, workdir: Path, args) -> tuple[World, object]:
    url = engine.url.render_as_string(hide_password=False)
    settings = bench_settings(url, workdir)
    today = local_today(TZ)
    days = [today - timedelta(days=d) for d in range(HISTORY_DAYS, 0, -1)]
    world = build_world(engine, settings, stations_wanted=args.stations, days=days, audio=False)
    return world, settings


def measure_once(product_engine, baseline_engine, workdir: Path, args) -> tuple[Run, dict]:
    """Both sides in lockstep, batch by batch, so both see the same machine.

    Each batch is posted through the app (timed), its stored rows are read back
    (not timed), and the same rows are inserted into the baseline's database
    with Core (timed). Machines shared with other work slow both sides alike.
    """
    world, settings = _world(product_engine, workdir, args)
    baseline_world, _ = _world(baseline_engine, workdir, args)
    if (baseline_world.slots, baseline_world.station_ids) != (world.slots, world.station_ids):
        raise CheckFailed("the baseline's world differs from the product's (ids moved)")
    batches = make_batches(world, args.reports, args.batch)
    app = create_app(settings, run_migrations=False)
    freeze_startup_objects()  # as broadcaster serve and broadcaster.webapp.wsgi do
    client = app.test_client()
    headers = {code: {"Authorization": f"Bearer {world.tokens[code]}"} for code in world.codes}
    columns = [c for c in Airing.__table__.columns if c.name != "id"]
    names = [c.name for c in columns]
    statement = insert(Airing)
    answers = []
    wall = {"product": 0.0, "baseline": 0.0}
    cpu = {"product": 0.0, "baseline": 0.0}
    clock, cpu_clock = time.perf_counter, time.process_time
    try:
        gc.collect()
        for b in batches:
            t, c = clock(), cpu_clock()
            response = client.post(
                f"/api/v1/stations/{b.code}/airings",
                data=b.body,
                headers=headers[b.code],
                content_type="application/json",
            )
            answers.append((response.status_code, response.data))
            wall["product"] += clock() - t
            cpu["product"] += cpu_clock() - c
            with product_engine.connect() as conn:
                rows = [
                    dict(zip(names, r, strict=True))
                    for r in conn.execute(
                        select(*columns).where(Airing.report_id.in_(b.ids)).order_by(Airing.id)
                    )
                ]
            t, c = clock(), cpu_clock()
            with baseline_engine.begin() as conn:
                conn.execute(statement, rows)
            wall["baseline"] += clock() - t
            cpu["baseline"] += cpu_clock() - c
        checks = check_product(product_engine, client, batches, answers, headers)
    finally:
        app.extensions["broadcaster.engine"].dispose()
    with baseline_engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Airing)) != checks["rows"]:
            raise CheckFailed("the baseline did not store every row")
    run = Run(checks["rows"], wall["product"], wall["baseline"], cpu["product"], cpu["baseline"])
    return run, checks


def check_product(engine, client, batches: list[Batch], answers, headers) -> dict:
    """Every report stored exactly once, re-sending changes nothing, every chain intact."""
    sent = [i for b in batches for i in b.ids]
    for (status, data), b in zip(answers, batches, strict=True):
        if status != 200:
            raise CheckFailed(f"a batch of {b.code} was answered {status}: {data[:300]!r}")
        if json.loads(data)["stored"] != len(b.ids):
            raise CheckFailed(f"a batch of {b.code} was not stored whole: {data[:300]!r}")
    again = client.post(
        f"/api/v1/stations/{batches[0].code}/airings",
        data=batches[0].body,
        headers=headers[batches[0].code],
        content_type="application/json",
    )
    resent = again.get_json()
    if again.status_code != 200 or resent["stored"] != 0:
        raise CheckFailed(f"re-sending a batch stored something: {again.data[:300]!r}")
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Airing))
        distinct = conn.scalar(select(func.count(Airing.report_id.distinct())))
        stored_ids = set(conn.scalars(select(Airing.report_id)))
    if not (count == distinct == len(sent)) or stored_ids != set(sent):
        raise CheckFailed(
            f"{len(sent)} reports sent, {count} rows stored with {distinct} distinct ids"
        )
    with make_sessionmaker(engine)() as session:
        verified = chain.verify(session)
    if not verified.ok:
        raise CheckFailed(f"chain.verify found breaks: {verified.breaks[:3]}")
    return {"rows": count, "duplicates": resent["duplicates"], "chains": verified.stations}


def measure(fresh, workdir: Path, args) -> tuple[list[Run], dict]:
    runs, checks = [], {"busy": machine_busy()}
    for i in range(args.repeat):
        with fresh(f"ingest-product-{i}") as product, fresh(f"ingest-baseline-{i}") as baseline:
            run, found = measure_once(product, baseline, workdir, args)
        checks.update(found)
        runs.append(run)
    return runs, checks


# --- the report -----------------------------------------------------------------------


def report(title: str, runs: list[Run], checks: dict, args) -> None:
    def median(values) -> float:
        return statistics.median(values)

    n = runs[0].reports
    batches = -(-n // args.batch)
    product, baseline = median(r.product for r in runs), median(r.baseline for r in runs)
    ratio = median(r.ratio for r in runs)
    print(f"\n{title} — median of {len(runs)} run(s), each on two fresh databases")
    print(f"  {busy_note(checks['busy'])}")
    print(f"  {'':<50}{'seconds':>9}{'reports/s':>11}{'ms/batch':>10}{'CPU ms/batch':>14}")
    for label, wall, cpu in (
        ("product: POST .../airings, the real app", product, median(r.product_cpu for r in runs)),
        (
            "baseline: Core insert(Airing), same rows",
            baseline,
            median(r.baseline_cpu for r in runs),
        ),
    ):
        print(
            f"  {label:<50}{wall:>9.3f}{n / wall:>11,.0f}{1000 * wall / batches:>10.2f}"
            f"{1000 * cpu / batches:>14.2f}"
        )
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(
        f"  product / baseline (reports/s) {ratio:.2f}   target >= {TARGET}: {verdict}   "
        f"(per run: {', '.join(f'{r.ratio:.2f}' for r in runs)})"
    )
    print(
        f"  checks: {checks['rows']:,} rows, {checks['rows']:,} distinct report ids = the ids "
        f"sent; a batch sent again: {checks['duplicates']} duplicates,\n"
        f"  nothing stored; chain.verify ok ({checks['chains']} chains)"
    )


# --- entry point ----------------------------------------------------------------------


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server (default: env)")
    parser.add_argument("--reports", type=_positive_int, default=20_000)
    parser.add_argument("--batch", type=_positive_int, default=100, help="reports per POST")
    parser.add_argument("--stations", type=_positive_int, default=4)
    parser.add_argument("--repeat", type=_positive_int, default=3, help="runs (median shown)")
    args = parser.parse_args(argv)
    if args.batch > 500:
        parser.error("--batch: the API takes at most 500 reports per request")

    print(
        f"Airing ingest: {args.reports:,} reports from {args.stations} stations in batches of "
        f"{args.batch} ({-(-args.reports // args.batch):,} requests, one transaction each)."
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            workdir = Path(tmp)
            if args.backend in ("sqlite", "all"):
                runs, checks = measure(sqlite_databases(workdir), workdir, args)
                report(f"SQLite {sqlite3.sqlite_version}", runs, checks, args)
            if args.backend in ("postgresql", "all"):
                server_url, var = (args.postgres, "--postgres") if args.postgres else postgres_url()
                if not server_url:
                    print(
                        "\nPostgreSQL: skipped (give --postgres URL or set "
                        "BROADCASTER_BENCH_POSTGRES_URL or BROADCASTER_TEST_POSTGRES_URL)."
                    )
                else:
                    with postgres_databases(server_url) as (fresh, version):
                        runs, checks = measure(fresh, workdir, args)
                    report(
                        f"{version} (throwaway databases, server from {var})", runs, checks, args
                    )
    except CheckFailed as exc:
        print(f"\nCHECK FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
