"""Benchmark: server time of every main admin page over a year of the whole country.

The world is bench/report.py's (bench/_report_world.py: 3,321 stations, 5
campaigns at 3 a week, 2.6 M slots, 2.5 M airings, each station's log a valid
chain), built once and cached (``--workdir``, default /tmp/broadcaster-bench-report,
the same file bench/report.py uses), plus what bench/_pages_world.py adds: one
user per role, draft scripts and their audit trail.

The app is the product's (``create_app`` on that database, production settings:
CSRF on, no TESTING); each user signs in through /login with Flask's test client,
so a request is timed from the WSGI call to the last byte of the body — server
time, no network. Every page is asked ``--warmup`` times, then timed
``--repeat`` times. The baseline is an empty page of the same app in the same
run: ``base.html`` with no content, signed in, through the same middleware
(sessions, CSRF, Babel, menu, security headers).

Printed per page: status, p50, p95, max, p95 / baseline p95, PASS/FAIL against
200 ms p95 (and a 200 answer), and a summary line. The dashboard keeps its
figures 30 s per process, so it is measured twice: as users see it within that
time (cached) and with its cache emptied before every request (uncached: the
counting itself).

Run from the repository root::

    .venv/bin/python bench/pages.py                     # the whole country (~5 min build once)
    .venv/bin/python bench/pages.py --stations 300      # quick: ~30 s build once, ~1 min run
    .venv/bin/python bench/pages.py --only dashboard --repeat 10

``--postgres URL`` measures on a PostgreSQL server instead (the world in its
own database, as bench/report.py builds it). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._pages_world import PASSWORD, Cast, prepare  # noqa: E402
from bench._report_world import PERIOD_END, PERIOD_START, TZ, postgres_world, sqlite_world  # noqa: E402
from bench._station_world import busy_note, machine_busy  # noqa: E402
from broadcaster.clock import local_today  # noqa: E402

TARGET_MS = 200.0
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
# Within the world's year the dashboard shows the real today; outside it, this day.
WORLD_DAY = date(2026, 6, 17)


@dataclass(frozen=True)
class PageSpec:
    label: str
    role: str  # key of Cast.users
    url: str
    area: str  # the webapp module serving it
    uncached: bool = False  # empty the dashboard's cache before each request


@dataclass
class Result:
    spec: PageSpec
    status: int = 0
    runs: list[float] = field(default_factory=list)  # seconds
    size: int = 0
    error: str | None = None

    def p(self, q: float) -> float:
        """The q-quantile (nearest rank) in ms."""
        ordered = sorted(self.runs)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return 1000 * statistics.median(self.runs)

    @property
    def p95(self) -> float:
        return self.p(0.95)

    @property
    def max(self) -> float:
        return 1000 * max(self.runs)


def pages(cast: Cast) -> list[PageSpec]:
    """The main pages, as the role that mostly uses each (URLs of areas still being built
    may change: edit here)."""
    week = {"from": "2026-06-15", "to": "2026-06-21"}
    station, commune, province = cast.station, cast.commune, cast.province
    return [
        PageSpec("dashboard · country", "admin", "/dashboard/", "dashboard"),
        PageSpec("dashboard · province", "auditor", "/dashboard/", "dashboard"),
        PageSpec("dashboard · commune", "operator", "/dashboard/", "dashboard"),
        PageSpec("dashboard · country, uncached", "admin", "/dashboard/", "dashboard", True),
        PageSpec("dashboard · province, uncached", "auditor", "/dashboard/", "dashboard", True),
        PageSpec("dashboard · commune, uncached", "operator", "/dashboard/", "dashboard", True),
        PageSpec("scripts list", "editor", "/scripts/", "scripts"),
        PageSpec("script detail", "approver", f"/scripts/{cast.script_slug}", "scripts"),
        PageSpec("campaigns list", "approver", "/campaigns/", "campaigns"),
        PageSpec(
            "campaign calendar",
            "approver",
            f"/campaigns/{cast.campaign_id}?week=2026-W25&station={station}",
            "campaigns",
        ),
        PageSpec("stations · country", "admin", "/stations/", "stations"),
        PageSpec("stations · province", "auditor", "/stations/", "stations"),
        PageSpec("station page", "auditor", f"/stations/{station}", "stations"),
        PageSpec("airing log · country p1", "admin", "/airings/", "airings"),
        PageSpec(
            "airing log · filtered",
            "auditor",
            f"/airings/?station={station}&from={week['from']}&to={week['to']}",
            "airings",
        ),
        PageSpec("airing log · page 50", "admin", "/airings/?page=50", "airings"),
        PageSpec("emergency list", "approver", "/emergency/", "emergency"),
        PageSpec("users list", "admin", "/users/", "users"),
        PageSpec("audit log", "admin", "/audit/", "audit_log"),
        PageSpec(
            "compliance · province month",
            "auditor",
            f"/reports/compliance?unit={province}&kind=month&of=2026-06",
            "reports",
        ),
        PageSpec(
            "commune's dashboard by ?unit", "auditor", f"/dashboard/?unit={commune}", "dashboard"
        ),
    ]


def make_app(url: str, workdir: Path, today: date | None):
    from flask import render_template

    from broadcaster.config import load_settings
    from broadcaster.webapp import create_app
    from broadcaster.webapp.auth import signed_in
    from broadcaster.webapp.dashboard import TODAY_KEY

    settings = load_settings(
        env={
            "BROADCASTER_DATABASE_URL": url,
            "BROADCASTER_SECRET_KEY": "bench-pages",
            "BROADCASTER_INSTANCE_DIR": str(workdir / "pages-instance"),
            "BROADCASTER_AUDIO_DIR": str(workdir / "pages-audio"),
            "BROADCASTER_TTS_ENGINE": "espeak",
        },
        cwd=workdir,
    )
    app = create_app(settings)

    @signed_in()
    def empty():
        return render_template("base.html")

    app.add_url_rule("/_bench/empty", "bench_empty", empty)  # the baseline, same middleware
    if today is not None:
        app.config[TODAY_KEY] = today
    return app


def sign_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page).group(1)
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 302:
        raise SystemExit(f"sign-in of {username} failed: {answer.status_code}")
    return client


def measure(app, client, spec: PageSpec, warmup: int, repeat: int) -> Result:
    from broadcaster.webapp.dashboard import _CACHE_KEY

    result = Result(spec)
    gc.collect()
    for n in range(warmup + repeat):
        if spec.uncached:
            app.extensions.pop(_CACHE_KEY, None)
        started = time.perf_counter()
        try:
            answer = client.get(spec.url)
            body = answer.get_data()
        except Exception as exc:  # a page that raises is a finding, not the end of the run
            result.error = f"{type(exc).__name__}: {exc}"[:120]
            return result
        elapsed = time.perf_counter() - started
        result.status, result.size = answer.status_code, len(body)
        if n >= warmup:
            result.runs.append(elapsed)
    return result


def verdict(r: Result) -> str:
    if r.error or not r.runs:
        return "ERROR"
    ok = r.p95 < TARGET_MS and r.status == 200
    return "PASS" if ok else "FAIL"


def header(baseline: Result) -> None:
    print(
        f"\n  {'page':34} {'role':9} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'×base':>6}  verdict"
    )
    print(
        f"  {'baseline: empty page':34} {'admin':9} {baseline.status:>6} {baseline.p50:8.1f}"
        f" {baseline.p95:8.1f} {baseline.max:8.1f} {1.0:6.1f}",
        flush=True,
    )


def line(r: Result, base: float) -> None:
    if r.error or not r.runs:
        print(f"  {r.spec.label:34} {r.spec.role:9}  ERROR {r.error}", flush=True)
        return
    print(
        f"  {r.spec.label:34} {r.spec.role:9} {r.status:>6} {r.p50:8.1f} {r.p95:8.1f}"
        f" {r.max:8.1f} {r.p95 / base:6.1f}  {verdict(r)}",
        flush=True,
    )


def print_summary(baseline: Result, results: list[Result]) -> None:
    base = baseline.p95
    passed = sum(1 for r in results if verdict(r) == "PASS")
    worst = max((r for r in results if r.runs), key=lambda r: r.p95, default=None)
    text = f"\nSummary: {passed}/{len(results)} pages PASS (p95 < {TARGET_MS:.0f} ms)"
    if worst is not None:
        text += (
            f"; slowest p95 {worst.p95:.1f} ms ({worst.spec.label}, {worst.p95 / base:.1f}× base)"
        )
    text += f"; baseline p95 {base:.1f} ms"
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/broadcaster-bench-report"))
    parser.add_argument("--postgres", metavar="URL", help="measure on this PostgreSQL server")
    parser.add_argument("--rebuild", action="store_true", help="build the world again")
    parser.add_argument("--stations", type=int, help="this many stations (default: all)")
    parser.add_argument("--only", metavar="TEXT", help="only pages whose label holds TEXT")
    args = parser.parse_args()
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup not negative")
    if args.stations is not None and args.stations < 1:
        parser.error("--stations must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.postgres:
        world = postgres_world(args.postgres, args.stations, args.rebuild, print)
    else:
        world = sqlite_world(args.workdir, args.stations, args.rebuild, print)
    url = world.engine.url.render_as_string(hide_password=False)
    print(f"{world.title}: {world.location} ({'built' if world.built else 'reused'})")
    summary = world.summary
    print(
        f"  {summary.get('stations', 0):,} stations, {summary.get('slots', 0):,} slots,"
        f" {summary.get('airings', 0):,} airings"
    )
    cast = prepare(world.engine)
    world.engine.dispose()
    today = local_today(TZ)
    fixed = None if PERIOD_START <= today <= PERIOD_END else WORLD_DAY
    print(
        f"  operator's commune {cast.commune} (station {cast.station}); {cast.audit_events:,}"
        f" audit events; dashboard day {fixed or today}"
    )
    app = make_app(url, args.workdir, fixed)
    clients = {role: sign_in(app, name) for role, name in cast.users.items()}
    specs = [s for s in pages(cast) if not args.only or args.only in s.label]
    print(f"  {busy_note(machine_busy())}")
    print(
        f"  {len(specs)} pages × ({args.warmup} warm-up + {args.repeat} timed) requests", flush=True
    )
    empty = PageSpec("baseline: empty page", "admin", "/_bench/empty", "dashboard")
    baseline = measure(app, clients["admin"], empty, args.warmup, args.repeat)
    header(baseline)
    results = []
    for spec in specs:
        results.append(measure(app, clients[spec.role], spec, args.warmup, args.repeat))
        line(results[-1], baseline.p95)
    print_summary(baseline, results)


if __name__ == "__main__":
    main()
