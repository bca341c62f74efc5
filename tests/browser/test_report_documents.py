"""The report in the official form in a real browser: a commune's official writes sections
II–III, previews the document laid out like the paper, stores it and files it; the
province's approver sees the commune as filed on time. Only what a person sees is used
(links, buttons and fields by their Vietnamese names), never a URL typed after signing in.

Saves docs/screenshots/report-draft.png (the preview) and report-filings.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from broadcaster.db import transaction
from broadcaster.services import users
from broadcaster.services.audit import system_actor
from tests.browser.conftest import SCREENSHOTS, new_page_as, sign_in
from tests.web.conftest import PASSWORD

DIFFICULTIES = (
    "Cụm loa thôn Trung Hòa hỏng bộ khuếch đại từ ngày 20/11, chưa có kinh phí thay thế.\n"
    "Một số buổi phát sáng bị mất điện <lưới> nên phát bù vào buổi chiều."
)
PROPOSALS = "Đề nghị UBND tỉnh hỗ trợ kinh phí thay bộ khuếch đại cho cụm loa thôn Trung Hòa."


def _menu(page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def test_commune_writes_previews_stores_files_and_the_province_sees_it(page, context, live):
    with transaction(live.factory) as s:
        users.add_user(
            s, system_actor(), "chuxa", "approver", PASSWORD, scope="18073", full_name="Chủ Xã"
        )
    sign_in(page, live, "chuxa")
    _menu(page, "Báo cáo")
    page.get_by_role("link", name="Báo cáo theo thể thức").click()
    expect(page.get_by_role("heading", name=re.compile("I. Kết quả thực hiện"))).to_be_visible()
    page.get_by_label("Khó khăn, vướng mắc").fill(DIFFICULTIES)
    page.get_by_label("Đề xuất, kiến nghị").fill(PROPOSALS)
    page.get_by_label(re.compile("^Số chỉ chữ số")).fill("12")
    page.get_by_label("Họ tên người ký").fill("Nguyễn Văn An")
    page.get_by_role("button", name="Xem trước", exact=True).click()
    paper = page.locator("#paper")
    expect(paper).to_contain_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    expect(paper).to_contain_text("Số: 12/BC-UBND")
    expect(paper).to_contain_text("mất điện <lưới>")  # the markup is text
    expect(paper).to_contain_text("Nguyễn Văn An")
    # what was typed is still in the form below the preview
    expect(page.get_by_label("Khó khăn, vướng mắc")).to_have_value(DIFFICULTIES)
    paper.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-draft.png"))
    page.get_by_role("button", name="Lưu báo cáo").click()
    page.wait_for_url(re.compile(r"/reports/stored/\d+$"))
    expect(page.get_by_role("link", name="Tải DOCX (sửa được)")).to_be_visible()
    page.get_by_role("button", name="Nộp lên cấp trên").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã nộp báo cáo lên cấp trên")
    expect(page.get_by_role("button", name="Nộp lên cấp trên")).to_have_count(0)

    province = new_page_as(context, live, "duyet")
    _menu(province, "Báo cáo")
    province.get_by_role("link", name="Tình hình nộp báo cáo").click()
    row = province.locator('[data-test="unit-18073"]')
    expect(row).to_have_attribute("data-state", "on_time")
    expect(row).to_contain_text("Đúng hạn")
    expect(province.locator('[data-test="on_time"] strong')).to_have_text("1")
    expect(province.get_by_role("link", name=re.compile("^Lập báo cáo tổng hợp"))).to_be_visible()
    province.screenshot(path=str(SCREENSHOTS / "report-filings.png"))
    province.context.close()
