"""The admin's relay sources pages (nguồn tiếp âm): the list with each source's last
check, the form that adds or edits one, "Kiểm tra ngay", and stopping a source.

Admins only. A provincial admin manages the sources of the province (and sees the
nation-wide ones and those of the units above, read-only); a national admin every one
(the rule lives in :mod:`broadcaster.services.relays`). The stream addresses are
checked by :mod:`broadcaster.relays.urls` — an error is shown beside its field, 400 —
and the backup script is chosen by its title among the approved ones.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.models import Role
from broadcaster.relays.check import DEFAULT_TIMEOUT
from broadcaster.services import relays as svc
from broadcaster.services.campaign_reads import approved_scripts
from broadcaster.services.units import get_unit
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    actor,
    beside,
    db,
    done,
    error_text,
    field,
    form_id,
    refused,
    scope_path,
    settings,
)

bp = Blueprint("relays", __name__, url_prefix="/relays")

FIELDS = ("name", "url", "backup_url", "backup_script", "scope")
# the app config key that shortens the check's timeout (tests); seconds
TIMEOUT_KEY = "RELAY_CHECK_TIMEOUT"


def _timeout() -> float:
    return float(current_app.config.get(TIMEOUT_KEY, DEFAULT_TIMEOUT))


def _source(source_id: int) -> svc.RelaySourceInfo:
    """The source of ``source_id`` if the user may see it (404 otherwise)."""
    if form_id(str(source_id)) is None:
        abort(404)
    try:
        info = svc.get_source(db(), source_id)
    except NotFound as exc:
        refused(exc)
        raise
    visible = {s.id for s in svc.list_sources(db(), scope_path())}
    if info.id not in visible:
        abort(404, description=_("Không có nguồn tiếp âm này trong phạm vi của bạn."))
    return info


def _reason(source: svc.RelaySourceInfo) -> str:
    return source.reason(_)


@bp.get("/")
@signed_in(Role.ADMIN)
def index():
    rows = svc.list_sources(db(), scope_path())
    manageable = {s.id for s in rows if svc.can_manage(actor(), s, db())}
    return render_template("relays/index.html", rows=rows, manageable=manageable, reason=_reason)


def _choices(values: dict) -> list:
    chosen = values.get("backup_script") or ""
    found = approved_scripts(db(), scope_path())
    if chosen and chosen not in {c.slug for c in found}:
        found += approved_scripts(db(), None, slugs=[chosen])
    return found


def _form(values: dict, errors: dict, source=None, status: int = 400):
    return render_template(
        "relays/form.html",
        values=values,
        errors=errors,
        source=source,
        script_choices=_choices(values),
        reason=_reason,
    ), status


def _read(form, errors: dict) -> dict:
    values = {
        "name": field(form, "name", max_length=200, errors=errors),
        "url": field(form, "url", max_length=1000, errors=errors),
        "backup_url": field(form, "backup_url", max_length=1000, errors=errors),
        "backup_script": field(form, "backup_script", max_length=120, errors=errors),
        "scope": field(form, "scope", max_length=64, errors=errors),
        "nationwide": form.get("nationwide") == "1",
    }
    if not values["name"] and "name" not in errors:
        errors["name"] = _("Nhập tên nguồn tiếp âm, ví dụ: VOV1.")
    return values


def _owner(values: dict, errors: dict) -> tuple[bool, str | None]:
    """(ok, the owner unit's code or None for nation-wide) — nation-wide chosen explicitly,
    by a national admin only; empty means the admin's own unit."""
    code = values["scope"]
    if values["nationwide"]:
        if not actor().covers(None):
            errors["scope"] = _("Chỉ quản trị viên toàn quốc được tạo nguồn tiếp âm toàn quốc.")
            return False, None
        if code:
            errors["scope"] = _("Chọn một đơn vị hoặc toàn quốc, không chọn cả hai.")
            return False, None
        return True, None
    if not code:
        own = current_user_scope()
        if own is None:
            errors["scope"] = _("Chọn đơn vị quản lý nguồn này, hoặc toàn quốc.")
            return False, None
        return True, own
    try:
        unit = get_unit(db(), code, field="scope")
    except BroadcasterError as exc:
        errors["scope"] = error_text(exc)
        return False, None
    if not actor().covers(unit.path):
        errors["scope"] = _("Đơn vị %(name)s nằm ngoài phạm vi của bạn.", name=unit.name)
        return False, None
    return True, unit.code


def current_user_scope() -> str | None:
    return current_user.scope_code or None


def _service_error(exc: BroadcasterError, values: dict, source=None):
    db().rollback()
    if isinstance(exc, PermissionDenied) and exc.field not in (*FIELDS, "unit"):
        refused(exc)
    errors = beside(exc, (*FIELDS, "unit"), "name")
    if "unit" in errors:
        errors["scope"] = errors.pop("unit")
    return _form(values, errors, source)


@bp.get("/new")
@signed_in(Role.ADMIN)
def new():
    values = {"name": "", "url": "", "backup_url": "", "backup_script": "", "scope": ""}
    values["scope"] = current_user_scope() or ""
    values["nationwide"] = actor().covers(None) and not values["scope"]
    return _form(values, {}, status=200)


@bp.post("/new")
@signed_in(Role.ADMIN)
def create():
    errors: dict[str, str] = {}
    values = _read(request.form, errors)
    ok, unit = _owner(values, errors)
    if errors or not ok:
        return _form(values, errors)
    try:
        info = svc.add_source(
            db(),
            actor(),
            name=values["name"],
            url=values["url"],
            backup_url=values["backup_url"] or None,
            backup_script=values["backup_script"] or None,
            unit=unit,
            policy=settings().relay_allow_private,
        )
    except BroadcasterError as exc:
        return _service_error(exc, values)
    db().commit()
    done(_("Đã thêm nguồn tiếp âm %(name)s.", name=info.name))
    return redirect(url_for("relays.index"))


def _values_of(info: svc.RelaySourceInfo) -> dict:
    return {
        "name": info.name,
        "url": info.url,
        "backup_url": info.backup_url or "",
        "backup_script": info.backup_script_slug or "",
        "scope": info.unit_code or "",
        "nationwide": info.unit_code is None,
    }


def _managed(source_id: int) -> svc.RelaySourceInfo:
    info = _source(source_id)
    if not svc.can_manage(actor(), info, db()):
        abort(403, description=_("Nguồn tiếp âm này do cấp trên quản lý; bạn chỉ xem được."))
    return info


@bp.get("/<int:source_id>/edit")
@signed_in(Role.ADMIN)
def edit(source_id: int):
    info = _managed(source_id)
    return _form(_values_of(info), {}, info, status=200)


@bp.post("/<int:source_id>/edit")
@signed_in(Role.ADMIN)
def update(source_id: int):
    info = _managed(source_id)
    errors: dict[str, str] = {}
    values = _read(request.form, errors)
    ok, unit = _owner(values, errors)
    if errors or not ok:
        return _form(values, errors, info)
    try:
        saved = svc.edit_source(
            db(),
            actor(),
            info.id,
            name=values["name"],
            url=values["url"],
            backup_url=values["backup_url"],
            backup_script=values["backup_script"],
            unit=unit,
            policy=settings().relay_allow_private,
        )
    except BroadcasterError as exc:
        return _service_error(exc, values, info)
    db().commit()
    done(_("Đã lưu nguồn tiếp âm %(name)s.", name=saved.name))
    return redirect(url_for("relays.index"))


@bp.post("/<int:source_id>/check")
@signed_in(Role.ADMIN)
def check(source_id: int):
    info = _managed(source_id)
    try:
        checked = svc.check_now(
            db(),
            actor(),
            info.id,
            timeout=_timeout(),
            policy=settings().relay_allow_private,
        )
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        abort(400, description=error_text(exc))
    db().commit()
    if checked.check_ok:
        done(_("%(name)s: %(result)s", name=checked.name, result=_reason(checked)))
    else:
        flash(_("%(name)s lỗi: %(result)s", name=checked.name, result=_reason(checked)), "error")
    if request.form.get("next") == "edit":
        return redirect(url_for("relays.edit", source_id=info.id))
    return redirect(url_for("relays.index"))


@bp.post("/<int:source_id>/active")
@signed_in(Role.ADMIN)
def set_active(source_id: int):
    info = _managed(source_id)
    active = request.form.get("active") == "1"
    try:
        saved = svc.edit_source(db(), actor(), info.id, active=active)
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        abort(400, description=error_text(exc))
    db().commit()
    if saved.active:
        done(_("Đã dùng lại nguồn tiếp âm %(name)s.", name=saved.name))
    else:
        done(_("Đã ngừng dùng nguồn tiếp âm %(name)s.", name=saved.name))
    return redirect(url_for("relays.index"))
