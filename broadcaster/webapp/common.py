"""What every admin page shares: the session, the signed-in actor, scope checks,
form-field cleaning, pagination and the answer to a refused service call.

Views stay thin: they read the request through these helpers, call a service
function with the signed-in :class:`~broadcaster.services.audit.Actor`, and
render. A service's :class:`~broadcaster.errors.BroadcasterError` becomes the
form shown again with the message (400), or 403/404 for its two subclasses.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, current_app, flash, redirect, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.config import Settings
from broadcaster.days import FIRST_DAY, LAST_DAY, DayError, read_day
from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.models import AdminUnit, Station
from broadcaster.services.audit import Actor
from broadcaster.vntext import bidi_controls

PAGE_SIZE = 50
MAX_PAGE = 100_000
STATION_CODE = re.compile(r"[A-Za-z0-9._-]{1,32}")
UNIT_CODE = re.compile(r"[0-9A-Za-z._-]{1,16}")
WEEKDAY_NAMES = (  # Monday first, as date.weekday() counts
    _l("Thứ hai"),
    _l("Thứ ba"),
    _l("Thứ tư"),
    _l("Thứ năm"),
    _l("Thứ sáu"),
    _l("Thứ bảy"),
    _l("Chủ nhật"),
)


def db() -> Session:
    return current_app.extensions["broadcaster.db"]()


def settings() -> Settings:
    return current_app.config["BROADCASTER_SETTINGS"]


def actor() -> Actor:
    return current_user.actor


def send_asset(sha: str):
    """A finished asset to the browser (the admin's Listen and the emergency form's
    preview), from wherever the store keeps it; 404 when it is not there."""
    from broadcaster.audio.stores import open_store

    served = open_store(settings().audio_dir).served(sha)
    if served is None:
        abort(404)
    if served.url is not None:  # a store elsewhere hands out its own address
        return redirect(served.url)
    return send_file(served.path, mimetype="audio/mpeg", conditional=True, max_age=3600)


_RENDERERS_LOCK = threading.Lock()


def renderer(*, preview: bool = False):
    """This process's audio renderer (``preview``: the one for Listen), made once.

    One per process, not per request, so that an engine that just failed (gTTS on
    a dead line) is skipped for its back-off by every later request. The preview
    renderer gives gTTS a short timeout and no retry: a person is waiting.
    """
    from broadcaster.services.audio import renderer_for  # numpy and scipy: only when needed

    key = "broadcaster.preview_renderer" if preview else "broadcaster.renderer"
    made = current_app.extensions.get(key)
    if made is None:
        with _RENDERERS_LOCK:
            made = current_app.extensions.get(key)
            if made is None:
                made = renderer_for(settings(), preview=preview)
                current_app.extensions[key] = made
    return made


class FormErrors(Exception):
    """Bad fields of one form, each with the message shown beside it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def field(
    form,
    name: str,
    *,
    max_length: int = 200,
    multiline: bool = False,
    errors: dict[str, str] | None = None,
) -> str:
    """A text field, NFC, trimmed; control characters and over-long values are an
    error of that field (collected in ``errors`` when given, else raised)."""
    raw = form.get(name, "") or ""
    allowed = "\n\r\t" if multiline else ""
    problem = None
    if len(raw) > max_length:
        problem = _("Quá dài: tối đa %(n)s ký tự.", n=max_length)
    elif any((ord(ch) < 32 and ch not in allowed) or ord(ch) == 127 for ch in raw):
        problem = _("Có ký tự điều khiển không hợp lệ.")
    elif bidi := bidi_controls(raw):
        problem = bidi_problem(bidi)
    if problem:
        if errors is None:
            raise FormErrors({name: problem})
        errors[name] = problem
        return ""
    value = unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
    return value.strip()


def bidi_problem(found: list[str]) -> str:
    return _(
        "Có ký tự điều khiển hướng chữ (%(chars)s), có thể làm chữ hiển thị đảo ngược: "
        "hãy xóa ký tự đó.",
        chars=", ".join(sorted(set(found))),
    )


def optional_day(value: str, name: str, errors: dict[str, str]) -> date | None:
    """A YYYY-MM-DD field that may be empty; a malformed or out-of-range one is an error
    of ``name``."""
    if not value:
        return None
    try:
        return read_day(value, vietnamese=False)
    except DayError as error:
        errors[name] = day_message(error)
        return None


def day_message(error: DayError) -> str:
    """The form error for a date field that :func:`broadcaster.days.read_day` refused."""
    if error.reason == "range":
        return _(
            "Ngày '%(v)s' nằm ngoài khoảng cho phép (%(first)s đến %(last)s).",
            v=typed(error.text, 40),
            first=f"{FIRST_DAY:%d/%m/%Y}",
            last=f"{LAST_DAY:%d/%m/%Y}",
        )
    return _("Ngày '%(v)s' không hợp lệ: dùng YYYY-MM-DD.", v=typed(error.text, 40))


def typed(value: str | None, limit: int = 200) -> str:
    """What the user typed, to show again beside its error (control characters dropped)."""
    value = (value or "")[:limit]
    return "".join(ch for ch in value if ch >= " " or ch in "\n\t")


def is_digits(value: str) -> bool:
    """Only 0-9: ``str.isdigit`` also takes "²" and "٣", which ``int()`` then refuses."""
    return value.isascii() and value.isdigit()


def page_number(args=None) -> int:
    """The ``page`` argument, 1 when missing or absurd."""
    value = (args or request.args).get("page", "1")
    return int(value) if is_digits(value) and 0 < int(value) < MAX_PAGE else 1


@dataclass(frozen=True)
class Page:
    """One page of a list: ``rows`` plus whether a next one exists."""

    rows: list[Any]
    number: int
    more: bool

    @classmethod
    def of(cls, rows: list[Any], number: int, size: int = PAGE_SIZE) -> Page:
        """From ``size + 1`` fetched rows (the extra one only says there is more)."""
        return cls(rows[:size], number, len(rows) > size)


def offset(number: int, size: int = PAGE_SIZE) -> int:
    return (number - 1) * size


def unit_in_scope(code: str | None) -> AdminUnit | None:
    """The unit of ``code`` when the signed-in user's scope covers it: 404 when no such
    unit, 403 when outside. An empty code is the user's own scope (None: the country)."""
    code = (code or "").strip() or current_user.scope_code
    if not code:
        if not actor().covers(None):
            abort(403)
        return None
    if not UNIT_CODE.fullmatch(code):
        abort(404)
    unit = db().scalar(select(AdminUnit).where(AdminUnit.code == code))
    if unit is None:
        abort(404)
    if not actor().covers(unit.path):
        abort(403)
    return unit


def station_in_scope(code: str) -> tuple[Station, AdminUnit]:
    """The station of ``code`` and its unit: 404 when unknown, 403 outside the scope."""
    if not STATION_CODE.fullmatch(code or ""):  # not echoed: it is no station code at all
        abort(404, description=_("Địa chỉ này không trỏ tới đài nào."))
    row = (
        db()
        .execute(
            select(Station, AdminUnit)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .where(Station.code == code)
        )
        .first()
    )
    if row is None:
        abort(
            404,
            description=_(
                "Không có đài nào mã “%(code)s”. Tìm đài theo tên ở trang Đài truyền thanh.",
                code=code,
            ),
        )
    station, unit = row
    if not actor().covers(unit.path):
        abort(403)
    return station, unit


def scope_path() -> str | None:
    """The signed-in user's subtree (a path prefix), None for the whole country."""
    return actor().scope_path


def error_text(exc: BroadcasterError) -> str:
    """A service's error in the reader's language (its message id through Babel)."""
    return exc.render(_)


def beside(exc: BroadcasterError, fields, default: str) -> dict[str, str]:
    """The form errors for a service's error: its text beside its field when the form has
    that field (``fields``), else beside ``default``."""
    return {exc.field if exc.field in fields else default: error_text(exc)}


def refused(exc: BroadcasterError) -> None:
    """Turn a service's refusal that is not about the form into 403/404."""
    if isinstance(exc, PermissionDenied):
        abort(403, description=error_text(exc))
    if isinstance(exc, NotFound):
        abort(404, description=error_text(exc))


def done(message: str) -> None:
    """A success message shown once on the next page."""
    flash(message, "ok")


def form_id(value: str | None) -> int | None:
    """A positive database id from a form or URL, else None."""
    value = (value or "").strip()
    if is_digits(value) and 0 < int(value) < 2**31:
        return int(value)
    return None
