"""What the admin refuses, seen from a real browser: another role's pages and actions
(by the menu, by URL and by a forged POST), a POST without its CSRF token, and HTML
or script typed into a script, which must show as text and never run."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.library import ScriptText
from broadcaster.models import AuditEvent, Script, StationToken, User
from broadcaster.services import scripts, users
from broadcaster.services.units import get_unit
from tests.browser.conftest import sign_in
from tests.web.conftest import PASSWORD

EVIL = '<script>alert("xss")</script><img src=x onerror=alert(2)>'


def _token(page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def _count(live, model, *where) -> int:
    with live.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("daixa", "/users/"),
        ("daixa", "/audit/"),
        ("daixa", "/scripts/"),
        ("daixa", "/stations/18100"),  # another commune's station
        ("bientap", "/users/new"),
        ("kiemtra", "/campaigns/new"),
        ("kiemtra", "/emergency/new"),
        ("duyet", "/users/"),
    ],
)
def test_another_roles_page_by_url_is_403(page, live, username, path):
    sign_in(page, live, username)
    answer = page.goto(live.at(path))
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "Không có quyền"


def test_forged_posts_of_another_role_are_403_and_change_nothing(page, live):
    sign_in(page, live, "bientap")
    page.goto(live.at("/dashboard/"))
    token = _token(page)
    forged = {
        "/users/new": {"username": "gia-mao", "role": "admin", "password": PASSWORD},
        "/stations/18073/token/issue": {},
        "/stations/18073/windows": {"windows": "01:00-02:00"},
        "/emergency/new": {"title": "Giả", "body": "Giả mạo", "units": "42"},
    }
    for path, data in forged.items():
        answer = page.request.post(live.at(path), form={**data, "csrf_token": token})
        assert answer.status == 403, path
    assert _count(live, User, User.username == "gia-mao") == 0
    assert _count(live, StationToken) == 0
    # the menu offers none of it either
    page.goto(live.at("/dashboard/"))
    menu = page.locator("nav.menu")
    assert menu.get_by_role("link", name="Người dùng").count() == 0
    assert menu.get_by_role("link", name="Nhật ký thao tác").count() == 0


def test_an_approver_is_refused_approving_their_own_script(page, live):
    with live.factory() as s:
        approver = users.authenticate(s, "duyet", PASSWORD)
    with transaction(live.factory) as s:
        text = ScriptText(slug="tu-duyet", title="Tự duyệt", body="Kính thưa bà con.")
        scripts.save_text(s, approver, text, get_unit(s, "42"))
        scripts.submit(s, approver, "tu-duyet")
    sign_in(page, live, "duyet")
    page.goto(live.at("/scripts/tu-duyet"))
    assert page.locator("#action-approve").count() == 0  # not offered in the page
    answer = page.request.post(
        live.at("/scripts/tu-duyet/approve"), form={"csrf_token": _token(page)}
    )
    assert answer.status in (400, 403)
    with live.factory() as s:
        assert s.scalar(select(Script.approved_version_id).where(Script.slug == "tu-duyet")) is None


def test_a_post_without_its_csrf_token_is_refused(page, live):
    sign_in(page, live, "quantri")
    before = _count(live, AuditEvent)
    answer = page.request.post(
        live.at("/users/new"),
        form={"username": "khong-csrf", "role": "auditor", "password": PASSWORD},
    )
    assert answer.status == 400
    assert "CSRF" in answer.text()
    stale = page.request.post(
        live.at("/stations/18073/windows"),
        form={"windows": "05:00-06:00", "csrf_token": "not-a-real-token"},
    )
    assert stale.status == 400
    assert _count(live, User, User.username == "khong-csrf") == 0
    assert _count(live, AuditEvent) == before


def test_html_in_a_script_is_shown_as_text_and_never_runs(page, live):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, live, "bientap")
    page.goto(live.at("/scripts/new"))
    page.fill("#title", f"Tin {EVIL}")
    page.fill("#slug", "tin-doc-hai")
    page.fill("#body", f"Kính thưa bà con. {EVIL}")
    page.click("#editor-save")
    page.wait_for_url("**/scripts/tin-doc-hai**")
    for path in ("/scripts/tin-doc-hai", "/scripts/", "/scripts/?q=alert", "/audit/"):
        if path == "/audit/":
            sign_in(page, live, "quantri")
        page.goto(live.at(path))
        page.wait_for_load_state("networkidle")
        assert page.locator("script:not([src])").count() == 0, path
        assert page.locator("img[src=x]").count() == 0, path
    page.goto(live.at("/scripts/tin-doc-hai"))
    assert '<script>alert("xss")</script>' in page.locator("#script-title").inner_text()
    assert re.search(r"onerror=alert\(2\)", page.locator("#script-body").inner_text())
    assert dialogs == []
