"""Playlist links: a station's day for players that cannot send a header.

The link (a secret in the URL) opens only its station's M3U8/XSPF playlist; the
audio URLs in it are signed, expiring and bound to the link and the file. Every
refusal is a 403 (429 past the wrong-secret limit), every use is counted, and a
link never works as a header token nor a token as a link. Both backends.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.models import AdminUnit, AudioAsset, Slot, Station
from broadcaster.services import emergency, signed_audio, tokens
from broadcaster.services.audit import system_actor

XSPF = "{http://xspf.org/ns/0/}"


def _link(world, code=None) -> str:
    with transaction(world.factory) as s:
        return tokens.issue(s, system_actor(), code or world.station, link=True).token


def _day(world) -> str:
    """The local day of the world's slots (they are minutes away; midnight may fall between)."""
    with world.factory() as s:
        start = s.get(Slot, world.slots[0]).planned_start
    return start.astimezone(world.settings.tz).date().isoformat()


def _urls(body: str) -> list[str]:
    return [line for line in body.splitlines() if line and not line.startswith("#")]


def _sha_of(world, slot_id: int) -> str:
    with world.factory() as s:
        return s.scalar(
            select(AudioAsset.file_sha256)
            .join(Slot, Slot.audio_asset_id == AudioAsset.id)
            .where(Slot.id == slot_id)
        )


def test_a_link_lists_the_day_with_signed_urls_that_play_without_a_header(world):
    secret = _link(world)
    c = world.client()
    r = c.get(f"/api/v1/links/{secret}/playlist.m3u8?date={_day(world)}")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("audio/x-mpegurl")
    assert r.headers["Cache-Control"] == "private, no-store"
    body = r.get_data(as_text=True)
    assert body.startswith("#EXTM3U") and secret not in body  # audio URLs never carry it
    urls = _urls(body)
    assert len(urls) == 2
    for url in urls:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        assert re.fullmatch(r"/api/v1/links/\d+/audio/[0-9a-f]{64}\.mp3", parts.path)
        assert set(query) == {"exp", "sig"}
        audio = c.get(f"{parts.path}?{parts.query}")  # no Authorization header
        assert audio.status_code == 200 and audio.data[:3] in (b"ID3", b"\xff\xfb")
        ranged = c.get(f"{parts.path}?{parts.query}", headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.data) == 100
    xspf = c.get(f"/api/v1/links/{secret}/playlist.xspf?date={_day(world)}")
    assert xspf.status_code == 200
    locations = [e.text for e in ET.fromstring(xspf.data).iter(f"{XSPF}location")]
    assert len(locations) == 2 and all("sig=" in u for u in locations)
    (row,) = [t for t in tokens_of(world) if t.kind == "link"]
    assert row.uses == 2 + 2 * 2  # two playlists, and each of two files twice (once ranged)
    assert row.last_used_at is not None


def tokens_of(world):
    with world.factory() as s:
        return tokens.list_tokens(s, world.station)


def test_links_and_tokens_do_not_stand_in_for_each_other(world):
    secret = _link(world)
    c = world.client()
    as_header = c.get(f"/api/v1/stations/{world.station}/playlist", headers=world.auth(secret))
    assert as_header.status_code == 401
    assert c.get(f"/api/v1/links/{world.token}/playlist.m3u8").status_code == 403
    assert c.get(f"/api/v1/links/{secret}/playlist.json").status_code == 404
    # issuing a link leaves the agent's token alone, and the other way round
    with transaction(world.factory) as s:
        tokens.issue(s, system_actor(), world.station)
    kinds = sorted((t.kind, t.revoked_at is None) for t in tokens_of(world))
    assert kinds == [("header", False), ("header", True), ("link", True)]


def test_revoked_expired_altered_and_foreign_urls_are_refused(world):
    secret = _link(world)
    c = world.client()
    urls = _urls(c.get(f"/api/v1/links/{secret}/playlist.m3u8?date={_day(world)}").data.decode())
    parts = urlsplit(urls[0])
    path, query = parts.path, parse_qs(parts.query)
    link_id = int(path.split("/")[4])
    exp, sig = int(query["exp"][0]), query["sig"][0]
    sha = path.rsplit("/", 1)[1].removesuffix(".mp3")

    def audio(p=path, e=exp, s=sig):
        return c.get(f"{p}?exp={e}&sig={s}")

    assert audio().status_code == 200
    altered = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert audio(s=altered).status_code == 403
    assert audio(e=exp + 1).status_code == 403  # the expiry is signed too
    key = world.settings.secret_key
    past = int((utcnow() - timedelta(minutes=1)).timestamp())
    assert audio(e=past, s=signed_audio.signature(key, link_id, sha, past)).status_code == 403
    far = int((utcnow() + timedelta(days=400)).timestamp())
    far_answer = audio(e=far, s=signed_audio.signature(key, link_id, sha, far))
    assert far_answer.status_code == 403 and "Hạn" in far_answer.get_json()["error"]["message"]
    assert audio(e="12x").status_code == 403
    assert c.get(f"{path}").status_code == 403  # no signature at all
    # another station's file (an emergency of its own, so a file of its own)
    foreign = _foreign_file(world)
    assert foreign != sha
    foreign_path = path.replace(sha, foreign)
    assert audio(p=foreign_path).status_code == 403  # this file's signature, that file
    signed = signed_audio.signature(key, link_id, foreign, exp)  # even rightly signed
    refused = audio(p=foreign_path, s=signed)
    assert refused.status_code == 403 and "không thuộc" in refused.get_json()["error"]["message"]
    # revoked: the playlist and the URLs already handed out stop at once
    with transaction(world.factory) as s:
        assert tokens.revoke(s, system_actor(), world.station, kind="link") == 1
    assert c.get(f"/api/v1/links/{secret}/playlist.m3u8").status_code == 403
    assert audio().status_code == 403


def _foreign_file(world) -> str:
    """The audio of an emergency sent only to the other station."""
    with transaction(world.factory) as s:
        unit = s.scalar(
            select(AdminUnit.code)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(Station.code == world.other)
        )
        sent = emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Sạt lở",
            body="Sạt lở đất ở xóm Đông, bà con không qua lại.",
            unit_codes=[unit],
        )
    with world.factory() as s:
        return s.scalar(
            select(AudioAsset.file_sha256)
            .join(Slot, Slot.audio_asset_id == AudioAsset.id)
            .where(Slot.emergency_id == sent.id)
        )


def test_malformed_links_and_repeated_guesses_are_refused_then_rate_limited(world):
    c = world.client()
    for bad in ("x", "bsl_" + "A" * 43, "bsl_" + "é" * 10, "%00", "bsl_" + "A" * 300):
        r = c.get(f"/api/v1/links/{bad}/playlist.m3u8")
        assert r.status_code in (403, 429), (bad, r.status_code)
        assert r.get_json()["error"]["code"] in ("link_refused", "too_many_attempts")
    codes = [c.get(f"/api/v1/links/bsl_guess{n}/playlist.m3u8").status_code for n in range(25)]
    assert codes[-1] == 429 and 403 in codes
    limited = c.get("/api/v1/links/bsl_again/playlist.m3u8")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # the station's right link still works from another address
    secret = _link(world)
    other = c.get(f"/api/v1/links/{secret}/playlist.m3u8", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_a_far_date_is_refused_with_a_message(world):
    secret = _link(world)
    c = world.client()
    for day in ("2026-02-30", "9999-12-31", "0001-01-01", "20261206", "yesterday"):
        r = c.get(f"/api/v1/links/{secret}/playlist.m3u8?date={day}")
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_date"
    missing = c.get(f"/api/v1/links/{secret}/playlist.m3u8?date=2026-02-30")
    assert "không có trên lịch" in missing.get_json()["error"]["message"]


def test_expiry_is_well_past_the_days_last_slot():
    from datetime import date
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    expires = signed_audio.expiry_for(date(2026, 12, 5), tz)
    # noon of the 6th, local: 05:00 UTC on the 6th
    assert time.gmtime(expires)[:4] == (2026, 12, 6, 5)
