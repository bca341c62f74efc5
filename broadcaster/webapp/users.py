"""The admin's users pages (người dùng): list and search, add, edit (lock/unlock), set a password.

Admins only (everyone else 403 on every URL). A provincial admin sees and manages
only the users whose scope lies inside the province (the rule lives in
:mod:`broadcaster.services.users`); a user outside it is 403. Each change is one
service call, audited there, committed here only when every check passed.
A generated password is shown once, on the page answering the form (never
stored in the session or a flash message).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from broadcaster.errors import BroadcasterError, Conflict, NotFound, PermissionDenied
from broadcaster.models import Role
from broadcaster.services import users
from broadcaster.services.units import get_unit
from broadcaster.webapp.auth import ROLE_LABELS, open_session, signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    Page,
    actor,
    beside,
    db,
    done,
    error_text,
    field,
    offset,
    page_number,
    refused,
)

bp = Blueprint("users", __name__, url_prefix="/users")

USERNAME_IN_URL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_PASSWORD = 256
# the inputs of the new-user and edit forms: a service's error is shown beside its own
NEW_FIELDS = ("username", "full_name", "role", "scope", "password", "password2")
EDIT_FIELDS = ("full_name", "role", "scope", "active")


def _username(name: str) -> str:
    if not USERNAME_IN_URL.fullmatch(name or ""):
        abort(404)
    return name


def _target(name: str) -> users.UserInfo:
    try:
        return users.get_user(db(), actor(), _username(name))
    except (NotFound, PermissionDenied) as exc:
        refused(exc)
        raise


def _scope(form, errors: dict[str, str]) -> str | None:
    """The unit code of the chosen scope, or None for the whole country — which must be
    chosen explicitly ("Toàn quốc"), and only by a national admin: a forgotten field
    never makes a nationwide user."""
    code = field(form, "scope", max_length=64, errors=errors)
    nationwide = form.get("nationwide") == "1"
    if nationwide and not actor().covers(None):
        errors["scope"] = _("Chỉ quản trị viên toàn quốc được giao phạm vi toàn quốc.")
        return None
    if nationwide and code:
        errors["scope"] = _("Chọn một đơn vị hoặc toàn quốc, không chọn cả hai.")
        return None
    if nationwide:
        return None
    if not code:
        if "scope" not in errors:
            errors["scope"] = _("Chọn tỉnh hoặc xã mà người dùng phụ trách.")
        return None
    try:
        unit = get_unit(db(), code, field="scope")
    except BroadcasterError as exc:
        errors["scope"] = error_text(exc)
        return None
    if not actor().covers(unit.path):
        errors["scope"] = _("Đơn vị %(code)s nằm ngoài phạm vi của bạn.", code=unit.code)
        return None
    return unit.code


def _role(value: str, errors: dict[str, str]) -> Role | None:
    try:
        return users.parse_role(value)
    except BroadcasterError as exc:
        errors["role"] = error_text(exc)
        return None


def _password(form, errors: dict[str, str]) -> tuple[str | None, bool]:
    """The new password (typed twice) or a generated one; and whether it was generated."""
    if form.get("generate"):
        return users.generate_password(), True
    password = form.get("password", "")
    if len(password) > MAX_PASSWORD:
        errors["password"] = _("Quá dài: tối đa %(n)s ký tự.", n=MAX_PASSWORD)
        return None, False
    if "\x00" in password:
        errors["password"] = _("Có ký tự điều khiển không hợp lệ.")
        return None, False
    try:
        users.check_password_strength(password)
    except BroadcasterError as exc:
        errors["password"] = error_text(exc)
        return None, False
    if form.get("password2", "") != password:
        errors["password2"] = _("Hai lần nhập mật khẩu không khớp.")
        return None, False
    return password, False


def _roles() -> list[tuple[str, str]]:
    return [(r.value, str(ROLE_LABELS[r])) for r in Role]


@bp.get("/")
@signed_in(Role.ADMIN)
def index():
    errors: dict[str, str] = {}
    q = field(request.args, "q", max_length=100, errors=errors)
    n = page_number()
    rows = (
        []
        if errors
        else users.search_users(db(), actor(), q, limit=PAGE_SIZE + 1, offset=offset(n))
    )
    return render_template(
        "users/index.html",
        page=Page.of(rows, n, PAGE_SIZE),
        q=q if not errors else "",
        errors=errors,
        role_labels=ROLE_LABELS,
    ), (400 if errors else 200)


def _new_form(values, errors, status=400):
    return render_template("users/new.html", values=values, errors=errors, roles=_roles()), status


@bp.get("/new")
@signed_in(Role.ADMIN)
def new():
    return _new_form({"role": "operator"}, {}, 200)


@bp.post("/new")
@signed_in(Role.ADMIN)
def create():
    errors: dict[str, str] = {}
    form = request.form
    username = field(form, "username", max_length=64, errors=errors)
    full_name = field(form, "full_name", max_length=200, errors=errors)
    role = _role(field(form, "role", max_length=16, errors=errors), errors)
    scope = _scope(form, errors)
    password, generated = _password(form, errors)
    values = {
        "username": username or form.get("username", "")[:64],
        "full_name": full_name,
        "role": form.get("role", "")[:16],
        "scope": form.get("scope", "")[:64],
        "nationwide": form.get("nationwide") == "1",
        "generate": bool(form.get("generate")),
    }
    if not username and "username" not in errors:
        errors["username"] = _("Nhập tên đăng nhập.")
    if errors:
        return _new_form(values, errors)
    try:
        info = users.add_user(
            db(), actor(), username, role, password, scope=scope, full_name=full_name
        )
    except PermissionDenied as exc:
        db().rollback()
        return _new_form(values, beside(exc, NEW_FIELDS, "scope"))
    except BroadcasterError as exc:  # a malformed or taken name: the rest was checked above
        db().rollback()
        return _new_form(values, beside(exc, NEW_FIELDS, "username"))
    db().commit()
    if generated:
        return _secret_page(info, password)
    done(_("Đã thêm người dùng %(name)s.", name=info.username))
    return redirect(url_for("users.edit", name=info.username))


def _secret_page(user, password: str, reset: bool = False):
    """The one page that shows a generated password; no cache keeps it."""
    response = make_response(
        render_template("users/created.html", user=user, password=password, reset=reset)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _edit_form(user, values, errors, status=400, password_errors=None):
    return render_template(
        "users/edit.html",
        user=user,
        values=values,
        errors=errors,
        password_errors=password_errors or {},
        roles=_roles(),
        is_self=user.id == actor().user_id,
    ), status


@bp.get("/<name>/edit")
@signed_in(Role.ADMIN)
def edit(name: str):
    user = _target(name)
    values = {
        "full_name": user.full_name,
        "role": user.role.value,
        "scope": user.scope_code or "",
        "nationwide": user.scope_code is None,
        "active": user.active,
    }
    return _edit_form(user, values, {}, 200)


@bp.post("/<name>/edit")
@signed_in(Role.ADMIN)
def update(name: str):
    user = _target(name)
    errors: dict[str, str] = {}
    form = request.form
    full_name = field(form, "full_name", max_length=200, errors=errors)
    role = _role(field(form, "role", max_length=16, errors=errors), errors)
    scope = _scope(form, errors)
    active = form.get("active") == "1"
    values = {
        "full_name": full_name,
        "role": form.get("role", "")[:16],
        "scope": form.get("scope", "")[:64],
        "nationwide": form.get("nationwide") == "1",
        "active": active,
    }
    if errors:
        return _edit_form(user, values, errors)
    try:
        info = users.update_user(
            db(), actor(), user.username, full_name=full_name, role=role, scope=scope, active=active
        )
    except Conflict as exc:
        db().rollback()
        return _edit_form(user, values, beside(exc, EDIT_FIELDS, "active"))
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        return _edit_form(user, values, beside(exc, EDIT_FIELDS, "scope"))
    db().commit()
    if info.active != user.active:
        msg = _("Đã mở khóa %(name)s.", name=info.username)
        if not info.active:
            msg = _(
                "Đã khóa %(name)s: người này bị đăng xuất ở lần bấm tiếp theo.", name=info.username
            )
        done(msg)
    else:
        done(_("Đã lưu %(name)s.", name=info.username))
    return redirect(url_for("users.edit", name=info.username))


@bp.post("/<name>/password")
@signed_in(Role.ADMIN)
def password(name: str):
    user = _target(name)
    errors: dict[str, str] = {}
    new_password, generated = _password(request.form, errors)
    if errors:
        values = {
            "full_name": user.full_name,
            "role": user.role.value,
            "scope": user.scope_code or "",
            "active": user.active,
        }
        return _edit_form(user, values, {}, password_errors=errors)
    try:
        users.set_password(db(), actor(), user.username, new_password)
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        values = {"full_name": user.full_name, "role": user.role.value, "active": user.active}
        return _edit_form(user, values, {}, password_errors={"password": error_text(exc)})
    db().commit()
    if user.id == actor().user_id:  # one's own new password: this browser carries on
        open_session(user.id)  # in a new session (the new password ended every other)
    if generated:
        return _secret_page(user, new_password, reset=True)
    done(_("Đã đặt mật khẩu mới cho %(name)s.", name=user.username))
    return redirect(url_for("users.edit", name=user.username))
