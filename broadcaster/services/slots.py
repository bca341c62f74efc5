"""Reading the plan: a station's slots for a day, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadcaster.errors import NotFound
from broadcaster.models import Campaign, ScriptVersion, Slot, Station
from broadcaster.planning.calendar import week_label


@dataclass(frozen=True)
class SlotInfo:
    id: int
    station_code: str
    campaign_id: int
    campaign: str
    occurrence: str
    title: str
    script_version_id: int
    planned_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: str
    audio_ready: bool
    note: str | None


def station_day(session: Session, station_code: str, day: date, tz: ZoneInfo) -> list[SlotInfo]:
    """The slots of a local day at a station, in airing order; the week's unplaced ones last."""
    station = session.scalar(select(Station).where(Station.code == station_code))
    if station is None:
        raise NotFound(f"Không có đài nào mã '{station_code}'.")
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    rows = session.execute(
        select(Slot, Campaign.name, ScriptVersion.title)
        .join(Campaign, Campaign.id == Slot.campaign_id)
        .join(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .where(
            Slot.station_id == station.id,
            or_(
                (Slot.planned_start >= start) & (Slot.planned_start < end),
                (Slot.planned_start.is_(None)) & (Slot.week == week_label(day)),
            ),
        )
        .order_by(Slot.planned_start.is_(None), Slot.planned_start, Slot.position)
    )
    return [
        SlotInfo(
            id=slot.id,
            station_code=station.code,
            campaign_id=slot.campaign_id,
            campaign=name,
            occurrence=slot.occurrence,
            title=title,
            script_version_id=slot.script_version_id,
            planned_start=slot.planned_start,
            window_end=slot.window_end,
            duration_ms=slot.duration_ms,
            status=slot.status.value,
            audio_ready=slot.audio_asset_id is not None,
            note=slot.note,
        )
        for slot, name, title in rows
    ]
