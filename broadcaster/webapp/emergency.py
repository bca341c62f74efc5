"""The admin's emergency pages (tin khẩn cấp): send one to chosen units, then watch it
picked up and aired station by station, and cancel it.

Approvers and admins send and cancel; auditors and operators watch. Each user sees
the emergencies that reach their scope and, of each, only the stations inside it.
Sending renders the audio with the instance's engine (seconds), as the CLI does.
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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from broadcaster.errors import BroadcasterError, InvalidInput, NotFound, TooMany
from broadcaster.library import MAX_TITLE
from broadcaster.models import Role
from broadcaster.services import emergency as svc
from broadcaster.services import emergency_progress as progress
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    UNIT_CODE,
    Page,
    actor,
    db,
    done,
    field,
    form_id,
    is_digits,
    offset,
    page_number,
    refused,
    renderer,
    scope_path,
    settings,
    typed,
)

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


def _form(values: dict[str, str], errors: dict[str, str], status: int = 200):
    return render_template(
        "emergency/new.html",
        values=values,
        errors=errors,
        reach=_reach(values.get("units", "")),
        max_title=MAX_TITLE,
        max_body=svc.MAX_BODY,
        max_repeat=svc.MAX_REPEAT,
    ), status


def _number(form, name: str, low: int, high: int, default: int, errors: dict[str, str]) -> int:
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    if not is_digits(raw) or not low <= int(raw) <= high:
        errors[name] = _("Nhập một số từ %(low)s đến %(high)s.", low=low, high=high)
        return default
    return int(raw)


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
    if "units" not in errors:
        if not codes:
            errors["units"] = _("Chọn ít nhất một đơn vị nhận tin.")
        elif len(codes) > MAX_UNITS:
            errors["units"] = _(
                "Tối đa %(n)s đơn vị; chọn đơn vị cấp trên thay cho nhiều xã.", n=MAX_UNITS
            )
        elif bad := next((c for c in codes if not UNIT_CODE.fullmatch(c)), None):
            errors["units"] = _("Mã đơn vị '%(code)s' không hợp lệ.", code=typed(bad, 40))
    session = db()
    if "units" not in errors:
        try:
            if not progress.reach(session, actor(), codes):
                errors["units"] = _("Các đơn vị đã chọn không có đài nào đang hoạt động.")
        except NotFound as exc:
            errors["units"] = exc.message
        except BroadcasterError as exc:
            refused(exc)  # a unit outside the scope: 403
            errors["units"] = exc.message
    values = {k: typed(form.get(k), 6000) for k in ("title", "body", "units", "repeat", "expires")}
    if errors:
        return _form(values, errors, 400)
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
        return _form(values, {"again": exc.message}, 409)
    except TooMany as exc:
        session.rollback()
        page, _status = _form(values, {"form": exc.message}, 429)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    except InvalidInput as exc:  # what is left to refuse is the text (placeholders)
        session.rollback()
        return _form(values, {"body": exc.message}, 400)
    except BroadcasterError as exc:
        session.rollback()
        refused(exc)
        return _form(values, {"form": exc.message}, 400)
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
        abort(400, description=exc.message)
    db().commit()
    done(_("Đã hủy tin khẩn cấp số %(id)s: đài chưa phát sẽ không phát nữa.", id=item.info.id))
    return redirect(url_for(".detail", emergency_id=item.info.id))
