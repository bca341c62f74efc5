"""Each role's whole job in a real browser, as a first-time user does it: only what a
person sees — menus, buttons and fields found by their Vietnamese names
(``get_by_role`` / ``get_by_label``) — never a unit or station code typed, never a URL
typed after signing in. One role does it again in English.

The admin gives people their scopes, the editor drafts and listens, the approver
approves and runs a campaign for the whole province, the operator confirms a slot that
is due and prints the week, the auditor filters the logs and downloads the month.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from broadcaster.clock import local_today
from broadcaster.db import transaction, utcnow
from broadcaster.library import ScriptText
from broadcaster.models import AdminUnit, AiringStatus, Campaign, Script, Slot, User
from broadcaster.planning import plan
from broadcaster.services import airings, campaigns, scripts, users
from tests.browser.conftest import sign_in
from tests.web.conftest import PASSWORD

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = "Nộp hồ sơ trực tuyến toàn trình"
BODY = (
    "Kính thưa bà con nhân dân {ten_xa}!\n"
    "Thực hiện Kế hoạch của UBND tỉnh, người dân nộp hồ sơ TTHC trực tuyến toàn trình "
    "trên Cổng Dịch vụ công quốc gia."
)


def menu(page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def pick_unit(page, typed: str, shown: str | re.Pattern) -> None:
    """Choose a unit in the unit tree picker by typing part of its name."""
    page.get_by_role("combobox", name=re.compile("^Tìm đơn vị")).fill(typed)
    page.get_by_role("option", name=shown).first.click()


def _submitted_script(live, title: str = TITLE, slug: str = "nop-ho-so") -> str:
    with transaction(live.factory) as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        province = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        scripts.save_text(s, editor, ScriptText(slug=slug, title=title, body=BODY), province)
        scripts.submit(s, editor, slug)
    return slug


def _approved_script(live, title: str = TITLE) -> str:
    slug = _submitted_script(live, title)
    with live.factory() as s:
        approver = users.authenticate(s, "duyet", PASSWORD)
    with transaction(live.factory) as s:
        scripts.approve(s, approver, slug)
    return slug


def test_the_admin_gives_people_their_scopes(page, live):
    sign_in(page, live, "quantri")
    menu(page, "Người dùng")
    page.get_by_role("link", name="Thêm người dùng").click()
    page.get_by_label("Tên đăng nhập").fill("vanhoa.thanhsen")
    page.get_by_label("Họ và tên").fill("Đặng Thị Văn Hóa")
    page.get_by_label("Vai trò").select_option(label="Biên tập (VH-XH)")
    page.get_by_label(re.compile("^Mật khẩu")).fill("mat-khau-moi-1")
    page.get_by_label("Nhập lại mật khẩu").fill("mat-khau-moi-1")

    # a blank scope is refused beside the field, never made a nationwide user
    page.get_by_role("button", name="Thêm").click()
    page.get_by_text("Chọn tỉnh hoặc xã mà người dùng phụ trách.").wait_for()

    pick_unit(page, "thanh sen", re.compile("Phường Thành Sen"))
    page.get_by_label(re.compile("^Mật khẩu")).fill("mat-khau-moi-1")
    page.get_by_label("Nhập lại mật khẩu").fill("mat-khau-moi-1")
    page.get_by_role("button", name="Thêm").click()
    page.get_by_text("Phường Thành Sen").first.wait_for()
    with live.factory() as s:
        user = s.scalar(select(User).where(User.username == "vanhoa.thanhsen"))
        assert user is not None and user.role.value == "editor"
        assert user.scope_unit.code == "18073"


def test_the_editor_drafts_sees_how_it_is_read_and_listens(page, live):
    sign_in(page, live, "bientap")
    menu(page, "Tin bài")
    page.get_by_role("link", name="Soạn tin bài mới").click()
    page.get_by_label(re.compile("^Tiêu đề")).fill(TITLE)
    page.get_by_label(re.compile("^Nội dung")).fill(BODY + "\nHạn nộp 31/02/2026.")
    page.get_by_role("button", name="Xem dạng đọc").click()
    # the spoken form, and a warning (not a refusal) for the impossible date
    page.get_by_text("ủy ban nhân dân", exact=False).first.wait_for()
    page.get_by_text("31/02/2026", exact=False).first.wait_for()
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.get_by_role("heading", name=TITLE).wait_for()

    page.get_by_role("button", name=re.compile("^Nghe phiên bản 1")).click()
    audio = page.locator("audio")
    audio.first.wait_for(state="attached", timeout=60_000)  # the offline voice takes seconds
    page.get_by_text(re.compile("giọng", re.I)).first.wait_for()  # which voice spoke
    page.get_by_role("button", name=re.compile("^Trình duyệt phiên bản 1")).click()
    page.get_by_text("Chờ duyệt").first.wait_for()
    with live.factory() as s:
        script = s.scalar(select(Script).where(Script.slug.like("nop-ho-so%")))
        assert script is not None and script.latest.status.value == "submitted"


def test_the_approver_approves_and_runs_a_campaign_for_the_province(page, live):
    _submitted_script(live)
    sign_in(page, live, "duyet")
    menu(page, "Tin bài")
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Duyệt", exact=True).click()
    page.get_by_text("Đã duyệt").first.wait_for()

    menu(page, "Chiến dịch")
    page.get_by_role("link", name="Tạo chiến dịch").click()
    page.get_by_label("Tên chiến dịch").fill("Dịch vụ công trực tuyến — toàn tỉnh")
    page.get_by_label("Tin bài đã duyệt").select_option(label=f"{TITLE} (nop-ho-so)")
    page.get_by_label("Số lần/tuần").fill("3")
    ends = local_today(TZ) + timedelta(days=60)
    page.get_by_label("Đến ngày").fill(ends.isoformat())
    pick_unit(page, "ha tinh", re.compile("^Hà Tĩnh"))
    page.get_by_role("button", name=re.compile("^Lưu|^Tạo")).click()
    page.get_by_role("heading", name="Dịch vụ công trực tuyến — toàn tỉnh").wait_for()
    with live.factory() as s:
        campaign = s.scalar(select(Campaign).where(Campaign.name.like("Dịch vụ công%")))
        assert campaign is not None
        assert [t.unit.code for t in campaign.targets] == ["42"]

    # the week calendar of one station, chosen by its name; it opens on a week with slots
    picker = page.get_by_label("Chọn đài", exact=True)
    picker.select_option(label="Đài truyền thanh phường Thành Sen")
    page.get_by_role("button", name="Xem", exact=True).click()
    page.locator("[data-test=slot]").first.wait_for()
    assert "station=18073" in page.url


def _aired_slot(live) -> datetime:
    """A campaign with one slot at Thành Sen that aired minutes ago (the operator's report);
    returns when it aired."""
    slug = _approved_script(live)
    now = utcnow().replace(second=0, microsecond=0)
    with transaction(live.factory) as s:
        approver = users.authenticate(s, "duyet", PASSWORD)
        campaigns.add_campaign(
            s,
            approver,
            campaigns.CampaignSpec(
                name="Dịch vụ công trực tuyến",
                scripts=[slug],
                targets=["18073"],
                times_per_week=3,
                starts_on=local_today(TZ),
                ends_on=local_today(TZ) + timedelta(days=30),
            ),
            today=local_today(TZ),
        )
    with transaction(live.factory) as s:
        plan(s, tz=TZ)
        slot = s.scalars(select(Slot).order_by(Slot.planned_start).limit(1)).one()
        start = now - timedelta(minutes=10)
        s.execute(
            update(Slot)
            .where(Slot.id == slot.id)
            .values(planned_start=start, window_end=start + timedelta(hours=1))
        )
        operator = users.authenticate(s, "daixa", PASSWORD)
        airings.confirm(
            s,
            operator,
            "18073",
            slot.id,
            status=AiringStatus.AIRED,
            started_at=start,
            ended_at=start + timedelta(minutes=2),
            note="phát ở cụm loa thôn 2",
            report_id=str(uuid.uuid4()),
            tz=TZ,
        )
    return start


def test_the_auditor_in_english_filters_the_logs_and_downloads_the_month(page, live):
    aired = _aired_slot(live).astimezone(TZ).date()
    sign_in(page, live, "kiemtra")
    page.get_by_role("button", name="English").click()
    page.get_by_role("navigation").get_by_role("link", name="Airing log").wait_for()

    # the airing log of one station, chosen by its name
    menu(page, "Airing log")
    page.get_by_label("Choose a station", exact=True).select_option(
        label="Đài truyền thanh phường Thành Sen"
    )
    page.get_by_role("button", name="Filter", exact=True).click()
    page.get_by_text("phát ở cụm loa thôn 2").first.wait_for()

    # who did what: the campaign's creation, in words
    menu(page, "Audit log")
    page.get_by_label("Action", exact=True).select_option(label="New campaign")
    page.get_by_role("button", name="Filter", exact=True).click()
    row = page.locator("table tbody tr").filter(has_text="New campaign").first
    row.wait_for()
    assert "campaign.create" not in row.inner_text()
    assert "Dịch vụ công trực tuyến" in row.inner_text()

    # this month's compliance report, downloaded as CSV with English headers
    menu(page, "Reports")
    page.get_by_label("Period", exact=True).select_option(value="month")
    page.get_by_label("Year", exact=True).select_option(str(aired.year))
    page.get_by_label(re.compile("^Month")).select_option(str(aired.month))
    page.get_by_role("button", name=re.compile("^(Show|View)")).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    data = Path(download.value.path()).read_text("utf-8-sig")
    header = data.splitlines()[0]
    assert "Station" in header or "station" in header, header
    assert "Thành Sen" in data
