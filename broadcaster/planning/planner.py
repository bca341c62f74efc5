"""The planner: every active campaign's cadence, materialised as Slots for whole ISO
weeks covering a rolling horizon (default 14 days).

For each station and week, the campaigns' occurrences are generated (N a week
spread evenly over the allowed days, or an explicit pattern), then placed into
the station's windows: relays (tiếp âm) first, at their fixed time, then higher
priority, then older campaigns; items without a fixed time are laid around the
fixed ones (:mod:`broadcaster.planning.fixed`); what does not fit moves to the
next allowed window of the same week; what still cannot fit becomes an
``unplaced`` slot and is reported, never dropped.

Planning again is idempotent: each slot has a key (station, campaign,
occurrence); only future slots that have not aired are changed, and rows are
written only where something differs. Everything is loaded in a few queries
and written in bulk, so the whole country plans in seconds.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.models import (
    Campaign,
    CampaignKind,
    PlanState,
    Slot,
    SlotStatus,
)
from broadcaster.planning.calendar import days_on, local_to_utc, week_label, weeks_between
from broadcaster.planning.fixed import (
    OUTSIDE_WINDOWS,
    OVER_A_RELAY,
    RELAYS_OVERLAP,
    lay_out,
    overlaps,
    relay_occurrences,
)
from broadcaster.planning.inputs import (
    PlanCampaign,
    PlanStation,
    digest,
    load_campaigns,
    load_existing,
    load_quiet_days,
    load_stations,
)

log = logging.getLogger(__name__)

DEFAULT_HORIZON_DAYS = 14
MORNING_BEFORE = time(12, 0)
REPLANNABLE = (SlotStatus.PLANNED, SlotStatus.UNPLACED, SlotStatus.CANCELLED)
FULL_SCOPE = "all"


@dataclass(frozen=True)
class Unplaced:
    station_code: str
    campaign_id: int
    occurrence: str
    reason: str


@dataclass
class PlanReport:
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    unplaced: list[Unplaced] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None
    skipped: bool = False  # nothing had changed since the last full plan


def plan(
    session: Session,
    *,
    now: datetime | None = None,
    days: int = DEFAULT_HORIZON_DAYS,
    tz: ZoneInfo | None = None,
    campaign_ids: Collection[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> PlanReport:
    """Bring the slots of the coming ``days`` in line with the campaigns.

    ``campaign_ids`` limits the work to those campaigns (after an edit, a pause
    or an end); the others' slots then count as already taken window time. A relay
    among them plans every campaign: the others are laid around it.
    """
    if days < 1 or days > 120:
        raise ValueError("days must be between 1 and 120")
    tz = tz or ZoneInfo("Asia/Ho_Chi_Minh")
    now = now or utcnow()
    today = now.astimezone(tz).date()
    mondays = weeks_between(today, today + timedelta(days=days - 1))
    first_day, last_day = today, mondays[-1] + timedelta(days=6)
    report = PlanReport(first_day=first_day, last_day=last_day)
    asked: set[int] = set()  # a paused or ended relay is in scope though no longer loaded
    if campaign_ids is not None and _has_relay(session, campaign_ids):
        asked = set(campaign_ids)
        campaign_ids = None  # the relay takes window time first: everything moves around it

    campaigns = load_campaigns(session, today, last_day, campaign_ids)
    stations = load_stations(session)
    quiet = load_quiet_days(session, first_day, last_day)
    weeks = [week_label(m) for m in mondays]
    scope_ids = set(campaign_ids) if campaign_ids is not None else {c.id for c in campaigns}
    scope_ids |= asked
    if campaign_ids is None:
        fingerprint = digest(session, weeks, tz, campaigns, stations, quiet)
        last = session.get(PlanState, FULL_SCOPE)
        if last is not None and last.digest == fingerprint:
            report.skipped = True
            log.info("plan %s..%s: nothing changed since the last plan", first_day, last_day)
            return report
    existing = load_existing(session, weeks)

    desired: dict[tuple[int, int, str], dict] = {}
    for station in stations:
        mine = [c for c in campaigns if station.ancestors & c.targets]
        if mine:
            mine_existing = existing.get(station.id, {})
            busy = _occupied(mine_existing, now, scope_ids)
            for monday in mondays:
                occurrences = []
                for campaign in mine:
                    occurrences.extend(_occurrences(campaign, station, monday, today))
                _place(
                    occurrences,
                    station,
                    monday,
                    today,
                    now,
                    tz,
                    quiet.get(station.id, set()),
                    busy,
                    mine_existing,
                    desired,
                    report,
                )
        if progress:
            progress(1)

    _write(session, desired, existing, scope_ids, now, report)
    if campaign_ids is None:
        session.flush()
        state = session.get(PlanState, FULL_SCOPE) or PlanState(scope=FULL_SCOPE, digest="")
        state.digest = digest(session, weeks, tz, campaigns, stations, quiet)
        session.add(state)
    log.info(
        "plan %s..%s: %d new, %d changed, %d cancelled, %d unchanged, %d unplaced",
        first_day,
        last_day,
        report.created,
        report.updated,
        report.cancelled,
        report.unchanged,
        len(report.unplaced),
    )
    return report


def _has_relay(session: Session, campaign_ids: Collection[int]) -> bool:
    kinds = session.scalars(select(Campaign.kind).where(Campaign.id.in_(list(campaign_ids))))
    return CampaignKind.RELAY in set(kinds)


def _replannable(row, now: datetime) -> bool:
    return row.status in REPLANNABLE and (row.planned_start is None or row.planned_start >= now)


def _occupied(rows: dict, now: datetime, scope: set[int]) -> dict[datetime, list]:
    """The (start, end, is a relay) of slots this run will not move, by window end."""
    busy: dict[datetime, list] = defaultdict(list)
    for (campaign_id, _), row in rows.items():
        if row.planned_start is None or row.status in (SlotStatus.CANCELLED, SlotStatus.UNPLACED):
            continue
        if campaign_id in scope and _replannable(row, now):
            continue
        end = row.planned_start + timedelta(milliseconds=row.duration_ms)
        busy[row.window_end].append((row.planned_start, end, row.relay_source_id is not None))
    return busy


# -- generating and placing ----------------------------------------------------------------


def _phase(station_id: int, campaign_id: int) -> float:
    """A fixed offset in [0, 1) per station and campaign, so mornings are not all full."""
    return ((station_id * 2654435761 + campaign_id * 40503) % 1000) / 1000


def _occurrences(c: PlanCampaign, station: PlanStation, monday: date, today: date) -> list[tuple]:
    """(campaign, key, day, allowed days, window order, fixed time, version, ms) of a week."""
    if c.relay is not None:
        return relay_occurrences(c, station, monday, today)
    if not c.versions:
        return []
    sunday = monday + timedelta(days=6)
    first, last = max(monday, c.starts_on), min(sunday, c.ends_on)
    if last < first:
        return []
    week = week_label(monday)
    week_index = (monday - (c.starts_on - timedelta(days=c.starts_on.weekday()))).days // 7
    found = []
    if c.pattern:
        for i, (weekday, at) in enumerate(c.pattern):
            day = monday + timedelta(days=weekday)
            if first <= day <= last and day >= today:
                order = [w for w, win in enumerate(station.windows) if win.contains(at)]
                version = c.versions[(week_index * len(c.pattern) + i) % len(c.versions)]
                key = f"{week}@{weekday}-{at:%H%M}"
                found.append((c, key, day, (day,), order, at, *version))
        return found
    allowed = days_on(c.weekdays, first, last)
    if not allowed or not c.times_per_week:
        return []
    # pro-rated for a campaign starting or ending mid-week; half rounds up
    wanted = math.floor(c.times_per_week * len(allowed) / len(c.weekdays) + 0.5)
    future = tuple(d for d in allowed if d >= today)
    phase = _phase(station.id, c.id)
    windows = _window_order(station, c.preferred)
    for k in range(wanted):
        day = allowed[min(len(allowed) - 1, math.floor((k + phase) * len(allowed) / wanted))]
        if day < today:
            continue  # already past: whatever happened then stays as it is
        rotation = (station.id + k) % len(windows) if windows else 0
        order = windows[rotation:] + windows[:rotation]
        version = c.versions[(week_index * c.times_per_week + k) % len(c.versions)]
        found.append((c, f"{week}#{k + 1}", day, future, order, None, *version))
    return found


def _window_order(station: PlanStation, preferred: str) -> list[int]:
    indexes = list(range(len(station.windows)))
    if preferred == "morning":
        return [i for i in indexes if station.windows[i].starts_at < MORNING_BEFORE]
    if preferred == "evening":
        return [i for i in indexes if station.windows[i].starts_at >= MORNING_BEFORE]
    return indexes


def _place(
    occurrences: list[tuple],
    station: PlanStation,
    monday: date,
    today: date,
    now: datetime,
    tz: ZoneInfo,
    quiet: Collection[date],
    busy: dict,
    existing: dict,
    desired: dict,
    report: PlanReport,
) -> None:
    week = week_label(monday)
    used: dict[tuple[date, int], int] = defaultdict(int)
    taken_days: dict[int, set[date]] = defaultdict(set)  # one airing a day per campaign first
    placed: dict[tuple[date, int], list] = defaultdict(list)
    relays: dict[tuple[date, int], list] = defaultdict(list)  # (start, end) of relays placed
    fixed: dict[tuple[date, int], list] = defaultdict(list)  # relays and pattern items
    flowing: dict[tuple[date, int], list[int]] = defaultdict(list)  # ms of the others, in order
    bounds: dict[tuple[date, int], tuple[datetime, datetime]] = {}

    def window(day: date, w: int) -> tuple[datetime, datetime]:
        if (day, w) not in bounds:
            win = station.windows[w]
            bounds[(day, w)] = (
                local_to_utc(day, win.starts_at, tz),
                local_to_utc(day, win.ends_at, tz),
            )
        return bounds[(day, w)]

    def kept(day: date, w: int, only_relays: bool = False) -> list:
        rows = busy.get(window(day, w)[1], [])
        return [(a, b) for a, b, relay in rows if relay or not only_relays]

    def fits(day: date, w: int, ms: int, at: time | None) -> bool:
        load = used[(day, w)] + sum(_ms(a, b) for a, b in kept(day, w))
        if load + ms > station.windows[w].capacity_ms:
            return False
        blocks, lengths = [*fixed[(day, w)], *kept(day, w)], flowing[(day, w)]
        if at is None:
            lengths = [*lengths, ms]
        else:
            start = local_to_utc(day, at, tz)
            blocks.append((start, start + timedelta(milliseconds=ms)))
        return lay_out(*window(day, w), blocks, lengths) is not None

    def candidates(day: date, allowed: tuple[date, ...]):
        yield day
        yield from (d for d in allowed if d > day)  # the rest of the week first,
        yield from (d for d in allowed if d < day)  # then its earlier days

    def unplaced(c, key, version_id, ms, reason) -> None:
        report.unplaced.append(Unplaced(station.code, c.id, key, reason))
        source = c.relay.source_id if c.relay else None
        desired[(station.id, c.id, key)] = _row(
            station.id, c.id, key, week, version_id, None, None, 0, ms, SlotStatus.UNPLACED,
            reason, source,
        )  # fmt: skip

    # relays first: they take window time before anything else
    occurrences.sort(key=lambda o: (o[0].relay is None, o[0].rank, o[2], o[1]))
    for c, key, day, allowed, order, at, version_id, ms in occurrences:
        old = existing.get((c.id, key))
        if (
            old is not None
            and version_id is not None  # a relay's file is its backup: its length is fixed
            and old.audio_asset_id is not None
            and old.script_version_id == version_id
        ):
            ms = old.duration_ms  # rendered already: its real length, not the estimate
        if c.relay is not None:
            start = local_to_utc(day, at, tz)
            if start < now:
                continue  # already begun: whatever happens to it stays as it is
            interval = (start, start + timedelta(milliseconds=ms))
            reason = "ngày nghỉ phát" if day in quiet else None if order else OUTSIDE_WINDOWS
            if reason is None and overlaps(
                *interval, [*relays[(day, order[0])], *kept(day, order[0], only_relays=True)]
            ):
                reason = RELAYS_OVERLAP
            if reason is not None:
                unplaced(c, key, None, ms, reason)
                continue
            w = order[0]
            used[(day, w)] += ms
            relays[(day, w)].append(interval)
            fixed[(day, w)].append(interval)
            placed[(day, w)].append((at, c, key, None, ms, window(day, w)[1]))
            continue
        spot, reason = None, None
        for candidate_day in candidates(day, allowed):
            if candidate_day in quiet or candidate_day < today:
                continue
            if at is None and candidate_day != day and candidate_day in taken_days[c.id]:
                continue
            for w in order:
                end = window(candidate_day, w)[1]
                if end <= now:
                    continue
                if at is not None:
                    start = local_to_utc(candidate_day, at, tz)
                    mine = (start, start + timedelta(milliseconds=ms))
                    if overlaps(
                        *mine, [*relays[(candidate_day, w)], *kept(candidate_day, w, True)]
                    ):
                        reason = OVER_A_RELAY
                        continue
                if fits(candidate_day, w, ms, at):
                    spot = (candidate_day, w, end)
                    break
            if spot:
                break
        if spot is None:
            if reason is None:
                reason = (
                    "ngày nghỉ phát"
                    if day in quiet and len(allowed) == 1
                    else "không còn chỗ trong các khung giờ được phép của tuần"
                )
            unplaced(c, key, version_id, ms, reason)
            continue
        candidate_day, w, end = spot
        used[(candidate_day, w)] += ms
        taken_days[c.id].add(candidate_day)
        if at is None:
            flowing[(candidate_day, w)].append(ms)
        else:
            start = local_to_utc(candidate_day, at, tz)
            fixed[(candidate_day, w)].append((start, start + timedelta(milliseconds=ms)))
        placed[(candidate_day, w)].append((at, c, key, version_id, ms, end))
    for (day, w), items in placed.items():
        blocks = [*fixed[(day, w)], *kept(day, w)]
        starts = iter(lay_out(*window(day, w), blocks, flowing[(day, w)]) or ())
        timed = []
        for at, c, key, version_id, ms, end in items:
            start = local_to_utc(day, at, tz) if at is not None else next(starts)
            timed.append((start, c.rank, key, c, version_id, ms, end))
        timed.sort(key=lambda t: (t[0], t[1], t[2]))
        for position, (start, _, key, c, version_id, ms, end) in enumerate(timed):
            desired[(station.id, c.id, key)] = _row(
                station.id, c.id, key, week, version_id, start, end, position, ms,
                SlotStatus.PLANNED, None, c.relay.source_id if c.relay else None,
            )  # fmt: skip


def _ms(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() * 1000)


def _row(
    station_id, campaign_id, key, week, version_id, start, end, position, ms, status, note,
    relay_source_id=None,
):  # fmt: skip
    return {
        "station_id": station_id,
        "campaign_id": campaign_id,
        "occurrence": key,
        "week": week,
        "script_version_id": version_id,
        "relay_source_id": relay_source_id,
        "planned_start": start,
        "window_end": end,
        "position": position,
        "duration_ms": ms,
        "status": status,
        "note": note,
    }


# -- writing -------------------------------------------------------------------------


_COMPARED = (
    "script_version_id",
    "relay_source_id",
    "planned_start",
    "window_end",
    "position",
    "duration_ms",
    "status",
    "note",
)


def _write(
    session: Session,
    desired: dict,
    existing: dict,
    scope: set[int],
    now: datetime,
    report: PlanReport,
) -> None:
    inserts, updates, cancels = [], [], []
    stamp = utcnow()
    for (station_id, campaign_id, key), row in desired.items():
        old = existing.get(station_id, {}).get((campaign_id, key))
        if old is None:
            inserts.append({**row, "created_at": stamp, "updated_at": stamp})
            continue
        if not _replannable(old, now) or all(getattr(old, f) == row[f] for f in _COMPARED):
            report.unchanged += 1
            continue
        # another script version means other audio: the render job makes it anew
        audio = old.audio_asset_id if old.script_version_id == row["script_version_id"] else None
        updates.append(
            {
                "id": old.id,
                **{f: row[f] for f in _COMPARED},
                "audio_asset_id": audio,
                "updated_at": stamp,
            }
        )
    report.created, report.updated = len(inserts), len(updates)
    for station_id, rows in existing.items():
        for (campaign_id, key), old in rows.items():
            if campaign_id not in scope or (station_id, campaign_id, key) in desired:
                continue
            if old.status is not SlotStatus.CANCELLED and _replannable(old, now):
                cancels.append(
                    {
                        "id": old.id,
                        "status": SlotStatus.CANCELLED,
                        "updated_at": stamp,
                        "note": "chiến dịch đã đổi, tạm dừng hoặc kết thúc",
                    }
                )
    report.cancelled = len(cancels)
    for start in range(0, len(inserts), 5_000):
        session.execute(insert(Slot), inserts[start : start + 5_000])
    for rows in (updates, cancels):  # one key set per bulk UPDATE
        if rows:
            session.execute(update(Slot), rows)
