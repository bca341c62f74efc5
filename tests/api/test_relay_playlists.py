"""Relays (tiếp âm) in a station's playlists: JSON (checked against the OpenAPI document),
M3U8 and XSPF with the stream and its length, the backup file made by the render job
and downloaded with the station's token, 304s that end when a relay changes, the
playlist link for players; the render job and the watchdog on relay slots."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import time, timedelta
from urllib.parse import urlsplit

import pytest
from lxml import etree
from sqlalchemy import select, update

from broadcaster.db import transaction, utcnow
from broadcaster.errors import Conflict
from broadcaster.models import Campaign, RelaySource, Slot, SlotStatus, Station
from broadcaster.planning.calendar import week_label
from broadcaster.services import tokens
from broadcaster.services.audio import pending_slots, render_slot
from broadcaster.services.audit import system_actor
from broadcaster.services.relay_backups import attach_backups
from tests.api.test_openapi import api  # noqa: F401 (the fixture)
from tests.api.test_real_clients import m3u8_entries, xspf_schema
from tests.api.world import World

XSPF = "{http://xspf.org/ns/0/}"
STREAM = "http://127.0.0.1:9/vov1.mp3"


def add_relay(world: World, relay_campaign, approved_script, *, minutes=30, backup=True) -> int:
    """A VOV1 relay slot at the world's station after its two announcements (a backup
    script to it unless ``backup`` is False)."""
    backup_id = approved_script("du-phong", 12) if backup else None
    campaign_id = relay_campaign("VOV1", time(6), minutes, backup_script_id=backup_id)
    with transaction(world.factory) as s:
        # after the world's announcements, on the same day
        start = s.get(Slot, world.slots[-1]).planned_start + timedelta(minutes=1)
        source = s.scalar(select(RelaySource).where(RelaySource.name == "VOV1"))
        source.backup_url = "http://127.0.0.1:9/vov1-backup.mp3"
        slot = Slot(
            station_id=s.scalar(select(Station.id).where(Station.code == world.station)),
            campaign_id=campaign_id,
            occurrence=f"{week_label(start.date())}@relay",
            script_version_id=None,
            relay_source_id=source.id,
            week=week_label(start.date()),
            planned_start=start,
            window_end=start + timedelta(minutes=minutes),
            position=9,
            duration_ms=minutes * 60_000,
            status=SlotStatus.PLANNED,
        )
        s.add(slot)
        s.flush()
        return slot.id


def relay_item(document: dict) -> dict:
    (item,) = [i for i in document["items"] if i["kind"] == "relay"]
    return item


def test_a_relay_item_in_the_json_playlist_as_the_contract_says(
    api,  # noqa: F811
    relay_campaign,
    approved_script,
):
    slot_id = add_relay(api.world, relay_campaign, approved_script)
    first = api.call("GET", api.playlist())  # validated against the OpenAPI document
    document = first.json()
    item = relay_item(document)
    assert item["slot_id"] == slot_id and item["content"] == "relay"
    assert item["title"] == "VOV1" and item["duration_ms"] == 30 * 60_000
    assert item["audio"] is None and item["audio_state"] is None and item["audio_note"] is None
    with api.world.factory() as s:
        source_id = s.scalar(select(RelaySource.id))
    assert item["relay"] == {
        "source_id": source_id,
        "name": "VOV1",
        "url": STREAM,
        "backup_url": "http://127.0.0.1:9/vov1-backup.mp3",
        "backup_audio_url": None,  # not made yet
        "backup_audio_sha256": None,
    }
    others = [i for i in document["items"] if i["kind"] != "relay"]
    assert others and {i["content"] for i in others} == {"speech"}
    assert all(i["relay"] is None for i in others)
    assert item["planned_start"] > others[-1]["planned_start"]  # in airing order

    # the render job makes the backup file and attaches it: the playlist changes (no 304)
    etag = first.headers["ETag"]
    assert api.call("GET", api.playlist(), headers={"If-None-Match": etag}).status_code == 304
    made = attach_backups(api.world.factory, api.world.renderer)
    assert made.changed == 1 and not made.failed
    again = api.call("GET", api.playlist(), headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    relay = relay_item(again.json())["relay"]
    sha = relay["backup_audio_sha256"]
    assert sha and relay["backup_audio_url"].endswith(f"/api/v1/audio/{sha}.mp3")
    audio = api.call("GET", relay["backup_audio_url"].removeprefix(api.base))
    assert audio.status_code == 200 and hashlib.sha256(audio.content).hexdigest() == sha
    # another station's token cannot fetch it
    foreign = api.call(
        "GET", relay["backup_audio_url"].removeprefix(api.base), token=api.world.other_token
    )
    assert foreign.status_code == 404
    assert attach_backups(api.world.factory, api.world.renderer).changed == 0  # made once

    # a changed relay slot moves the fingerprint too
    etag = again.headers["ETag"]
    with transaction(api.world.factory) as s:
        s.execute(update(Slot).where(Slot.id == slot_id).values(duration_ms=45 * 60_000))
    changed = api.call("GET", api.playlist(), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and relay_item(changed.json())["duration_ms"] == 45 * 60_000


def test_m3u8_and_xspf_carry_the_stream_and_its_length(world, relay_campaign, approved_script):
    add_relay(world, relay_campaign, approved_script, minutes=30)
    client = world.client()
    day = _day(world)
    m3u8 = client.get(
        f"/api/v1/stations/{world.station}/playlist?format=m3u8&date={day}", headers=world.auth()
    )
    text = m3u8.get_data(as_text=True)
    entries = m3u8_entries(text)
    relays = [e for e in entries if e.url == STREAM]
    assert len(relays) == 1 and relays[0].seconds == 1800
    assert f"#EXTINF:1800,Tiếp âm VOV1 - VOV1\n{STREAM}\n" in text
    assert len(entries) == 3  # the two announcements and the relay

    xspf = client.get(
        f"/api/v1/stations/{world.station}/playlist?format=xspf&date={day}", headers=world.auth()
    )
    body = xspf.get_data()
    xspf_schema().assertValid(etree.fromstring(body))
    tracks = ET.fromstring(body).iter(f"{XSPF}track")
    (track,) = [t for t in tracks if t.findtext(f"{XSPF}location") == STREAM]
    assert track.findtext(f"{XSPF}duration") == "1800000"
    assert track.findtext(f"{XSPF}title") == "VOV1"
    metas = {m.get("rel").rsplit("/", 1)[1]: m.text for m in track.iter(f"{XSPF}meta")}
    assert metas["content"] == "relay" and "sha256" not in metas


def test_the_players_link_lists_the_relay(world, relay_campaign, approved_script):
    add_relay(world, relay_campaign, approved_script)
    with transaction(world.factory) as s:
        secret = tokens.issue(s, system_actor(), world.station, link=True).token
    client = world.client()
    text = client.get(f"/api/v1/links/{secret}/playlist.m3u8?date={_day(world)}").get_data(
        as_text=True
    )
    urls = [e.url for e in m3u8_entries(text)]
    assert STREAM in urls
    signed = [u for u in urls if u != STREAM]
    assert signed and all("sig=" in u for u in signed)
    for url in signed:  # the announcements still play through the signed URLs
        parts = urlsplit(url)
        assert client.get(f"{parts.path}?{parts.query}").status_code == 200


def test_the_render_job_makes_no_audio_for_a_relay(world, relay_campaign, approved_script):
    slot_id = add_relay(world, relay_campaign, approved_script, backup=False)
    with world.factory() as s:
        assert slot_id not in pending_slots(s)
    with transaction(world.factory) as s, pytest.raises(Conflict):
        render_slot(s, world.renderer, slot_id)
    assert attach_backups(world.factory, world.renderer).changed == 0  # no backup script
    with world.factory() as s:
        assert s.get(Slot, slot_id).audio_asset_id is None


def test_a_relay_with_no_report_after_its_end_is_missed(
    world, relay_campaign, approved_script, cli, monkeypatch
):
    from broadcaster.scheduler import jobs
    from tests.scheduler.test_scheduler import use_environment

    slot_id = add_relay(world, relay_campaign, approved_script, backup=False)
    with transaction(world.factory) as s:
        past = utcnow() - timedelta(hours=3)
        s.execute(
            update(Slot)
            .where(Slot.id == slot_id)
            .values(planned_start=past, window_end=past + timedelta(minutes=30))
        )
    use_environment(cli, monkeypatch)
    jobs.watchdog_job()
    with world.factory() as s:
        slot = s.get(Slot, slot_id)
        assert slot.status is SlotStatus.MISSED
        assert s.get(Campaign, slot.campaign_id).kind.value == "relay"


def _day(world: World) -> str:
    from tests.api.test_real_clients import slot_day

    return slot_day(world).isoformat()


def test_a_recording_is_said_so_and_a_recorded_backup_is_its_mastered_file(
    world, relay_campaign, approved_script, tmp_path
):
    import subprocess

    from broadcaster.audio._ffmpeg import ffmpeg_exe
    from broadcaster.models import Script
    from broadcaster.services import scripts, users
    from broadcaster.services.recordings import create_recorded_script

    source = tmp_path / "loi-chu-tich.m4a"
    subprocess.run(
        [
            ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=4",
            "-c:a", "aac", str(source),
        ],
        check=True,
    )  # fmt: skip
    with world.factory() as s:
        editor = users.authenticate(s, "soan", "password1")
        approver = users.authenticate(s, "duyet", "password1")
    with transaction(world.factory) as s:
        create_recorded_script(
            s, "loi-chu-tich", source, filename=source.name, audio_dir=world.settings.audio_dir,
            actor=editor, title="Lời chủ tịch xã", unit="42", audio=world.settings.audio,
        )  # fmt: skip
        scripts.submit(s, editor, "loi-chu-tich")
        scripts.approve(s, approver, "loi-chu-tich")
    with transaction(world.factory) as s:
        script = s.scalar(select(Script).where(Script.slug == "loi-chu-tich"))
        first = s.get(Slot, world.slots[0])
        recorded = Slot(
            station_id=first.station_id, campaign_id=first.campaign_id, occurrence="ghi-am",
            script_version_id=script.approved_version_id, week=first.week,
            planned_start=first.planned_start + timedelta(seconds=30),
            window_end=first.window_end, position=5, duration_ms=4000,
            status=SlotStatus.PLANNED,
        )  # fmt: skip
        s.add(recorded)
        s.flush()
        recorded_id, script_id = recorded.id, script.id
    with transaction(world.factory) as s:
        render_slot(s, world.renderer, recorded_id)
    campaign_id = relay_campaign("VOV1", time(6), 30, backup_script_id=script_id)
    with transaction(world.factory) as s:
        last = s.get(Slot, world.slots[-1])
        s.add(
            Slot(
                station_id=last.station_id, campaign_id=campaign_id, occurrence="relay",
                relay_source_id=s.scalar(select(RelaySource.id)), week=last.week,
                planned_start=last.planned_start + timedelta(minutes=1),
                window_end=last.planned_start + timedelta(minutes=31), position=9,
                duration_ms=1_800_000, status=SlotStatus.PLANNED,
            )
        )  # fmt: skip
    assert attach_backups(world.factory, world.renderer).changed == 1
    response = world.client().get(
        f"/api/v1/stations/{world.station}/playlist?date={_day(world)}", headers=world.auth()
    )
    items = response.get_json()["items"]
    (spoken_by_a_person,) = [i for i in items if i["slot_id"] == recorded_id]
    assert spoken_by_a_person["content"] == "recording" and spoken_by_a_person["kind"] == "campaign"
    assert {i["content"] for i in items if i["slot_id"] in world.slots} == {"speech"}
    relay = relay_item(response.get_json())["relay"]
    # the same mastered file: one per recording, whoever plays it
    assert relay["backup_audio_sha256"] == spoken_by_a_person["audio"]["sha256"]
    got = world.client().get(relay["backup_audio_url"], headers=world.auth())
    assert got.status_code == 200
    assert hashlib.sha256(got.get_data()).hexdigest() == relay["backup_audio_sha256"]


def test_a_backup_taken_away_is_detached_at_the_next_run(world, relay_campaign, approved_script):
    from broadcaster.models import Script

    slot_id = add_relay(world, relay_campaign, approved_script)
    assert attach_backups(world.factory, world.renderer).changed == 1
    with world.factory() as s:
        assert s.get(Slot, slot_id).audio_asset_id is not None
    with transaction(world.factory) as s:
        s.execute(update(Script).where(Script.slug == "du-phong").values(archived_at=utcnow()))
    again = attach_backups(world.factory, world.renderer)
    assert again.changed == 1 and not again.failed
    with world.factory() as s:
        assert s.get(Slot, slot_id).audio_asset_id is None
