"""The admin's main flow in a real browser, each step by the role whose job it is:

an editor drafts and submits a script → an approver approves it and listens to it →
the approver creates a campaign with the unit picker → its slots appear in the week
calendar → the commune's operator confirms an airing → the auditor finds it in the
airing log and the hash chain verifies.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from broadcaster.clock import local_today
from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, Campaign, Script, Slot, Station
from tests.browser.conftest import new_page_as, sign_in

BODY = (
    "Kính thưa bà con nhân dân {ten_xa}!\n"
    "Thực hiện Kế hoạch của UBND tỉnh, từ ngày 01/12/2026 người dân nộp hồ sơ TTHC "
    "trực tuyến toàn trình trên Cổng Dịch vụ công quốc gia, 3 lần/tuần."
)


def _first_slot_now(live, campaign_id: int, station: str) -> tuple[int, str]:
    """Bring the station's first slot of the campaign to now, as if its window had come
    (the planner never plans into the past); returns the slot and its local HH:MM."""
    now = utcnow().replace(second=0, microsecond=0)
    with transaction(live.factory) as s:
        slot = s.scalars(
            select(Slot)
            .join(Station, Station.id == Slot.station_id)
            .where(Slot.campaign_id == campaign_id, Station.code == station)
            .order_by(Slot.planned_start)
            .limit(1)
        ).one()
        start = now - timedelta(minutes=20)
        s.execute(
            update(Slot)
            .where(Slot.id == slot.id)
            .values(planned_start=start, window_end=now + timedelta(minutes=40))
        )
        return slot.id, start.astimezone(live.settings.tz).strftime("%H:%M")


def test_from_draft_to_a_verified_airing(page, context, live):
    # 1. the culture official drafts, sees the spoken form live, saves and submits
    sign_in(page, live, "bientap")
    page.goto(live.at("/scripts/new"))
    page.fill("#title", "Nộp hồ sơ trực tuyến toàn trình")
    page.fill("#slug", "nop-ho-so-truc-tuyen")
    page.check("#ph-ten_xa")
    page.fill("#body", BODY)
    spoken = page.locator("#spoken")
    spoken.filter(has_text="ủy ban nhân dân").wait_for()  # the normaliser, as typed
    assert "thủ tục hành chính" in spoken.inner_text()
    page.click("#editor-save")
    page.wait_for_url("**/scripts/nop-ho-so-truc-tuyen**")
    page.click("#action-submit")
    page.locator("#script-state").filter(has_text="Chờ duyệt").wait_for()
    assert page.locator("#action-approve").count() == 0  # never one's own (four-eyes)

    # 2. the approver approves, then listens to it for a commune
    approver = new_page_as(context, live, "duyet")
    approver.goto(live.at("/scripts/?state=submitted"))
    approver.get_by_role("link", name="Nộp hồ sơ trực tuyến toàn trình").click()
    approver.click("#action-approve")
    approver.locator("#script-state").filter(has_text="Đã duyệt").wait_for()
    approver.click("#action-listen")
    audio = approver.locator("#listen-audio")
    audio.wait_for(state="attached", timeout=60_000)  # the offline voice takes seconds
    src = audio.get_attribute("src")
    mp3 = approver.request.get(live.at(src) if src.startswith("/") else src)
    assert mp3.ok and mp3.headers["content-type"].startswith("audio/mpeg")
    assert mp3.body()[:3] == b"ID3" or mp3.body()[:2] == b"\xff\xfb"

    # 3. … and creates a campaign for phường Thành Sen, picked by name without accents
    approver.goto(live.at("/campaigns/new"))
    approver.fill("#name", "Dịch vụ công trực tuyến — tháng 12")
    approver.select_option("#scripts", "nop-ho-so-truc-tuyen")
    approver.check("#mode-times")
    approver.fill("#times_per_week", "3")
    approver.fill(
        "#ends_on", (local_today(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=60)).isoformat()
    )
    search = approver.locator("input.unit-search")
    search.fill("thanh sen")
    option = approver.locator("ul.unit-results li[role=option][data-code='18073']")
    option.wait_for()
    search.press("ArrowDown")
    search.press("Enter")
    approver.locator(".unit-chips li[data-code='18073']").wait_for()
    assert approver.locator("#targets").input_value().replace(" ", "") == "18073"
    approver.click("#campaign-save")
    approver.locator("#campaign-name").wait_for()
    with live.factory() as s:
        campaign_id = s.scalar(select(Campaign.id).where(Campaign.name.like("Dịch vụ công%")))
        assert s.scalar(select(Script.approved_version_id).where(Script.slug.like("nop-%")))

    # 4. its slots are in the station's week calendar
    slot_id, hhmm = _first_slot_now(live, campaign_id, "18073")
    approver.goto(live.at(f"/campaigns/{campaign_id}?station=18073"))
    approver.locator(f"[data-test=slot][data-slot='{slot_id}']").wait_for()
    assert approver.locator("[data-test=slot]").count() >= 1

    # 5. the commune's operator confirms that it aired
    operator = new_page_as(context, live, "daixa")
    operator.goto(live.at("/airings/confirm"))
    operator.fill(f"#at-{slot_id}", hhmm)
    operator.fill(f"#minutes-{slot_id}", "2")
    operator.fill(f"#note-{slot_id}", "phát tại cụm loa thôn 3")
    operator.click(f"[data-test=aired-{slot_id}]")
    operator.locator(f"[data-test=reported-{slot_id}]").wait_for()

    # 6. the auditor sees it in the log, and the chain verifies
    auditor = new_page_as(context, live, "kiemtra")
    auditor.goto(live.at("/airings/?station=18073"))
    row = auditor.locator("#airings-table tbody tr").filter(has_text="phát tại cụm loa thôn 3")
    row.wait_for()
    assert "xác nhận tay: daixa" in row.inner_text()
    auditor.get_by_label("Đài cần kiểm tra").select_option(
        label="Đài truyền thanh phường Thành Sen"
    )
    auditor.click("#verify-submit")
    auditor.locator("[data-test=verify-ok]").wait_for()
    with live.factory() as s:
        airing = s.scalars(select(Airing).where(Airing.slot_id == slot_id)).one()
        assert airing.source == "manual"
