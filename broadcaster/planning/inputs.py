"""What the planner reads: campaigns, stations and their windows, quiet days, existing slots.

Everything is loaded in a handful of queries into small frozen values, so the
planning loop never touches the ORM; :func:`digest` fingerprints those inputs so
a full plan with nothing changed can stop before doing any work.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignKind,
    CampaignScript,
    CampaignStatus,
    CampaignTarget,
    Priority,
    RelaySource,
    Script,
    ScriptVersion,
    Slot,
    Station,
    StationQuietDay,
    StationWindow,
)

log = logging.getLogger(__name__)

WORDS_PER_SECOND = 2.5  # a careful announcer; the rendered file's length replaces this later
FIXED_OVERHEAD_MS = 4_000  # lead-in, tail, pauses between paragraphs


@dataclass(frozen=True)
class Window:
    starts_at: time
    ends_at: time

    @property
    def capacity_ms(self) -> int:
        start = self.starts_at.hour * 60 + self.starts_at.minute
        end = self.ends_at.hour * 60 + self.ends_at.minute
        return (end - start) * 60_000

    def contains(self, at: time) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class PlanStation:
    id: int
    code: str
    ancestors: frozenset[str]  # every path prefix: /42/, /42/18073/
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class PlanCampaign:
    id: int
    rank: tuple  # sort key: priority first, then older campaigns
    times_per_week: int | None
    weekdays: tuple[int, ...]
    preferred: str
    pattern: tuple[tuple[int, time], ...]
    starts_on: date
    ends_on: date
    versions: tuple[tuple[int, int], ...]  # (script version id, estimated ms), in rotation order
    targets: frozenset[str]
    relay: PlanRelay | None = None  # a relay campaign (tiếp âm): no versions, a fixed time


@dataclass(frozen=True)
class PlanRelay:
    """A relay's source, local start and length; ``active`` False plans nothing."""

    source_id: int
    start: time
    minutes: int
    active: bool

    @property
    def ms(self) -> int:
        return self.minutes * 60_000


def estimate_ms(title: str, body: str) -> int:
    words = len(title.split()) + len(body.split())
    return int(words / WORDS_PER_SECOND * 1000) + FIXED_OVERHEAD_MS


def version_ms(title: str, body: str, recording_info: dict | None) -> int:
    """A recorded version lasts what it airs (trimmed); a text one, its words' estimate."""
    if recording_info and "aired_s" in recording_info:
        return round(float(recording_info["aired_s"]) * 1000)
    return estimate_ms(title, body)


def digest(session, weeks, tz, campaigns, stations, quiet) -> str:
    """A fingerprint of everything a full plan depends on, slots included."""
    slot_count, slot_changed = session.execute(
        select(func.count(), func.max(Slot.updated_at)).where(
            Slot.week.in_(weeks), Slot.campaign_id.is_not(None)
        )
    ).one()
    parts = [
        repr(weeks),
        str(tz),
        repr(
            [
                (
                    c.id,
                    c.rank,
                    c.times_per_week,
                    c.weekdays,
                    c.preferred,
                    c.pattern,
                    c.starts_on,
                    c.ends_on,
                    c.versions,
                    sorted(c.targets),
                    c.relay,
                )
                for c in campaigns
            ]
        ),
        repr([(st.id, st.code, sorted(st.ancestors), st.windows) for st in stations]),
        repr(sorted((sid, sorted(days)) for sid, days in quiet.items())),
        repr((slot_count, slot_changed)),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# -- loading -----------------------------------------------------------------------


def load_campaigns(
    session: Session, today: date, last_day: date, only: Collection[int] | None
) -> list[PlanCampaign]:
    stmt = select(Campaign).where(
        Campaign.status == CampaignStatus.ACTIVE,
        Campaign.starts_on <= last_day,
        Campaign.ends_on >= today,
    )
    if only is not None:
        stmt = stmt.where(Campaign.id.in_(list(only)))
    rows = session.scalars(stmt).all()
    ids = [c.id for c in rows]
    versions: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for cid, vid, title, body, recorded in session.execute(
        select(
            CampaignScript.campaign_id,
            ScriptVersion.id,
            ScriptVersion.title,
            ScriptVersion.body,
            ScriptVersion.recording_info,
        )
        .join(Script, Script.id == CampaignScript.script_id)
        .join(ScriptVersion, ScriptVersion.id == Script.approved_version_id)
        .where(CampaignScript.campaign_id.in_(ids), Script.archived_at.is_(None))
        .order_by(CampaignScript.campaign_id, CampaignScript.position)
    ):
        versions[cid].append((vid, version_ms(title, body, recorded)))
    targets: dict[int, set[str]] = defaultdict(set)
    for cid, path in session.execute(
        select(CampaignTarget.campaign_id, AdminUnit.path)
        .join(AdminUnit, AdminUnit.id == CampaignTarget.unit_id)
        .where(CampaignTarget.campaign_id.in_(ids))
    ):
        targets[cid].add(path)
    relays = _relays(session, [c for c in rows if c.kind is CampaignKind.RELAY])
    result = []
    for c in rows:
        if not versions[c.id] and c.id not in relays:
            log.warning("campaign %s has no approved script left; nothing planned", c.id)
        result.append(
            PlanCampaign(
                id=c.id,
                rank=(0 if c.priority is Priority.PRIORITY else 1, c.created_at, c.id),
                times_per_week=c.times_per_week,
                weekdays=tuple(sorted(c.weekdays or range(6))),
                preferred=c.preferred or "any",
                pattern=tuple(
                    (int(wd), time.fromisoformat(at)) for wd, at in sorted(c.pattern or [])
                ),
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                versions=tuple(versions[c.id]),
                targets=frozenset(targets[c.id]),
                relay=relays.get(c.id),
            )
        )
    return result


def _relays(session: Session, campaigns: list[Campaign]) -> dict[int, PlanRelay]:
    """Each relay campaign's fixed time and length, and whether its source is on."""
    ids = {c.relay_source_id for c in campaigns if c.relay_source_id is not None}
    rows = session.execute(
        select(RelaySource.id, RelaySource.active).where(RelaySource.id.in_(ids))
    )
    active = {source_id: on for source_id, on in rows}
    found = {}
    for c in campaigns:
        if c.relay_start is None or not c.relay_minutes or c.relay_source_id is None:
            log.warning("relay campaign %s has no source, time or length; nothing planned", c.id)
            continue
        on = bool(active.get(c.relay_source_id))
        if not on:
            log.warning("relay campaign %s: its source is switched off; nothing planned", c.id)
        found[c.id] = PlanRelay(c.relay_source_id, c.relay_start, c.relay_minutes, on)
    return found


def ancestors(path: str) -> frozenset[str]:
    parts = [p for p in path.split("/") if p]
    return frozenset("/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts)))


def load_stations(session: Session) -> list[PlanStation]:
    windows: dict[int, list[Window]] = defaultdict(list)
    for sid, start, end in session.execute(
        select(StationWindow.station_id, StationWindow.starts_at, StationWindow.ends_at).order_by(
            StationWindow.station_id, StationWindow.starts_at
        )
    ):
        windows[sid].append(Window(start, end))
    rows = session.execute(
        select(Station.id, Station.code, AdminUnit.path)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .where(Station.active.is_(True))
        .order_by(Station.id)
    )
    return [
        PlanStation(sid, code, ancestors(path), tuple(windows[sid]))
        for sid, code, path in rows
        if windows[sid]
    ]


def load_quiet_days(session: Session, first: date, last: date) -> dict[int, set[date]]:
    quiet: dict[int, set[date]] = defaultdict(set)
    for sid, day in session.execute(
        select(StationQuietDay.station_id, StationQuietDay.day).where(
            StationQuietDay.day.between(first, last)
        )
    ):
        quiet[sid].add(day)
    return quiet


def load_existing(session: Session, weeks: list[str]) -> dict[int, dict[tuple[int, str], tuple]]:
    """Existing slots of the horizon's weeks, by station then (campaign, occurrence).

    Planning compares the columns named in ``planner._COMPARED``, by name.
    """
    stmt = select(
        Slot.id,
        Slot.station_id,
        Slot.campaign_id,
        Slot.occurrence,
        Slot.script_version_id,
        Slot.planned_start,
        Slot.window_end,
        Slot.position,
        Slot.duration_ms,
        Slot.status,
        Slot.note,
        Slot.audio_asset_id,
        Slot.relay_source_id,
    ).where(Slot.week.in_(weeks), Slot.campaign_id.is_not(None))  # emergencies are not planned
    existing: dict[int, dict[tuple[int, str], tuple]] = defaultdict(dict)
    for row in session.execute(stmt):
        existing[row.station_id][(row.campaign_id, row.occurrence)] = row
    return existing
