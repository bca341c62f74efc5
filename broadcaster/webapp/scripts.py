"""The admin's scripts (tin bài): the list, one script's page and its review.

A thin shell over :mod:`broadcaster.services.scripts` (the same functions as
``broadcaster scripts``): the signed-in user's actor submits, approves,
rejects and archives; the services keep the four-eyes and scope rules and
their refusals are shown on the script's page. Who may read a script is
:func:`~broadcaster.services.script_list.visible_to`; the editor lives in
:mod:`.scripts_edit`, hearing a script in :mod:`.scripts_audio`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from broadcaster.errors import BroadcasterError, Conflict, NotFound, PermissionDenied
from broadcaster.models import Role, VersionStatus
from broadcaster.services import scripts as svc
from broadcaster.services.script_diff import diff_versions
from broadcaster.services.script_list import STATES, ScriptPlace, script_place, search_scripts
from broadcaster.services.script_list import visible_to as _visible_to
from broadcaster.services.script_preview import spoken_form
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    Page,
    actor,
    db,
    done,
    error_text,
    field,
    form_id,
    offset,
    page_number,
    settings,
)

bp = Blueprint("scripts", __name__, url_prefix="/scripts")
# the typed inputs of the review forms on a script's page
ACTION_FIELDS = ("reason", "note")

READERS = (Role.ADMIN, Role.EDITOR, Role.APPROVER, Role.AUDITOR)
WRITERS = (Role.EDITOR, Role.APPROVER, Role.ADMIN)
ARCHIVERS = (Role.APPROVER, Role.ADMIN)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,119}")
AUDIO_SHA = re.compile(r"[0-9a-f]{64}")
MAX_REASON = 2000
STATE_LABELS = {
    "draft": _l("Nháp"),
    "submitted": _l("Chờ duyệt"),
    "approved": _l("Đã duyệt"),
    "rejected": _l("Bị từ chối"),
    "archived": _l("Lưu trữ"),
}


def visible_script(slug: str) -> tuple[svc.ScriptInfo, ScriptPlace]:
    """The script of ``slug`` when the user may read it: 404 unknown, 403 outside the scope."""
    if not SLUG.fullmatch(slug):
        abort(404)
    try:
        place = script_place(db(), slug)
    except NotFound:
        abort(404)
    if not _visible_to(actor().scope_path, place.unit_path):
        abort(403)
    return svc.get_script(db(), slug), place


@dataclass(frozen=True)
class Allowed:
    """What the signed-in user may do to one script now (buttons; the services re-check)."""

    edit: bool
    submit: bool
    review: bool
    own_work: bool  # an approver looking at a version they wrote or submitted
    archive: bool
    listen: bool


def allowed(info: svc.ScriptInfo, place: ScriptPlace) -> Allowed:
    me = actor()
    covers = me.covers(place.unit_path)
    live = info.state != svc.ARCHIVED
    pending = [v for v in info.versions if v.status is VersionStatus.SUBMITTED]
    reviewer = me.role is Role.APPROVER and covers and bool(pending)
    own = bool(pending) and me.label in (pending[-1].author, pending[-1].submitted_by)
    writer = me.role in WRITERS and covers and live
    return Allowed(
        edit=writer,
        submit=writer and info.latest.status is VersionStatus.DRAFT,
        review=reviewer and not own,
        own_work=reviewer and own,
        archive=me.role in ARCHIVERS and covers and live,
        listen=me.role in WRITERS,
    )


def _version_or_404(info: svc.ScriptInfo, number: int | None) -> svc.VersionInfo:
    if number is None:
        return info.latest
    for v in info.versions:
        if v.number == number:
            return v
    abort(404)


def _diff(info: svc.ScriptInfo):
    """The diff asked for by ``?a=&b=`` (None when not asked or not both valid)."""
    a, b = form_id(request.args.get("a")), form_id(request.args.get("b"))
    if a is None or b is None:
        return None
    return diff_versions(_version_or_404(info, a), _version_or_404(info, b))


def _spoken_or_none(body: str) -> str | None:
    """The spoken form, or None for a text too long to show it (an imported long file)."""
    try:
        return spoken_form(settings().audio, body)
    except BroadcasterError:
        return None


def _shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_detail(
    info: svc.ScriptInfo,
    place: ScriptPlace,
    *,
    status: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
):
    """The script's page; also shown again, with the message, when an action was refused."""
    shown = _version_or_404(info, form_id(request.args.get("version")))
    listen = request.args.get("listen", "")
    numbers = [v.number for v in info.versions]
    default_a = info.approved_version or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    return render_template(
        "scripts/detail.html",
        info=info,
        place=place,
        shown=shown,
        spoken=_spoken_or_none(shown.body),
        can=allowed(info, place),
        diff=_diff(info),
        diff_a=form_id(request.args.get("a")) or default_a,
        diff_b=form_id(request.args.get("b")) or numbers[-1],
        listen=listen if AUDIO_SHA.fullmatch(listen) else None,
        listen_station=(request.args.get("station") or "")[:32],
        error=error,
        errors=errors or {},
        values=values or {},
        state_labels=STATE_LABELS,
    ), status


@bp.get("/")
@signed_in(*READERS)
def index():
    raw_q = request.args.get("q", "")
    state = request.args.get("state", "")
    errors: dict[str, str] = {}
    q = field(request.args, "q", max_length=100, errors=errors)
    if state and state not in STATES:
        errors["state"] = _("Chọn một trạng thái trong danh sách.")
    number = page_number()
    rows = []
    if not errors:
        rows = search_scripts(
            db(),
            actor().scope_path,
            text=q or None,
            state=state or None,
            limit=PAGE_SIZE + 1,
            offset=offset(number),
        )
    args = {k: v for k, v in (("q", q), ("state", state)) if v and not errors}
    return render_template(
        "scripts/index.html",
        page=Page.of(rows, number),
        values={"q": raw_q if "q" in errors else q, "state": state},
        errors=errors,
        args=args,
        states=[(s, STATE_LABELS[s]) for s in STATES],
        state_labels=STATE_LABELS,
        can_write=actor().role in WRITERS,
        is_approver=actor().role is Role.APPROVER,
    ), (400 if errors else 200)


@bp.get("/<slug>")
@signed_in(*READERS)
def detail(slug: str):
    info, place = visible_script(slug)
    return render_detail(info, place)


def _act(slug: str, action, message) -> object:
    """Run a review action; its refusal is shown on the script's page, else PRG."""
    info, place = visible_script(slug)
    try:
        after = action()
    except NotFound:
        db().rollback()
        abort(404)
    except BroadcasterError as exc:
        db().rollback()
        status = (
            403 if isinstance(exc, PermissionDenied) else 409 if isinstance(exc, Conflict) else 400
        )
        if exc.field in ACTION_FIELDS:  # beside the box the reviewer typed into
            values = {exc.field: request.form.get(exc.field, "")[:MAX_REASON]}
            errors = {exc.field: error_text(exc)}
            return render_detail(info, place, status=status, errors=errors, values=values)
        return render_detail(info, place, status=status, error=error_text(exc))
    db().commit()
    done(message(after))
    return redirect(url_for("scripts.detail", slug=slug))


def _form_version() -> int | None:
    raw = request.form.get("version", "")
    number = form_id(raw)
    if raw and number is None:
        abort(404)
    return number


@bp.post("/<slug>/submit")
@signed_in(*WRITERS)
def submit(slug: str):
    number = _form_version()
    return _act(
        slug,
        lambda: svc.submit(db(), actor(), slug, number),
        lambda i: _("Đã trình duyệt phiên bản %(n)s.", n=i.latest_version),
    )


@bp.post("/<slug>/approve")
@signed_in(Role.APPROVER)
def approve(slug: str):
    number = _form_version()
    errors: dict[str, str] = {}
    note = field(request.form, "note", max_length=MAX_REASON, multiline=True, errors=errors)
    info, place = visible_script(slug)
    if _unheard_recording(info, number) and request.form.get("heard") != "1":
        errors["heard"] = _("Hãy nghe hết bản ghi âm rồi đánh dấu ô “đã nghe” trước khi duyệt.")
    if errors:
        return render_detail(info, place, status=400, errors=errors)
    return _act(
        slug,
        lambda: svc.approve(db(), actor(), slug, number, note),
        lambda i: _("Đã duyệt: phiên bản %(n)s là bản được phát.", n=i.approved_version),
    )


def _unheard_recording(info: svc.ScriptInfo, number: int | None) -> bool:
    """Does the version to approve carry a recording (the approver must say they heard it)?"""
    if number is None:
        pending = [v.number for v in info.versions if v.status is VersionStatus.SUBMITTED]
        if not pending:
            return False
        number = pending[-1]
    return scripts_recording.has_recording(info, number)


@bp.post("/<slug>/reject")
@signed_in(Role.APPROVER)
def reject(slug: str):
    number = _form_version()
    errors: dict[str, str] = {}
    reason = field(request.form, "reason", max_length=MAX_REASON, multiline=True, errors=errors)
    if not reason and not errors:
        errors["reason"] = _("Nêu lý do từ chối: người soạn sẽ đọc nó.")
    if errors:
        info, place = visible_script(slug)
        values = {"reason": request.form.get("reason", "")[:MAX_REASON]}
        return render_detail(info, place, status=400, errors=errors, values=values)
    return _act(
        slug,
        lambda: svc.reject(db(), actor(), slug, reason, number),
        # the reason is on the page; a shortened copy keeps the session cookie small
        lambda i: _("Đã từ chối. Lý do: %(reason)s", reason=_shortened(reason)),
    )


@bp.post("/<slug>/archive")
@signed_in(*ARCHIVERS)
def archive(slug: str):
    errors: dict[str, str] = {}
    reason = field(request.form, "archive_reason", max_length=MAX_REASON, errors=errors)
    if errors:
        info, place = visible_script(slug)
        return render_detail(info, place, status=400, errors=errors)
    return _act(
        slug,
        lambda: svc.archive(db(), actor(), slug, reason),
        lambda i: _("Đã lưu trữ tin bài: không còn được phát; lịch sử được giữ nguyên."),
    )


# the editor and the audio preview add their views to this blueprint
from broadcaster.webapp import scripts_audio, scripts_edit, scripts_recording  # noqa: E402, F401
