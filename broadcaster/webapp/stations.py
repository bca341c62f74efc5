"""The admin's stations pages (đài truyền thanh): the list with each station's heartbeat,
one station's windows, quiet days, pull tokens and its day (relays, recordings,
synthesised items and emergencies in airing order, with times, lengths and states), and
the forms that change them.

Every view checks the station against the signed-in user's scope; changing windows and
tokens is the admin's, quiet days the approver's too (what the services allow). A change
of windows or quiet days re-plans in the same transaction, as the CLI does. A new token
is shown once, in the answer to the form that issued it, and is never stored (only its
hash); station pages are never cached. Each page's issue form carries a one-time code
kept in the session, so reloading the answer (the browser sends the form again) does not
issue yet another token and silently revoke the one just copied.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from broadcaster.audio.engine_order import voice_groups
from broadcaster.db import utcnow
from broadcaster.errors import BroadcasterError, NotFound
from broadcaster.models import AdminUnit, Role, Station
from broadcaster.services import emergency_progress, health, quiet_days, slots, tokens, voices
from broadcaster.services import stations as svc
from broadcaster.webapp.api import public_base
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    Page,
    actor,
    db,
    done,
    error_text,
    field,
    offset,
    page_number,
    refused,
    scope_path,
    settings,
    station_in_scope,
    typed,
)
from broadcaster.webapp.operator import KIND_LABELS, STATE_LABELS
from broadcaster.webapp.pickers import unit_from

ISSUE_KEY = "stations.issue_once"  # the one-time code of the token form last shown

bp = Blueprint("stations", __name__, url_prefix="/stations")

STATES = {"": _l("Tất cả"), "online": _l("Trực tuyến"), "offline": _l("Mất liên lạc")}
PLAYER_STATES = {"playing": _l("đang phát"), "idle": _l("đang chờ"), "error": _l("lỗi")}
SLOT_STATUS = {
    "planned": _l("đã lập lịch"),
    "aired": _l("đã phát"),
    "missed": _l("bỏ lỡ"),
    "cancelled": _l("đã hủy"),
    "unplaced": _l("chưa xếp được"),
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """ "5 phút trước": how long since a heartbeat, as a person says it."""
    if moment is None:
        return _("chưa bao giờ")
    seconds = int(((now or utcnow()) - moment).total_seconds())
    if seconds < 60:
        return _("vừa xong")
    if seconds < 3600:
        return _("%(n)s phút trước", n=seconds // 60)
    if seconds < 86400:
        return _("%(n)s giờ trước", n=seconds // 3600)
    return _("%(n)s ngày trước", n=seconds // 86400)


@bp.context_processor
def _helpers() -> dict:
    if not current_user.is_authenticated:  # e.g. the "form expired" page of a signed-out POST
        return {}
    return {
        "ago": ago,
        "player_states": PLAYER_STATES,
        "slot_status": SLOT_STATUS,
        "day_states": STATE_LABELS,
        "kinds": KIND_LABELS,
        "is_admin": actor().role is Role.ADMIN,
        "manages_quiet_days": actor().role in (Role.ADMIN, Role.APPROVER),
        "sees_emergencies": actor().role is not Role.EDITOR,
    }


def _today():
    return settings().today()


def _own_station() -> str | None:
    """A commune operator's one station, if their scope holds exactly one."""
    path = scope_path()
    if actor().role is not Role.OPERATOR or path is None:
        return None
    codes = (
        db()
        .scalars(
            select(Station.code)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(AdminUnit.path.startswith(path), Station.active.is_(True))
            .order_by(Station.code)
            .limit(2)
        )
        .all()
    )
    return codes[0] if len(codes) == 1 else None


@bp.get("/")
@signed_in()
def index():
    own = _own_station()
    if own is not None:
        return redirect(url_for(".detail", code=own))
    args = request.args
    errors: dict[str, str] = {}
    unit_code = field(args, "unit", max_length=16, errors=errors)
    search = field(args, "q", max_length=100, errors=errors)
    state = args.get("state", "")
    if state not in STATES:
        errors["state"] = _("Chọn tất cả, trực tuyến hoặc mất liên lạc.")
    path = scope_path()
    unit = None
    if unit_code and "unit" not in errors:
        # the unit picker sends a code; typed without JavaScript, a name (403 outside)
        unit = unit_from(unit_code, errors)
        if unit is not None:
            path = unit.path
    number = page_number()
    rows = []
    if not errors:
        rows = health.station_page(
            db(),
            unit_path=path,
            search=search or None,
            online={"": None, "online": True, "offline": False}[state],
            offset=offset(number),
            limit=PAGE_SIZE + 1,
        )
    values = {k: typed(args.get(k), 100) for k in ("unit", "q", "state")}
    if unit is not None:
        values["unit"] = unit.code  # the picker's value, whatever was typed
    query = {k: v for k, v in values.items() if v}
    return render_template(
        "stations/index.html",
        page=Page.of(rows, number),
        errors=errors,
        values=values,
        query=query,
        states=STATES,
        now=utcnow(),
    ), (400 if errors else 200)


def _detail(
    station: Station,
    unit: AdminUnit,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    new_token: str | None = None,
    new_link: tuple[str, str] | None = None,
    status: int = 200,
):
    session_ = db()
    info = svc.get_station(session_, station.code)
    today = _today()
    issue_once = secrets.token_urlsafe(12)
    session[ISSUE_KEY] = issue_once
    response = render_template(
        "stations/detail.html",
        station=info,
        unit=unit,
        health=health.health_of(session_, station.id),
        quiet=quiet_days.list_quiet_days(session_, station.code, since=today),
        token_rows=tokens.list_tokens(session_, station.code),
        today=today,
        today_slots=slots.station_schedule(
            session_, station.id, tz=settings().tz, first_day=today, now=utcnow(), unplaced=True
        ),
        emergencies=emergency_progress.recent_at_station(session_, station.id),
        errors=errors or {},
        values={
            "windows": ",".join(f"{w.starts_at:%H:%M}-{w.ends_at:%H:%M}" for w in info.windows),
            "voice": station.voice or "",
            **(values or {}),
        },
        voice_groups=voice_groups(settings().audio),
        new_token=new_token,
        new_link=new_link,
        issue_once=issue_once,
        now=utcnow(),
    )
    # a token may be on this page; no page of a station's secrets is kept by a cache
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/<code>")
@signed_in()
def detail(code: str):
    station, unit = station_in_scope(code)
    return _detail(station, unit)


def _replan(days: int | None = None):
    """Plan again in the view's transaction, as the CLI does after the same change."""
    from broadcaster.planning import plan

    if days is None:
        return plan(db(), tz=settings().tz)
    return plan(db(), days=days, tz=settings().tz)


def _planned(report) -> str:
    return _(
        "Đã lập lịch lại: %(created)s mới, %(updated)s thay đổi, %(cancelled)s hủy, "
        "%(unplaced)s không xếp được.",
        created=report.created,
        updated=report.updated,
        cancelled=report.cancelled,
        unplaced=len(report.unplaced),
    )


def _failed(station, unit, name: str, exc: BroadcasterError | None, errors: dict[str, str]):
    """The station page again with the form's error beside its field; nothing is kept."""
    db().rollback()
    if exc is not None:
        refused(exc)
        errors[name] = error_text(exc)  # each of these forms has one input
    return _detail(
        station, unit, errors=errors, values={name: typed(request.form.get(name))}, status=400
    )


@bp.post("/<code>/windows")
@signed_in(Role.ADMIN)
def windows(code: str):
    station, unit = station_in_scope(code)
    errors: dict[str, str] = {}
    value = field(request.form, "windows", max_length=200, errors=errors)
    if errors:
        return _failed(station, unit, "windows", None, errors)
    try:
        info = svc.set_windows(db(), actor(), station.code, value)
        report = _replan()
    except BroadcasterError as exc:
        return _failed(station, unit, "windows", exc, errors)
    db().commit()
    done(
        _(
            "Đài %(code)s: khung giờ %(windows)s.",
            code=info.code,
            windows=", ".join(map(str, info.windows)),
        )
    )
    done(_planned(report))
    return redirect(url_for(".detail", code=station.code))


@bp.post("/<code>/voice")
@signed_in(Role.ADMIN)
def voice(code: str):
    """The voice the station's listeners hear (wins over its campaigns')."""
    station, unit = station_in_scope(code)
    errors: dict[str, str] = {}
    value = field(request.form, "voice", max_length=100, errors=errors)
    if errors:
        return _failed(station, unit, "voice", None, errors)
    try:
        chosen = voices.set_station_voice(db(), actor(), settings().audio, station.code, value)
    except BroadcasterError as exc:
        return _failed(station, unit, "voice", exc, errors)
    db().commit()
    who = chosen or _("Mặc định")
    done(_("Đài %(code)s: giọng đọc %(voice)s.", code=station.code, voice=who))
    return redirect(url_for(".detail", code=station.code))


@bp.post("/<code>/quiet-days")
@signed_in(Role.ADMIN, Role.APPROVER)
def quiet_day_add(code: str):
    station, unit = station_in_scope(code)
    errors: dict[str, str] = {}
    day = field(request.form, "day", max_length=20, errors=errors)
    if not errors and not day:
        errors["day"] = _("Chọn ngày nghỉ phát.")
    if errors:
        return _failed(station, unit, "day", None, errors)
    try:
        info = quiet_days.add_quiet_day(db(), actor(), station.code, day, today=_today())
        report = _replan(14)
    except BroadcasterError as exc:
        return _failed(station, unit, "day", exc, errors)
    db().commit()
    done(_("Đã đặt ngày nghỉ phát %(day)s.", day=info.day.strftime("%d/%m/%Y")))
    done(_planned(report))
    return redirect(url_for(".detail", code=station.code))


@bp.post("/<code>/quiet-days/<day>/remove")
@signed_in(Role.ADMIN, Role.APPROVER)
def quiet_day_remove(code: str, day: str):
    station, _unit = station_in_scope(code)
    if not _DAY.fullmatch(day):
        abort(404)
    try:
        info = quiet_days.remove_quiet_day(db(), actor(), station.code, day)
        report = _replan(14)
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        abort(404, description=error_text(exc))  # an impossible date: no such quiet day
    db().commit()
    done(_("Đã bỏ ngày nghỉ phát %(day)s.", day=info.day.strftime("%d/%m/%Y")))
    done(_planned(report))
    return redirect(url_for(".detail", code=station.code))


@bp.post("/<code>/token/issue")
@signed_in(Role.ADMIN)
def token_issue(code: str):
    station, _unit = station_in_scope(code)
    keep_old = request.form.get("keep_old") == "1"
    link = request.form.get("kind") == "link"
    expected = session.pop(ISSUE_KEY, None)
    if not expected or not hmac.compare_digest(expected, request.form.get("once", "")):
        # the same form sent again (a reload of the answer): nothing more is issued
        abort(
            409,
            description=_(
                "Mã này đã được cấp từ trang trước; mở lại trang của đài nếu cần cấp mã khác."
            ),
        )
    try:
        issued = tokens.issue(db(), actor(), station.code, keep_old=keep_old, link=link)
    except BroadcasterError as exc:
        db().rollback()
        refused(exc)
        abort(400, description=error_text(exc))
    db().commit()
    if link:
        base = f"{public_base()}/api/v1/links/{issued.token}/playlist"
        done(_("Đã cấp liên kết danh sách phát %(prefix)s…", prefix=issued.prefix))
        return _detail(station, _unit, new_link=(f"{base}.m3u8", f"{base}.xspf"))
    # shown in this answer only (no-store): never in a URL, a log or a cookie — Flask's
    # session cookie is signed, not encrypted
    if issued.revoked:
        done(
            _(
                "Đã cấp mã mới %(prefix)s… và thu hồi %(n)s mã cũ.",
                prefix=issued.prefix,
                n=issued.revoked,
            )
        )
    else:
        done(_("Đã cấp mã mới %(prefix)s…", prefix=issued.prefix))
    return _detail(station, _unit, new_token=issued.token)


@bp.post("/<code>/token/revoke")
@signed_in(Role.ADMIN)
def token_revoke(code: str):
    station, unit = station_in_scope(code)
    errors: dict[str, str] = {}
    prefix = field(request.form, "prefix", max_length=16, errors=errors)
    if errors:
        return _failed(station, unit, "prefix", None, errors)
    try:
        count = tokens.revoke(db(), actor(), station.code, prefix or None)
    except NotFound as exc:
        db().rollback()
        errors["prefix"] = error_text(exc)
        return _failed(station, unit, "prefix", None, errors)
    except BroadcasterError as exc:
        return _failed(station, unit, "prefix", exc, errors)
    db().commit()
    done(_("Đã thu hồi %(n)s mã truy cập của đài %(code)s.", n=count, code=station.code))
    return redirect(url_for(".detail", code=station.code))
