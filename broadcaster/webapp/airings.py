"""The airing log pages (nhật ký phát): the log and the chain check.

- ``GET /airings/`` — every role, the rows of the stations in the user's scope (an
  operator: their commune's station), filtered, newest written first, keyset pages
  (``?before=<id>``), never a COUNT of the log.
- Confirming by hand what aired (``/airings/confirm``) is the operator's page, in
  :mod:`broadcaster.webapp.operator`.
- ``POST /airings/verify`` — auditors and admins recompute the hash chains of one
  station or of a unit's stations (at most ``MAX_VERIFY_STATIONS`` in one request,
  about a province; the whole country is the CLI's ``broadcaster audit verify``).
  The last result is kept in the session and shown on the log page.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from broadcaster.db import utcnow
from broadcaster.models import Role
from broadcaster.services import airing_log, campaign_reads, chain
from broadcaster.webapp import airings_forms as forms
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    Page,
    actor,
    db,
    done,
    field,
    scope_path,
    settings,
)
from broadcaster.webapp.pickers import StationPick, pick_station, unit_from

bp = Blueprint("airings", __name__, url_prefix="/airings")

MAX_VERIFY_STATIONS = 400  # a province's stations hash in about a second; a country does not
VERIFY_KEY = "airings.verify"
MAX_BREAKS_SHOWN = 10  # the session cookie holds them: it must stay under 4 kB
CONFIRMERS = (Role.OPERATOR, Role.ADMIN)
VERIFIERS = (Role.AUDITOR, Role.ADMIN)
STATUS_LABELS = {
    "aired": _l("đã phát"),
    "partial": _l("phát dở"),
    "failed": _l("phát lỗi"),
    "skipped": _l("bỏ qua"),
}
SOURCE_LABELS = {"agent": _l("máy tự động"), "manual": _l("xác nhận tay")}


def _campaigns() -> list[tuple[int, str]]:
    return campaign_reads.campaign_choices(db(), scope_path())


def _log_page(
    errors: dict[str, str],
    values: dict[str, str],
    rows,
    station: StationPick,
    verify_errors=None,
    verify_station: StationPick | None = None,
):
    page = Page.of(rows, 1, PAGE_SIZE)
    next_url = None
    if page.more:
        args = {k: v for k, v in values.items() if v}
        next_url = url_for("airings.index", before=page.rows[-1].id, **args)
    status = 400 if errors or verify_errors else 200
    return render_template(
        "airings/index.html",
        rows=page.rows,
        next_url=next_url,
        first_url=url_for("airings.index", **{k: v for k, v in values.items() if v})
        if request.args.get("before")
        else None,
        values=values,
        errors=errors,
        station_pick=station,
        verify_errors=verify_errors or {},
        verify_values=request.form if verify_errors else {},
        # the same stations to choose from: no second query
        verify_station=verify_station or StationPick("verify_station", station.choices),
        statuses=STATUS_LABELS,
        sources=SOURCE_LABELS,
        campaigns=_campaigns(),
        verification=_last_verification(),
        can_verify=actor().role in VERIFIERS,
        can_confirm=actor().role in CONFIRMERS,
    ), status


def _last_verification() -> dict | None:
    """The last chain check of this session, its time back to a datetime."""
    kept = session.get(VERIFY_KEY)
    if not isinstance(kept, dict):
        return None
    try:
        return {**kept, "at": datetime.fromisoformat(kept["at"])}
    except (KeyError, TypeError, ValueError):
        return None


@bp.get("/")
@signed_in()
def index():
    query, values, errors, station = forms.log_query(request.args)
    if query is None:
        return _log_page(errors, values, [], station)
    rows = airing_log.log_page(db(), query, tz=settings().tz, limit=PAGE_SIZE + 1)
    return _log_page({}, values, rows, station)


@bp.post("/verify")
@signed_in(*VERIFIERS)
def verify():
    errors: dict[str, str] = {}
    picked = pick_station(request.form, "verify_station", active_only=False)
    station = picked.chosen
    if picked.error:
        errors["verify_station"] = picked.error
    unit_text = field(request.form, "verify_unit", max_length=64, errors=errors)
    unit = None
    if station is None and "verify_unit" not in errors:
        unit = unit_from(unit_text, errors, "verify_unit")
    path = unit.path if unit is not None else scope_path()
    if not errors and station is None:
        count = chain.count_stations(db(), path)
        if count > MAX_VERIFY_STATIONS:
            errors["verify_unit"] = _(
                "Phạm vi có %(n)s đài, quá nhiều cho một lần kiểm tra trên web (tối đa %(max)s): "
                "chọn một tỉnh hoặc một đài; toàn quốc dùng lệnh 'broadcaster audit verify'.",
                n=count,
                max=MAX_VERIFY_STATIONS,
            )
    if errors:
        values = {k: "" for k in forms.LOG_FIELDS}
        empty = StationPick("station", picked.choices)
        return _log_page({}, values, [], empty, verify_errors=errors, verify_station=picked)
    if station is not None:
        report = chain.verify(db(), station.code)
        label = station.label
    else:
        report = chain.verify(db(), scope_path=path)
        label = unit.name if unit is not None else (actor().scope_path and _("phạm vi của bạn"))
        label = label or _("toàn quốc")
    session[VERIFY_KEY] = {
        "at": utcnow().isoformat(),
        "scope": str(label),
        "ok": report.ok,
        "stations": report.stations,
        "rows": report.rows,
        "breaks": [
            {"station": b.station_code, "seq": b.seq, "airing_id": b.airing_id, "reason": b.reason}
            for b in report.breaks[:MAX_BREAKS_SHOWN]
        ],
        "more_breaks": max(0, len(report.breaks) - MAX_BREAKS_SHOWN),
    }
    db().rollback()  # read only
    if report.ok:
        done(
            _(
                "Chuỗi băm nguyên vẹn: %(rows)s dòng của %(n)s đài.",
                rows=report.rows,
                n=report.stations,
            )
        )
    return redirect(url_for("airings.index", **({"station": station.code} if station else {})))
