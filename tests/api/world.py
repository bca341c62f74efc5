"""A small station world for the API tests: stations with tokens, slots today, real audio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from broadcaster.audio.render import AudioRenderer
from broadcaster.config import Settings, load_settings
from broadcaster.db import transaction, utcnow
from broadcaster.models import CampaignScript, Script, Slot, SlotStatus, Station
from broadcaster.planning.calendar import week_label
from broadcaster.services import tokens
from broadcaster.services.audio import render_slot
from broadcaster.services.audit import system_actor
from broadcaster.webapp import create_app

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class World:
    app: Flask
    settings: Settings
    factory: object
    renderer: AudioRenderer
    campaign_id: int
    station: str
    other: str
    token: str
    other_token: str
    slots: list[int] = field(default_factory=list)
    # the instant the world's "soon" counts from (see soon())
    base: datetime = field(default_factory=lambda: slot_base(utcnow()))

    def soon(self, minutes: float) -> datetime:
        """A slot time ``minutes`` after the world's base: on Việt Nam's today, whatever
        the hour the suite runs at."""
        return self.base + timedelta(minutes=minutes)

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def add_slots(
        self,
        code: str,
        starts: list[datetime],
        *,
        audio: bool = True,
        status: SlotStatus = SlotStatus.PLANNED,
    ) -> list[int]:
        """Slots of the world's campaign at a station, at these times (60 s windows after)."""
        ids = []
        with transaction(self.factory) as s:
            station_id = s.scalar(select(Station.id).where(Station.code == code))
            script_id = s.scalar(
                select(CampaignScript.script_id).where(
                    CampaignScript.campaign_id == self.campaign_id
                )
            )
            version_id = s.get(Script, script_id).approved_version_id
            for n, start in enumerate(starts):
                slot = Slot(
                    station_id=station_id,
                    campaign_id=self.campaign_id,
                    occurrence=f"T{start.timestamp():.0f}#{n}",
                    script_version_id=version_id,
                    week=week_label(start.date()),
                    planned_start=start,
                    window_end=start + timedelta(minutes=30),
                    position=n,
                    duration_ms=20_000,
                    status=status,
                )
                s.add(slot)
                s.flush()
                ids.append(slot.id)
        if audio:
            for slot_id in ids:
                with transaction(self.factory) as s:
                    render_slot(s, self.renderer, slot_id)
        return ids


def slot_base(now: datetime) -> datetime:
    """Where the world's slots start: ``now``, unless the next hour and a half crosses
    midnight in Việt Nam — then 90 minutes before that midnight, so that every slot the
    tests add "soon" is still in today's playlist (a suite running from 23:00 local time
    put its slots into tomorrow's)."""
    now = now.replace(microsecond=0)
    local = now.astimezone(VIETNAM)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), VIETNAM)
    if now + timedelta(minutes=90) < midnight:
        return now
    return (midnight - timedelta(minutes=90)).astimezone(UTC)


@pytest.fixture
def world(db_url, tmp_path, ha_tinh, campaign, factory) -> Iterator[World]:
    settings = load_settings(
        env={
            "BROADCASTER_DATABASE_URL": db_url,
            "BROADCASTER_SECRET_KEY": "test",
            "BROADCASTER_AUDIO_DIR": str(tmp_path / "audio"),
            "BROADCASTER_TTS_ENGINE": "espeak",
        },
        cwd=tmp_path,
    )
    campaign_id = campaign("DVCTT", "42", script_slugs=("tin-1",), words=12)
    with transaction(factory) as s:
        codes = s.scalars(select(Station.code).order_by(Station.code).limit(2)).all()
        issued = [tokens.issue(s, system_actor(), code) for code in codes]
    w = World(
        app=create_app(settings),
        settings=settings,
        factory=factory,
        renderer=AudioRenderer(settings.audio_dir, settings.audio),
        campaign_id=campaign_id,
        station=codes[0],
        other=codes[1],
        token=issued[0].token,
        other_token=issued[1].token,
    )
    w.slots = w.add_slots(w.station, [w.soon(m) for m in (5, 10)])
    yield w
    stop_listening(w.app)


def stop_listening(app: Flask) -> None:
    """Stop an app's slot-change listener (PostgreSQL), so tests do not pile up connections,
    and its presence writer, so that a station still waiting in a finished test is not
    written into the next test's tables."""
    notices = app.extensions.get("broadcaster.slot_notices")
    if notices is not None:
        notices.stop()
    presence = app.extensions.get("broadcaster.presence")
    if presence is not None:
        presence.stop()


def aware(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()
