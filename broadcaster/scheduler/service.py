"""The scheduler service: APScheduler 3 with its job store on our database, run by one leader.

Jobs and their policies (why):

* ``plan`` every hour, and once at start: a restarted scheduler catches up at once.
* ``watchdog`` every minute: missed airings show up within a minute of their grace.
* ``render`` every 10 minutes: audio for the next 48 hours; a failure is retried
  at the next run (the renderer itself retries gTTS and falls back offline).
* ``relays`` every 15 minutes: checks the relay sources airing in the next hours (and
  those never checked), so a dead stream shows on the dashboard before its slot
  (:func:`broadcaster.services.relays.check_due`).
* ``reports`` daily at 06:00 local: stores the monthly, quarterly and yearly compliance
  reports that are due (:mod:`broadcaster.reports.periodic`); a missed day catches up.
* ``backup`` daily at ``backup_hour`` local (02:00 by default): one backup file into the
  backup folder, keeping the newest ``backup_keep`` (:mod:`broadcaster.scheduler.backup_job`);
  a scheduler that was down at that hour takes it within six hours of it.

``coalesce=True``: after downtime a job runs once, not once per missed period —
each run already does everything that is due. ``misfire_grace_time`` is an
hour for ``plan`` and ``render`` (late is better than never) and two minutes
for ``watchdog`` (the next run is only a minute away). ``max_instances=1``: a
long plan never overlaps the next one.

Jobs live in the ``apscheduler_jobs`` table, so a scheduler killed with SIGKILL
and restarted finds them there; the planner's unique slot keys mean a plan cut
off half-way (its transaction rolled back) and run again duplicates nothing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from broadcaster.config import Settings
from broadcaster.db import make_engine, migrate
from broadcaster.scheduler import jobs
from broadcaster.scheduler.leader import Leadership

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    """How often each job runs (seconds); tests shorten them."""

    plan: int = 3600
    watchdog: int = 60
    render: int = 600
    standby_poll: float = 5.0
    relays: int = 900


class SchedulerService:
    def __init__(self, settings: Settings, intervals: Intervals | None = None) -> None:
        self.settings = settings
        self.intervals = intervals or Intervals()
        self.engine = make_engine(settings.database_url)
        self._stop = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self.leading = threading.Event()

    def _build(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            timezone=self.settings.tz,
        )
        args = {"v": jobs.ARGS_VERSION}
        i = self.intervals
        scheduler.add_job(
            "broadcaster.scheduler.jobs:plan_job",
            IntervalTrigger(seconds=i.plan),
            id="plan",
            kwargs=args,
            replace_existing=True,
            next_run_time=datetime.now(self.settings.tz),  # catch up at once
        )
        scheduler.add_job(
            "broadcaster.scheduler.jobs:watchdog_job",
            IntervalTrigger(seconds=i.watchdog),
            id="watchdog",
            kwargs=args,
            replace_existing=True,
            misfire_grace_time=120,
        )
        scheduler.add_job(
            "broadcaster.scheduler.jobs:render_job",
            IntervalTrigger(seconds=i.render),
            id="render",
            kwargs=args,
            replace_existing=True,
        )
        scheduler.add_job(
            "broadcaster.scheduler.jobs:relays_job",
            IntervalTrigger(seconds=i.relays),
            id="relays",
            kwargs=args,
            replace_existing=True,
            misfire_grace_time=600,
        )
        scheduler.add_job(
            "broadcaster.scheduler.jobs:reports_job",
            CronTrigger(hour=6, minute=0, timezone=self.settings.tz),  # 06:00 in Việt Nam
            id="reports",
            kwargs=args,
            replace_existing=True,
        )
        scheduler.add_job(
            "broadcaster.scheduler.backup_job:backup_job",
            # the zone given here: a trigger object does not take the scheduler's
            CronTrigger(hour=self.settings.backup_hour, minute=0, timezone=self.settings.tz),
            id="backup",
            kwargs=args,
            replace_existing=True,
            misfire_grace_time=6 * 3600,
        )
        return scheduler

    def run(self) -> None:
        """Wait to lead, lead until stopped or the lock is lost, and wait again."""
        migrate(self.engine, self.settings.secret_key)
        leadership = Leadership(self.engine, self.settings.instance_dir)
        try:
            while not self._stop.is_set():
                try:
                    acquired = leadership.try_acquire()
                except SQLAlchemyError as exc:  # the database is away: wait, then try again
                    log.warning("scheduler: cannot reach the database (%s); retrying", exc)
                    acquired = False
                if not acquired:
                    self._stop.wait(self.intervals.standby_poll)
                    continue
                log.info("scheduler: leading (this process fires the jobs)")
                self._scheduler = self._build()
                self._scheduler.start()
                self.leading.set()
                while not self._stop.wait(self.intervals.standby_poll):
                    if not leadership.still_held():
                        break
                self.leading.clear()
                self._scheduler.shutdown(wait=True)
                self._scheduler = None
                leadership.release()
                log.info("scheduler: stepped down")
        finally:
            leadership.release()
            self.engine.dispose()

    def start_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="broadcaster-scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
