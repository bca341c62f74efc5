"""The scheduler's jobs. Each is a plain function of versioned keyword arguments.

APScheduler keeps jobs in the database (its SQLAlchemy job store), so what a
job receives outlives a release: every job takes ``v`` (the argument format
version) and refuses a version it does not know instead of guessing.

Jobs open their own database session from the process's settings; every run
is recorded in ``job_runs`` (which process ran it, when, how it went), which is
also how the tests count that only one scheduler fires.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from broadcaster.config import Settings, load_settings
from broadcaster.db import make_engine, make_sessionmaker, transaction, utcnow
from broadcaster.models import JobRun, Slot, SlotStatus
from broadcaster.services.playlist import RENDER_AHEAD  # noqa: F401 (the render job's horizon)

log = logging.getLogger(__name__)

ARGS_VERSION = 1
MISSED_GRACE = timedelta(minutes=15)  # a window's airings may be reported a little late

_factories: dict[str, object] = {}


def _factory(settings: Settings):
    if settings.database_url not in _factories:
        _factories[settings.database_url] = make_sessionmaker(make_engine(settings.database_url))
    return _factories[settings.database_url]


def _recorded(name: str, work: Callable[[Settings], str], v: int) -> None:
    if v != ARGS_VERSION:
        raise ValueError(f"job {name}: unknown argument version {v} (this release knows 1)")
    settings = load_settings()
    factory = _factory(settings)
    with transaction(factory) as s:
        run = JobRun(job=name, host=socket.gethostname()[:120], pid=os.getpid())
        s.add(run)
        s.flush()
        run_id = run.id
    ok, detail = False, None
    try:
        detail = work(settings)
        ok = True
    except Exception as exc:  # recorded, logged, and retried at the next run
        detail = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", name)
    finally:
        with transaction(factory) as s:
            s.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(finished_at=utcnow(), ok=ok, detail=(detail or "")[:2000])
            )


def plan_job(v: int = ARGS_VERSION, days: int = 14) -> None:
    """Keep the rolling horizon planned (hourly, and at start to catch up)."""

    def work(settings: Settings) -> str:
        from broadcaster.planning import plan

        with transaction(_factory(settings)) as s:
            report = plan(s, days=days, tz=settings.tz)
        if report.skipped:
            return "không có gì thay đổi"
        return (
            f"{report.created} mới, {report.updated} đổi, {report.cancelled} hủy, "
            f"{len(report.unplaced)} không xếp được"
        )

    _recorded("plan", work, v)


def watchdog_job(v: int = ARGS_VERSION) -> None:
    """A planned slot whose window (plus grace) closed without an airing becomes missed."""

    def work(settings: Settings) -> str:
        cutoff = utcnow() - MISSED_GRACE
        with transaction(_factory(settings)) as s:
            result = s.execute(
                update(Slot)
                .where(Slot.status == SlotStatus.PLANNED, Slot.window_end < cutoff)
                .values(status=SlotStatus.MISSED, updated_at=utcnow(), note="quá giờ, chưa phát")
            )
        return f"{result.rowcount} lượt bị lỡ"

    _recorded("watchdog", work, v)


def render_job(v: int = ARGS_VERSION) -> None:
    """Render the audio of slots airing in the next 48 hours that have none yet, and
    attach their backup file to the relays of those hours (no audio of their own)."""

    def work(settings: Settings) -> str:
        from broadcaster.services.audio import render_pending, renderer_for
        from broadcaster.services.relay_backups import attach_backups

        renderer = renderer_for(settings)
        said = render_pending(_factory(settings), renderer).say()
        backups = attach_backups(_factory(settings), renderer)
        if backups.changed:
            said += f"; {backups.changed} lượt tiếp âm có tệp dự phòng mới"
        if backups.failed:
            said += f"; tệp dự phòng lỗi (vd: {backups.failed[0][1]})"
        return said

    _recorded("render", work, v)


def relays_job(v: int = ARGS_VERSION) -> None:
    """Check the relay sources that air soon (and those never checked); keep the results."""

    def work(settings: Settings) -> str:
        from broadcaster.services.relays import check_due

        with transaction(_factory(settings)) as s:
            summary = check_due(s, utcnow(), policy=settings.relay_allow_private)
        return summary.say()

    _recorded("relays", work, v)


def reports_job(v: int = ARGS_VERSION) -> None:
    """Store the periodic compliance reports that are due (monthly, quarterly, yearly)."""

    def work(settings: Settings) -> str:
        from broadcaster.reports import periodic
        from broadcaster.reports.seal import SealKey

        today = utcnow().astimezone(settings.tz).date()
        result = periodic.run(
            _factory(settings),
            today,
            tz=settings.tz,
            cutoff_day=settings.report_cutoff_day,
            report_day=settings.report_day,
            key=SealKey.from_secret(settings.secret_key),
        )
        if not result.periods:
            return "chưa đến hạn báo cáo nào"
        summary = (
            f"{', '.join(result.periods)}: lưu {result.stored}, đã có {result.already}, "
            f"lỗi {result.failed}"
        )
        if result.failed:
            raise RuntimeError(summary)  # recorded as failed; tomorrow's run retries them
        return summary

    _recorded("reports", work, v)
