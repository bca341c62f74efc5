"""The script editor: a new script, a new version, and the live spoken form.

The text is checked by :func:`broadcaster.services.script_text.compose` (the
library's rules) and stored by :func:`broadcaster.services.scripts.save_text`,
as ``broadcaster scripts import`` does; nothing is written unless every field
is good. "Xem dạng đọc" re-shows the form with the normaliser's output without
saving, for browsers without JavaScript; ``scripts.js`` asks
``POST /scripts/spoken`` for it as the author types.
"""

from __future__ import annotations

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from broadcaster.errors import BroadcasterError, PermissionDenied
from broadcaster.library import MAX_TITLE, PLACEHOLDERS
from broadcaster.models import AdminUnit
from broadcaster.services import scripts as svc
from broadcaster.services.script_list import slug_taken
from broadcaster.services.script_preview import MAX_SPOKEN, spoken_form
from broadcaster.services.script_text import (
    MAX_BODY,
    MAX_CAMPAIGN,
    MAX_SLUG,
    ScriptDraft,
    ScriptFormProblems,
    TextWarning,
    compose,
    derived_slug,
    text_warnings,
)
from broadcaster.services.units import get_unit
from broadcaster.vntext import bidi_controls
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    actor,
    bidi_problem,
    db,
    done,
    error_text,
    field,
    settings,
)
from broadcaster.webapp.scripts import WRITERS, bp, visible_script

FIELDS = ("title", "body", "tags", "campaign", "slug", "unit")
# paths of this blueprint a slug must not shadow
RESERVED_SLUGS = {"new", "spoken", "audio"}


def _read_form(form, *, new: bool) -> tuple[ScriptDraft, str, dict[str, str]]:
    """The draft as typed, the unit code and the fields' own errors (length, control chars)."""
    errors: dict[str, str] = {}
    draft = ScriptDraft(
        title=field(form, "title", max_length=2 * 300, errors=errors),
        body=field(form, "body", max_length=MAX_BODY, multiline=True, errors=errors),
        tags=field(form, "tags", max_length=500, errors=errors),
        campaign=field(form, "campaign", max_length=MAX_CAMPAIGN, errors=errors),
        slug=field(form, "slug", max_length=MAX_SLUG, errors=errors) if new else "",
        placeholders=tuple(p for p in form.getlist("placeholders") if p in PLACEHOLDERS),
    )
    unit = field(form, "unit", max_length=64, errors=errors) if new else ""
    return draft, unit, errors


def _unit(code: str, errors: dict[str, str]) -> AdminUnit | None:
    """The owning unit: the user's scope when empty; outside the scope is 403."""
    code = code or (current_user.scope_code or "")
    if not code:
        return None
    try:  # the picker sends a code; without JavaScript a name is typed
        unit = get_unit(db(), code, field="unit")
    except BroadcasterError as exc:
        errors["unit"] = error_text(exc)
        return None
    if not actor().covers(unit.path):
        abort(403)
    return unit


def _free_slug(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… when taken (a derived slug never overwrites)."""
    slug, n = base, 1
    while slug in RESERVED_SLUGS or slug_taken(db(), slug):
        n += 1
        suffix = f"-{n}"
        slug = base[: MAX_SLUG - len(suffix)].rstrip("-") + suffix
    return slug


def _values(form) -> dict:
    values = {k: (form.get(k) or "")[: MAX_BODY if k == "body" else 600] for k in FIELDS}
    values["placeholders"] = [p for p in form.getlist("placeholders") if p in PLACEHOLDERS]
    return values


def _editor(template_vars: dict, status: int = 200):
    return render_template(
        "scripts/edit.html",
        placeholders=PLACEHOLDERS,
        max_body=MAX_BODY,
        max_title=MAX_TITLE,
        **template_vars,
    ), status


def warning_text(warning: TextWarning) -> str:
    """What the editor is told, beside the spoken form, in the user's language."""
    if warning.kind == "no_such_day":
        return _(
            "“%(day)s” không có trên lịch: giọng đọc sẽ đọc nó như một phép chia.",
            day=warning.excerpt,
        )
    if warning.kind == "unread":
        return _(
            "Chưa rõ cách đọc: “%(code)s” sẽ được đánh vần từng chữ; hãy viết rõ ra, "
            "hoặc thêm vào bảng chữ viết tắt.",
            code=warning.excerpt,
        )
    if warning.kind == "markup":
        return _(
            "“%(tag)s” là mã trang web (HTML): giọng đọc sẽ đọc cả các ký hiệu này.",
            tag=warning.excerpt,
        )
    return _("“%(gap)s” còn để trống: hãy điền trước khi trình duyệt.", gap=warning.excerpt)


def _warnings(body: str) -> list[str]:
    return [warning_text(w) for w in text_warnings(body)]


def _preview(info, draft: ScriptDraft, values: dict, errors: dict[str, str]):
    """The editor again with the spoken form filled in, nothing saved (the no-JS path)."""
    spoken = None
    if "body" not in errors:
        try:
            spoken = spoken_form(settings().audio, draft.body)
        except BroadcasterError as exc:
            errors[exc.field or "body"] = error_text(exc)
    suggested = derived_slug(draft.title) if info is None and not draft.slug else None
    return _editor(
        {
            "info": info,
            "values": values,
            "errors": errors,
            "spoken": spoken,
            "warnings": _warnings(draft.body),
            "suggested_slug": suggested,
        },
        400 if errors else 200,
    )


@bp.route("/new", methods=["GET", "POST"])
@signed_in(*WRITERS)
def new():
    if request.method == "GET":
        values = {k: "" for k in FIELDS} | {"unit": current_user.scope_code or ""}
        return _editor({"info": None, "values": values, "errors": {}, "spoken": None})
    draft, unit_code, errors = _read_form(request.form, new=True)
    values = _values(request.form)
    if request.form.get("action") == "preview":
        return _preview(None, draft, values, errors)
    unit = _unit(unit_code, errors) if "unit" not in errors else None
    slug = None
    if not errors:
        try:
            text = compose(draft)
        except ScriptFormProblems as exc:
            errors.update({name: error_text(p) for name, p in exc.problems.items()})
        else:
            if draft.slug:
                # the slug as stored (lower-cased): "New" would hide the editor at /new too
                if text.slug in RESERVED_SLUGS or slug_taken(db(), text.slug):
                    errors["slug"] = _("Mã %(slug)s đã có; chọn mã khác.", slug=text.slug)
                slug = text.slug
            else:
                slug = _free_slug(text.slug)
    if errors:
        return _editor({"info": None, "values": values, "errors": errors, "spoken": None}, 400)
    text = compose(draft, slug=slug)
    try:
        _outcome, info = svc.save_text(db(), actor(), text, unit)
        db().commit()
    except PermissionDenied:
        db().rollback()
        abort(403)
    except IntegrityError:  # someone took the slug between our look and our insert
        db().rollback()
        errors["slug"] = _("Mã %(slug)s đã có; chọn mã khác.", slug=slug)
        return _editor({"info": None, "values": values, "errors": errors, "spoken": None}, 400)
    done(_("Đã lưu tin bài mới (bản nháp, phiên bản 1). Trình duyệt khi đã xong."))
    return redirect(url_for("scripts.detail", slug=info.slug))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@signed_in(*WRITERS)
def edit(slug: str):
    info, place = visible_script(slug)
    if not actor().covers(place.unit_path):
        abort(403)
    if info.state == svc.ARCHIVED:
        abort(409, description=_("Tin bài đã lưu trữ, không sửa được nữa."))
    if request.method == "GET":
        v = info.latest
        values = {
            "title": v.title,
            "body": v.body,
            "tags": ", ".join(v.tags),
            "campaign": v.campaign or "",
            "placeholders": list(v.placeholders),
        }
        return _editor({"info": info, "values": values, "errors": {}, "spoken": None})
    draft, _unit_code, errors = _read_form(request.form, new=False)
    values = _values(request.form)
    if request.form.get("action") == "preview":
        return _preview(info, draft, values, errors)
    text = None
    if not errors:
        try:
            text = compose(draft, slug=info.slug)
        except ScriptFormProblems as exc:
            errors.update({name: error_text(p) for name, p in exc.problems.items()})
    if errors:
        return _editor({"info": info, "values": values, "errors": errors, "spoken": None}, 400)
    try:
        outcome, after = svc.save_text(db(), actor(), text)
        db().commit()
    except PermissionDenied:
        db().rollback()
        abort(403)
    except IntegrityError:  # another writer saved a version of it in the same instant
        db().rollback()
        errors["body"] = _("Vừa có người khác lưu tin bài này; tải lại trang rồi sửa tiếp.")
        return _editor({"info": info, "values": values, "errors": errors, "spoken": None}, 409)
    if outcome == "skipped":  # archived between the page and the save
        abort(409, description=_("Tin bài đã lưu trữ, không sửa được nữa."))
    if outcome == "unchanged":
        done(_("Không có thay đổi: nội dung giống hệt phiên bản %(n)s.", n=info.latest_version))
    elif info.approved_version:
        done(
            _(
                "Đã lưu phiên bản %(n)s (bản nháp). Phiên bản %(a)s vẫn được phát cho đến khi "
                "bản mới được duyệt.",
                n=after.latest_version,
                a=info.approved_version,
            )
        )
    else:
        done(_("Đã lưu phiên bản %(n)s (bản nháp).", n=after.latest_version))
    return redirect(url_for("scripts.detail", slug=slug))


@bp.post("/spoken")
@signed_in(*WRITERS)
def spoken():
    """``{"text": ...}`` (JSON or form) → ``{"spoken": ...}``: what the voice will read."""
    data = request.get_json(silent=True) if request.is_json else request.form
    raw = data.get("text") if isinstance(data, dict) or hasattr(data, "getlist") else None
    if not isinstance(raw, str):
        return jsonify(error=_("Gửi văn bản trong trường 'text'.")), 400
    if len(raw) > MAX_SPOKEN:
        return jsonify(error=_("Quá dài: tối đa %(n)s ký tự.", n=MAX_SPOKEN)), 400
    if any((ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 for ch in raw):
        return jsonify(error=_("Có ký tự điều khiển không hợp lệ.")), 400
    if bidi := bidi_controls(raw):
        return jsonify(error=bidi_problem(bidi)), 400
    try:
        result = spoken_form(settings().audio, raw)
    except BroadcasterError as exc:
        return jsonify(error=error_text(exc)), 400
    return jsonify(spoken=result, warnings=_warnings(raw))
