"""A campaign or a station chooses the voice its announcements are read in (both backends).

The station's choice wins over the campaign's; choosing takes the audio off the later
planned slots so the render job reads them again; a choice is checked against the
configured engines' voices; the CLI sets it. Real espeak-ng voices (north, central,
south) stand in for the regional voices of the commercial services.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster import clock
from broadcaster.audio.render import AudioRenderer
from broadcaster.config import AudioSettings
from broadcaster.db import transaction
from broadcaster.errors import InvalidInput
from broadcaster.models import AudioAsset, AuditEvent, Campaign, Script, Slot, Station
from broadcaster.planning.calendar import week_label
from broadcaster.services import voices
from broadcaster.services.audio import render_pending, render_slot
from broadcaster.tts.piper_voices import add
from tests.tts.fptai_server import (
    API_KEY,
    fptai_server_fixture,  # noqa: F401
)
from tests.tts.test_piper_voices import JOE_MODEL

ESPEAK = AudioSettings(engine="espeak")
CENTRAL, SOUTH = "espeak:vi-vn-x-central", "espeak:vi-vn-x-south"


def _slot(factory, campaign_id: int, code: str, hours: float) -> int:
    start = clock.utcnow() + timedelta(hours=hours)
    with transaction(factory) as s:
        c = s.get(Campaign, campaign_id)
        script = s.get(Script, c.scripts[0].script_id)
        slot = Slot(
            station_id=s.scalar(select(Station.id).where(Station.code == code)),
            campaign_id=campaign_id,
            occurrence=f"v#{code}#{hours}",
            script_version_id=script.approved_version_id,
            week=week_label(start.date()),
            planned_start=start,
            window_end=start + timedelta(minutes=30),
            position=0,
            duration_ms=20_000,
        )
        s.add(slot)
        s.flush()
        return slot.id


def _voice_of(factory, slot_id: int) -> str | None:
    with factory() as s:
        slot = s.get(Slot, slot_id)
        if slot.audio_asset_id is None:
            return None
        return s.get(AudioAsset, slot.audio_asset_id).voice


def test_the_station_choice_wins_over_the_campaign_choice(factory, actor, campaign, tmp_path):
    campaign_id = campaign("GIONG", "42")
    plain = _slot(factory, campaign_id, "18073", 3)
    other = _slot(factory, campaign_id, "18100", 3)
    with transaction(factory) as s:
        assert voices.set_campaign_voice(s, actor, ESPEAK, campaign_id, CENTRAL) == CENTRAL
        assert voices.set_station_voice(s, actor, ESPEAK, "18100", f" {SOUTH} ") == SOUTH
    renderer = AudioRenderer(tmp_path / "audio", ESPEAK)
    done = render_pending(factory, renderer, campaign_id=campaign_id)
    assert (done.attached, done.failed) == (2, [])
    assert _voice_of(factory, plain) == "vi-vn-x-central"  # the campaign's
    assert _voice_of(factory, other) == "vi-vn-x-south"  # the station's own
    with factory() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["campaign.voice", "station.voice"]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "station.voice"))
        assert (event.before, event.after) == ({"voice": None}, {"voice": SOUTH})


def test_changing_the_choice_reads_the_later_slots_again(factory, actor, campaign, tmp_path):
    campaign_id = campaign("DOI", "42")
    soon = _slot(factory, campaign_id, "18073", 0.2)  # within the next half hour: kept
    later = _slot(factory, campaign_id, "18073", 5)
    renderer = AudioRenderer(tmp_path / "audio", ESPEAK)
    assert render_pending(factory, renderer, campaign_id=campaign_id).attached == 2
    assert _voice_of(factory, later) == "vi"
    with transaction(factory) as s:
        voices.set_station_voice(s, actor, ESPEAK, "18073", SOUTH)
    assert _voice_of(factory, soon) == "vi"  # kept: better the old voice than silence
    assert _voice_of(factory, later) is None  # to be read again
    with transaction(factory) as s:
        render_slot(s, renderer, later)
    assert _voice_of(factory, later) == "vi-vn-x-south"
    # the same choice again changes nothing and records nothing
    with transaction(factory) as s:
        voices.set_station_voice(s, actor, ESPEAK, "18073", SOUTH)
    with factory() as s:
        assert (
            len(s.scalars(select(AuditEvent).where(AuditEvent.action == "station.voice")).all())
            == 1
        )
        assert s.get(Slot, later).audio_asset_id is not None


def test_a_bad_choice_is_refused_and_nothing_changes(factory, actor, campaign):
    campaign_id = campaign("SAI", "42")
    for bad in ("south", "espeak:vi-hue", "fptai:banmai", "x" * 120):
        with pytest.raises(InvalidInput) as caught, transaction(factory) as s:
            voices.set_campaign_voice(s, actor, ESPEAK, campaign_id, bad)
        assert caught.value.field == "voice"
    with factory() as s:
        assert s.get(Campaign, campaign_id).voice is None
    with pytest.raises(InvalidInput, match="không có trong thứ tự"), transaction(factory) as s:
        voices.set_station_voice(s, actor, ESPEAK, "18073", "gtts:vi")


def test_cli_sets_and_clears_the_voices(cli, campaign, factory):
    campaign_id = campaign("CLI", "42")
    said = cli("stations", "voice", "18073", SOUTH)
    assert said.exit_code == 0, said.output
    assert f"Đài 18073: giọng đọc {SOUTH}." in said.output
    edited = cli("campaigns", "edit", str(campaign_id), "--voice", CENTRAL, "--no-plan")
    assert edited.exit_code == 0, edited.output
    with factory() as s:
        assert s.get(Campaign, campaign_id).voice == CENTRAL
        assert s.scalar(select(Station.voice).where(Station.code == "18073")) == SOUTH
    bad = cli("stations", "voice", "18073", "espeak:vi-hue")
    assert bad.exit_code != 0 and "Giọng 'vi-hue' không có trong bộ máy 'espeak'" in bad.output
    cleared = cli("stations", "voice", "18073")
    assert cleared.exit_code == 0 and "giọng đọc mặc định" in cleared.output
    with factory() as s:
        assert s.scalar(select(Station.voice).where(Station.code == "18073")) is None


def test_tts_engines_shows_the_order_then_each_engine(cli, tmp_path, fptai_server):
    voices_dir = tmp_path / "voices"
    add(voices_dir, JOE_MODEL)
    cli.env.update(
        BROADCASTER_TTS_ENGINES="fptai,gtts,piper,espeak",
        BROADCASTER_PIPER_VOICES_DIR=str(voices_dir),
        BROADCASTER_FPTAI_API_KEY=API_KEY,
        BROADCASTER_FPTAI_URL=fptai_server.url,
    )
    shown = cli("tts", "engines")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("Thứ tự đọc: fptai,gtts,piper,espeak (")
    rows = [line for line in lines if line.startswith("- ")]
    assert [row.split(" (")[0] for row in rows] == ["- fptai", "- gtts", "- piper", "- espeak"]
    assert rows[0].startswith("- fptai (thứ 1): dùng được")
    assert rows[1].startswith("- gtts (thứ 2): KHÔNG dùng được")
    assert rows[2].startswith("- piper (thứ 3): dùng được")
    assert "    giọng en_US-joe-medium: " in shown.output
    assert "    giọng linhsan: " in shown.output
    assert API_KEY not in shown.output
    rows = json.loads(cli("tts", "engines", "--json").stdout)
    assert [(r["name"], r["position"]) for r in rows] == [
        ("fptai", 1),
        ("gtts", 2),
        ("piper", 3),
        ("espeak", 4),
    ]


def test_tts_engines_says_auto_and_a_missing_package(cli, monkeypatch):
    from broadcaster import tts

    monkeypatch.setitem(tts.ENGINES, "piper", "broadcaster.tts.not_installed:Nothing")
    cli.env["BROADCASTER_TTS_ENGINE"] = "auto"
    shown = cli("tts", "engines")
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("Thứ tự đọc: auto = gtts,espeak (")
    assert "- piper (ngoài thứ tự): KHÔNG dùng được — chưa cài thư viện (" in shown.output
    assert "- fptai (ngoài thứ tự): KHÔNG dùng được — chưa có khóa API" in shown.output
