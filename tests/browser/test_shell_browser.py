"""The admin shell in a real browser: sign-in, menu, language, keyboard, phone width."""

from __future__ import annotations

from tests.browser.conftest import sign_in, watch


def test_sign_in_and_menu(page, live):
    page.goto(live.at("/dashboard/"))
    assert "/login" in page.url
    page.fill("#username", "kiemtra")
    page.fill("#password", "sai-mat-khau")
    page.click("#login-submit")
    assert page.locator("[role=alert]").inner_text().strip()
    sign_in(page, live, "kiemtra")
    menu = page.locator("nav.menu")
    assert menu.get_by_role("link", name="Nhật ký phát").is_visible()
    assert menu.get_by_role("link", name="Người dùng").count() == 0  # admins only


def test_english_is_one_click_away(page, live):
    sign_in(page, live, "quantri")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("nav.menu").get_by_role("link", name="Airing log").is_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "vi"


def test_sign_in_by_keyboard_on_a_phone(browser, live):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = watch(context.new_page(), live)
    page.goto(live.at("/login"))
    # the name field takes the focus on arrival (autofocus), so typing starts there
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type("daixa")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("mat-khau-web-1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url, page.locator("main").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
    context.close()
    assert not live.problems, "\n".join(live.problems)


PHONE_PAGES = {
    "daixa": ["/dashboard/", "/stations/18073", "/airings/", "/airings/confirm", "/emergency/"],
    "kiemtra": ["/dashboard/", "/scripts/", "/campaigns/", "/airings/", "/audit/"],
}


def test_main_pages_fit_a_phone(browser, live):
    """At 390 px no page scrolls sideways as a whole (wide tables scroll inside)."""
    for username, paths in PHONE_PAGES.items():
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        page = watch(context.new_page(), live)
        sign_in(page, live, username)
        for path in paths:
            answer = page.goto(live.at(path))
            assert answer.status == 200, path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, f"{path} as {username} is {width}px wide on a phone"
        context.close()
    assert not live.problems, "\n".join(live.problems)


def test_the_editor_body_fills_its_column_and_warns_beside_the_spoken_form(page, live):
    sign_in(page, live, "bientap")
    page.goto(live.at("/scripts/new"))
    body = page.get_by_label("Nội dung")
    column = page.evaluate("document.getElementById('body').parentElement.clientWidth")
    width = body.evaluate("element => element.getBoundingClientRect().width")
    assert width >= 0.9 * column, f"the body box is {width}px in a {column}px column"
    body.fill("Hạn nộp hồ sơ là ngày 31/02/2026. <img src=x> Kính gửi ông [tên trưởng thôn].")
    warnings = page.locator("#spoken-warnings li")
    warnings.first.wait_for()
    said = warnings.all_inner_texts()
    assert any("31/02/2026" in w and "không có trên lịch" in w for w in said), said
    assert any("<img src=x>" in w for w in said) and any("[tên trưởng thôn]" in w for w in said)
    body.fill("Kính thưa bà con, UBND xã thông báo lịch tiêm chủng.")
    page.locator("#spoken-warnings").wait_for(state="hidden")
    assert not live.problems, "\n".join(live.problems)
