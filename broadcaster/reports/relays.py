"""Relays (tiếp âm) in the compliance report: required minutes against relayed minutes.

A relay campaign's slots are counted apart from announcements (the "3 lần/tuần"
figures are about announcements; a relay is not an airing of one). For each
station × relay campaign × ISO week of the period:

* **required** — the lengths of the relay slots the plan holds in the period
  (``duration_ms``), held and dated exactly as announcement slots are: an
  unplaced one counts in the period of its week's Monday, a cancelled one only
  if something was reported for it;
* **pending** — the lengths of those whose window (plus grace) had not closed at
  the report's moment with nothing reported; ``due = required − pending``;
* **relayed** — per slot, the best of its reports received by the report's
  moment: the seconds actually relayed (``relayed_s``; a report confirmed by hand
  without them counts its airing's length), capped at the slot's length; an
  ``aired`` or ``partial`` report counts, a ``failed`` one counts 0.

Sums are in whole milliseconds, rounded once to minutes (one decimal, halves
up), and the share is ``relayed / due`` in percent. The figures join every row
of the report's totals, provinces, communes, stations and weeks under the
``RELAY_FIELDS`` names, and each relay campaign has its row in
``relay_campaigns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import BigInteger, and_, case, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session

from broadcaster.models import Airing as A
from broadcaster.models import (
    AiringStatus,
    Campaign,
    CampaignKind,
    RelaySource,
    Slot,
    SlotStatus,
)
from broadcaster.reports.fields import RELAY_FIELDS
from broadcaster.reports.periods import Period
from broadcaster.reports.slotcount import Table, milliseconds, minutes, pct, period_slots

# the relay campaigns' ids, for a statement's ``IN`` / ``NOT IN``
RELAY_CAMPAIGNS = select(Campaign.id).where(Campaign.kind == CampaignKind.RELAY)
# counted in SQL per station × campaign × week
SUMMED = ("relay_slots", "required_ms", "pending_ms", "relayed_ms")
_REPORTED = (AiringStatus.AIRED, AiringStatus.PARTIAL, AiringStatus.FAILED, AiringStatus.SKIPPED)
_PLAYED = (AiringStatus.AIRED, AiringStatus.PARTIAL)


def statement(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    as_of: datetime,
    grace: timedelta,
    station_ids=None,
    campaign_id: int | None = None,
    split: bool = False,
):
    """Relay slots counted per station × campaign × week: ``SUMMED`` after the three keys.

    ``split`` (PostgreSQL, a scope without weekly detail) groups per station × campaign
    and per campaign × week instead (GROUPING SETS; last column 1 for the first kind).
    """
    held, still_open = period_slots(period, tz, as_of, grace)
    known = A.received_at <= as_of
    length = case(
        (A.relayed_s.is_not(None), cast(A.relayed_s, BigInteger) * 1000),
        else_=milliseconds(session, A.started_at, A.ended_at),
    )
    capped = case((length > Slot.duration_ms, cast(Slot.duration_ms, BigInteger)), else_=length)
    per_slot = (
        select(
            Slot.station_id.label("station_id"),
            Slot.campaign_id.label("campaign_id"),
            Slot.week.label("week"),
            Slot.status.label("slot_status"),
            Slot.duration_ms.label("duration_ms"),
            still_open.label("open"),
            func.max(case((and_(known, A.status.in_(_REPORTED)), 1), else_=0)).label("reported"),
            func.max(case((and_(known, A.status.in_(_PLAYED)), capped), else_=0)).label(
                "relayed_ms"
            ),
        )
        .select_from(Slot)
        .outerjoin(A, A.slot_id == Slot.id)
        .where(Slot.campaign_id.in_(RELAY_CAMPAIGNS), held)
        .group_by(Slot.id)
    )
    if station_ids is not None:
        per_slot = per_slot.where(Slot.station_id.in_(station_ids))
    if campaign_id is not None:
        per_slot = per_slot.where(Slot.campaign_id == campaign_id)
    s = per_slot.subquery("relay_slot")
    pending = case((and_(s.c.open == 1, s.c.reported == 0), s.c.duration_ms), else_=0)
    counted = select(
        s.c.station_id,
        s.c.campaign_id,
        s.c.week,
        func.count().label("relay_slots"),
        cast(func.sum(s.c.duration_ms), BigInteger).label("required_ms"),
        cast(func.sum(pending), BigInteger).label("pending_ms"),
        cast(func.sum(s.c.relayed_ms), BigInteger).label("relayed_ms"),
    ).where(
        # a cancelled slot is not required, unless something was reported for it anyway
        or_(s.c.slot_status != SlotStatus.CANCELLED, s.c.reported == 1)
    )
    if split:
        return counted.add_columns(func.grouping(s.c.week)).group_by(
            func.grouping_sets(
                tuple_(s.c.station_id, s.c.campaign_id), tuple_(s.c.campaign_id, s.c.week)
            )
        )
    return counted.group_by(s.c.station_id, s.c.campaign_id, s.c.week)


def counts_rows(sums: dict[str, np.ndarray]) -> list[dict]:
    """The relay figures (``RELAY_FIELDS``) of every row of summed columns (``SUMMED``)."""
    whole = {name: np.rint(sums[name]).astype(np.int64) for name in SUMMED}
    due = whole["required_ms"] - whole["pending_ms"]
    columns = [
        whole["relay_slots"].tolist(),
        minutes(whole["required_ms"]).tolist(),
        minutes(due).tolist(),
        minutes(whole["relayed_ms"]).tolist(),
        pct(whole["relayed_ms"], due),
    ]
    return [dict(zip(RELAY_FIELDS, row, strict=True)) for row in zip(*columns, strict=True)]


@dataclass(frozen=True)
class Counted:
    """A report's relays: summed by station (and campaign), by week, and per campaign."""

    by_station: Table
    by_week: Table
    campaigns: list[dict]  # the report's relay_campaigns rows


def count(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    as_of: datetime,
    grace: timedelta,
    *,
    station_ids,
    station_index: dict[int, int],
    week_index: dict[str, int],
    campaign: Campaign | None = None,
    split: bool = False,
) -> Counted:
    """The relays of a report's stations (``station_index``: station id → position)."""
    campaign_id = campaign.id if campaign is not None else None
    rows = (
        session.connection()
        .execute(statement(session, period, tz, as_of, grace, station_ids, campaign_id, split))
        .all()
    )
    rows = [r for r in rows if r[0] is None or r[0] in station_index]  # moved mid-count
    ids = {r[1] for r in rows}
    if campaign is not None and campaign.kind == CampaignKind.RELAY:
        ids.add(campaign.id)  # a relay campaign's own report lists it, even with nothing
    ids = sorted(ids)
    index = {cid: i for i, cid in enumerate(ids)}
    if split:
        by_station = Table.of(
            [r for r in rows if r[-1] == 1], station_index, index, None, SUMMED, counts_rows
        )
        by_week = Table.of(
            [r for r in rows if r[-1] == 0], None, index, week_index, SUMMED, counts_rows
        )
    else:
        by_station = by_week = Table.of(rows, station_index, index, week_index, SUMMED, counts_rows)
    meta = {
        row[0]: row
        for row in session.execute(
            select(
                Campaign.id,
                Campaign.name,
                RelaySource.name,
                Campaign.relay_start,
                Campaign.relay_minutes,
            )
            .outerjoin(RelaySource, RelaySource.id == Campaign.relay_source_id)
            .where(Campaign.id.in_(ids))
        )
    }
    campaigns = []
    for cid, figures in zip(ids, by_station.by(by_station.campaign, len(ids)), strict=True):
        _id, name, source, start, length = meta.get(cid, (cid, str(cid), None, None, None))
        campaigns.append(
            {
                "id": cid,
                "name": name,
                "source": source,
                "start": start.strftime("%H:%M") if start is not None else None,
                "length_minutes": length,
                **figures,
            }
        )
    return Counted(by_station, by_week, campaigns)


def relay_figures(
    session: Session,
    period: Period,
    *,
    tz: ZoneInfo,
    as_of: datetime,
    grace: timedelta,
    station_ids=None,
) -> dict:
    """The relay figures of ``period`` over ``station_ids`` (a list or a select of station
    ids; None: every station), as the compliance report counts them — for a page that
    wants the relays of a few days (the dashboard) without the whole report."""
    rows = (
        session.connection()
        .execute(statement(session, period, tz, as_of, grace, station_ids))
        .all()
    )
    sums = {
        name: np.asarray([sum((r[3 + i] or 0) for r in rows)], np.float64)
        for i, name in enumerate(SUMMED)
    }
    return counts_rows(sums)[0]
