"""Benchmark: yearly compliance reports (báo cáo thực hiện) over a year of the whole country.

The world (bench/_report_world.py): 3,321 stations, 5 campaigns at 3 a week, the
slots of the year 2026 with cut-off day 15 (2025-12-15 .. 2026-12-14) and about
2.5 million airings (on time, late, partial, failed, missed, a few by hand, a few
twice), each station's log a valid hash chain. It is built once per backend and
reused (``--rebuild`` makes a new one); a build takes a few minutes.

Per backend (SQLite, and PostgreSQL with ``--postgres``), each ``--repeat`` times on
a fresh session, p50 and min:

* the product: ``broadcaster.reports.compliance.compute`` for the whole country
  and for one province (42, Hà Tĩnh), yearly;
* the baseline, in the same run over the same rows: ONE hand-written SQL
  aggregate (the period's slots LEFT JOIN their airings, best outcome per slot,
  then counted per station × campaign × week with CASE), fetched fully.

Targets: report / baseline at most 2x; the national report on PostgreSQL under 5 s.
The report's national totals are printed beside the baseline's sums and the
generator's own tally, so a reader sees the three count the same thing.

Run from the repository root::

    .venv/bin/python bench/report.py                       # SQLite
    .venv/bin/python bench/report.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/report.py --backend sqlite --stations 50 --repeat 1   # smoke run

The PostgreSQL URL only names the server: the world lives in its own database
``broadcaster_bench_report`` (``_N`` with ``--stations N``), dropped and created
again on a rebuild. Without ``--postgres`` the URL is taken from
BROADCASTER_BENCH_POSTGRES_URL (as the other benchmarks do), if set.
Nothing is asserted; the figures are printed beside the targets.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._report_world import (  # noqa: E402
    AS_OF,
    PERIOD_END,
    PERIOD_START,
    PROVINCE_CODE,
    TZ,
    World,
    postgres_world,
    sqlite_world,
)
from bench._station_world import busy_note, machine_busy  # noqa: E402
from bench.units import postgres_url  # noqa: E402
from broadcaster.db import UTCDateTime, make_sessionmaker  # noqa: E402
from broadcaster.planning.calendar import week_label  # noqa: E402

RATIO_TARGET = 2.0
POSTGRES_NATIONAL_TARGET_S = 5.0
COUNTS = ("required", "on_time", "late", "partial", "failed", "missed", "unplaced")
SCOPES = (("national", None), ("province", PROVINCE_CODE))

# One statement: the best report of each slot of the period (aired in its span 5,
# aired outside it 4, partial 3, failed or skipped 2, nothing 0), then counted per
# station × campaign × ISO week. A cancelled slot counts only if it aired anyway.
BASELINE_SQL = """
WITH per_slot AS (
    SELECT s.station_id, s.campaign_id, s.week, s.status,
           CASE WHEN s.planned_start IS NULL THEN 1 ELSE 0 END AS unplaced,
           MAX(CASE
               WHEN a.status = 'aired' AND a.started_at >= {early}
                    AND a.started_at <= {late} THEN 5
               WHEN a.status = 'aired' THEN 4
               WHEN a.status = 'partial' THEN 3
               WHEN a.status IN ('failed', 'skipped') THEN 2
               ELSE 0
           END) AS best
    FROM slots s
    LEFT JOIN airings a ON a.slot_id = s.id
    WHERE s.campaign_id IS NOT NULL
      AND (s.planned_start >= :start AND s.planned_start < :end
           OR s.planned_start IS NULL AND s.week >= :first_week AND s.week <= :last_week)
      {scope}
    GROUP BY s.id, s.station_id, s.campaign_id, s.week, s.status, s.planned_start
)
SELECT station_id, campaign_id, week,
       COUNT(*) AS required,
       SUM(CASE WHEN best = 5 THEN 1 ELSE 0 END) AS on_time,
       SUM(CASE WHEN best = 4 THEN 1 ELSE 0 END) AS late,
       SUM(CASE WHEN best = 3 THEN 1 ELSE 0 END) AS partial,
       SUM(CASE WHEN best = 2 THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN best = 0 THEN 1 ELSE 0 END) AS missed,
       SUM(unplaced) AS unplaced
FROM per_slot
WHERE status <> 'cancelled' OR best >= 4
GROUP BY station_id, campaign_id, week
"""
_SPAN = {  # started no earlier than 3 h before the planned start, no later than end + 15 min
    "postgresql": (
        "s.planned_start - interval '180 minutes'",
        "s.window_end + interval '15 minutes'",
    ),
    "sqlite": (
        "datetime(s.planned_start, '-180 minutes')",
        "datetime(s.window_end, '+15 minutes')",
    ),
}
_PROVINCE_SCOPE = (
    "AND s.station_id IN (SELECT st.id FROM stations st"
    " JOIN admin_units u ON u.id = st.unit_id WHERE u.path LIKE :path)"
)


def baseline_statement(dialect: str, province: bool) -> TextClause:
    early, late = _SPAN[dialect]
    sql = BASELINE_SQL.format(early=early, late=late, scope=_PROVINCE_SCOPE if province else "")
    return text(sql).bindparams(
        bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime())
    )


def baseline_params(first: date, last: date, unit_code: str | None) -> dict:
    """The period as UTC instants (local midnights), and the weeks whose Monday is in it
    (where an unplaced slot is dated)."""
    first_monday = first + timedelta(days=(7 - first.weekday()) % 7)
    last_monday = last - timedelta(days=last.weekday())
    params = {
        "start": datetime.combine(first, datetime.min.time(), tzinfo=TZ),
        "end": datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=TZ),
        "first_week": week_label(first_monday),
        "last_week": week_label(last_monday),
    }
    if unit_code is not None:
        params["path"] = f"/{unit_code}/%"
    return params


# -- measuring ------------------------------------------------------------------------


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)


@dataclass
class ScopeResult:
    baseline: Timing = field(default_factory=Timing)
    product: Timing = field(default_factory=Timing)
    sums: dict = field(default_factory=dict)  # the baseline's counts summed over its rows
    groups: int = 0  # rows the baseline fetched
    totals: dict | None = None  # the report's totals
    error: str | None = None  # why the product was not measured


def _timed(factory, work: Callable) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    with factory() as session:
        result = work(session)
    return time.perf_counter() - started, result


def load_product() -> tuple[Callable | None, object, str | None]:
    """(compute, the yearly period, None) or (None, None, why not)."""
    try:
        from broadcaster.reports.compliance import compute
        from broadcaster.reports.periods import resolve
    except ImportError as exc:
        return None, None, f"not importable yet ({exc})"
    period = resolve("year", "2026", cutoff_day=15)
    if (period.start, period.end) != (PERIOD_START, PERIOD_END):
        return None, None, f"resolve gave {period.start} .. {period.end}, not the world's period"
    return compute, period, None


def measure(world: World, repeat: int) -> dict[str, ScopeResult]:
    factory = make_sessionmaker(world.engine)
    dialect = world.engine.dialect.name
    compute, period, why = load_product()
    results = {}
    for scope, unit_code in SCOPES:
        r = results[scope] = ScopeResult(error=why)
        stmt = baseline_statement(dialect, unit_code is not None)
        params = baseline_params(PERIOD_START, PERIOD_END, unit_code)

        def baseline(session, stmt=stmt, params=params):
            # the same footing as the report: its session settings, Core rows
            if dialect == "postgresql":
                session.execute(text("SET LOCAL work_mem = '64MB'"))
                session.execute(text("SET LOCAL jit = off"))
            return session.connection().execute(stmt, params).all()

        def product(session, unit_code=unit_code):
            return compute(session, period, unit_code=unit_code, as_of=AS_OF, tz=TZ)

        for _ in range(repeat):  # alternated, so drift of the machine hits both alike
            seconds, rows = _timed(factory, baseline)
            r.baseline.runs.append(seconds)
            if r.error is None:
                try:
                    seconds, report = _timed(factory, product)
                except Exception:
                    r.error = "raised:\n" + traceback.format_exc(limit=6)
                else:
                    r.product.runs.append(seconds)
                    r.totals = report["totals"]
        r.groups = len(rows)
        r.sums = {k: sum(getattr(row, k) or 0 for row in rows) for k in COUNTS}
    return results


# -- printing ------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def describe(world: World) -> None:
    s = world.summary
    how = "built now" if world.built else f"reused, built {s['built_at']}"
    secs = s["seconds"]
    print(f"\n{world.title} — {world.location} ({how})")
    print(
        f"  world: {s['stations']:,} stations with slots ({s['province_stations']} in province "
        f"{PROVINCE_CODE}), 5 campaigns at 3/week, {PERIOD_START} .. {PERIOD_END}"
    )
    rows = s["slots"] + s["airings"]
    print(
        f"  rows generated: {s['slots']:,} slots + {s['airings']:,} airings = {rows:,}"
        f" (+ {s['stations']:,} chain heads)"
    )
    print(
        f"  build: {secs['total']:.1f} s = units/stations/campaigns {secs['base']:.1f} + "
        f"generating (hash chain included) {secs['generate']:.1f} + writing "
        f"{secs['write']:.1f} + heads/statistics {secs['finish']:.1f}  "
        f"({rows / max(secs['generate'] + secs['write'], 1e-9):,.0f} rows/s)"
    )


def _timing_line(label: str, t: Timing) -> str:
    runs = ", ".join(f"{x:.3f}" for x in t.runs)
    return f"  {label:<56}{t.p50:>9.3f}{t.best:>9.3f}   runs: {runs}"


def print_results(world: World, results: dict[str, ScopeResult], repeat: int) -> list[str]:
    """Print one backend's figures; answer its target lines for the closing summary."""
    is_pg = world.engine.dialect.name == "postgresql"
    header = f"{repeat} run(s) each, alternated, fresh session per run"
    print(f"\n  {header:<56}{'p50 s':>9}{'min s':>9}")
    targets = []
    for scope, unit_code in SCOPES:
        r = results[scope]
        name = "national" if unit_code is None else f"province {unit_code}"
        print(_timing_line(f"{name}: baseline, one SQL aggregate ({r.groups:,} rows)", r.baseline))
        if r.error:
            print(f"  {name}: report not measured: {r.error}")
            targets.append(f"{world.title}, {name}: report not measured")
            continue
        print(_timing_line(f"{name}: report (compute)", r.product))
        ratio = r.product.p50 / r.baseline.p50
        best_ratio = r.product.best / r.baseline.best
        line = f"{name}: report/baseline {ratio:.2f}x (min/min {best_ratio:.2f}x)"
        verdict = f"target <= {RATIO_TARGET:g}x: {_verdict(ratio <= RATIO_TARGET)}"
        print(f"  {line}   {verdict}")
        targets.append(f"{world.title}, {line}: {verdict}")
        if is_pg and unit_code is None:
            ok = r.product.p50 < POSTGRES_NATIONAL_TARGET_S
            line = f"national report on PostgreSQL {r.product.p50:.2f} s (p50)"
            verdict = f"target < {POSTGRES_NATIONAL_TARGET_S:g} s: {_verdict(ok)}"
            print(f"  {line}   {verdict}")
            targets.append(f"{world.title}, {line}: {verdict}")
    for scope, _code in SCOPES:
        _print_counts(scope, results[scope], world.summary["truth"][scope])
    return targets


# Why the three columns could disagree, by the rule the baseline leaves out.
_WHY = {
    "required": "the baseline counts a cancelled slot only when it aired in full; the report "
    "also when it was reported partial or failed",
    "missed": "the baseline has no 'pending' (nor the received-after-as_of rule): every window "
    "of the world closed, and every report arrived, before the report's as_of",
    "unplaced": "an unplaced slot is dated to its week's Monday",
}


def _print_counts(scope: str, r: ScopeResult, truth: dict) -> None:
    """The report's totals beside the baseline's sums and the generator's own tally."""
    print(f"\n  {scope} totals{'':<14}{'generated':>12}{'report':>12}{'baseline':>12}")
    totals = r.totals or {}

    def row(key: str, gen, rep, base=None) -> None:
        shown = ["-" if v is None else f"{v:,}" for v in (gen, rep, base)]
        print(
            f"    {key:<24}{shown[0]:>12}{shown[1]:>12}{shown[2] if base is not None else '':>12}"
        )

    differ = []
    for key in COUNTS:
        gen, rep, base = truth.get(key, 0), totals.get(key), r.sums[key]
        row(key, gen, rep, base)
        if gen != base or (rep is not None and rep != gen):
            differ.append(f"{key} (report {_delta(rep, gen)}, baseline {_delta(base, gen)})")
    aired = truth.get("on_time", 0) + truth.get("late", 0)
    rep = totals["on_time"] + totals["late"] if totals else None
    row("on_time+late", aired, rep, r.sums["on_time"] + r.sums["late"])
    if totals:
        for key in ("aired_agent", "aired_manual"):
            row(key, truth.get(key, 0), totals.get(key))
        row("pending", 0, totals.get("pending"))  # every window had closed by as_of
        row(
            "minutes_aired",
            round(truth.get("aired_us", 0) / 60_000_000, 1),
            totals.get("minutes_aired"),
        )
        row("stations", truth.get("stations", 0), totals.get("stations"))
        if totals.get("stations") != truth.get("stations", 0):
            print(
                "    (stations: the report lists every station of the scope, the generator "
                "counts those it gave slots to)"
            )
    for line in differ:
        print(f"    differ: {line}")
        reason = _WHY.get(line.split(" ", 1)[0])
        if reason:
            print(f"      likely because {reason}")
    if not differ:
        print("    the generator, the report and the baseline count the same slots alike")


def _delta(value, truth) -> str:
    return "-" if value is None else f"{value - truth:+,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/broadcaster-bench-report"))
    parser.add_argument("--postgres", metavar="URL", help="a server to build a database on")
    parser.add_argument("--rebuild", action="store_true", help="build the world again")
    parser.add_argument("--stations", type=int, help="this many stations (default: all)")
    args = parser.parse_args()
    server = args.postgres or postgres_url()[0]
    backend = args.backend or ("both" if server else "sqlite")
    if backend != "sqlite" and not server:
        parser.error("PostgreSQL needs --postgres postgresql://user@host:5432/postgres")
    if args.stations is not None and args.stations < 1:
        parser.error("--stations must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    targets: list[str] = []
    for name in ("sqlite", "postgresql"):
        if backend not in (name, "both"):
            continue
        if name == "sqlite":
            world = sqlite_world(args.workdir, args.stations, args.rebuild, print)
        else:
            world = postgres_world(server, args.stations, args.rebuild, print)
        try:
            describe(world)
            print(f"  {busy_note(machine_busy())}")
            results = measure(world, args.repeat)
            targets += print_results(world, results, args.repeat)
        finally:
            world.engine.dispose()
    print("\nTargets")
    for line in targets:
        print(f"  {line}")


if __name__ == "__main__":
    main()
