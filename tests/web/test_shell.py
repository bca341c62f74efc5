"""The admin shell: menu by role, languages, error pages, security headers."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import USERS, text

PAGES = [
    "/dashboard/",
    "/scripts/",
    "/campaigns/",
    "/emergency/",
    "/stations/",
    "/airings/",
    "/reports/compliance",
    "/users/",
    "/audit/",
]


def test_every_page_needs_sign_in(web):
    client = web.client()
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_home_is_the_dashboard_once_signed_in(web):
    assert "Hệ thống đang hoạt động." in text(web.client().get("/"))
    response = web.client("daixa").get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")


@pytest.mark.parametrize("username", sorted(USERS))
def test_menu_shows_what_the_role_may_open(web, username):
    page = text(web.client(username).get("/dashboard/"))
    assert ('href="/users/"' in page) == (USERS[username][0] == "admin")
    assert ('href="/audit/"' in page) == (USERS[username][0] in ("admin", "auditor"))
    assert 'href="/airings/"' in page


def test_language_switch_to_english_and_back(web):
    client = web.client("kiemtra")
    page = text(client.get("/dashboard/"))
    assert '<html lang="vi">' in page and "Nhật ký phát" in page
    response = web.post(client, "/lang", {"lang": "en", "next": "/dashboard/"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    page = text(client.get("/dashboard/"))
    assert '<html lang="en">' in page and "Airing log" in page and "Nhật ký phát" not in page
    web.post(client, "/lang", {"lang": "vi"})
    assert '<html lang="vi">' in text(client.get("/dashboard/"))


def test_language_switch_refuses_other_sites_and_needs_csrf(web):
    client = web.client()
    for target in (
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "https://evil.example",
    ):
        response = web.post(client, "/lang", {"lang": "en", "next": target})
        assert response.headers["Location"] == "/", target
    assert client.post("/lang", data={"lang": "en"}).status_code == 400


def test_security_headers_on_admin_pages(web):
    response = web.client("quantri").get("/dashboard/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.request.environ  # the session cookie's flags are set at sign-in
    assert cookie is not None


H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def test_every_main_page_speaks_english_when_chosen(web):
    client = web.client("quantri")
    vietnamese = {url: H1.search(text(client.get(url))).group(1) for url in PAGES}
    web.post(client, "/lang", {"lang": "en"})
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        page = text(response)
        assert '<html lang="en">' in page, url
        heading = H1.search(page).group(1)
        assert heading != vietnamese[url], f"{url} keeps its Vietnamese heading {heading!r}"
        assert "Đăng xuất" not in page and "Sign out" in page, url


def test_the_status_page_counts_the_plan_for_signed_in_users(db_url, tmp_path, factory, campaign):
    from datetime import timedelta

    from sqlalchemy import update

    from broadcaster.db import transaction, utcnow
    from broadcaster.models import Slot, SlotStatus
    from broadcaster.planning import plan
    from broadcaster.services import users
    from broadcaster.services.audit import system_actor
    from broadcaster.webapp import create_app
    from tests.planning.fixtures import TZ
    from tests.web.conftest import PASSWORD, Web, web_settings

    campaign(unit="18073", times_per_week=7, weekdays=range(7))
    with transaction(factory) as s:
        plan(s, now=utcnow() - timedelta(days=3), days=7, tz=TZ)
        s.execute(
            update(Slot).where(Slot.planned_start < utcnow()).values(status=SlotStatus.MISSED)
        )
        users.add_user(s, system_actor(), "xemtrangthai", "auditor", PASSWORD)
    web = Web(create_app(web_settings(db_url, tmp_path)), None, factory)
    page = text(web.client("xemtrangthai").get("/status"))
    assert "Xã/phường/đặc khu</th><td>69" in page
    assert "Chiến dịch đang chạy</th><td>1" in page
    assert "Lượt bị lỡ (7 ngày qua)</th><td>0" not in page
    assert "Lượt phát đã xếp (14 ngày tới)</th><td>0" not in page
