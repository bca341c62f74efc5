"""A station's whole day — a relay (tiếp âm), a recording, a synthesised item and an
emergency — in airing order with times and lengths: the service, the station page, the
operator's page and the printed weekly schedule. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.db import transaction, utcnow
from broadcaster.models import AdminUnit, Airing, Station
from broadcaster.services import slots
from tests.web.conftest import OWN_STATION
from tests.web.conftest import text as body
from tests.web.day_scene import (
    EMERGENCY_TITLE,
    ORDER,
    RECORDING_TITLE,
    SHOWN,
    SPEECH_TITLE,
    add_day,
    local,
    relay_campaign,
)


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split()).replace(" – ", "–")


def _items(page: str, pattern: str) -> list[tuple[int, str]]:
    """(slot id, the item's text) of every item in the page, in page order."""
    return [(int(m.group(1)), _plain(m.group(2))) for m in re.finditer(pattern, page, re.S)]


def _check_day(found: list[tuple[int, str]], ids: dict[str, int]) -> None:
    mine = [(i, t) for i, t in found if i in ids.values()]
    assert [i for i, _t in mine] == [ids[k] for k in ORDER]
    for (_i, shown), key in zip(mine, ORDER, strict=True):
        for part in SHOWN[key]:
            assert part in shown, (key, part, shown)


def _check_labels(page: str) -> None:
    """Each kind a short word with its class, so the kinds differ on paper too."""
    for key in ORDER:
        assert f'class="kind kind-{key}" data-kind="{key}">{SHOWN[key][2]}<' in page


def test_the_service_gives_the_day_in_airing_order(web):
    today = local_today(web.settings.tz)
    ids = add_day(web, today)
    with web.factory() as s:
        station_id = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        day = slots.station_schedule(
            s, station_id, tz=web.settings.tz, first_day=today, now=utcnow()
        )
    assert [(d.id, str(d.kind)) for d in day] == [(ids[k], k) for k in ORDER]
    relay, recording, speech, emergency = day
    assert (relay.title, relay.campaign) == ("VOV1", "Tiếp âm buổi sáng")
    assert (relay.start, relay.end) == (local(web, today, 6), local(web, today, 6, 30))
    assert relay.start.utcoffset() == timedelta(hours=7) and relay.audio_sha256 is None
    assert recording.title == RECORDING_TITLE and recording.duration_ms == 95_000
    assert speech.title == SPEECH_TITLE and speech.end == local(web, today, 6, 32, 20)
    assert emergency.emergency and emergency.campaign is None
    assert all(d.relayed_s is None and not d.reported for d in day)
    assert {d.state for d in day} <= {"due", "waiting"}


def test_the_station_page_shows_the_whole_day_in_order(web):
    ids = add_day(web, local_today(web.settings.tz))
    page = body(web.client("daixa").get(f"/stations/{OWN_STATION}"))
    rows = _items(page, r'<tr data-slot="(\d+)"[^>]*>(.*?)</tr>')
    _check_day(rows, ids)
    assert f'data-slot="{ids["relay"]}" data-kind="relay" class="day-relay"' in page
    _check_labels(page)
    assert "stationday.css" in page
    emergency = dict(rows)[ids["emergency"]]
    assert "Phát khẩn cấp" in emergency


def test_the_operators_page_shows_the_whole_day_in_order(web):
    ids = add_day(web, local_today(web.settings.tz))
    page = body(web.client("daixa").get("/operator/"))
    cards = _items(page, r'<li class="op-slot[^"]*" id="slot-(\d+)"[^>]*>(.*?)</li>')
    _check_day(cards, ids)
    _check_labels(page)
    relay = page[
        page.index(f'id="slot-{ids["relay"]}"') : page.index(f'id="slot-{ids["recording"]}"')
    ]
    assert "<audio" not in relay and "không có tệp âm thanh" in relay
    assert "Tiếp âm buổi sáng" in relay


def _pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_the_printed_week_holds_every_kind_with_times_and_lengths(web):
    add_day(web, local_today(web.settings.tz))
    response = web.client("daixa").get(f"/operator/week.pdf?station={OWN_STATION}&week=this")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(_pdf_text(response.data).split())
    for heading in ("Giờ", "Thời lượng", "Loại", "Nội dung phát"):
        assert heading in text
    at = {
        "relay": "06:00 – 06:30",
        "recording": "06:30 – 06:31",
        "speech": "06:31 – 06:32",
        "emergency": "17:00 – 17:01",
    }
    kinds = {"relay": "Tiếp âm", "recording": "Ghi âm", "speech": "Tin đọc máy"}
    places = []
    for key in ORDER:
        _clock, length, _kind, title = SHOWN[key]
        assert at[key] in text and length in text and kinds.get(key, "Khẩn cấp") in text, key
        places.append(text.index(at[key]))
        assert title.split()[0] in text
    assert places == sorted(places)  # in airing order
    assert "VOV1" in text and RECORDING_TITLE[:20] in text and EMERGENCY_TITLE in text


def test_a_relay_is_confirmed_with_its_minutes(web):
    """Last week's relay, confirmed late as partial: the minutes are the seconds relayed,
    and both pages show them beside the state."""
    today = local_today(web.settings.tz)
    last_week = today - timedelta(days=today.weekday() + 7)
    ids = add_day(web, last_week)
    client = web.client("daixa")
    page = body(client.get("/operator/?week=previous"))
    assert f'id="confirm-{ids["relay"]}"' in page
    assert 'for="minutes-{}">Số phút đã tiếp âm<'.format(ids["relay"]) in page
    form = {
        "station": OWN_STATION,
        "slot": ids["relay"],
        "status": "partial",
        "minutes": "20",
        "week": "previous",
    }
    response = web.post(client, "/operator/confirm", form)
    assert response.status_code == 302, body(response)
    with web.factory() as s:
        row = s.scalars(select(Airing).where(Airing.slot_id == ids["relay"])).one()
        assert (row.relayed_s, str(row.status), row.source) == (1200, "partial", "manual")
    page = body(client.get(response.headers["Location"]))
    assert f'data-test="relayed-{ids["relay"]}">đã tiếp âm 20/30 phút<' in page
    # more minutes than the relay lasts: refused beside the minutes, nothing written
    form["minutes"] = "45"
    refused = web.post(client, "/operator/confirm", form)
    assert refused.status_code == 400
    assert f'id="minutes-{ids["relay"]}-error"' in body(refused)
    with web.factory() as s:
        assert len(s.scalars(select(Airing).where(Airing.slot_id == ids["relay"])).all()) == 1


@pytest.mark.parametrize("kind", ["relay", "emergency"])
def test_a_day_without_campaign_items_still_lists_them(web, kind):
    """The old reader joined the campaign and the script version: a relay (no version)
    and an emergency (no campaign) were missing from the station's day."""
    ids = add_day(web, local_today(web.settings.tz))
    with web.factory() as s:
        rows = slots.station_day(s, OWN_STATION, local_today(web.settings.tz), web.settings.tz)
    assert ids[kind] in [r.id for r in rows]
    assert {r.kind for r in rows if r.id == ids[kind]} == {kind}


def test_the_cli_lists_the_day_with_its_kinds(web, cli):
    today = local_today(web.settings.tz)
    ids = add_day(web, today)
    listed = cli("slots", "list", "--station", OWN_STATION, "--date", today.isoformat(), "--json")
    rows = [(r["id"], r["kind"]) for r in json.loads(listed.stdout)]
    assert rows == [(ids[k], k) for k in ORDER]
    table = cli("slots", "list", "--station", OWN_STATION, "--date", f"{today:%d/%m/%Y}")
    lines = table.stdout.splitlines()
    found = [next(n for n, line in enumerate(lines) if SHOWN[k][3][:12] in line) for k in ORDER]
    assert found == sorted(found)
    relay = lines[found[0]]
    assert "06:00" in relay and "tiếp âm" in relay and "luồng trực tiếp" in relay
    assert "khẩn cấp" in lines[found[3]] and "ghi âm" in lines[found[1]]


def test_a_relay_the_planner_placed_shows_in_the_day(web):
    """The planner's own relay slots (no script version, the source on the slot), not rows
    written by the test: tomorrow 06:00–06:30 at daixa's station (window 05:30–06:30)."""
    from broadcaster.planning import plan

    with transaction(web.factory) as s:
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        relay_campaign(s, unit)
    with transaction(web.factory) as s:
        plan(s, days=3, tz=web.settings.tz)
    tomorrow = local_today(web.settings.tz) + timedelta(days=1)
    with web.factory() as s:
        station_id = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        day = slots.station_schedule(
            s, station_id, tz=web.settings.tz, first_day=tomorrow, now=utcnow()
        )
    (relay,) = [d for d in day if d.kind == "relay"]
    assert (relay.title, relay.start, relay.end) == (
        "VOV1",
        local(web, tomorrow, 6),
        local(web, tomorrow, 6, 30),
    )
    page = body(web.client("daixa").get("/operator/"))
    (card,) = [
        t
        for i, t in _items(page, r'<li class="op-slot[^"]*" id="slot-(\d+)"[^>]*>(.*?)</li>')
        if i == relay.id
    ]
    for part in SHOWN["relay"]:
        assert part in card, (part, card)
