"""A year on air for bench/report.py: what a national server holds after 12 months.

:func:`sqlite_world` and :func:`postgres_world` give an engine on a database
holding, for the yearly period 2025-12-15 .. 2026-12-14 (the year 2026 with
cut-off day 15):

* every province and commune, one station per commune (through the product's
  services), an editor, an approver and an operator;
* five approved scripts behind five campaigns at 3 a week over the whole
  country (one target per province), each on its own weekdays and window;
* the slots of every benchmarked station × campaign × ISO week, a few of them
  unplaced or cancelled, and the airings the stations reported for them: mostly
  on time, some late, partial, failed or missing, a few confirmed by hand, a few
  slots reported twice; each station's airings a valid hash chain with its head.

Rows are generated in station order from a seed (a station gets the same rows
whatever else is built) and written in bulk: executemany in one transaction on
SQLite, COPY on PostgreSQL. The generator tallies what it wrote as it goes: the
ground truth a report must find. A world is kept (a marker table holds its
parameters) and reused until the parameters change or a rebuild is asked for.
"""

from __future__ import annotations

import json
import random
import time as _time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

from broadcaster.config import normalise_database_url
from broadcaster.db import make_engine, make_sessionmaker, migrate, transaction
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    AiringChainHead,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Station,
    StationStatus,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services import scripts, stations, units, users
from broadcaster.services.audit import system_actor
from broadcaster.services.chain import GENESIS, canonical, link

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD_START = date(2025, 12, 15)  # year 2026, cut-off day 15
PERIOD_END = date(2026, 12, 14)
# The report is made a week after the period closed (before the 25th, as directives ask):
# every window has closed, so nothing is pending.
AS_OF = datetime(2026, 12, 22, 9, 0, tzinfo=TZ)
PROVINCE_CODE = "42"  # Hà Tĩnh
GENERATOR_VERSION = 2
SEED = "broadcaster-bench-report"
MARKER_TABLE = "bench_report_world"
PASSWORD = "bench-password"
GRACE = timedelta(minutes=15)
WINDOWS = {"morning": (time(5, 30), time(6, 30)), "evening": (time(17, 0), time(18, 0))}

# Shares of a campaign's slots; the rest are planned into a window.
UNPLACED = 0.004  # no room in any window that week
CANCELLED = 0.003  # the campaign was edited after the slot was planned
CANCELLED_AIRED = 0.2  # of those: the station had the playlist already and aired it anyway
# What happened to a planned slot (the remaining 5 %: nothing was reported).
ON_TIME, LATE, PARTIAL, FAILED = 0.85, 0.05, 0.03, 0.02
TWICE = 0.01  # of the on-time ones: cut off first (partial), then aired in full
MANUAL = 0.05  # of full airings: confirmed by hand by the commune's operator
SKIPPED = 0.1  # of the failed ones: skipped on purpose

SLOT_COLUMNS = (
    "id", "station_id", "campaign_id", "occurrence", "script_version_id", "week",
    "planned_start", "window_end", "position", "duration_ms", "status", "note",
    "created_at", "updated_at",
)  # fmt: skip
AIRING_COLUMNS = (
    "id", "station_id", "seq", "report_id", "slot_id", "campaign_id", "emergency_id",
    "script_version_id", "started_at", "ended_at", "status", "audio_sha256", "source",
    "note", "confirmed_by_id", "confirmed_by", "received_at", "prev_hash", "row_hash",
)  # fmt: skip


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    weekdays: tuple[int, int, int]  # 0 = Monday
    preferred: str  # morning | evening | any (then morning and evening in turn)


CAMPAIGNS = (
    CampaignSpec("Phòng, chống lừa đảo qua mạng", (0, 2, 4), "morning"),
    CampaignSpec("Chuyển đổi số và dịch vụ công trực tuyến", (1, 3, 5), "evening"),
    CampaignSpec("Phòng, chống dịch bệnh trên gia súc, gia cầm", (0, 3, 5), "any"),
    CampaignSpec("Bảo đảm trật tự, an toàn giao thông", (1, 4, 6), "any"),
    CampaignSpec("Chủ động phòng, chống thiên tai mùa mưa bão", (2, 4, 6), "evening"),
)
BODY = (
    "Kính thưa bà con nhân dân! Thực hiện chỉ đạo của cấp trên, Đài truyền thanh xã xin "
    "thông báo tới toàn thể bà con về nội dung tuyên truyền: {name}. Đề nghị bà con chú ý "
    "theo dõi và thực hiện nghiêm túc."
)


@dataclass(frozen=True)
class PlannedCampaign:
    id: int
    version_id: int
    position: int  # its place in the window, so campaigns of one day do not overlap
    spec: CampaignSpec
    duration_ms: int
    audio_sha256: str


@dataclass
class World:
    """A built (or reused) world, ready to report on."""

    engine: Engine
    title: str  # "SQLite 3.45.1" / "PostgreSQL 15.2"
    location: str
    summary: dict  # what the build wrote, its ground truth and how long it took
    built: bool  # built in this run (else reused)


Log = Callable[[str], None]


# -- the generator ------------------------------------------------------------------


class Generator:
    """The rows of each station in turn, with running ids, tallied as they are made.

    ``stamp`` turns an aware UTC datetime into what the writer stores (the hash chain
    always sees the datetime itself).
    """

    def __init__(
        self, campaigns: list[PlannedCampaign], operator: tuple[int, str], stamp: Callable
    ) -> None:
        self.campaigns = campaigns
        self.operator = operator
        self.stamp = stamp
        self.next_slot = 1
        self.next_airing = 1
        self.tally: dict[str, Counter] = {"national": Counter(), "province": Counter()}
        mondays, day = [], PERIOD_START - timedelta(days=PERIOD_START.weekday())
        while day <= PERIOD_END:
            mondays.append(day)
            day += timedelta(days=7)
        self.weeks = [(m, week_label(m)) for m in mondays]
        self._utc: dict[tuple[date, time], datetime] = {}

    def utc(self, day: date, at: time) -> datetime:
        key = (day, at)
        value = self._utc.get(key)
        if value is None:
            value = self._utc[key] = datetime.combine(day, at, tzinfo=TZ).astimezone(UTC)
        return value

    def station(
        self, station_id: int, code: str, province_code: str
    ) -> tuple[list[tuple], list[tuple], tuple[int, str] | None]:
        """(slot rows, airing rows, chain head (seq, hash) or None) of one station."""
        rng = random.Random(f"{SEED}:{code}")
        tallies = [self.tally["national"]]
        if province_code == PROVINCE_CODE:
            tallies.append(self.tally["province"])
        stamp = self.stamp
        slots: list[tuple] = []
        reports: list[SimpleNamespace] = []
        for c in self.campaigns:
            for monday, week in self.weeks:
                for k, weekday in enumerate(c.spec.weekdays):
                    day = monday + timedelta(days=weekday)
                    if day < PERIOD_START or day > PERIOD_END:
                        continue
                    slot_id = self.next_slot
                    self.next_slot += 1
                    window = c.spec.preferred
                    if window == "any":
                        window = ("morning", "evening")[k % 2]
                    opens, closes = WINDOWS[window]
                    planned = self.utc(day, opens) + timedelta(minutes=8 * c.position)
                    window_end = self.utc(day, closes)
                    created = self.utc(monday - timedelta(days=7), time(1, 0))
                    outcome, made = self._slot(rng, c, slot_id, planned, window_end, reports)
                    status, note, updated = _slot_status(outcome, made, window_end, created)
                    unplaced = outcome == "unplaced"
                    slots.append(
                        (
                            slot_id, station_id, c.id, f"{week}#{k + 1}", c.version_id, week,
                            None if unplaced else stamp(planned),
                            None if unplaced else stamp(window_end),
                            0 if unplaced else c.position, c.duration_ms, status, note,
                            stamp(created), stamp(updated),
                        )
                    )  # fmt: skip
                    for t in tallies:
                        _count(t, outcome, made)
        airings, head = self._chain(station_id, code, reports)
        for t in tallies:
            t["stations"] += 1
            t["slots"] += len(slots)
            t["airings"] += len(airings)
        return slots, airings, head

    def _slot(self, rng, c, slot_id, planned, window_end, reports) -> tuple[str, list]:
        """Draw what happened to one slot; append its reports. Returns (outcome, reports)."""
        duration = timedelta(milliseconds=c.duration_ms)
        made: list[SimpleNamespace] = []

        def report(status, started, ended, *, manual=False, note=None):
            r = SimpleNamespace(
                report_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                slot_id=slot_id,
                campaign_id=c.id,
                emergency_id=None,
                script_version_id=c.version_id,
                started_at=started,
                ended_at=ended,
                status=status,
                audio_sha256=None if manual else c.audio_sha256,
                source="manual" if manual else "agent",
                note=note,
                confirmed_by_id=self.operator[0] if manual else None,
                confirmed_by=self.operator[1] if manual else None,
                # an agent reports a few minutes after; an operator the next day or so
                received_at=ended
                + (
                    timedelta(minutes=rng.uniform(60 * 14, 60 * 30))
                    if manual
                    else timedelta(seconds=rng.uniform(20, 600))
                ),
            )
            made.append(r)
            reports.append(r)

        def aired(started):
            if rng.random() < MANUAL:  # no agent report: the operator confirms it by hand
                report("aired", started, started + duration, manual=True)
            else:
                report("aired", started, started + duration)

        def jitter() -> timedelta:
            return timedelta(milliseconds=rng.randrange(0, 90_000))

        r = rng.random()
        if r < UNPLACED:
            return "unplaced", made
        if r < UNPLACED + CANCELLED:
            if rng.random() < CANCELLED_AIRED:
                aired(planned + jitter())
                return "cancelled_aired", made
            return "cancelled", made
        o = rng.random()
        if o < ON_TIME:
            start = planned + jitter()
            if rng.random() < TWICE:
                cut = start + duration * rng.uniform(0.1, 0.6)
                report("partial", start, cut, note="mất điện giữa chừng")
                start = cut + timedelta(seconds=rng.uniform(60, 300))
            aired(start)
            return "on_time", made
        if o < ON_TIME + LATE:
            aired(window_end + GRACE + timedelta(seconds=rng.uniform(60, 4 * 3600)))
            return "late", made
        if o < ON_TIME + LATE + PARTIAL:
            start = planned + jitter()
            report("partial", start, start + duration * rng.uniform(0.1, 0.9), note="bị ngắt")
            return "partial", made
        if o < ON_TIME + LATE + PARTIAL + FAILED:
            start = planned + jitter()
            ended = start + timedelta(milliseconds=rng.randrange(0, 3000))
            if rng.random() < SKIPPED:
                report("skipped", start, ended, note="trùng giờ họp thôn")
            else:
                report("failed", start, ended, note="lỗi bộ phát")
            return "failed", made
        return "missed", made

    def _chain(
        self, station_id: int, code: str, reports: list[SimpleNamespace]
    ) -> tuple[list[tuple], tuple[int, str] | None]:
        """The station's airing rows in started_at order, hash-chained."""
        reports.sort(key=lambda r: (r.started_at, r.slot_id))
        stamp, prev, rows = self.stamp, GENESIS, []
        for seq, r in enumerate(reports, 1):
            r.seq = seq
            row_hash = link(prev, canonical(code, r))
            rows.append(
                (
                    self.next_airing, station_id, seq, r.report_id, r.slot_id, r.campaign_id,
                    None, r.script_version_id, stamp(r.started_at), stamp(r.ended_at), r.status,
                    r.audio_sha256, r.source, r.note, r.confirmed_by_id, r.confirmed_by,
                    stamp(r.received_at), prev, row_hash,
                )
            )  # fmt: skip
            self.next_airing += 1
            prev = row_hash
        return rows, ((len(rows), prev) if rows else None)


def _slot_status(outcome: str, made: list, window_end: datetime, created: datetime):
    """(status, note, updated_at) as the services would have left the slot."""
    if outcome == "unplaced":
        return "unplaced", "không còn chỗ trong khung giờ", created
    if outcome.startswith("cancelled"):
        return "cancelled", "chiến dịch đã sửa", created
    full = [r for r in made if r.status == "aired"]
    if full:
        return "aired", None, full[-1].received_at
    return "missed", "quá giờ, chưa phát", window_end + GRACE + timedelta(minutes=5)


_MICROSECOND = timedelta(microseconds=1)


def _count(t: Counter, outcome: str, made: list) -> None:
    """What docs/compliance.md says a report finds for this slot."""
    t["aired_us"] += sum(
        (r.ended_at - r.started_at) // _MICROSECOND
        for r in made
        if r.status in ("aired", "partial")
    )
    if outcome == "cancelled":
        t["cancelled"] += 1
        return  # not required, nothing aired
    t["required"] += 1
    if outcome == "cancelled_aired":
        t["cancelled"] += 1
        outcome = "on_time"
    if outcome == "unplaced":
        t["unplaced"] += 1
        outcome = "missed"
    t[outcome] += 1
    if outcome in ("on_time", "late"):
        manual = all(r.source == "manual" for r in made if r.status == "aired")
        t["aired_manual" if manual else "aired_agent"] += 1


# -- writing ------------------------------------------------------------------------


def _sqlite_stamp(value: datetime) -> str:
    # what UTCDateTime stores on SQLite (naive UTC, always with microseconds); isoformat is
    # several times faster than strftime, and the value is already in UTC
    return value.isoformat(" ", "microseconds")[:26]


class _SqliteWriter:
    """executemany on the raw sqlite3 connection, all in one transaction."""

    stamp = staticmethod(_sqlite_stamp)

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.db = self.raw.driver_connection
        self.db.execute("PRAGMA cache_size=-1000000")  # 1 GB: the unique indexes stay in memory
        self.slots_sql = _insert_sql("slots", SLOT_COLUMNS, "?")
        self.airings_sql = _insert_sql("airings", AIRING_COLUMNS, "?")

    def write(self, slots: list[tuple], airings: list[tuple]) -> None:
        self.db.executemany(self.slots_sql, slots)
        self.db.executemany(self.airings_sql, airings)

    def close(self) -> None:
        self.db.commit()
        self.raw.close()


class _PostgresWriter:
    """COPY through the raw psycopg connection, all in one transaction."""

    stamp = staticmethod(lambda value: value)

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.db = self.raw.driver_connection

    def write(self, slots: list[tuple], airings: list[tuple]) -> None:
        with self.db.cursor() as cur:
            for table, columns, rows in (
                ("slots", SLOT_COLUMNS, slots),
                ("airings", AIRING_COLUMNS, airings),
            ):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    def close(self) -> None:
        self.db.commit()
        self.raw.close()


def _insert_sql(table: str, columns: tuple[str, ...], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


# -- building -----------------------------------------------------------------------


def _base(factory, stations_wanted: int | None) -> tuple[list, tuple[int, str], list]:
    """Units, stations, users, scripts and campaigns through the services."""
    actor = system_actor()
    with transaction(factory) as s:
        units.import_units(s, actor)
        stations.import_stations(s, actor)
        users.add_user(s, actor, "soan", "editor", PASSWORD)
        users.add_user(s, actor, "duyet", "approver", PASSWORD)
        users.add_user(s, actor, "vanhanh", "operator", PASSWORD)
    with factory() as s:
        editor = users.authenticate(s, "soan", PASSWORD)
        approver = users.authenticate(s, "duyet", PASSWORD)
        operator = users.authenticate(s, "vanhanh", PASSWORD)
    campaigns = []
    with transaction(factory) as s:
        provinces = s.scalars(select(AdminUnit.id).where(AdminUnit.level == 1)).all()
        for n, spec in enumerate(CAMPAIGNS):
            slug = f"bao-cao-{n + 1}"
            body = BODY.format(name=spec.name.lower())
            scripts.save_text(s, editor, ScriptText(slug, spec.name, body, campaign=spec.name))
            scripts.submit(s, editor, slug)
            scripts.approve(s, approver, slug)
            script = s.scalar(select(Script).where(Script.slug == slug))
            campaign = Campaign(
                name=f"{spec.name} năm 2026",
                priority=Priority.NORMAL,
                times_per_week=3,
                weekdays=list(spec.weekdays),
                preferred=spec.preferred,
                pattern=[],
                starts_on=PERIOD_START,
                ends_on=PERIOD_END,
                created_by_id=approver.user_id,
            )
            campaign.scripts = [CampaignScript(script_id=script.id, position=0)]
            campaign.targets = [CampaignTarget(unit_id=p) for p in provinces]
            s.add(campaign)
            s.flush()
            sha = link(GENESIS, slug.encode())  # stands for the rendered file's sha256
            campaigns.append(
                PlannedCampaign(
                    campaign.id, script.approved_version_id, n, spec, 85_000 + n * 3_000, sha
                )
            )
    with factory() as s:
        every = s.execute(
            select(Station.id, Station.code, AdminUnit.path)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .order_by(Station.code)
        ).all()
    picked = _spread(every, stations_wanted)
    return campaigns, (operator.user_id, operator.label), picked


def _spread(every: list, wanted: int | None) -> list[tuple[int, str, str]]:
    """``wanted`` stations evenly spread over the code order (so over the provinces)."""
    if wanted is not None and wanted < len(every):
        every = [every[i * len(every) // wanted] for i in range(wanted)]
    return [(sid, code, path.strip("/").split("/")[0]) for sid, code, path in every]


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def build(engine: Engine, stations_wanted: int | None, log: Log) -> dict:
    """Fill a fresh database; answers the summary stored in the marker."""
    started = _time.perf_counter()
    migrate(engine)
    factory = make_sessionmaker(engine)
    campaigns, operator, picked = _base(factory, stations_wanted)
    base_s = _time.perf_counter() - started
    log(
        f"  units, {len(picked):,} stations, users, scripts, campaigns: {base_s:.1f} s; "
        "generating slots and airings…"
    )
    writer = _SqliteWriter(engine) if engine.dialect.name == "sqlite" else _PostgresWriter(engine)
    gen = Generator(campaigns, operator, writer.stamp)
    heads: list[dict] = []
    gen_s = write_s = 0.0
    rows, done, last_log = 0, 0, _time.perf_counter()
    for chunk in _chunks(picked, 25):
        t0 = _time.perf_counter()
        slots, airings = [], []
        for station_id, code, province in chunk:
            s_rows, a_rows, head = gen.station(station_id, code, province)
            slots += s_rows
            airings += a_rows
            if head is not None:
                heads.append(
                    {
                        "station_id": station_id,
                        "seq": head[0],
                        "head_hash": head[1],
                        "updated_at": AS_OF,
                    }
                )
        t1 = _time.perf_counter()
        writer.write(slots, airings)
        t2 = _time.perf_counter()
        gen_s, write_s = gen_s + t1 - t0, write_s + t2 - t1
        rows, done = rows + len(slots) + len(airings), done + len(chunk)
        if t2 - last_log > 10 or done == len(picked):
            elapsed = t2 - started - base_s
            log(
                f"  {done:>5,}/{len(picked):,} stations  {rows:>10,} rows  "
                f"{rows / elapsed:>8,.0f} rows/s  ({gen_s:.0f} s generating, "
                f"{write_s:.0f} s writing)"
            )
            last_log = t2
    t0 = _time.perf_counter()
    writer.close()
    write_s += _time.perf_counter() - t0
    _finish(engine, factory, picked, heads, gen)
    total_s = _time.perf_counter() - started
    return {
        "stations": len(picked),
        "slots": gen.next_slot - 1,
        "airings": gen.next_airing - 1,
        "province_stations": gen.tally["province"]["stations"],
        "truth": {k: dict(v) for k, v in gen.tally.items()},
        "seconds": {
            "base": round(base_s, 1),
            "generate": round(gen_s, 1),
            "write": round(write_s, 1),
            "finish": round(total_s - base_s - gen_s - write_s, 1),
            "total": round(total_s, 1),
        },
        "built_at": datetime.now(TZ).isoformat(timespec="seconds"),
    }


def _finish(engine: Engine, factory, picked: list, heads: list[dict], gen: Generator) -> None:
    """Chain heads, stations' last heartbeats, sequences past the given ids, statistics."""
    statuses = []
    for station_id, code, _province in picked:
        rng = random.Random(f"{SEED}:seen:{code}")
        ago = timedelta(days=rng.uniform(1, 20)) if rng.random() < 0.03 else timedelta(minutes=4)
        statuses.append(
            {"station_id": station_id, "last_seen_at": AS_OF - ago, "agent_version": "1.0.0"}
        )
    with transaction(factory) as s:
        for chunk in _chunks(heads, 1000):
            s.execute(insert(AiringChainHead), chunk)
        for chunk in _chunks(statuses, 1000):
            s.execute(insert(StationStatus), chunk)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("slots", "airings"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                    {"n": max(1, (gen.next_slot if table == "slots" else gen.next_airing) - 1)},
                )
            # what autovacuum does shortly after a load this size; the reports then run on a
            # table whose statistics and visibility map are up to date
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# -- keeping a world between runs ---------------------------------------------------------


def world_params(stations_wanted: int | None) -> dict:
    return {
        "generator": GENERATOR_VERSION,
        "seed": SEED,
        "stations": stations_wanted,
        "period": [PERIOD_START.isoformat(), PERIOD_END.isoformat()],
    }


def _marker(engine: Engine) -> tuple[dict, dict] | None:
    if not inspect(engine).has_table(MARKER_TABLE):
        return None
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT params, summary FROM {MARKER_TABLE}")).first()
    return (json.loads(row[0]), json.loads(row[1])) if row else None


def _write_marker(engine: Engine, params: dict, summary: dict) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE {MARKER_TABLE} (params TEXT NOT NULL, summary TEXT NOT NULL)")
        )
        conn.execute(
            text(f"INSERT INTO {MARKER_TABLE} (params, summary) VALUES (:p, :s)"),
            {"p": json.dumps(params, sort_keys=True), "s": json.dumps(summary)},
        )


def _reusable(engine: Engine, params: dict) -> dict | None:
    try:
        found = _marker(engine)
    except Exception:  # an unreadable or half-made database: rebuild it
        return None
    if found is None or found[0] != params:
        return None
    migrate(engine)  # a newer schema than the world's: upgrade it as a deployment would
    return found[1]


def _suffix(stations_wanted: int | None) -> str:
    return "" if stations_wanted is None else f"_{stations_wanted}"


def sqlite_world(workdir: Path, stations_wanted: int | None, rebuild: bool, log: Log) -> World:
    """The world in ``workdir/report[_N].db``, built unless a matching one is there."""
    path = workdir / f"report{_suffix(stations_wanted)}.db"
    params = world_params(stations_wanted)
    engine = make_engine(f"sqlite:///{path}")
    summary = None if rebuild or not path.exists() else _reusable(engine, params)
    with engine.connect() as conn:
        title = f"SQLite {conn.exec_driver_sql('select sqlite_version()').scalar()}"
    if summary is not None:
        return World(engine, title, str(path), summary, built=False)
    engine.dispose()
    for extra in ("", "-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    log(f"{title}: building the world in {path}")
    summary = build(engine, stations_wanted, log)
    _write_marker(engine, params, summary)
    return World(engine, title, str(path), summary, built=True)


def postgres_world(server_url: str, stations_wanted: int | None, rebuild: bool, log: Log) -> World:
    """The world in the database ``broadcaster_bench_report[_N]`` of that server."""
    url = make_url(normalise_database_url(server_url))
    name = f"broadcaster_bench_report{_suffix(stations_wanted)}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            title = f"PostgreSQL {conn.scalar(text('SHOW server_version'))}"
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        params = world_params(stations_wanted)
        engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
        summary = _reusable(engine, params) if exists and not rebuild else None
        if summary is not None:
            return World(engine, title, name, summary, built=False)
        engine.dispose()
        with admin.connect() as conn:
            # the airing log refuses DELETE and TRUNCATE: a new world is a new database
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    log(f"{title}: building the world in database {name}")
    summary = build(engine, stations_wanted, log)
    _write_marker(engine, params, summary)
    return World(engine, title, name, summary, built=True)
