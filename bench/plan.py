"""Benchmark: planning 14 days for every commune of the country under 10 campaigns.

Per backend (SQLite, and PostgreSQL when a server is given as in bench/units.py):

* the first plan: seconds and slots/s of ``broadcaster.planning.plan`` for all
  3,321 stations and 10 campaigns (varied cadence: N a week in the morning, the
  evening or any window, an explicit pattern, two priorities);
* a re-plan with nothing changed (target: under 20 % of the first plan), which
  the digest of the plan's inputs answers without placing anything, and the
  same re-plan forced to compute everything (every campaign named);
* the baseline, measured in the same run on the same database: a bulk insert
  of exactly the rows the plan wrote into the same ``slots`` table (emptied
  first). Target: the first plan at most 3x the baseline.

Run from the repository root::

    .venv/bin/python bench/plan.py [--backend sqlite|postgresql|all] [--days 14]

Nothing is asserted; the figures are printed beside the targets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.units import postgres_databases, postgres_url, sqlite_databases  # noqa: E402
from broadcaster.clock import local_today  # noqa: E402
from broadcaster.db import make_sessionmaker, migrate, transaction  # noqa: E402
from broadcaster.library import ScriptText  # noqa: E402
from broadcaster.models import (  # noqa: E402
    AdminUnit,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Slot,
)
from broadcaster.planning import plan  # noqa: E402
from broadcaster.services import scripts, stations, units, users  # noqa: E402
from broadcaster.services.audit import system_actor  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CADENCES = [
    {"times_per_week": 3, "preferred": "any"},
    {"times_per_week": 2, "preferred": "morning"},
    {"times_per_week": 2, "preferred": "evening"},
    {"times_per_week": 1, "preferred": "any", "weekdays": [0, 2, 4]},
    {"pattern": [[0, "06:00"], [3, "17:30"]]},
    {"times_per_week": 3, "preferred": "evening", "priority": Priority.PRIORITY},
    {"times_per_week": 5, "preferred": "any"},
    {"times_per_week": 2, "preferred": "any", "weekdays": [5, 6]},
    {"pattern": [[1, "05:45"], [4, "17:15"], [5, "06:10"]]},
    {"times_per_week": 4, "preferred": "morning", "priority": Priority.PRIORITY},
]


def prepare(engine) -> int:
    """The whole country, one station per commune, 10 approved scripts and campaigns."""
    migrate(engine)
    factory = make_sessionmaker(engine)
    actor = system_actor()
    with transaction(factory) as s:
        units.import_units(s, actor)
        stations.import_stations(s, actor)
        users.add_user(s, actor, "soan", "editor", "bench-password")
        users.add_user(s, actor, "duyet", "approver", "bench-password")
    with factory() as s:
        editor = users.authenticate(s, "soan", "bench-password")
        approver = users.authenticate(s, "duyet", "bench-password")
    today = local_today(TZ)
    with transaction(factory) as s:
        provinces = s.scalars(select(AdminUnit.id).where(AdminUnit.level == 1)).all()
        for n, cadence in enumerate(CADENCES):
            slug = f"tin-{n}"
            body = " ".join(["Kính thưa bà con, xin thông báo về dịch vụ công trực tuyến."] * 8)
            scripts.save_text(s, editor, ScriptText(slug=slug, title=slug, body=body))
            scripts.submit(s, editor, slug)
            scripts.approve(s, approver, slug)
            script_id = s.scalar(select(Script.id).where(Script.slug == slug))
            campaign = Campaign(
                name=f"Chiến dịch {n}",
                priority=cadence.get("priority", Priority.NORMAL),
                times_per_week=cadence.get("times_per_week"),
                weekdays=cadence.get("weekdays", [0, 1, 2, 3, 4, 5]),
                preferred=cadence.get("preferred", "any"),
                pattern=cadence.get("pattern", []),
                starts_on=today - timedelta(days=30),
                ends_on=today + timedelta(days=120),
            )
            campaign.scripts = [CampaignScript(script_id=script_id, position=0)]
            campaign.targets = [CampaignTarget(unit_id=p) for p in provinces]
            s.add(campaign)
    return len(provinces)


def measure(engine, days: int) -> dict:
    factory = make_sessionmaker(engine)
    now = datetime.combine(local_today(TZ), datetime.min.time(), tzinfo=TZ)  # local midnight
    started = time.perf_counter()
    with transaction(factory) as s:
        first = plan(s, now=now, days=days, tz=TZ)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(factory) as s:
        again = plan(s, now=now, days=days, tz=TZ)
    again_s = time.perf_counter() - started
    with factory() as s:
        everything = s.scalars(select(Campaign.id)).all()
    started = time.perf_counter()
    with transaction(factory) as s:  # naming the campaigns bypasses the digest: full work
        forced = plan(s, now=now, days=days, tz=TZ, campaign_ids=everything)
    forced_s = time.perf_counter() - started
    columns = [c for c in Slot.__table__.columns if c.name != "id"]
    with factory() as s:
        rows = [
            dict(zip([c.name for c in columns], r, strict=True))
            for r in s.execute(select(*columns))
        ]
    with transaction(factory) as s:
        s.execute(delete(Slot))
    started = time.perf_counter()
    with transaction(factory) as s:
        for i in range(0, len(rows), 5_000):
            s.execute(insert(Slot), rows[i : i + 5_000])
    base_s = time.perf_counter() - started
    return {
        "slots": len(rows),
        "first": first_s,
        "again": again_s,
        "base": base_s,
        "created": first.created,
        "unplaced": len(first.unplaced),
        "again_changed": again.created + again.updated + again.cancelled,
        "again_skipped": again.skipped,
        "forced": forced_s,
        "forced_changed": forced.created + forced.updated + forced.cancelled,
    }


def report(title: str, provinces: int, days: int, m: dict) -> None:
    print(
        f"\n{title}: {provinces} provinces, 3,321 stations, {len(CADENCES)} campaigns, "
        f"{days} days (whole ISO weeks)"
    )
    print(
        f"  first plan        {m['first']:8.2f} s  {m['slots'] / m['first']:>10,.0f} slots/s  "
        f"({m['created']:,} slots, {m['unplaced']:,} unplaced)"
    )
    ratio = m["first"] / m["base"]
    print(
        f"  bulk insert       {m['base']:8.2f} s  {m['slots'] / m['base']:>10,.0f} rows/s  "
        "(same rows, same table: the baseline)"
    )
    print(
        f"  plan / baseline   {ratio:8.2f}x   target <= 3x: " + ("met" if ratio <= 3 else "NOT met")
    )
    share = m["again"] / m["first"]
    print(
        f"  re-plan, nothing changed {m['again']:6.2f} s = {share:.0%} of the first plan "
        f"({m['again_changed']} rows changed)   target < 20%: "
        + ("met" if share < 0.2 else "NOT met")
        + (" (the inputs' digest matched)" if m["again_skipped"] else "")
    )
    print(
        f"  re-plan computing everything anyway {m['forced']:6.2f} s = "
        f"{m['forced'] / m['first']:.0%} of the first plan ({m['forced_changed']} rows changed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    if args.backend in ("sqlite", "all"):
        with tempfile.TemporaryDirectory() as tmp, sqlite_databases(Path(tmp))("plan") as engine:
            provinces = prepare(engine)
            report("SQLite", provinces, args.days, measure(engine, args.days))
    if args.backend in ("postgresql", "all"):
        url, _ = postgres_url()
        if not url:
            print(
                "\nPostgreSQL: skipped (set BROADCASTER_BENCH_POSTGRES_URL or "
                "BROADCASTER_TEST_POSTGRES_URL)."
            )
            return
        with postgres_databases(url) as (fresh, version), fresh("plan") as engine:
            provinces = prepare(engine)
            report(version, provinces, args.days, measure(engine, args.days))


if __name__ == "__main__":
    main()
