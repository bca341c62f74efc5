"""The report's other sections: emergencies and how fast they aired, stations offline,
and the airing chains' heads that stamp a report (what a stored one is proven against)."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.models import Airing as A
from broadcaster.models import AiringChainHead, AiringStatus, Emergency, Slot, Station
from broadcaster.reports.periods import Period


def bounds(period: Period, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's local days as a UTC range [lo, hi)."""
    lo = datetime.combine(period.start, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def offline(stations: list[dict]) -> dict:
    offline = [s for s in stations if s["offline"]]
    return {
        "count": len(offline),
        "never_seen": sum(1 for s in offline if s["last_seen_at"] is None),
        "stations": [s["code"] for s in offline],
    }


def emergencies(session, period, tz, as_of, station_ids, campaign_id) -> dict:
    """Emergencies sent in the period to the scope: how many stations aired them, how fast."""
    empty = {
        "sent": 0,
        "deliveries": 0,
        "aired": 0,
        "median_seconds": None,
        "max_seconds": None,
        "items": [],
    }
    if campaign_id is not None:  # a campaign's report has no emergencies
        return empty
    lo, hi = bounds(period, tz)
    slot_q = (
        select(Emergency.id, Emergency.title, Emergency.created_at, Slot.station_id)
        .join(Slot, Slot.emergency_id == Emergency.id)
        .where(Emergency.created_at >= lo, Emergency.created_at < hi)
    )
    if station_ids is not None:
        slot_q = slot_q.where(Slot.station_id.in_(station_ids))
    deliveries = session.execute(slot_q).all()
    if not deliveries:
        return empty
    first_aired = dict(
        ((eid, sid), at)
        for eid, sid, at in session.execute(
            select(A.emergency_id, A.station_id, func.min(A.started_at))
            .where(
                A.emergency_id.in_({d[0] for d in deliveries}),
                A.status == AiringStatus.AIRED,
                A.received_at <= as_of,
            )
            .group_by(A.emergency_id, A.station_id)
        )
    )
    items: dict[int, dict] = {}
    delays: dict[int, list[float]] = defaultdict(list)
    for eid, title, created, sid in deliveries:
        item = items.setdefault(
            eid, {"id": eid, "title": title, "created_at": local_iso(created, tz), "stations": 0}
        )
        item["stations"] += 1
        at = first_aired.get((eid, sid))
        if at is not None:
            delays[eid].append(max(0.0, (at - created).total_seconds()))
    everything = [d for ds in delays.values() for d in ds]
    out = []
    for eid in sorted(items):
        ds = delays.get(eid, [])
        out.append(
            {
                **items[eid],
                "aired": len(ds),
                "median_seconds": round(statistics.median(ds), 1) if ds else None,
                "max_seconds": round(max(ds), 1) if ds else None,
            }
        )
    return {
        "sent": len(items),
        "deliveries": len(deliveries),
        "aired": len(everything),
        "median_seconds": round(statistics.median(everything), 1) if everything else None,
        "max_seconds": round(max(everything), 1) if everything else None,
        "items": out,
    }


def heads_digest(heads: dict[str, list]) -> str:
    body = json.dumps(heads, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(body).hexdigest()


def stamp(session: Session, station_ids=None) -> dict:
    """The airing chains' heads of the scope now: what a stored report is checked against."""
    q = select(Station.code, AiringChainHead.seq, AiringChainHead.head_hash).join(
        AiringChainHead, AiringChainHead.station_id == Station.id
    )
    if station_ids is not None:
        q = q.where(Station.id.in_(station_ids))
    heads = {code: [seq, h] for code, seq, h in session.execute(q.order_by(Station.code))}
    return {
        "stations": len(heads),
        "rows": sum(seq for seq, _h in heads.values()),
        "heads_sha256": heads_digest(heads),
        "heads": heads,
    }
