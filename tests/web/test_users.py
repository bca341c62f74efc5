"""The users pages: admin-only, add (and what is refused), edit, lock, passwords."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import AuditEvent, Role, User
from broadcaster.services import users
from tests.web.conftest import PASSWORD, USERS, csrf_of
from tests.web.conftest import text as body

NEW = {
    "username": "vanhanh2",
    "full_name": "Đỗ Thị Vận Hành",
    "role": "operator",
    "scope": "18073",
    "password": "mat-khau-moi-9",
    "password2": "mat-khau-moi-9",
}


def _user(web, name):
    with web.factory() as s:
        return s.scalar(select(User).where(User.username == name))


def _events(web, action):
    with web.factory() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_list_and_search(web):
    client = web.client("quantri")
    page = body(client.get("/users/"))
    for name in USERS:
        assert f'data-test="user-{name}"' in page
    found = body(client.get("/users/?q=Biên"))
    assert 'data-test="user-bientap"' in found and 'data-test="user-daixa"' not in found
    assert 'data-test="user-daixa"' in body(client.get("/users/?q=DAIX"))
    assert client.get("/users/?q=%00").status_code == 400
    assert client.get("/users/?q=" + "x" * 10_000).status_code == 400
    assert client.get("/users/?page=-4").status_code == 200


@pytest.mark.parametrize("name", [n for n, (role, *_) in USERS.items() if role != "admin"])
def test_every_users_url_is_admin_only(web, name):
    client = web.client(name)
    assert client.get("/users/").status_code == 403
    assert client.get("/users/new").status_code == 403
    assert web.post(client, "/users/new", NEW).status_code == 403
    assert client.get("/users/daixa/edit").status_code == 403
    assert (
        web.post(client, "/users/daixa/edit", {"role": "admin", "active": "1"}).status_code == 403
    )
    pw = {"password": "x" * 12, "password2": "x" * 12}
    assert web.post(client, "/users/daixa/password", pw).status_code == 403
    assert _user(web, "vanhanh2") is None
    assert _user(web, "daixa").role is Role.OPERATOR


def test_admin_adds_a_user_who_can_sign_in(web):
    client = web.client("quantri")
    assert 'id="user-form"' in body(client.get("/users/new"))
    response = web.post(client, "/users/new", NEW)
    assert response.status_code == 302
    assert "Đã thêm người dùng vanhanh2" in body(client.get(response.headers["Location"]))
    user = _user(web, "vanhanh2")
    assert (user.role, user.full_name, user.active) == (Role.OPERATOR, "Đỗ Thị Vận Hành", True)
    (event,) = _events(web, "user.add")[-1:]
    assert event.actor == "quantri" and event.after["scope"] == "18073"
    other = web.app.test_client()
    page = body(other.get("/login"))
    ok = other.post(
        "/login",
        data={"username": "vanhanh2", "password": NEW["password"], "csrf_token": csrf_of(page)},
    )
    assert ok.status_code == 302


def test_generated_password_is_shown_once(web):
    client = web.client("quantri")
    response = web.post(
        client, "/users/new", {**NEW, "password": "", "password2": "", "generate": "1"}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = body(response)
    secret = page.split('id="generated-password">')[1].split("<")[0]
    with web.factory() as s:
        assert users.authenticate(s, "vanhanh2", secret).role is Role.OPERATOR
    assert secret not in body(client.get("/users/vanhanh2/edit"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "daixa"}, "username"),
        ({"username": "Có Dấu"}, "username"),
        ({"username": ""}, "username"),
        ({"username": "a\x00b"}, "username"),
        ({"username": "x" * 10_000}, "username"),
        ({"password": "ngan", "password2": "ngan"}, "password"),
        ({"password2": "khac-hoan-toan"}, "password2"),
        ({"role": "vua"}, "role"),
        ({"scope": "99999"}, "scope"),
        ({"scope": "01"}, "scope"),
        ({"scope": ""}, "scope"),  # a forgotten scope is no nationwide user
        ({"scope": "42", "nationwide": "1"}, "scope"),
        ({"full_name": "x" * 10_000}, "full_name"),
    ],
)
def test_bad_new_user_is_400_beside_the_field(web, change, field):
    client = web.client("quantri")
    with web.factory() as s:
        before = s.scalar(select(func.count()).select_from(User))
    response = web.post(client, "/users/new", {**NEW, **change})
    assert response.status_code == 400
    assert f'id="{field}-error"' in body(response)
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(User)) == before


def test_lock_signs_out_and_refuses_sign_in(web):
    victim = web.client("daixa")
    assert victim.get("/airings/").status_code == 200
    admin = web.client("quantri")
    response = web.post(
        admin,
        "/users/daixa/edit",
        {"full_name": "Lê Văn Đài", "role": "operator", "scope": "18073"},
    )
    assert response.status_code == 302
    assert "Đã khóa daixa" in body(admin.get(response.headers["Location"]))
    assert _user(web, "daixa").active is False
    after = victim.get("/airings/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    fresh = web.app.test_client()
    page = body(fresh.get("/login"))
    refused = fresh.post(
        "/login", data={"username": "daixa", "password": PASSWORD, "csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 401 and "bị khóa" in body(refused)
    (event,) = _events(web, "user.lock")
    assert event.before["active"] is True and event.after["active"] is False
    again = web.post(
        admin,
        "/users/daixa/edit",
        {"full_name": "Lê Văn Đài", "role": "operator", "scope": "18073", "active": "1"},
    )
    assert again.status_code == 302 and _user(web, "daixa").active is True
    assert len(_events(web, "user.unlock")) == 1


def test_edit_role_and_scope(web):
    admin = web.client("quantri")
    form = {"full_name": "Hoàng Kiểm Tra", "role": "approver", "scope": "18100", "active": "1"}
    assert web.post(admin, "/users/kiemtra/edit", form).status_code == 302
    user = _user(web, "kiemtra")
    with web.factory() as s:
        user = s.scalar(select(User).where(User.username == "kiemtra"))
        assert user.role is Role.APPROVER and user.scope_unit.code == "18100"
    (event,) = _events(web, "user.edit")
    assert event.before["role"] == "auditor" and event.after["scope"] == "18100"
    bad = web.post(admin, "/users/kiemtra/edit", {**form, "scope": "nope"})
    assert bad.status_code == 400 and 'id="scope-error"' in body(bad)
    assert web.post(admin, "/users/kiemtra/edit", {**form, "role": "x"}).status_code == 400


def test_the_last_national_admin_stays(web):
    admin = web.client("quantri")
    form = {"full_name": "Quản trị viên", "role": "admin", "nationwide": "1", "active": "1"}
    for change in ({"role": "auditor"}, {"scope": "42", "nationwide": ""}):
        response = web.post(admin, "/users/quantri/edit", {**form, **change})
        assert response.status_code == 400 and "cuối cùng" in body(response)
    locked = web.post(
        admin, "/users/quantri/edit", {k: v for k, v in form.items() if k != "active"}
    )
    assert locked.status_code == 400
    user = _user(web, "quantri")
    assert user.active and user.role is Role.ADMIN and user.scope_unit_id is None


def test_provincial_admin_manages_only_the_province(web):
    with transaction(web.factory) as s:
        root = users.authenticate(s, "quantri", PASSWORD)
        users.add_user(s, root, "qt-tinh", "admin", PASSWORD, scope="42")
    client = web.client("qt-tinh")
    page = body(client.get("/users/"))
    assert 'data-test="user-daixa"' in page and 'data-test="user-quantri"' not in page
    assert client.get("/users/quantri/edit").status_code == 403
    pw = {"password": "x" * 12, "password2": "x" * 12}
    assert web.post(client, "/users/quantri/password", pw).status_code == 403
    national = web.post(client, "/users/new", {**NEW, "scope": "", "nationwide": "1"})
    assert national.status_code == 400 and 'id="scope-error"' in body(national)
    assert 'id="nationwide"' not in body(client.get("/users/new"))  # not even offered
    assert web.post(client, "/users/new", NEW).status_code == 302


def test_admin_sets_a_password(web):
    admin = web.client("quantri")
    bad = web.post(admin, "/users/daixa/password", {"password": "ngan", "password2": "ngan"})
    assert bad.status_code == 400 and 'id="password-error"' in body(bad)
    mismatch = web.post(
        admin, "/users/daixa/password", {"password": "x" * 12, "password2": "y" * 12}
    )
    assert mismatch.status_code == 400 and 'id="password2-error"' in body(mismatch)
    ok = web.post(
        admin,
        "/users/daixa/password",
        {"password": "mat-khau-moi-1", "password2": "mat-khau-moi-1"},
    )
    assert ok.status_code == 302
    with web.factory() as s:
        assert users.authenticate(s, "daixa", "mat-khau-moi-1").label == "daixa"
    assert len(_events(web, "user.passwd")) == 1
    generated = web.post(admin, "/users/daixa/password", {"generate": "1"})
    assert generated.status_code == 200 and 'id="generated-password"' in body(generated)


def test_unknown_or_odd_user_names_are_404(web):
    admin = web.client("quantri")
    for name in ("nobody", "A%00", "x" * 300, "-x"):
        assert admin.get(f"/users/{name}/edit").status_code == 404, name
    assert web.post(admin, "/users/nobody/password", {"generate": "1"}).status_code == 404


def test_a_new_password_signs_out_the_sessions_of_the_old_one(web):
    victim = web.client("daixa")
    assert victim.get("/dashboard/").status_code == 200
    admin = web.client("quantri")
    reset = web.post(
        admin,
        "/users/daixa/password",
        {"password": "mat-khau-moi-1", "password2": "mat-khau-moi-1"},
    )
    assert reset.status_code == 302
    gone = victim.get("/dashboard/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    # an admin changing their own password stays signed in
    own = web.post(
        admin,
        "/users/quantri/password",
        {"password": "mat-khau-moi-2", "password2": "mat-khau-moi-2"},
    )
    assert own.status_code == 302
    assert admin.get("/users/").status_code == 200


def test_a_nationwide_user_is_an_explicit_choice_of_a_national_admin(web):
    admin = web.client("quantri")
    form = body(admin.get("/users/new"))
    assert 'id="nationwide"' in form and "data-unit-single" in form
    forgotten = web.post(admin, "/users/new", {**NEW, "scope": ""})
    assert forgotten.status_code == 400
    assert "Chọn tỉnh hoặc xã mà người dùng phụ trách." in body(forgotten)
    chosen = web.post(admin, "/users/new", {**NEW, "scope": "", "nationwide": "1"})
    assert chosen.status_code == 302 and _user(web, "vanhanh2").scope_unit_id is None
    # the edit form shows it as chosen, so saving it again keeps it
    assert 'id="nationwide" name="nationwide" value="1" checked' in body(
        admin.get("/users/vanhanh2/edit")
    )
    by_name = web.post(admin, "/users/new", {**NEW, "username": "theoten", "scope": "Hà Tĩnh"})
    assert by_name.status_code == 302
    with web.factory() as s:
        user = s.scalar(select(User).where(User.username == "theoten"))
        assert user.scope_unit.code == "42"


@pytest.mark.parametrize(
    ("changes", "field", "english"),
    [
        ({"username": "bientap"}, "username", "The user 'bientap' already exists."),
        ({"username": "Ab"}, "username", "The user name 'Ab' is not valid: 3–64 characters"),
        (
            {"password": "ngan", "password2": "ngan"},
            "password",
            "The password must have at least 8 characters.",
        ),
        ({"scope": "Atlantis"}, "scope", "No administrative unit 'Atlantis' was found."),
    ],
)
def test_a_refused_user_is_explained_in_english_beside_the_field(web, changes, field, english):
    """The service's message, translated, stands beside the input it is about."""
    client = web.client("quantri")
    web.post(client, "/lang", {"lang": "en"})
    response = web.post(client, "/users/new", NEW | changes)
    assert response.status_code == 400
    page = body(response)
    beside = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, re.S)
    assert beside is not None, page
    assert english in html.unescape(beside[1])
    assert _user(web, NEW["username"]) is None
