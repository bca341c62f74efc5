"""The station operator's page: this week and next day by day, confirming only what is due,
the printable weekly schedule (PDF), the station picker and the English interface."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from broadcaster.clock import local_today
from broadcaster.db import transaction, utcnow
from broadcaster.errors import InvalidInput
from broadcaster.models import Airing, AudioAsset, Slot, Station
from broadcaster.services import airings
from broadcaster.services.audit import system_actor
from tests.web.airing_scene import add_slots, make_campaign
from tests.web.conftest import OTHER_STATION, OWN_STATION
from tests.web.conftest import text as body

TITLE = "Tin Dịch vụ công trực tuyến"  # the scene's script title


def _local(web, day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=web.settings.tz)


@pytest.fixture
def week(web):
    """Slots at daixa's station: one just due, one in three days, one next Monday, one
    the Monday after (beyond the page), and one due at another station."""
    campaign = make_campaign(web)
    today = local_today(web.settings.tz)
    monday = today - timedelta(days=today.weekday())
    now = utcnow()
    due, later, next_week, beyond = add_slots(
        web,
        campaign,
        OWN_STATION,
        [
            now - timedelta(seconds=30),
            now + timedelta(days=3),
            _local(web, monday + timedelta(days=7), 6),
            _local(web, monday + timedelta(days=14), 6),
        ],
    )
    (other,) = add_slots(web, campaign, OTHER_STATION, [now - timedelta(minutes=1)])
    with web.factory() as s:
        name = s.scalar(select(Station.name).where(Station.code == OWN_STATION))
    return {
        "due": due,
        "later": later,
        "next": next_week,
        "beyond": beyond,
        "other": other,
        "monday": monday,
        "today": today,
        "station_name": name,
    }


def _airings(web, slot_id: int) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(Airing).where(Airing.slot_id == slot_id))


def test_the_page_lists_this_week_and_next_day_by_day(web, week):
    response = web.client("daixa").get("/operator/")
    page = body(response)
    assert response.status_code == 200
    assert 'id="week-this"' in page and 'id="week-next"' in page
    for n in range(14):
        assert f'id="day-{(week["monday"] + timedelta(days=n)).isoformat()}"' in page
    assert page.count('class="op-day') == 14
    for key in ("due", "later", "next"):
        assert f'id="slot-{week[key]}"' in page
    assert f'id="slot-{week["beyond"]}"' not in page
    assert f'id="slot-{week["other"]}"' not in page  # another commune's station
    assert f'id="day-{week["today"].isoformat()}" aria-current="date"' in page
    assert TITLE in page and "Hôm nay" in page
    assert 'id="station-picker"' not in page  # an operator of one station chooses nothing
    # the old address still opens the same page
    assert f'id="slot-{week["next"]}"' in body(web.client("daixa").get("/airings/confirm"))


def test_a_future_slot_has_no_form_and_a_forged_post_is_refused_in_words(web, week):
    client = web.client("daixa")
    page = body(client.get("/operator/"))
    assert f'id="confirm-{week["due"]}"' in page
    assert f'id="confirm-{week["later"]}"' not in page
    assert f'id="confirm-{week["next"]}"' not in page
    assert f'data-test="later-{week["later"]}">chưa đến giờ<' in page
    for url in ("/operator/confirm", "/airings/confirm"):
        response = web.post(
            client, url, {"station": OWN_STATION, "slot": week["later"], "status": "aired"}
        )
        assert response.status_code == 400
        refused = body(response)
        assert f'id="slot-{week["later"]}-error"' in refused
        assert "chưa đến giờ" in refused and "chỉ xác nhận được khi đã đến giờ phát" in refused
        assert "started_at" not in refused and "slot_id" not in refused
    assert _airings(web, week["later"]) == 0


def test_the_service_refuses_a_slot_not_yet_due_without_field_names(web, week):
    with transaction(web.factory) as s, pytest.raises(InvalidInput) as caught:
        airings.confirm(s, system_actor(), OWN_STATION, week["next"])
    assert caught.value.field == "slot_id"
    assert "chưa đến giờ" in caught.value.message and "(" + "slot_id" not in caught.value.message
    with transaction(web.factory) as s, pytest.raises(airings.InvalidReports) as caught:
        station_id = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        start = utcnow() + timedelta(days=2)
        airings.ingest(
            s,
            station_id,
            [airings.AiringReport("r-1", week["later"], start, start, airings.AiringStatus.AIRED)],
        )
    message = caught.value.message
    assert message.startswith("Báo cáo thứ 1: giờ bắt đầu ở tương lai"), message
    assert "started_at" not in message and caught.value.field == "started_at"


def test_a_due_slot_is_confirmed(web, week):
    client = web.client("daixa")
    form = {"station": OWN_STATION, "slot": week["due"], "status": "aired", "note": "loa tốt"}
    response = web.post(client, "/operator/confirm", form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#slot-{week['due']}")
    page = body(client.get(response.headers["Location"]))
    assert "Đã ghi nhật ký" in page and "xác nhận tay: daixa" in page
    assert f'data-test="state-{week["due"]}">đã phát<' in page
    assert _airings(web, week["due"]) == 1


def test_a_time_still_to_come_is_a_plain_message_beside_the_time(web, week):
    client = web.client("daixa")
    at = (utcnow() + timedelta(hours=2)).astimezone(web.settings.tz)
    if at.date() != week["today"]:
        pytest.skip("two hours ahead is tomorrow: the form's time would name another day")
    form = {"station": OWN_STATION, "slot": week["due"], "status": "aired", "at": f"{at:%H:%M}"}
    response = web.post(client, "/operator/confirm", form)
    assert response.status_code == 400
    page = body(response)
    assert f'id="at-{week["due"]}-error"' in page and "còn chưa tới" in page
    assert "started_at" not in page
    assert _airings(web, week["due"]) == 0


def test_the_station_picker_lists_names(web, week):
    client = web.client("quantri")
    page = body(client.get("/operator/"))
    assert 'id="station-picker"' in page and 'id="pick-station"' in page
    assert f'<option value="{OWN_STATION}"' in page and week["station_name"] in page
    chosen = body(client.get(f"/operator/?station={OWN_STATION}"))
    assert f'<option value="{OWN_STATION}" selected>' in chosen
    assert f'id="slot-{week["due"]}"' in chosen
    assert web.client("daixa").get(f"/operator/?station={OTHER_STATION}").status_code == 403
    for name in ("kiemtra", "bientap", "duyet"):
        assert web.client(name).get("/operator/").status_code == 403


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_week_prints_as_a_pdf(web, week):
    client = web.client("daixa")
    page = body(client.get("/operator/"))
    assert "In lịch tuần (PDF)" in page and "In lịch tuần sau (PDF)" in page
    response = client.get(f"/operator/week.pdf?station={OWN_STATION}&week=this")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = _pdf_text(response.data)
    monday, sunday = week["monday"], week["monday"] + timedelta(days=6)
    assert "LỊCH PHÁT SÓNG TUẦN" in text and week["station_name"] in text
    assert f"{monday:%d/%m/%Y}" in text and f"{sunday:%d/%m/%Y}" in text
    assert TITLE in text
    nxt = _pdf_text(client.get(f"/operator/week.pdf?station={OWN_STATION}&week=next").data)
    assert f"{monday + timedelta(days=7):%d/%m/%Y}" in nxt and TITLE in nxt and "06:00" in nxt
    assert client.get(f"/operator/week.pdf?station={OWN_STATION}&week=2026-W50").status_code == 400
    assert client.get("/operator/week.pdf").status_code == 400
    assert client.get(f"/operator/week.pdf?station={OTHER_STATION}").status_code == 403


def test_a_slot_with_audio_has_a_player_and_a_download(web, week):
    data = b"ID3" + bytes(range(256)) * 8
    file_sha = hashlib.sha256(data).hexdigest()
    (web.settings.audio_dir / "op").mkdir(parents=True, exist_ok=True)
    (web.settings.audio_dir / "op" / "test.mp3").write_bytes(data)
    with transaction(web.factory) as s:
        asset = AudioAsset(
            sha256="a" * 64,
            path="op/test.mp3",
            engine="espeak",
            requested_engine="espeak",
            voice="vi",
            speed=1.0,
            text="kính thưa bà con",
            title=TITLE,
            duration_ms=1000,
            loudness_lufs=-16.0,
            true_peak_db=-1.0,
            size_bytes=len(data),
            bitrate_kbps=64,
            sample_rate=44100,
            settings={},
            format_version=1,
            file_sha256=file_sha,
        )
        s.add(asset)
        s.flush()
        s.get(Slot, week["due"]).audio_asset_id = asset.id
    client = web.client("daixa")
    url = f"/operator/{OWN_STATION}/audio/{file_sha}.mp3"
    page = body(client.get("/operator/"))
    assert f'<audio controls preload="none" src="{url}"' in page and "Tải âm thanh (MP3)" in page
    response = client.get(url)
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "audio/mpeg"
    assert client.get(f"/operator/{OWN_STATION}/audio/{'b' * 64}.mp3").status_code == 404
    assert client.get(f"/operator/{OWN_STATION}/audio/nope.mp3").status_code == 404
    assert web.client("daikhac").get(url).status_code == 403


def test_english_interface_shows_english_labels(web, week):
    client = web.client("daixa")
    web.post(client, "/lang", {"lang": "en", "next": "/operator/"})
    page = body(client.get("/operator/"))
    assert "This week" in page and "Next week" in page and "Today" in page
    assert "not yet due" in page and "Print this week (PDF)" in page
    assert "Tuần này" not in page and "chưa đến giờ" not in page
    response = web.post(
        client, "/operator/confirm", {"station": OWN_STATION, "slot": week["later"]}
    )
    assert response.status_code == 400 and "not due yet" in body(response)


def test_last_week_can_be_shown_to_report_late(web, week):
    campaign = make_campaign(web, "Tuần trước")
    (late,) = add_slots(web, campaign, OWN_STATION, [_local(web, week["monday"] - timedelta(3), 6)])
    client = web.client("daixa")
    assert f'id="slot-{late}"' not in body(client.get("/operator/"))
    page = body(client.get("/operator/?week=previous"))
    assert (
        'id="week-previous"' in page and 'id="week-this"' in page and 'id="week-next"' not in page
    )
    assert f'id="confirm-{late}"' in page and "In lịch tuần trước (PDF)" in page
    form = {"station": OWN_STATION, "slot": late, "status": "failed", "week": "previous"}
    response = web.post(client, "/operator/confirm", form)
    assert response.status_code == 302 and "week=previous" in response.headers["Location"]
    assert _airings(web, late) == 1
