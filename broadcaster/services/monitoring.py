"""The series ``/metrics`` reads from the database when Prometheus asks.

What every process and host shares lives in the database, so any web process
answers it alike: the stations online and offline (by their heartbeats, as
:mod:`broadcaster.services.health` defines offline), the render queue (slots of
the next 48 hours still without audio), and the scheduler's job runs from
``job_runs`` (the scheduler may run on another host; its runs are counted here as
counters per job and result).

Cheap by construction: one statement for the stations and the queue (indexed
counts), and for ``job_runs`` — which is never pruned and grows by a run a minute —
only the rows added since the last scrape (after one full count per process). The
answer is kept for :data:`CACHE_S` seconds, so scrapes in a burst cost one look.
When the database does not answer, ``broadcaster_database_up`` is 0 and the other
series are left out (never an error page).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from broadcaster.db import utcnow
from broadcaster.models import JobRun, Slot, SlotStatus, Station, StationStatus
from broadcaster.services.health import OFFLINE_AFTER
from broadcaster.services.playlist import RENDER_AHEAD

log = logging.getLogger(__name__)

CACHE_S = 5.0
# The scheduler's jobs (broadcaster.scheduler.jobs): their series show at 0 before
# their first run, so a first failure is an increase Prometheus sees.
KNOWN_JOBS = ("plan", "watchdog", "render", "relays", "reports", "backup")
JOB_RESULTS = ("ok", "error")
# A slot that started this long ago may still be in its window (the render job takes it)
WINDOW_LOOKBACK = timedelta(hours=12)
MAX_OPEN = 1000  # unfinished runs (and ids not yet seen) followed between scrapes


@dataclass
class JobCounts:
    """``job_runs`` counted so far, carried from scrape to scrape."""

    upto: int | None = None  # every run with an id up to this was looked at
    runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (job, result) → runs
    last_ok: dict[str, datetime] = field(default_factory=dict)  # job → last success ended
    open: set[int] = field(default_factory=set)  # ids at or below upto not finished yet

    def count(self, job: str, ok: bool, finished_at: datetime | None, n: int = 1) -> None:
        key = (job, "ok" if ok else "error")
        self.runs[key] = self.runs.get(key, 0) + n
        if ok and finished_at is not None:
            self.last_ok[job] = max(finished_at, self.last_ok.get(job, finished_at))


@dataclass(frozen=True)
class Snapshot:
    """What the database said at one scrape."""

    online: int
    offline: int
    render_queue: int
    job_runs: dict[tuple[str, str], int]
    job_last_ok: dict[str, datetime]


def read_stations_and_queue(conn, now: datetime) -> tuple[int, int, int]:
    """(active stations online, offline, slots of the next 48 h without audio): one
    statement, three counts."""
    active = select(func.count()).select_from(Station).where(Station.active.is_(True))
    online = (
        select(func.count())
        .select_from(Station)
        .join(StationStatus, StationStatus.station_id == Station.id)
        .where(Station.active.is_(True), StationStatus.last_seen_at >= now - OFFLINE_AFTER)
    )
    queue = (
        select(func.count())
        .select_from(Slot)
        .where(
            # the range the index on planned_start reads, then what the render job takes
            Slot.planned_start >= now - WINDOW_LOOKBACK,
            Slot.planned_start < now + RENDER_AHEAD,
            Slot.status == SlotStatus.PLANNED,
            Slot.audio_asset_id.is_(None),
            Slot.script_version_id.is_not(None),  # a relay plays a stream: no audio
            or_(Slot.window_end.is_(None), Slot.window_end > now),
        )
    )
    total, up, waiting = conn.execute(
        select(active.scalar_subquery(), online.scalar_subquery(), queue.scalar_subquery())
    ).one()
    return up, total - up, waiting


def read_job_runs(conn, counts: JobCounts) -> None:
    """Bring ``counts`` up to date with ``job_runs``: the first time one grouped count,
    then only the rows added since (and those that were unfinished)."""
    if counts.upto is None:
        top = conn.execute(select(func.max(JobRun.id))).scalar() or 0
        for job, ok, n, last in conn.execute(
            select(JobRun.job, JobRun.ok, func.count(), func.max(JobRun.finished_at))
            .where(JobRun.id <= top, JobRun.ok.is_not(None))
            .group_by(JobRun.job, JobRun.ok)
        ):
            counts.count(job, ok, last, n)
        counts.open = set(
            conn.execute(select(JobRun.id).where(JobRun.id <= top, JobRun.ok.is_(None))).scalars()
        )
        counts.upto = top
        return
    wanted = JobRun.id > counts.upto
    if counts.open:
        wanted = or_(wanted, JobRun.id.in_(sorted(counts.open)))
    rows = conn.execute(
        select(JobRun.id, JobRun.job, JobRun.ok, JobRun.finished_at)
        .where(wanted)
        .order_by(JobRun.id)
    ).all()
    seen = set()
    for run_id, job, ok, finished_at in rows:
        seen.add(run_id)
        if ok is None:
            counts.open.add(run_id)
            continue
        if run_id <= counts.upto and run_id not in counts.open:
            continue  # counted already
        counts.open.discard(run_id)
        counts.count(job, ok, finished_at)
    top = max((r[0] for r in rows), default=counts.upto)
    # an id skipped on the way is a run whose insert had not committed yet (two jobs
    # started at once), or a rolled-back insert: looked for again next time
    counts.open.update(i for i in range(counts.upto + 1, top) if i not in seen)
    if len(counts.open) > MAX_OPEN:
        counts.open = set(sorted(counts.open)[-MAX_OPEN:])
    counts.upto = top


class DatabaseSeries:
    """A prometheus_client collector of the database's series, for one engine."""

    def __init__(self, engine: Engine, cache_s: float = CACHE_S) -> None:
        self.engine = engine
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._jobs = JobCounts()
        self._kept: tuple[float, Snapshot | None] | None = None

    def snapshot(self) -> Snapshot | None:
        """What the database says now (or said within ``cache_s``); None when it is away."""
        with self._lock:
            if self._kept is not None and time.monotonic() - self._kept[0] < self.cache_s:
                return self._kept[1]
            try:
                with self.engine.connect() as conn:
                    online, offline, queue = read_stations_and_queue(conn, utcnow())
                    read_job_runs(conn, self._jobs)
                found = Snapshot(
                    online,
                    offline,
                    queue,
                    dict(self._jobs.runs),
                    dict(self._jobs.last_ok),
                )
            except (SQLAlchemyError, OSError) as exc:
                log.warning("metrics: the database did not answer: %s", exc)
                found = None
            self._kept = (time.monotonic(), found)
            return found

    def describe(self):
        return []  # the series depend on the database's answer

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        found = self.snapshot()
        yield GaugeMetricFamily(
            "broadcaster_database_up",
            "1 when the database answered this scrape's questions, 0 when it did not.",
            value=0 if found is None else 1,
        )
        if found is None:
            return
        stations = GaugeMetricFamily(
            "broadcaster_stations",
            "Active stations by their heartbeat: online (heard within 15 minutes) or "
            "offline (not heard since, or never).",
            labels=["state"],
        )
        stations.add_metric(["online"], found.online)
        stations.add_metric(["offline"], found.offline)
        yield stations
        yield GaugeMetricFamily(
            "broadcaster_render_queue_slots",
            "Planned slots of the next 48 hours (still in their window) without audio yet.",
            value=found.render_queue,
        )
        runs = CounterMetricFamily(
            "broadcaster_scheduler_job_runs",
            "Finished runs of the scheduler's jobs (job_runs), by job and result.",
            labels=["job", "result"],
        )
        jobs = sorted(set(KNOWN_JOBS) | {job for job, _ in found.job_runs})
        for job in jobs:
            for result in JOB_RESULTS:
                runs.add_metric([job, result], found.job_runs.get((job, result), 0))
        yield runs
        last = GaugeMetricFamily(
            "broadcaster_scheduler_job_last_success_timestamp_seconds",
            "When each job last finished without error (Unix time).",
            labels=["job"],
        )
        for job, at in sorted(found.job_last_ok.items()):
            last.add_metric([job], at.timestamp())
        if found.job_last_ok:
            yield last
