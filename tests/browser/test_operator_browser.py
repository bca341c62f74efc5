"""The station operator's job in a real browser, by what a person sees: sign in, open the
station's schedule from the menu, confirm the slot that is due, print the week's schedule
as a PDF; and the same page on a 360 px phone without sideways scrolling."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.db import utcnow
from broadcaster.models import Airing, Station
from tests.browser.conftest import sign_in
from tests.web.airing_scene import add_slots, make_campaign
from tests.web.day_scene import ORDER, SHOWN, add_day

STATION = "18073"  # daixa's commune station
TITLE = "Tin Dịch vụ công trực tuyến"


def _scene(live) -> dict:
    campaign = make_campaign(live)
    today = local_today(live.settings.tz)
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    now = utcnow()
    due, later, next_week = add_slots(
        live,
        campaign,
        STATION,
        [
            now - timedelta(seconds=30),
            now + timedelta(days=2),
            datetime.combine(next_monday, time(6), tzinfo=live.settings.tz),
        ],
    )
    with live.factory() as s:
        name = s.scalar(select(Station.name).where(Station.code == STATION))
    return {"due": due, "later": later, "next": next_week, "name": name, "today": today}


def test_operator_confirms_a_due_slot_and_prints_the_week(page, live):
    scene = _scene(live)
    sign_in(page, live, "daixa")
    menu = page.get_by_role("navigation", name="Điều hướng chính")
    menu.get_by_role("link", name="Lịch phát của đài").click()
    page.get_by_role("heading", name="Lịch phát của đài").wait_for()

    # this week and next, today marked
    assert page.get_by_role("heading", name=re.compile(r"^Tuần này: ")).is_visible()
    assert page.get_by_role("heading", name=re.compile(r"^Tuần sau: ")).is_visible()
    today = page.locator("[aria-current=date]")
    assert "Hôm nay" in today.inner_text()
    assert page.get_by_text(scene["name"]).first.is_visible()
    # only the due slot can be confirmed; the later ones wait
    assert page.get_by_text("chưa đến giờ", exact=True).count() == 2
    aired = page.get_by_role("button", name="Đã phát", exact=True)
    assert aired.count() == 1

    page.get_by_label("Số phút đã phát").fill("1")
    page.get_by_label("Ghi chú").fill("phát ở cụm loa thôn 2")
    aired.click()
    page.get_by_role("status").filter(has_text="Đã ghi nhật ký").wait_for()
    assert "xác nhận tay: daixa" in page.locator(f"#slot-{scene['due']}").inner_text()
    with live.factory() as s:
        row = s.scalars(select(Airing).where(Airing.slot_id == scene["due"])).one()
        assert (row.source, row.note) == ("manual", "phát ở cụm loa thôn 2")

    # the week's schedule to pin on the notice board
    with page.expect_download() as download:
        page.get_by_role("link", name="In lịch tuần (PDF)").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    assert download.value.suggested_filename.endswith(".pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    monday = scene["today"] - timedelta(days=scene["today"].weekday())
    assert "LỊCH PHÁT SÓNG TUẦN" in text and scene["name"] in text
    assert f"{monday:%d/%m/%Y}" in text and TITLE in text

    # on a phone: the same page, nothing wider than the screen
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    page.get_by_role("heading", name="Lịch phát của đài").wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.get_by_role("link", name="In lịch tuần (PDF)").is_visible()


def test_the_day_of_every_kind_reads_on_a_phone_and_on_paper(page, live):
    """A relay, a recording, a synthesised item and an emergency: in order with their
    times, lengths and kinds on a 360 px phone, and the kinds still told apart in print
    (a word in a box, not a colour alone)."""
    ids = add_day(live, local_today(live.settings.tz))
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, "daixa")
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role(
        "link", name="Lịch phát của đài"
    ).click()
    page.get_by_role("heading", name="Lịch phát của đài").wait_for()
    cards = page.locator("[aria-current=date] li.op-slot")
    shown = [" ".join(t.split()) for t in cards.all_inner_texts()]
    assert len(shown) == 4
    for text, key in zip(shown, ORDER, strict=True):
        for part in SHOWN[key]:
            assert part in text, (key, part, text)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    relay = page.locator(f"#slot-{ids['relay']}")
    assert relay.locator("audio").count() == 0
    page.emulate_media(media="print")
    for key in ORDER:
        label = page.locator(f"#slot-{ids[key]} .kind")
        assert label.is_visible() and label.inner_text() == SHOWN[key][2]
        style = label.evaluate(
            "e => [getComputedStyle(e).borderTopStyle, getComputedStyle(e).color]"
        )
        assert style[0] != "none" and style[1] == "rgb(0, 0, 0)", (key, style)
    assert relay.locator(".day-span").inner_text() == "06:00–06:30"
