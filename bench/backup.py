"""Benchmark: a backup and a verified restore of the national year, on PostgreSQL.

The world is bench/report.py's (3,321 stations, five campaigns at 3 a week, the slots
and about 2.5 million airings of 2026, each station's log a hash chain), plus the
year's two stored reports (the country, Hà Tĩnh), in a database of this bench's own
(bench/_backup_world.py; kept between runs, ``--rebuild`` makes it again; a national
build takes about five minutes).

In the same run, over the same database:

* ``broadcaster backup`` (:func:`broadcaster.services.backups.take_backup`: pg_dump under
  an exported snapshot, the manifest's facts, the signed tar) against bare
  ``pg_dump -Fc`` — seconds and size; target: at most 1.5x;
* ``broadcaster restore --verify`` (:func:`broadcaster.backup.restore.verify_backup`)
  against bare ``pg_restore`` into a new database: reading and checking the file, the
  restore, the migration check, then the verification's own cost printed apart (row
  counts, every airing chain, every stored report with its recount).

Each backup runs ``--repeat`` times, bare and product in turn; the best is kept.

Run from the repository root::

    .venv/bin/python bench/backup.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/backup.py --stations 100 --repeat 1      # a quick run

Without ``--postgres`` the server is taken from BROADCASTER_BENCH_POSTGRES_URL (as the
other benchmarks do). Nothing is asserted; the figures are printed beside the target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.units import postgres_url  # noqa: E402

SECRET = "bench-backup-secret-key"
BACKUP_TARGET = 1.5


def _mb(n: int) -> str:
    return f"{n / 1048576:,.1f} MB"


def _runs(values: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in values)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="a server to build the world on")
    parser.add_argument("--stations", type=int, help="this many stations (default: all)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="build the world again")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/broadcaster-bench-backup"))
    args = parser.parse_args()
    server = args.postgres or postgres_url()[0]
    if not server:
        sys.exit(
            "a PostgreSQL server is needed: --postgres URL (or BROADCASTER_BENCH_POSTGRES_URL)"
        )
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    # the settings every part reads (the migrations sign with this key too)
    os.environ.update(
        BROADCASTER_SECRET_KEY=SECRET,
        BROADCASTER_INSTANCE_DIR=str(work / "instance"),
        BROADCASTER_AUDIO_DIR=str(work / "audio"),
        BROADCASTER_BACKUP_DIR=str(work / "backups"),
    )
    from bench._backup_world import database_url, postgres_world

    started = time.perf_counter()
    engine, name, summary, built = postgres_world(
        server, args.stations, args.rebuild, SECRET, lambda m: print(m, flush=True)
    )
    engine.dispose()
    url = database_url(server, name)
    os.environ["BROADCASTER_DATABASE_URL"] = url
    how = f"built in {time.perf_counter() - started:.0f} s" if built else "reused"
    print(
        f"world: database {name} ({how}; first build {summary['seconds']['total']:.0f} s "
        f"+ reports {summary['seconds'].get('reports', 0):.0f} s): {summary['stations']:,} "
        f"stations, {summary['slots']:,} slots, {summary['airings']:,} airings"
    )
    run(url, server, work, args.repeat)


def _bare_dump(url: str, out: Path) -> float:
    from broadcaster.backup import postgres

    t = time.perf_counter()
    conninfo, env = postgres.connection(url)
    subprocess.run(
        [postgres.tool("pg_dump"), "-Fc", "-f", str(out), f"--dbname={conninfo}"],
        env=env,
        check=True,
    )
    return time.perf_counter() - t


def run(url: str, server: str, work: Path, repeat: int) -> None:
    from broadcaster.backup import postgres
    from broadcaster.backup.restore import verify_backup
    from broadcaster.config import load_settings
    from broadcaster.services.backups import take_backup

    settings = load_settings()
    bare_file, product_file = work / "bare.pgdump", work / "product.tar"
    bare_s, product_s = [], []
    for _ in range(max(1, repeat)):
        bare_s.append(_bare_dump(url, bare_file))
        product_file.unlink(missing_ok=True)
        product_s.append(take_backup(settings, product_file).seconds)
    bare_size, product_size = bare_file.stat().st_size, product_file.stat().st_size
    b, p = min(bare_s), min(product_s)
    print()
    print("backup                          seconds        size")
    print(f"  bare pg_dump -Fc             {b:>8.1f}  {_mb(bare_size):>12}")
    print(f"  broadcaster backup           {p:>8.1f}  {_mb(product_size):>12}")
    verdict = "ok" if p / b <= BACKUP_TARGET else "OVER"
    print(
        f"  ratio                        {_ratio(p, b):>8}  {_ratio(product_size, bare_size):>12}"
        f"   (target <= {BACKUP_TARGET}x: {verdict}; all runs: bare "
        f"{_runs(bare_s)} s, product {_runs(product_s)} s)"
    )

    with postgres.scratch_database(url) as scratch:
        t = time.perf_counter()
        postgres.restore_fresh(scratch, bare_file)
        bare_restore = time.perf_counter() - t
    t = time.perf_counter()
    done = verify_backup(product_file, settings)
    total = time.perf_counter() - t
    s, v = done.seconds, done.proof.seconds
    restore_part = s["check"] + s["restore"] + s.get("migrate", 0)
    proof = done.proof
    print()
    print("restore                                    seconds")
    print(f"  bare pg_restore (new database)           {bare_restore:>8.1f}")
    vs_bare = _ratio(restore_part, bare_restore)
    print(f"  restore --verify, restore part           {restore_part:>8.1f}   ({vs_bare} bare)")
    print(f"    read and check the file               {s['check']:>8.1f}")
    print(f"    pg_restore into a scratch database     {s['restore']:>8.1f}")
    print(f"    schema check (migrate)                 {s.get('migrate', 0):>8.1f}")
    print(f"  verification, apart                      {sum(v.values()):>8.1f}")
    print(f"    row counts against the manifest        {v['counts']:>8.1f}")
    chains = f"airing chains ({proof.stations:,} stations, {proof.airings:,} rows)"
    print(f"    {chains:<39}{v['chain']:>8.1f}")
    reports = f"stored reports ({proof.reports}, with their recount)"
    print(f"    {reports:<39}{v['reports']:>8.1f}")
    verdict = "ok" if done.ok else "FAILED"
    print(f"  restore --verify in all                  {total:>8.1f}   (verdict: {verdict})")
    bare_file.unlink(missing_ok=True)
    product_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
