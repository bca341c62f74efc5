"""An auditor filters by names and by lists in a real browser: no code typed, no URL
visited by hand after signing in."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in


def test_auditor_filters_the_log_by_a_station_name(page, live):
    sign_in(page, live, "kiemtra")
    page.locator("nav.menu").get_by_role("link", name="Nhật ký phát").click()
    filters = page.locator("#airings-filters")
    filters.get_by_label("Chọn đài", exact=True).select_option(
        label="Đài truyền thanh phường Thành Sen"
    )
    filters.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"station=18073"))
    # the choice is shown again, by its name
    chosen = filters.get_by_label("Chọn đài", exact=True)
    assert chosen.locator("option:checked").inner_text() == "Đài truyền thanh phường Thành Sen"


def test_auditor_chooses_a_quarter_from_lists(page, live):
    sign_in(page, live, "kiemtra")
    page.locator("nav.menu").get_by_role("link", name="Báo cáo").click()
    filters = page.locator("#report-filters")
    assert filters.get_by_label("Tháng", exact=False).first.is_visible()
    filters.get_by_label("Kỳ", exact=True).select_option(label="Quý")
    # only the quarter's list is offered now
    assert not page.locator("#month").is_visible()
    assert not page.locator("#from").is_visible()
    assert page.locator("#quarter").is_visible()
    page.locator("#year").select_option("2026")
    page.locator("#quarter").select_option(label="Quý IV")
    filters.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_url(re.compile(r"quarter=4"))
    assert "Quý IV/2026" in page.locator("header.report-head h2").inner_text()
    filters = page.locator("#report-filters")
    filters.get_by_label("Kỳ", exact=True).select_option(label="Tùy chọn")
    assert page.locator("#from").is_visible() and not page.locator("#year").is_visible()


def test_a_national_scope_types_a_station_name_and_is_offered_names(page, live, monkeypatch):
    from broadcaster.webapp import pickers

    monkeypatch.setattr(pickers, "SELECT_LIMIT", 10)  # as many stations as a country has
    sign_in(page, live, "kiemtra")
    page.locator("nav.menu").get_by_role("link", name="Nhật ký phát").click()
    filters = page.locator("#airings-filters")
    box = filters.get_by_role("combobox", name=re.compile(r"^Chọn đài\b"))
    box.fill("hồng lĩnh")
    # the browser offers the stations whose name holds what was typed
    suggestions = page.locator("#station-suggestions option")
    suggestions.nth(1).wait_for(state="attached")
    labels = sorted(suggestions.evaluate_all("options => options.map(o => o.value)"))
    assert labels == [
        "Đài truyền thanh phường Bắc Hồng Lĩnh, Hà Tĩnh",
        "Đài truyền thanh phường Nam Hồng Lĩnh, Hà Tĩnh",
    ]
    filters.get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    error = page.locator("#station-error")
    assert "Bắc Hồng Lĩnh" in error.inner_text() and "Nam Hồng Lĩnh" in error.inner_text()
    box = page.locator("#airings-filters").get_by_role("combobox", name=re.compile(r"^Chọn đài\b"))
    box.fill(labels[1])
    page.locator("#airings-filters").get_by_role("button", name="Lọc").click()
    page.wait_for_load_state()
    assert page.locator("#station-error").count() == 0
    assert box.input_value() == labels[1]
