"""Choosing the voice a campaign's or a station's announcements are read in.

A choice is ``engine:voice`` of an engine of the configured order (checked by
:func:`broadcaster.audio.engine_order.check_choice`), or none for the engines'
defaults. A station's choice wins over its campaign's (the listeners are at the
station). Changing a choice takes the audio off the planned slots it concerns that
air later than :data:`KEEP_WITHIN`, so the render job reads them again in the new
voice; the next few keep the audio they have rather than risk airing none.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcaster import clock
from broadcaster.audio.engine_order import check_choice
from broadcaster.config import AudioSettings
from broadcaster.errors import NotFound
from broadcaster.models import Campaign, Slot, SlotStatus, Station
from broadcaster.services.audit import Actor, record

KEEP_WITHIN = timedelta(minutes=30)


def _unrender(session: Session, *where) -> int:
    """Planned slots (of a campaign or a station) airing later than KEEP_WITHIN lose their
    audio; how many."""
    result = session.execute(
        update(Slot)
        .where(
            *where,
            Slot.status == SlotStatus.PLANNED,
            Slot.campaign_id.is_not(None),  # an emergency's reading is everybody's
            Slot.audio_asset_id.is_not(None),
            Slot.planned_start > clock.utcnow() + KEEP_WITHIN,
        )
        .values(audio_asset_id=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _change(
    session: Session, actor: Actor, row: Campaign | Station, kind: str, choice: str | None, slots
) -> str | None:
    """Store ``choice`` on ``row``; when it changed, the later slots lose their audio and
    the change is audited as ``<kind>.voice``."""
    if row.voice != choice:
        before, row.voice = row.voice, choice
        _unrender(session, slots)
        record(
            session,
            actor,
            f"{kind}.voice",
            kind,
            row.id,
            before={"voice": before},
            after={"voice": choice},
        )
    return choice


def set_campaign_voice(
    session: Session, actor: Actor, audio: AudioSettings, campaign_id: int, raw: str | None
) -> str | None:
    """Store a campaign's voice choice (None: the defaults); the stored value."""
    from broadcaster.services.campaigns import _EDIT, require_manager

    choice = check_choice(audio, raw)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("Không có chiến dịch số {id}.", id=campaign_id)
    require_manager(actor, [t.unit for t in campaign.targets], _EDIT)
    # slots of stations with their own choice are unchanged, but re-reading them is cheap
    # (the same cache key): simpler than excluding them here
    return _change(session, actor, campaign, "campaign", choice, Slot.campaign_id == campaign.id)


def set_station_voice(
    session: Session, actor: Actor, audio: AudioSettings, code: str, raw: str | None
) -> str | None:
    """Store a station's voice choice (None: its campaigns' or the defaults)."""
    choice = check_choice(audio, raw)
    station = session.scalar(select(Station).where(Station.code == code))
    if station is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=code)
    return _change(session, actor, station, "station", choice, Slot.station_id == station.id)


def campaign_voice(session: Session, campaign_id: int) -> str | None:
    return session.scalar(select(Campaign.voice).where(Campaign.id == campaign_id))


def station_voice(session: Session, code: str) -> str | None:
    return session.scalar(select(Station.voice).where(Station.code == code))
