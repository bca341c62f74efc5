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
    assert "Trạng thái hệ thống" in text(web.client().get("/"))
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
