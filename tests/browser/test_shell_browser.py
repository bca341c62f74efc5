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
    page = context.new_page()
    page.goto(live.at("/login"))
    page.keyboard.type("daixa")  # the name field has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type("mat-khau-web-1")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
    context.close()


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
