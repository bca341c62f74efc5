"""The dashboard (tổng quan): today and this ISO week for one unit's subtree.

What the admin's first page shows, computed without Flask:

* **figures** for today and for this week (local days of the configured time
  zone): slots planned, aired on time, late, partial or failed, missed,
  pending, unplaced. They are counted by the compliance report's own statement
  (:func:`broadcaster.reports.compliance._slot_outcomes`) with its rules
  (grace, early, best report per slot), bounded by the day's or week's slot
  time range and the scope's stations: the same figures the compliance report
  gives for the same days, from one grouped query per range;
* a **per-unit** table of the week: the provinces of the country, the communes
  of a province, the station of a commune;
* **stations offline**: no heartbeat for :data:`~broadcaster.services.health.OFFLINE_AFTER`
  (the rule of :func:`broadcaster.services.health.station_health`, also the report's);
* **emergencies active**: sent to a station of the scope, neither expired nor cancelled;
* **campaigns at risk**, defined simply: an active campaign is at risk at a
  station this week when at least one of the week's required airings can no
  longer air as planned — missed, cut short, failed or not placed in any window
  (``missed + partial + failed + unplaced > 0``) — or when the station has fewer
  slots this week than the campaign's cadence asks (``times_per_week`` or the
  pattern's length, for a campaign running the whole week). The reasons are kept
  so the page can say why;
* **unplaced** (không xếp được): the slots of this week and next that found no
  room in any window, by campaign and station;
* **failing relay sources** (nguồn tiếp âm lỗi): active sources seen from the scope
  whose last check failed, with since when and why
  (:func:`broadcaster.services.relays.failing_sources`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignStatus,
    Emergency,
    Slot,
    SlotStatus,
    Station,
    StationStatus,
)
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.reports import compliance
from broadcaster.reports.periods import custom
from broadcaster.services import health, relays

WORST_OFFLINE = 10
RULES = compliance.Rules()  # the report's: grace, early, offline after
UNPLACED_ROWS = 50
AT_RISK_ROWS = 20


@dataclass(frozen=True)
class Figures:
    """Slot outcomes of a range, as the compliance report counts them."""

    planned: int = 0  # required airings (slots of the range)
    on_time: int = 0
    late: int = 0
    partial: int = 0
    failed: int = 0
    missed: int = 0
    pending: int = 0  # window not closed yet
    unplaced: int = 0
    compliance_pct: float | None = None  # aired (on time or late) of those due

    @classmethod
    def of(cls, sums: dict[str, float]) -> Figures:
        return cls.many([sums])[0]

    @classmethod
    def many(cls, sums: list[dict[str, float]]) -> list[Figures]:
        """Figures of many rows of sums (dicts by summed column)."""
        columns = {
            name: np.asarray([row[name] for row in sums], np.float64) for name in compliance._SUMMED
        }
        return cls.columns(columns)

    @classmethod
    def columns(cls, columns: dict[str, np.ndarray]) -> list[Figures]:
        """Figures of rows given as summed columns, derived by the report's own code."""
        if not len(columns["required"]):
            return []
        return [
            cls(
                planned=c["required"],
                on_time=c["on_time"],
                late=c["late"],
                partial=c["partial"],
                failed=c["failed"],
                missed=c["missed"],
                pending=c["pending"],
                unplaced=c["unplaced"],
                compliance_pct=c["compliance_pct"],
            )
            for c in compliance._counts_rows(columns)
        ]

    @property
    def lost(self) -> int:
        """Required airings that can no longer air in full as planned."""
        return self.missed + self.partial + self.failed


@dataclass(frozen=True)
class UnitRow:
    """One line of the per-unit table: a child unit (or the station of a commune)."""

    code: str
    name: str
    kind: str  # "unit" or "station"
    stations: int
    figures: Figures


@dataclass(frozen=True)
class OfflineStation:
    code: str
    name: str
    last_seen_at: datetime | None  # None: never heard from


@dataclass(frozen=True)
class CampaignRisk:
    campaign_id: int
    name: str
    stations_at_risk: int
    lost: int  # missed + partial + failed this week at the stations at risk
    unplaced: int
    short_stations: int  # stations with fewer slots than the cadence asks
    figures: Figures  # the campaign's whole week in the scope


@dataclass(frozen=True)
class UnplacedRow:
    campaign_id: int
    campaign_name: str
    station_code: str
    station_name: str
    week: str
    slots: int


@dataclass(frozen=True)
class Overview:
    as_of: datetime  # the moment counted
    today: date
    week: str
    week_start: date
    week_end: date
    next_week: str
    today_figures: Figures
    week_figures: Figures
    units: list[UnitRow]
    stations: int
    offline_count: int
    never_seen: int
    offline: list[OfflineStation]  # the worst: longest silent first
    emergencies_active: int
    connected: int  # holding an emergency long-poll now: an emergency reaches them at once
    at_risk: list[CampaignRisk]
    unplaced: list[UnplacedRow]
    unplaced_more: bool
    rules: dict = field(default_factory=dict)
    failing_relays: list[relays.RelaySourceInfo] = field(default_factory=list)


def _station_ids(path: str | None):
    """The scope's stations as a subquery. For the country too: without a station
    filter SQLite prefers scanning every slot of the year in id order (to group by
    slot without sorting) over the planned-start index; with one it takes the index."""
    q = select(Station.id)
    if path is None:
        return q
    return q.join(AdminUnit, AdminUnit.id == Station.unit_id).where(AdminUnit.path.startswith(path))


def _rows(session: Session, first: date, last: date, tz, as_of, rules, station_ids):
    """Compliance rows (station, campaign, week, *summed) of the days first..last."""
    period = custom(first, last)
    stmt = compliance._slot_outcomes(session, period, tz, as_of, rules, station_ids, None)
    return session.connection().execute(stmt).all()


_WIDTH = len(compliance._SUMMED)


def _sum(rows) -> dict[str, float]:
    totals = [0.0] * _WIDTH
    for row in rows:
        for i in range(_WIDTH):
            totals[i] += row[3 + i] or 0
    return dict(zip(compliance._SUMMED, totals, strict=True))


def _without_unplaced(sums: dict[str, float], monday: date, local_now: date) -> dict:
    """A day's sums without its week's unplaced slots (counted on the Monday's day).

    An unplaced slot has no day: the report dates it to its week's Monday, and
    counts it pending while its week is open (missed after). Today's cards leave
    it to the week's.
    """
    unplaced = sums["unplaced"]
    if unplaced:
        sums = {**sums, "required": sums["required"] - unplaced, "unplaced": 0.0}
        if monday + timedelta(days=7) > local_now:  # the week is open: they were pending
            sums["pending"] -= unplaced
    return sums


def _grouped(rows, key) -> dict:
    """Figures per ``key(row)``: the rows' counts summed by group, column by column."""
    index: dict = {}
    group = np.fromiter((index.setdefault(key(r), len(index)) for r in rows), np.int64, len(rows))
    if not rows:
        return {}
    matrix = np.asarray([r[3 : 3 + _WIDTH] for r in rows], dtype=np.float64)
    np.nan_to_num(matrix, copy=False)  # a NULL sum (no airing) is 0
    columns = {
        name: np.bincount(group, weights=matrix[:, i], minlength=len(index))
        for i, name in enumerate(compliance._SUMMED)
    }
    return dict(zip(index, Figures.columns(columns), strict=True))


def overview(
    session: Session,
    unit: AdminUnit | None,
    *,
    tz: ZoneInfo,
    today: date | None = None,
    as_of: datetime | None = None,
    rules: compliance.Rules = RULES,
) -> Overview:
    """The dashboard of ``unit``'s subtree (None: the country).

    ``today`` (a local date, default today in ``tz``) fixes the day and the week;
    ``as_of`` (default now) is the moment the counting describes, as in the report.
    """
    as_of = as_of or utcnow()
    today = today or as_of.astimezone(tz).date()
    monday = monday_of(today)
    sunday = monday + timedelta(days=6)
    path = unit.path if unit is not None else None
    station_ids = _station_ids(path)

    week_rows = _rows(session, monday, sunday, tz, as_of, rules, station_ids)
    today_rows = _rows(session, today, today, tz, as_of, rules, station_ids)
    today_sums = _without_unplaced(_sum(today_rows), monday, as_of.astimezone(tz).date())

    stations_q = select(Station.id, Station.code, Station.name, AdminUnit.path).join(
        AdminUnit, AdminUnit.id == Station.unit_id
    )
    if path is not None:
        stations_q = stations_q.where(AdminUnit.path.startswith(path))
    scope_stations = session.execute(stations_q.order_by(Station.code)).all()

    units = _unit_rows(session, unit, scope_stations, week_rows)

    offline_count, never_seen, offline = _offline(session, path, as_of - rules.offline_after)

    # from the few live emergencies to their slots, never from the slots of the year;
    # active while some station of the scope has not aired it yet
    delivered = select(Slot.id).where(
        Slot.emergency_id == Emergency.id, Slot.status != SlotStatus.AIRED
    )
    if path is not None:
        delivered = delivered.where(Slot.station_id.in_(station_ids))
    emergencies_active = session.scalar(
        select(func.count()).where(
            Emergency.cancelled_at.is_(None),
            Emergency.expires_at > as_of,
            delivered.exists(),
        )
    )

    next_week = week_label(monday + timedelta(days=7))
    unplaced, more = _unplaced(session, station_ids, [week_label(monday), next_week])
    return Overview(
        as_of=as_of,
        today=today,
        week=week_label(monday),
        week_start=monday,
        week_end=sunday,
        next_week=next_week,
        today_figures=Figures.of(today_sums),
        week_figures=Figures.of(_sum(week_rows)),
        units=units,
        stations=len(scope_stations),
        offline_count=offline_count,
        never_seen=never_seen,
        offline=offline,
        emergencies_active=emergencies_active,
        connected=len(health.connected_station_ids(session, unit_path=path, now=as_of)),
        at_risk=_at_risk(session, week_rows, monday, sunday),
        unplaced=unplaced,
        unplaced_more=more,
        rules=rules.as_dict(),
        failing_relays=relays.failing_sources(session, path),
    )


def _offline(session: Session, path: str | None, since: datetime):
    """Active stations silent since ``since`` (or never heard from): how many, how many
    never, and the worst few (never first, then the longest silent).

    The rule is :func:`broadcaster.services.health.station_health`'s (the report's
    too), counted in SQL: that function builds a row per station, 0.25 s for the country.
    """
    seen = StationStatus.last_seen_at
    silent = and_(Station.active.is_(True), or_(StationStatus.station_id.is_(None), seen < since))
    base = (
        select(Station.code, Station.name, seen)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .where(silent)
    )
    if path is not None:
        base = base.where(AdminUnit.path.startswith(path))
    counted = base.with_only_columns(
        func.count(), func.count().filter(StationStatus.station_id.is_(None))
    )
    count, never = session.execute(counted).one()
    worst = base.order_by(StationStatus.station_id.is_not(None), seen, Station.code).limit(
        WORST_OFFLINE
    )
    return count, never, [OfflineStation(*row) for row in session.execute(worst)]


def _unit_rows(session: Session, unit, scope_stations, week_rows) -> list[UnitRow]:
    """The week per child unit of ``unit`` (per station when ``unit`` is a commune)."""
    depth = 0 if unit is None else len(unit.path.strip("/").split("/"))
    child_of: dict[int, tuple[str, str]] = {}  # station id -> (kind, code)
    names: dict[tuple[str, str], str] = {}
    for sid, code, name, upath in scope_stations:
        parts = upath.strip("/").split("/")
        if len(parts) > depth:
            child_of[sid] = ("unit", parts[depth])
        else:  # the station of the commune itself
            child_of[sid] = ("station", code)
            names[("station", code)] = name
    unit_codes = sorted({c for kind, c in child_of.values() if kind == "unit"})
    if unit_codes:
        for code, name in session.execute(
            select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(unit_codes))
        ):
            names[("unit", code)] = name
    counted = _grouped(week_rows, lambda r: child_of.get(r[0]))
    n_stations: dict[tuple[str, str], int] = defaultdict(int)
    for key in child_of.values():
        n_stations[key] += 1
    return [
        UnitRow(
            code=key[1],
            name=names.get(key, key[1]),
            kind=key[0],
            stations=n_stations[key],
            figures=counted.get(key, Figures()),
        )
        for key in sorted(n_stations, key=lambda k: (k[0], k[1]))
    ]


def _cadence(c: Campaign) -> int | None:
    if c.pattern:
        return len(c.pattern)
    return c.times_per_week


def _at_risk(session: Session, week_rows, monday: date, sunday: date) -> list[CampaignRisk]:
    campaign_ids = sorted({r[1] for r in week_rows})
    if not campaign_ids:
        return []
    campaigns = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    whole = _grouped(week_rows, lambda r: r[1])
    # per station × campaign (one compliance row per pair and week): what is lost is
    # what fell due and did not air (missed + partial + failed, as the report derives it)
    cols = {name: i for i, name in enumerate(compliance._SUMMED)}
    matrix = np.nan_to_num(np.asarray([r[3 : 3 + _WIDTH] for r in week_rows], np.float64))
    required, pending = matrix[:, cols["required"]], matrix[:, cols["pending"]]
    lost = required - pending - matrix[:, cols["on_time"]] - matrix[:, cols["late"]]
    unplaced = matrix[:, cols["unplaced"]]
    row_campaign = np.fromiter((r[1] for r in week_rows), np.int64, len(week_rows))
    out = []
    for cid in campaign_ids:
        c = campaigns.get(cid)
        if c is None or c.status is not CampaignStatus.ACTIVE:
            continue
        whole_week = c.starts_on <= monday and c.ends_on >= sunday
        wanted = _cadence(c) if whole_week else None
        mine = row_campaign == cid
        short = (required < wanted) & mine if wanted else np.zeros(len(week_rows), bool)
        risky = ((lost + unplaced > 0) & mine) | short
        if risky.any():
            out.append(
                CampaignRisk(
                    campaign_id=cid,
                    name=c.name,
                    stations_at_risk=int(risky.sum()),
                    lost=int(lost[risky].sum()),
                    unplaced=int(unplaced[risky].sum()),
                    short_stations=int(short.sum()),
                    figures=whole[cid],
                )
            )
    out.sort(key=lambda r: (-r.stations_at_risk, -(r.lost + r.unplaced), r.campaign_id))
    return out[:AT_RISK_ROWS]


def _unplaced(session: Session, station_ids, weeks: list[str]) -> tuple[list[UnplacedRow], bool]:
    """Unplaced campaign slots of ``weeks``, by campaign × station × week, most first."""
    n = func.count().label("n")
    q = (
        select(Slot.campaign_id, Campaign.name, Station.code, Station.name, Slot.week, n)
        .join(Campaign, Campaign.id == Slot.campaign_id)
        .join(Station, Station.id == Slot.station_id)
        # an unplaced slot has no time: the start index (0008) finds it by week
        .where(
            Slot.planned_start.is_(None),
            Slot.week.in_(weeks),
            Slot.status == SlotStatus.UNPLACED,
        )
        .group_by(Slot.campaign_id, Campaign.name, Station.code, Station.name, Slot.week)
        .order_by(n.desc(), Slot.week, Station.code, Slot.campaign_id)
        .limit(UNPLACED_ROWS + 1)
    )
    if station_ids is not None:
        q = q.where(Slot.station_id.in_(station_ids))
    rows = [UnplacedRow(*r) for r in session.execute(q)]
    return rows[:UNPLACED_ROWS], len(rows) > UNPLACED_ROWS
