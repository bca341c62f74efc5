"""The periodic reports the scheduler stores: monthly, quarterly and yearly, for every unit.

Each closed period's reports are due on the configured report day (default the
20th, before the 25th the directives name). The daily job stores what is due
and missing — the whole country, every province and every commune with a
station — each in its own transaction, so a run cut off half-way is finished by
the next one and nothing is stored twice (``schedule_key`` is unique).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.db import transaction
from broadcaster.models import AdminUnit, ComplianceReport, Station
from broadcaster.reports import store
from broadcaster.reports.periods import Period, closed
from broadcaster.reports.seal import SealKey

log = logging.getLogger(__name__)

SCHEDULED_KINDS = ("month", "quarter", "year")
CATCH_UP = timedelta(days=31)
GENERATED_BY = "hệ thống (lịch báo cáo định kỳ)"


@dataclass(frozen=True)
class PeriodicRun:
    stored: int
    already: int
    failed: int
    periods: tuple[str, ...]


def due_on(period: Period, report_day: int) -> date:
    """The first day on or after the period's close that is the report day of its month."""
    after = period.end + timedelta(days=1)
    if report_day >= after.day:
        return after.replace(day=report_day)
    first_next = (after.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next.replace(day=report_day)


def due_periods(today: date, cutoff_day: int, report_day: int) -> list[Period]:
    """For month, quarter and year: the latest period whose report day has come.

    Before this month's report day that is last month's period, so a run after
    downtime still stores a report it missed (and finds the others already there).
    Catching up stops ``CATCH_UP`` after the report day: a new installation does
    not fill last year with reports of a time it did not exist.
    """
    due = []
    for kind in SCHEDULED_KINDS:
        for period in closed(kind, today, cutoff_day):
            day = due_on(period, report_day)
            if day <= today:
                if today - day <= CATCH_UP:
                    due.append(period)
                break
    return due


def reporting_units(session: Session) -> list[str | None]:
    """None (the country), then every province and commune that has a station."""
    paths = session.scalars(
        select(AdminUnit.path).join(Station, Station.unit_id == AdminUnit.id).distinct()
    ).all()
    codes: set[str] = set()
    for path in paths:
        codes.update(part for part in path.strip("/").split("/") if part)
    return [None, *sorted(codes, key=lambda c: (len(c), c))]


def run(
    factory: sessionmaker[Session],
    today: date,
    *,
    tz: ZoneInfo,
    cutoff_day: int,
    report_day: int,
    key: SealKey,
    progress: Callable[[str], None] | None = None,
) -> PeriodicRun:
    stored = already = failed = 0
    periods = due_periods(today, cutoff_day, report_day)
    with factory() as s:
        units = reporting_units(s)
    for period in periods:
        with factory() as s:
            done = set(
                s.scalars(
                    select(ComplianceReport.schedule_key).where(
                        ComplianceReport.schedule_key.like(f"{period.kind}:{period.key}:%")
                    )
                )
            )
        for unit in units:
            schedule = store.schedule_key(period, unit)
            if schedule in done:
                already += 1
                continue
            try:
                with transaction(factory) as s:
                    store.generate(
                        s,
                        period,
                        unit_code=unit,
                        key=key,
                        generated_by=GENERATED_BY,
                        tz=tz,
                        scheduled=True,
                    )
                stored += 1
            except Exception:  # one unit's failure must not stop the others; retried tomorrow
                failed += 1
                log.exception("periodic report %s failed", schedule)
            if progress:
                progress(schedule)
    return PeriodicRun(stored, already, failed, tuple(f"{p.kind} {p.key}" for p in periods))
