"""Compliance (tỷ lệ thực hiện): required airings from the plan against the airing log.

One SQL statement does the counting: it groups each campaign slot of the
period with its airing reports (the best report decides the slot's outcome, as
one small code), then counts outcomes per station × campaign × ISO week.
Everything else in the report (communes, provinces, campaigns, weeks, the
stations most behind) is summed from those rows with numpy, so a national year
— 2.6 million slots, 2.5 million airings — is one pass over the tables. On
PostgreSQL a scope too large for the weekly detail is counted per station ×
campaign and per campaign × week instead (GROUPING SETS): the same figures from
~17,000 rows instead of ~900,000.

Relays (tiếp âm) are their own kind, counted by :mod:`broadcaster.reports.relays`
in minutes and added to the same rows; they are never announcement airings.

The report is a plain dict (format ``broadcaster.compliance/2``, described in
docs/compliance.md); CSV, XLSX and PDF are drawn from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    BigInteger,
    Interval,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from broadcaster.config import DEFAULT_TIMEZONE
from broadcaster.db import utcnow
from broadcaster.errors import NotFound
from broadcaster.models import (
    AdminUnit,
    AiringStatus,
    Campaign,
    CampaignKind,
    Slot,
    SlotStatus,
    Station,
    StationStatus,
)
from broadcaster.models import Airing as A
from broadcaster.reports import relays, sections
from broadcaster.reports.fields import COUNT_FIELDS, FORMAT
from broadcaster.reports.periods import Period
from broadcaster.reports.sections import local_iso
from broadcaster.reports.slotcount import Table, milliseconds, minutes, period_slots
from broadcaster.reports.slotcount import micros as _micros
from broadcaster.reports.slotcount import pct as _pct
from broadcaster.reports.slotcount import weeks as _weeks
from broadcaster.services.health import OFFLINE_AFTER

TITLE = "Báo cáo kết quả phát thanh tuyên truyền trên đài truyền thanh cơ sở"
GRACE = timedelta(minutes=15)  # a window's airing may start a little after it closes
EARLY = timedelta(hours=3)  # an airing this much before its planned start is "outside"
DETAIL_MAX_STATIONS = 500
BEHIND_TOP = 10

# Counted in SQL per station × campaign × week; the rest are derived.
_SUMMED = (
    "required",
    "on_time",
    "late",
    "partial",
    "failed",
    "pending",
    "unplaced",
    "aired_agent",
    "aired_manual",
    "milliseconds",
)
COUNTS = COUNT_FIELDS


@dataclass(frozen=True)
class Rules:
    grace: timedelta = GRACE
    early: timedelta = EARLY
    offline_after: timedelta = OFFLINE_AFTER

    @classmethod
    def of(cls, stored: dict) -> Rules:
        """The rules a report's ``rules`` section describes."""
        return cls(
            timedelta(minutes=stored["grace_minutes"]),
            timedelta(minutes=stored["early_minutes"]),
            timedelta(minutes=stored["offline_after_minutes"]),
        )

    def as_dict(self) -> dict:
        return {
            "grace_minutes": int(self.grace.total_seconds() // 60),
            "early_minutes": int(self.early.total_seconds() // 60),
            "offline_after_minutes": int(self.offline_after.total_seconds() // 60),
        }


def _within(session: Session, moment, start, end, early: timedelta, grace: timedelta):
    """``start - early <= moment <= end + grace`` in SQL, for timestamp columns, exactly.

    SQLite: a plain text comparison (one fixed format) settles the common case
    (aired inside the window), and integer microseconds the airings outside it.
    PostgreSQL does interval arithmetic natively.
    """
    if session.get_bind().dialect.name == "sqlite":
        micro = timedelta(microseconds=1)
        return and_(
            or_(moment >= start, _micros(moment) - _micros(start) >= -(early // micro)),
            or_(moment <= end, _micros(moment) - _micros(end) <= grace // micro),
        )
    return and_(
        moment >= start - literal(early, Interval()), moment <= end + literal(grace, Interval())
    )


# A slot's outcome, the best of its reports (higher wins); full airings add 1 when an
# agent reported them, so the best one also tells who reported it.
ON_TIME, OUTSIDE, PARTIAL, FAILED, NOTHING = 10, 8, 6, 4, 0


def _slot_outcomes(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    as_of: datetime,
    rules: Rules,
    station_ids,
    campaign_id: int | None,
    split: bool = False,
):
    """The statement counting outcomes per station × campaign × week.

    ``split`` (PostgreSQL) counts per station × campaign and per campaign × week in
    one pass instead (GROUPING SETS, last column 1 for the first kind): a national
    year is then ~17,000 rows to fetch, not ~900,000.
    """
    held, still_open = period_slots(period, tz, as_of, rules.grace)
    outcome = case(
        (A.received_at > as_of, NOTHING),  # arrived after the report's moment
        (
            A.status == AiringStatus.AIRED,
            case(
                (
                    _within(
                        session,
                        A.started_at,
                        Slot.planned_start,
                        Slot.window_end,
                        rules.early,
                        rules.grace,
                    ),
                    ON_TIME,
                ),
                else_=OUTSIDE,
            )
            + case((A.source == "agent", 1), else_=0),
        ),
        (A.status == AiringStatus.PARTIAL, PARTIAL),
        (A.status.in_([AiringStatus.FAILED, AiringStatus.SKIPPED]), FAILED),
        else_=NOTHING,
    )
    played = and_(A.status.in_([AiringStatus.AIRED, AiringStatus.PARTIAL]), A.received_at <= as_of)
    per_slot = (
        select(
            Slot.station_id.label("station_id"),
            Slot.campaign_id.label("campaign_id"),
            Slot.week.label("week"),
            Slot.status.label("slot_status"),
            still_open.label("open"),
            func.coalesce(func.max(outcome), NOTHING).label("best"),
            func.sum(
                case((played, milliseconds(session, A.started_at, A.ended_at)), else_=0)
            ).label("milliseconds"),
        )
        .select_from(Slot)
        .outerjoin(A, A.slot_id == Slot.id)
        .where(
            Slot.campaign_id.is_not(None),
            # relays are their own kind (reports/relays.py): not announcement airings
            Slot.campaign_id.not_in(relays.RELAY_CAMPAIGNS),
            held,
        )
        .group_by(Slot.id)
    )
    if station_ids is not None:
        per_slot = per_slot.where(Slot.station_id.in_(station_ids))
    if campaign_id is not None:
        per_slot = per_slot.where(Slot.campaign_id == campaign_id)
    s = per_slot.subquery("per_slot")
    best = s.c.best

    def count(condition):
        return func.count().filter(condition)

    counted = (
        select(
            s.c.station_id,
            s.c.campaign_id,
            s.c.week,
            func.count().label("required"),
            count(best >= ON_TIME).label("on_time"),
            count(best.between(OUTSIDE, OUTSIDE + 1)).label("late"),
            count(best == PARTIAL).label("partial"),
            count(best == FAILED).label("failed"),
            count(and_(best == NOTHING, s.c.open == 1)).label("pending"),
            count(s.c.slot_status == SlotStatus.UNPLACED).label("unplaced"),
            count(best.in_([OUTSIDE + 1, ON_TIME + 1])).label("aired_agent"),
            count(best.in_([OUTSIDE, ON_TIME])).label("aired_manual"),
            cast(func.sum(s.c.milliseconds), BigInteger).label("milliseconds"),
        )
        # a cancelled slot is not required, unless something aired in it anyway
        .where(or_(s.c.slot_status != SlotStatus.CANCELLED, best != NOTHING))
    )
    if split:
        return counted.add_columns(func.grouping(s.c.week)).group_by(
            func.grouping_sets(
                tuple_(s.c.station_id, s.c.campaign_id), tuple_(s.c.campaign_id, s.c.week)
            )
        )
    return counted.group_by(s.c.station_id, s.c.campaign_id, s.c.week)


def most_behind(stations: list[dict]) -> list[dict]:
    """The stations with the most airings not made (missed, partial, failed), worst first."""
    return sorted(
        (s for s in stations if s["missed"] + s["partial"] + s["failed"] > 0),
        key=lambda s: (-(s["missed"] + s["partial"] + s["failed"]), s["code"]),
    )[:BEHIND_TOP]


def _counts_rows(sums: dict[str, np.ndarray]) -> list[dict]:
    """The report's Counts for every row of summed columns (``sums`` holds ``_SUMMED``)."""
    v = {name: np.rint(sums[name]).astype(np.int64) for name in _SUMMED if name != "milliseconds"}
    due = v["required"] - v["pending"]
    aired = v["on_time"] + v["late"]
    columns = {
        "required": v["required"],
        "due": due,
        "on_time": v["on_time"],
        "late": v["late"],
        "partial": v["partial"],
        "failed": v["failed"],
        "missed": due - aired - v["partial"] - v["failed"],
        "pending": v["pending"],
        "unplaced": v["unplaced"],
        "aired_agent": v["aired_agent"],
        "aired_manual": v["aired_manual"],
        "minutes_aired": minutes(np.rint(sums["milliseconds"])),
    }
    lists = [column.tolist() for column in columns.values()]
    lists += [_pct(aired, due), _pct(v["on_time"], due)]
    return [dict(zip(COUNTS, row, strict=True)) for row in zip(*lists, strict=True)]


def _counts(v: dict[str, float]) -> dict:
    """The Counts of one row of sums."""
    return _counts_rows({name: np.asarray([v[name]], np.float64) for name in _SUMMED})[0]


def _table(rows, station_index, campaign_index, week_index) -> Table:
    """Counted announcement rows as a :class:`Table` of their Counts."""
    return Table.of(rows, station_index, campaign_index, week_index, _SUMMED, _counts_rows)


def _scope(session: Session, unit_code: str | None) -> AdminUnit | None:
    if unit_code is None:
        return None
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code.strip()))
    if unit is None:
        raise NotFound(
            "Không có đơn vị hành chính nào mã '{code}'.", field="unit_code", code=unit_code
        )
    return unit


def compute(
    session: Session,
    period: Period,
    *,
    unit_code: str | None = None,
    campaign_id: int | None = None,
    as_of: datetime | None = None,
    tz: ZoneInfo | None = None,
    rules: Rules = Rules(),
    progress: Callable[[str], None] | None = None,
    roster: dict[str, tuple[str, str, str]] | None = None,
) -> dict:
    """The compliance report of ``unit_code``'s subtree (None: the country) for ``period``.

    ``as_of`` is the moment the report describes (default now): airings received
    after it are left out and slots whose window was still open are ``pending``,
    so the same ``as_of`` gives the same figures later.

    ``roster`` (a stored report's recount) names the stations to count instead of
    the scope's current ones, each with the commune code, commune name and province
    code it was listed under: a station moved or added since does not change it.
    """
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    as_of = as_of or utcnow()
    step = progress or (lambda _label: None)
    unit = _scope(session, unit_code)
    campaign = None
    if campaign_id is not None:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(
                "Không có chiến dịch nào số {campaign_id}.",
                field="campaign_id",
                campaign_id=campaign_id,
            )

    # stations of the scope, with their commune and province
    station_q = select(
        Station.id,
        Station.code,
        Station.name,
        Station.active,
        AdminUnit.code,
        AdminUnit.name,
        AdminUnit.path,
    ).join(AdminUnit, AdminUnit.id == Station.unit_id)
    station_ids = None
    if roster is not None and unit is not None:  # a country's roster is filtered below
        station_q = station_q.where(Station.code.in_(list(roster)))
        station_ids = select(Station.id).where(Station.code.in_(list(roster)))
    elif unit is not None:
        station_q = station_q.where(AdminUnit.path.startswith(unit.path))
        station_ids = (
            select(Station.id)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(AdminUnit.path.startswith(unit.path))
        )
    stations = session.execute(station_q.order_by(Station.code)).all()
    if roster is not None:
        stations = [
            # placed as listed then; the path only has to start with the province
            (*row[:4], *roster[row[1]][:2], "/" + roster[row[1]][2])
            for row in stations
            if row[1] in roster
        ]
    provinces = dict(
        session.execute(select(AdminUnit.code, AdminUnit.name).where(AdminUnit.level == 1)).all()
    )

    step("Đếm lượt phát theo đài, chiến dịch và tuần")
    postgres = session.get_bind().dialect.name == "postgresql"
    split = postgres and len(stations) > DETAIL_MAX_STATIONS
    if postgres:  # one large aggregation: keep it in memory; compiling it costs more than it saves
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))
    # Core, not ORM, rows: ~900,000 of them for a national year on SQLite
    rows = (
        session.connection()
        .execute(_slot_outcomes(session, period, tz, as_of, rules, station_ids, campaign_id, split))
        .all()
    )

    # every station of the scope is listed, also one with nothing required (an honest zero)
    station_index = {row[0]: i for i, row in enumerate(stations)}  # position by code
    if any(r[0] is not None and r[0] not in station_index for r in rows):
        rows = [r for r in rows if r[0] is None or r[0] in station_index]  # moved mid-count
    announcement = campaign is not None and campaign.kind != CampaignKind.RELAY
    campaign_ids = sorted({r[1] for r in rows} | ({campaign_id} if announcement else set()))
    campaign_index = {cid: i for i, cid in enumerate(campaign_ids)}
    campaign_rows = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    weeks = _weeks(period)
    week_index = {w: i for i, (w, _f, _t) in enumerate(weeks)}
    step("Tổng hợp theo xã, tỉnh, chiến dịch, tuần")
    if split:
        table = None
        by_station = _table([r for r in rows if r[-1] == 1], station_index, campaign_index, None)
        by_week = _table([r for r in rows if r[-1] == 0], None, campaign_index, week_index)
    else:
        table = _table(rows, station_index, campaign_index, week_index)
        by_station = by_week = table
    step("Đếm phút tiếp âm theo đài, chiến dịch và tuần")
    relay = relays.count(
        session,
        period,
        tz,
        as_of,
        rules.grace,
        station_ids=station_ids,
        station_index=station_index,
        week_index=week_index,
        campaign=campaign,
        split=split,
    )

    station_meta = []
    for _sid, code, name, _active, unit_code_, unit_name, path in stations:
        province_code = path.strip("/").split("/")[0]
        station_meta.append((code, name, unit_code_, unit_name, province_code))

    seen_q = select(Station.code, StationStatus.last_seen_at).join(
        StationStatus, StationStatus.station_id == Station.id
    )
    if station_ids is not None:
        seen_q = seen_q.where(Station.id.in_(station_ids))
    last_seen = dict(session.execute(seen_q).all()) if stations else {}
    offline_since = as_of - rules.offline_after

    per_station = by_station.by(by_station.station, len(stations))
    relay_per_station = relay.by_station.by(relay.by_station.station, len(stations))
    station_list = []
    for (code, name, ucode, uname, pcode), counts, relayed in zip(
        station_meta, per_station, relay_per_station, strict=True
    ):
        seen = last_seen.get(code)
        station_list.append(
            {
                "code": code,
                "name": name,
                "unit_code": ucode,
                "unit_name": uname,
                "province_code": pcode,
                "last_seen_at": local_iso(seen, tz),
                "offline": seen is None or seen < offline_since,
                **counts,
                **relayed,
            }
        )

    def grouped(key_of, names) -> list[dict]:
        keys = sorted({key_of(m) for m in station_meta})
        index = {k: i for i, k in enumerate(keys)}
        key = np.array([index[key_of(m)] for m in station_meta], dtype=np.int64)
        counts = (
            by_station.by(key[by_station.station], len(keys))
            if by_station.n
            else [_counts(dict.fromkeys(_SUMMED, 0)) for _ in keys]
        )
        relayed = relay.by_station.by(key[relay.by_station.station], len(keys))
        n_stations = np.bincount(key, minlength=len(keys)) if keys else []
        return [
            {**names(k), **c, "stations": int(n), **r}
            for k, c, n, r in zip(keys, counts, n_stations, relayed, strict=True)
        ]

    commune_names = {m[2]: (m[3], m[4]) for m in station_meta}
    communes = grouped(
        lambda m: m[2],
        lambda k: {"code": k, "name": commune_names[k][0], "province_code": commune_names[k][1]},
    )
    province_list = grouped(lambda m: m[4], lambda k: {"code": k, "name": provinces.get(k, k)})
    campaigns = [
        {
            "id": cid,
            "name": campaign_rows[cid].name if cid in campaign_rows else str(cid),
            "times_per_week": campaign_rows[cid].times_per_week if cid in campaign_rows else None,
            **counts,
        }
        for cid, counts in zip(
            campaign_ids, by_station.by(by_station.campaign, len(campaign_ids)), strict=True
        )
    ]
    week_list = [
        {"week": w, "from": first.isoformat(), "to": last.isoformat(), **counts, **relayed}
        for (w, first, last), counts, relayed in zip(
            weeks,
            by_week.by(by_week.week, len(weeks)),
            relay.by_week.by(relay.by_week.week, len(weeks)),
            strict=True,
        )
    ]
    pair_key = by_station.station * max(len(campaign_ids), 1) + by_station.campaign
    pairs, pair_inverse = np.unique(pair_key, return_inverse=True)
    station_campaigns = [
        {
            "station_code": station_meta[int(p) // max(len(campaign_ids), 1)][0],
            "campaign_id": campaign_ids[int(p) % max(len(campaign_ids), 1)],
            **counts,
        }
        for p, counts in zip(pairs, by_station.by(pair_inverse.ravel(), len(pairs)), strict=True)
    ]

    detail, omitted = None, None
    if table is not None and len(stations) <= DETAIL_MAX_STATIONS:
        order = np.lexsort((table.week, table.campaign, table.station))
        counted = _counts_rows({name: col[order] for name, col in table.values.items()})
        detail = [
            {
                "station_code": station_meta[st][0],
                "campaign_id": campaign_ids[ca],
                "week": weeks[we][0],
                **counts,
            }
            for st, ca, we, counts in zip(
                table.station[order].tolist(),
                table.campaign[order].tolist(),
                table.week[order].tolist(),
                counted,
                strict=True,
            )
        ]
    else:
        omitted = (
            f"Báo cáo có {len(stations)} đài (quá {DETAIL_MAX_STATIONS}): bảng chi tiết từng tuần "
            "được bỏ; lập báo cáo cho từng tỉnh hoặc xã để xem."
        )

    behind = most_behind(station_list)

    step("Tin khẩn cấp, đài mất kết nối, dấu chuỗi băm")
    totals = {**by_station.total(), "stations": len(stations), **relay.by_station.total()}
    report = {
        "format": FORMAT,
        "title": TITLE,
        "scope": {
            "unit": None
            if unit is None
            else {"code": unit.code, "name": unit.name, "kind": unit.kind, "level": unit.level},
            "campaign": None if campaign is None else {"id": campaign.id, "name": campaign.name},
        },
        "period": period.as_dict(),
        "generated_at": local_iso(as_of, tz),
        "as_of": as_of.astimezone(UTC).isoformat(timespec="microseconds"),
        "timezone": tz.key,
        "rules": rules.as_dict(),
        "totals": totals,
        "provinces": province_list,
        "communes": communes,
        "stations": station_list,
        "campaigns": campaigns,
        "relay_campaigns": relay.campaigns,
        "weeks": week_list,
        "station_campaigns": station_campaigns,
        "detail": detail,
        "detail_omitted": omitted,
        "behind": [
            {
                "station_code": s["code"],
                "station_name": s["name"],
                "unit_name": s["unit_name"],
                "missing": s["missed"] + s["partial"] + s["failed"],
                "compliance_pct": s["compliance_pct"],
            }
            for s in behind
        ],
        "emergencies": sections.emergencies(session, period, tz, as_of, station_ids, campaign_id),
        "offline": sections.offline(station_list),
        "stamp": sections.stamp(session, station_ids),
    }
    return report
