"""The admin's emergency pages (tin khẩn cấp): send one to chosen units, then watch it
picked up and aired station by station, and cancel it.

Approvers and admins send and cancel; auditors and operators watch. Each user sees
the emergencies that reach their scope and, of each, only the stations inside it.
Sending renders the audio with the instance's engine (seconds), as the CLI does.
Before sending, "Xem cách đọc" and "Nghe thử" bring the form back as it was typed with
what the voice will read (and its warnings), and the audio with the voice that spoke it
(:mod:`broadcaster.services.emergency_draft`); nothing is sent. Both work without
JavaScript; ``emergency.js`` does them in place.
The detail page is refreshed by ``emergency.js`` from ``/emergency/<id>.json``; without
JavaScript a reload link does the same.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from broadcaster.errors import BroadcasterError, InvalidInput, NotFound, TooMany
from broadcaster.library import MAX_TITLE
from broadcaster.models import Role
from broadcaster.services import emergency as svc
from broadcaster.services import emergency_draft as draft
from broadcaster.services import emergency_progress as progress
from broadcaster.services.script_text import TextWarning, text_warnings
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    UNIT_CODE,
    Page,
    actor,
    db,
    done,
    error_text,
    field,
    form_id,
    is_digits,
    offset,
    page_number,
    refused,
    renderer,
    scope_path,
    send_asset,
    settings,
    typed,
)
from broadcaster.webapp.scripts import AUDIO_SHA
from broadcaster.webapp.scripts_audio import said_by
from broadcaster.webapp.scripts_edit import warning_text

log = logging.getLogger(__name__)

bp = Blueprint("emergency", __name__, url_prefix="/emergency")

SENDERS = (Role.ADMIN, Role.APPROVER)
VIEWERS = (Role.ADMIN, Role.APPROVER, Role.AUDITOR, Role.OPERATOR)
MAX_UNITS = 50
DEFAULT_EXPIRES = 120
STATUS = {
    "waiting": _l("chưa nhận"),
    "picked_up": _l("đã nhận"),
    "playing": _l("đang phát"),
    "aired": _l("đã phát"),
    "partial": _l("phát dở"),
    "failed": _l("lỗi"),
    "skipped": _l("bỏ qua"),
    "missed": _l("quá hạn, chưa phát"),
    "cancelled": _l("đã hủy"),
}
STATE = {
    "active": _l("đang phát"),
    "done": _l("mọi đài đã phát"),
    "expired": _l("hết hạn"),
    "cancelled": _l("đã hủy"),
}
# a badge class of admin.css for each state
BADGE = {
    "waiting": "pending",
    "picked_up": "planned",
    "active": "running",
    "done": "aired",
    "expired": "ended",
}


@bp.context_processor
def _helpers() -> dict:
    if not current_user.is_authenticated:  # e.g. the "form expired" page of a signed-out POST
        return {}
    return {
        "status_labels": STATUS,
        "state_labels": STATE,
        "badge": lambda s: BADGE.get(s, s),
        "can_send": actor().role in SENDERS,
    }


def _unit_codes(raw: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", raw) if c]


def _emergency_or_abort(raw_id: str) -> progress.EmergencyProgress:
    emergency_id = form_id(raw_id)
    if emergency_id is None:
        abort(404)
    try:
        return progress.progress_in_scope(db(), emergency_id, scope_path())
    except BroadcasterError as exc:
        refused(exc)
        raise


@bp.get("/")
@signed_in(*VIEWERS)
def index():
    number = page_number()
    rows = progress.list_in_scope(db(), scope_path(), offset=offset(number), limit=PAGE_SIZE + 1)
    return render_template("emergency/index.html", page=Page.of(rows, number))


def _reach(raw_units: str) -> tuple[int, int] | None:
    """(stations, of which connected now) under the typed units; None when they are not
    all known and ours."""
    codes = _unit_codes(raw_units)
    if not codes or len(codes) > MAX_UNITS or not all(UNIT_CODE.fullmatch(c) for c in codes):
        return None
    try:
        return progress.reach_now(db(), actor(), codes)
    except BroadcasterError:
        return None


def _form(values: dict[str, str], errors: dict[str, str], status: int = 200, **heard):
    return render_template(
        "emergency/new.html",
        values=values,
        errors=errors,
        reach=_reach(values.get("units", "")),
        max_title=MAX_TITLE,
        max_body=svc.MAX_BODY,
        max_repeat=svc.MAX_REPEAT,
        **heard,
    ), status


def _number(form, name: str, low: int, high: int, default: int, errors: dict[str, str]) -> int:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    if not is_digits(raw) or not low <= int(raw) <= high:
        errors[name] = _("Nhập một số từ %(low)s đến %(high)s.", low=low, high=high)
        return default
    return int(raw)


def _check_units(codes: list[str], errors: dict[str, str], *, required: bool) -> None:
    """The chosen units' problems in ``errors["units"]`` (none chosen is one when
    ``required``: a preview needs no units, a send does)."""
    if "units" in errors or (not codes and not required):
        return
    if not codes:
        errors["units"] = _("Chọn ít nhất một đơn vị nhận tin.")
    elif len(codes) > MAX_UNITS:
        errors["units"] = _(
            "Tối đa %(n)s đơn vị; chọn đơn vị cấp trên thay cho nhiều xã.", n=MAX_UNITS
        )
    elif bad := next((c for c in codes if not UNIT_CODE.fullmatch(c)), None):
        errors["units"] = _("Mã đơn vị '%(code)s' không hợp lệ.", code=typed(bad, 40))
    else:
        try:
            if not progress.reach(db(), actor(), codes):
                errors["units"] = _("Các đơn vị đã chọn không có đài nào đang hoạt động.")
        except NotFound as exc:
            errors["units"] = error_text(exc)
        except BroadcasterError as exc:
            refused(exc)  # a unit outside the scope: 403
            errors["units"] = error_text(exc)


@bp.route("/new", methods=["GET", "POST"])
@signed_in(*SENDERS)
def new():
    if request.method == "GET":
        values = {
            # chosen every time: one careless click must not reach a whole province
            "units": "",
            "repeat": "1",
            "expires": str(DEFAULT_EXPIRES),
        }
        return _form(values, {})
    form = request.form
    errors: dict[str, str] = {}
    title = field(form, "title", max_length=MAX_TITLE, errors=errors)
    body = field(form, "body", max_length=svc.MAX_BODY, multiline=True, errors=errors)
    raw_units = field(form, "units", max_length=1000, errors=errors)
    repeat = _number(form, "repeat", 1, svc.MAX_REPEAT, 1, errors)
    expires = _number(form, "expires", 5, 24 * 60, DEFAULT_EXPIRES, errors)
    if not title and "title" not in errors:
        errors["title"] = _("Nhập tiêu đề.")
    if not body and "body" not in errors:
        errors["body"] = _("Nhập nội dung cần đọc.")
    codes = _unit_codes(raw_units)
    action = form.get("action")
    # "Xem cách đọc" and "Nghe thử" send nothing: the form comes back as it was typed
    if action in ("preview", "listen"):
        _check_units(codes, errors, required=False)
        return _heard(form, errors, title, body, codes, listen=action == "listen")
    _check_units(codes, errors, required=True)
    values = _values(form)
    if errors:
        return _form(values, errors, 400)
    session = db()
    try:
        info = svc.send(
            session,
            actor(),
            renderer(),
            title=title,
            body=body,
            unit_codes=codes,
            repeat=repeat,
            expires_in=timedelta(minutes=expires),
            again=form.get("again") == "1",
        )
    except svc.RepeatedSend as exc:  # the same text a moment ago: only if meant
        session.rollback()
        return _form(values, {"again": error_text(exc)}, 409)
    except TooMany as exc:
        session.rollback()
        page, _status = _form(values, {"form": error_text(exc)}, 429)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    except BroadcasterError as exc:
        session.rollback()
        refused(exc)
        # the text's problems (placeholders) beside the body; the rest above the form
        return _form(values, {_field_of(exc): error_text(exc)}, 400)
    session.commit()
    if info.personal:  # the common reading is out; each commune's own follows
        _personalise_in_background(renderer, info.id)
    connected = progress.connected_count(session, info.id, None)
    done(
        _(
            "Đã gửi tin khẩn cấp số %(id)s tới %(n)s đài; %(k)s đài đang kết nối nhận được ngay.",
            id=info.id,
            n=info.stations,
            k=connected,
        )
    )
    return redirect(url_for(".detail", emergency_id=info.id))


FORM_FIELDS = ("title", "body", "units", "repeat", "expires", "again")


def _field_of(exc: BroadcasterError) -> str:
    """Where the form shows a service's error: beside its field, else above the form."""
    if exc.field in FORM_FIELDS:
        return exc.field
    return "body" if isinstance(exc, InvalidInput) else "form"


def _values(form) -> dict[str, str]:
    return {k: typed(form.get(k), 6000) for k in ("title", "body", "units", "repeat", "expires")}


# the audio this browser heard on the form (its session's last few): only these are served
HEARD_KEY = "emergency_heard"
HEARD_KEPT = 5


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _warning(warning: TextWarning) -> str:
    if warning.kind == "blank":  # an emergency is sent, not submitted for approval
        return _("“%(gap)s” còn để trống: hãy điền trước khi gửi.", gap=warning.excerpt)
    return warning_text(warning)


def _names_note(said: draft.Reading) -> str | None:
    """Whose names the reading says, when the text names the commune."""
    if said.common:
        return _(
            "Chưa chọn đơn vị: chỗ điền tên được đọc chung (“địa phương”). Khi gửi, mỗi đài "
            "nghe tên xã của mình."
        )
    if said.station_name:
        return _(
            "Đọc theo tên của %(station)s; khi gửi, mỗi đài nghe tên xã của mình.",
            station=said.station_name,
        )
    return None


def _heard(form, errors: dict[str, str], title: str, body: str, codes: list[str], *, listen):
    """The form again, as typed, with the spoken form (and, to ``listen``, the audio and
    the voice that spoke it). Nothing is sent; only the rendered audio is kept."""
    said: draft.Reading | None = None
    hearing: draft.Hearing | None = None
    status = 200
    if "title" not in errors and "body" not in errors:
        try:
            said = draft.reading(
                db(),
                actor(),
                renderer(preview=True),
                title=title,
                body=body,
                unit_codes=codes if codes and "units" not in errors else None,
            )
        except BroadcasterError as exc:
            refused(exc)
            errors[_field_of(exc)] = error_text(exc)
    if said is not None and listen:
        # the per-process preview renderer: Google is tried briefly and skipped for a
        # while after it failed, so a dead line never keeps the official waiting
        try:
            hearing = draft.hear(db(), renderer(preview=True), said)
            db().commit()
        except BroadcasterError as exc:
            db().rollback()
            errors["listen"] = _("Không tạo được âm thanh: %(why)s", why=error_text(exc))
            status = 422
        except OSError as exc:  # the audio folder unwritable, the disk full
            db().rollback()
            why = exc.strerror or str(exc)
            errors["listen"] = _("Không tạo được âm thanh: %(why)s", why=why)
            status = 503
        else:
            heard = [sha for sha in cookie.get(HEARD_KEY, []) if sha != hearing.sha256]
            cookie[HEARD_KEY] = [*heard, hearing.sha256][-HEARD_KEPT:]
    if errors and status == 200:
        status = 400
    found = {
        "spoken": said.spoken if said else None,
        "names": _names_note(said) if said else None,
        "warnings": [_warning(w) for w in text_warnings(body)] if body else [],
        "audio_url": url_for(".audio", sha=hearing.sha256) if hearing else None,
        "voice": said_by(hearing) if hearing else None,
    }
    if _wants_json():
        return jsonify(errors=errors, **found), status
    return _form(_values(form), errors, status, **found)


@bp.get("/audio/<sha>.mp3")
@signed_in(*SENDERS)
def audio(sha: str):
    """Audio heard on the send form, to the browser that asked for it."""
    if not AUDIO_SHA.fullmatch(sha) or sha not in cookie.get(HEARD_KEY, []):
        abort(404)
    return send_asset(sha)


def _personalise_in_background(renderer, emergency_id: int) -> None:
    factory = current_app.extensions["broadcaster.sessionmaker"]

    def run() -> None:
        try:
            result = svc.personalise(factory, renderer, emergency_id)
            if result.failed:
                log.warning("emergency %s: %s", emergency_id, "; ".join(result.failed[:5]))
        except Exception:
            log.exception("emergency %s: the communes' own readings failed", emergency_id)

    threading.Thread(target=run, daemon=True, name=f"emergency-{emergency_id}").start()


@bp.get("/reach.json")
@signed_in(*SENDERS)
def reach():
    """How many stations the typed units hold (for the send button's label)."""
    raw = typed(request.args.get("units"), 1000)
    counts = _reach(raw)
    if counts is None:
        return jsonify(stations=None, connected=None)
    return jsonify(stations=counts[0], connected=counts[1])


def _seconds(later: datetime | None, sent: datetime) -> int | None:
    return None if later is None else max(0, round((later - sent).total_seconds()))


def _watch(raw_id: str) -> tuple[progress.EmergencyProgress, Page, int]:
    item = _emergency_or_abort(raw_id)
    number = page_number()
    rows = progress.delivery_page(
        db(), item.info.id, scope_path(), offset=offset(number), limit=PAGE_SIZE + 1
    )
    connected = progress.connected_count(db(), item.info.id, scope_path())
    return item, Page.of(rows, number), connected


@bp.get("/<emergency_id>")
@signed_in(*VIEWERS)
def detail(emergency_id: str):
    item, page, connected = _watch(emergency_id)
    return (
        render_template(
            "emergency/detail.html", item=item, page=page, seconds=_seconds, connected=connected
        ),
        200,
        {"Cache-Control": "no-store"},
    )


@bp.get("/<emergency_id>.json")
@signed_in(*VIEWERS)
def detail_json(emergency_id: str):
    item, page, connected = _watch(emergency_id)
    tz = settings().tz
    sent = item.info.created_at

    def local(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S")

    response = jsonify(
        emergency={
            "id": item.info.id,
            "title": item.info.title,
            "created_at": local(sent),
            "expires_at": local(item.info.expires_at),
            "cancelled_at": local(item.info.cancelled_at),
            "state": item.status,
            "state_label": str(STATE[item.status]),
        },
        totals={
            "stations": item.stations,
            "connected": connected,
            "picked_up": item.picked_up,
            "aired": item.aired,
        },
        page=page.number,
        more=page.more,
        stations=[
            {
                "code": d.station_code,
                "name": d.station_name,
                "connected": d.connected,
                "picked_up_at": local(d.picked_up_at),
                "playing_at": local(d.playing_at),
                "aired_at": local(d.aired_at),
                "seconds_to_pick_up": _seconds(d.picked_up_at, sent),
                "seconds_to_air": _seconds(d.aired_at, sent),
                "status": d.status,
                "status_label": str(STATUS.get(d.status, d.status)),
            }
            for d in page.rows
        ],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<emergency_id>/cancel")
@signed_in(*SENDERS)
def cancel(emergency_id: str):
    item = _emergency_or_abort(emergency_id)
    try:
        svc.cancel(db(), actor(), item.info.id)
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        abort(400, description=error_text(exc))
    db().commit()
    done(_("Đã hủy tin khẩn cấp số %(id)s: đài chưa phát sẽ không phát nữa.", id=item.info.id))
    return redirect(url_for(".detail", emergency_id=item.info.id))
