"""The admin's compliance reports: filters, charts, drill-down, downloads, stored reports.

A thin shell over :mod:`broadcaster.reports`. The filters are read by
:mod:`broadcaster.webapp.reports_filters` (unit picker, period lists, no codes typed):
a unit outside the user's scope is 403, an unknown one or a malformed period is 400
with the form shown again, the error beside its field. A computed report is kept a
minute per process, so the page, its two charts and its downloads count the log once.

Texts are in the reader's language (Flask-Babel, the Vietnamese text is the
message id). The report itself keeps its Vietnamese labels, because the same
body is stored and exported byte for byte; the pages name its period through
:func:`reports_labels.period_label` instead of showing the stored label.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from broadcaster.errors import NotFound
from broadcaster.models import AdminUnit, ComplianceReport, Role
from broadcaster.reports import compliance as counting
from broadcaster.reports import export, store
from broadcaster.reports.seal import ChainRefused, SealKey
from broadcaster.services import airings, audit
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import FormErrors, is_digits, station_in_scope
from broadcaster.webapp.common import db as _db
from broadcaster.webapp.common import settings as _settings
from broadcaster.webapp.reports_filters import (
    Query,
    day_field,
    form_context,
    parse_query,
    period_args,
)
from broadcaster.webapp.reports_labels import STATUS_VI, period_label

bp = Blueprint("reports", __name__, url_prefix="/reports")

CACHE_SECONDS = 60
CACHE_SIZE = 16
PAGE_SIZE = 50
STORERS = (Role.ADMIN, Role.AUDITOR, Role.APPROVER)
MIME = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
WRITERS = {
    "json": export.to_json,
    "csv": export.to_csv,
    "xlsx": export.to_xlsx,
    "pdf": export.to_pdf,
}


@bp.context_processor
def _template_helpers() -> dict:
    return {"period_label": period_label}


def _drawing(chart: str):
    """The SVG chart by name; matplotlib loads at the first chart, not at start-up."""
    from broadcaster.reports import charts

    draw = {"weekly": charts.weekly_compliance_svg, "behind": charts.behind_svg}.get(chart)
    if draw is None:
        abort(404)
    return draw


def _scope_path(unit: AdminUnit | None) -> str | None:
    return unit.path if unit is not None else None


class _ReportCache:
    """A few recent reports of this process, each kept ``CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, make) -> dict:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        report = make()
        with self._lock:
            self._items[key] = (now, report)
            self._items.move_to_end(key)
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)
        return report


def _report(q: Query) -> dict:
    cache = current_app.extensions.setdefault("broadcaster.reports", _ReportCache())
    key = (q.unit_code, q.period.kind, q.period.key, q.period.cutoff_day, q.campaign_id)
    return cache.get(
        key,
        lambda: counting.compute(
            _db(), q.period, unit_code=q.unit_code, campaign_id=q.campaign_id, tz=_settings().tz
        ),
    )


def _drill(report: dict, args: dict[str, str]) -> tuple[str, list[tuple[dict, str]]]:
    """The next level down, each row with its link: provinces of the country, communes of
    a province, else stations (whose link opens their airing rows for the period)."""
    unit = report["scope"]["unit"]
    if unit is None and len(report["provinces"]) > 1:
        level, rows = "province", report["provinces"]
    elif unit is None or unit["level"] <= 1:
        level, rows = "commune", report["communes"]
    else:
        level, rows = "station", report["stations"]
    if level == "station":
        period = {"from": report["period"]["from"], "to": report["period"]["to"]}
        return level, [
            (r, url_for("reports.station_airings", code=r["code"], **period)) for r in rows
        ]
    return level, [(r, url_for("reports.compliance", **{**args, "unit": r["code"]})) for r in rows]


def _filename(report: dict, fmt: str) -> str:
    unit = report["scope"]["unit"]
    key = re.sub(r"[^0-9A-Za-z.-]+", "_", report["period"]["key"])
    return f"bao-cao-thuc-hien-{unit['code'] if unit else 'toan-quoc'}-{key}.{fmt}"


def _download(report: dict, fmt: str) -> Response:
    if fmt not in WRITERS:
        abort(404)
    if fmt == "csv":  # its headers in the interface's language; XLSX and PDF stay Vietnamese
        data = export.to_csv(report, "en" if str(get_locale()) == "en" else "vi")
    else:
        data = WRITERS[fmt](report)
    return Response(
        data,
        mimetype=MIME[fmt],
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, fmt)}"'},
    )


def _up_url(q: Query, args: dict[str, str]) -> str | None:
    """The report one level up, while that is still inside the user's scope."""
    if q.unit is None or q.unit_code == current_user.scope_code:
        return None
    codes = q.unit.path.strip("/").split("/")
    parent = codes[-2] if len(codes) > 1 else None
    if parent is None and current_user.scope_code is not None:
        return None
    up = {k: v for k, v in args.items() if k != "unit"}
    if parent:
        up["unit"] = parent
    return url_for("reports.compliance", **up)


@bp.get("/")
@signed_in()
def index():
    return redirect(url_for("reports.compliance"))


@bp.get("/compliance")
@signed_in()
def compliance():
    try:
        q = parse_query(request.args)
    except FormErrors as exc:
        return render_template(
            "reports/compliance.html", report=None, **form_context(request.args, exc.errors)
        ), 400
    report = _report(q)
    args = q.args()
    level, children = _drill(report, args)
    return render_template(
        "reports/compliance.html",
        report=report,
        query=q,
        args=args,
        level=level,
        children=children,
        chart_urls={
            name: url_for("reports.compliance_chart", chart=name, **args)
            for name in ("weekly", "behind")
        },
        can_store=current_user.actor.role in STORERS,
        up_url=_up_url(q, args),
        **form_context(request.args, {}, q),
    )


@bp.get("/compliance.<fmt>")
@signed_in()
def compliance_download(fmt: str):
    if fmt not in WRITERS:
        abort(404)
    try:
        q = parse_query(request.args)
    except FormErrors as exc:
        abort(400, description=str(exc))
    return _download(_report(q), fmt)


@bp.get("/compliance/<chart>.svg")
@signed_in()
def compliance_chart(chart: str):
    draw = _drawing(chart)
    try:
        q = parse_query(request.args)
    except FormErrors as exc:
        abort(400, description=str(exc))
    return Response(draw(_report(q)), mimetype="image/svg+xml")


def _seal_key() -> SealKey:
    return SealKey.from_secret(_settings().secret_key)


@bp.get("/help")
@signed_in()
def help_page():
    """How compliance is counted, in the admin, for the people who read the reports."""
    rules = counting.Rules()
    return render_template(
        "reports/help.html",
        early_hours=int(rules.early.total_seconds() // 3600),
        grace_minutes=int(rules.grace.total_seconds() // 60),
        cutoff_day=_settings().report_cutoff_day,
    )


@bp.post("/compliance/store")
@signed_in(*STORERS)
def compliance_store():
    try:
        q = parse_query(request.form)
    except FormErrors as exc:
        abort(400, description=str(exc))
    db = _db()
    # stored as counted now, not from the page's minute-old copy
    report = counting.compute(
        db, q.period, unit_code=q.unit_code, campaign_id=q.campaign_id, tz=_settings().tz
    )
    try:
        info = store.store(db, report, key=_seal_key(), generated_by=current_user.actor.label)
    except ChainRefused as exc:  # the signed head is not this instance's: say so, store nothing
        db.rollback()
        abort(409, description=exc.message)
    audit.record(
        db,
        current_user.actor,
        "report.store",
        "compliance_report",
        info.id,
        after={"period": q.period.key, "unit": q.unit_code, "sha256": info.body_sha256},
    )
    db.commit()
    return redirect(url_for("reports.stored_page", report_id=info.id))


@bp.get("/stations/<code>/airings")
@signed_in()
def station_airings(code: str):
    station, unit = station_in_scope(code)
    errors: dict[str, str] = {}
    first = last = None
    try:
        first = day_field(request.args.get("from"), "from") if request.args.get("from") else None
    except FormErrors as exc:
        errors.update(exc.errors)
    try:
        last = day_field(request.args.get("to"), "to") if request.args.get("to") else None
    except FormErrors as exc:
        errors.update(exc.errors)
    page = request.args.get("page", "1")
    page = int(page) if is_digits(page) and 0 < int(page) < 100_000 else 1
    rows = []
    if not errors:
        rows = airings.list_airings(
            _db(),
            station_code=code,
            day_from=first,
            day_to=last,
            tz=_settings().tz,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
    return render_template(
        "reports/airings.html",
        station=station,
        unit=unit,
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        errors=errors,
        values={"from": request.args.get("from", ""), "to": request.args.get("to", "")},
        status_vi={k: str(v) for k, v in STATUS_VI.items()},
    ), (400 if errors else 200)


def stored_in_scope(report_id: int) -> tuple[store.StoredInfo, dict]:
    if report_id >= 2**31:
        abort(404)
    try:
        info, body = store.get(_db(), report_id)
    except NotFound:
        abort(404)
    unit = body["scope"]["unit"]
    path = None
    if unit is not None:
        path = _db().scalar(select(AdminUnit.path).where(AdminUnit.code == unit["code"]))
    if not current_user.actor.covers(path):
        abort(403)
    return info, body


@bp.get("/stored")
@signed_in()
def stored_list():
    db = _db()
    q = select(ComplianceReport).order_by(ComplianceReport.id.desc())
    scope = current_user.actor.scope_path
    if scope is not None:
        codes = select(AdminUnit.code).where(AdminUnit.path.startswith(scope))
        q = q.where(ComplianceReport.unit_code.in_(codes))
    page = request.args.get("page", "1")
    page = int(page) if is_digits(page) and 0 < int(page) < 100_000 else 1
    rows = db.scalars(q.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "reports/stored_list.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page
    )


@bp.get("/stored/<int:report_id>")
@signed_in()
def stored_page(report_id: int, verification=None):
    info, body = stored_in_scope(report_id)
    level, children = _drill(body, period_args(body["period"]))
    return render_template(
        "reports/stored.html",
        info=info,
        report=body,
        level=level,
        children=children,
        chart_urls={
            name: url_for("reports.stored_chart", report_id=report_id, chart=name)
            for name in ("weekly", "behind")
        },
        verification=verification,
    )


@bp.get("/stored/<int:report_id>.<fmt>")
@signed_in()
def stored_download(report_id: int, fmt: str):
    _info, body = stored_in_scope(report_id)
    return _download(body, fmt)


@bp.get("/stored/<int:report_id>/<chart>.svg")
@signed_in()
def stored_chart(report_id: int, chart: str):
    draw = _drawing(chart)
    _info, body = stored_in_scope(report_id)
    return Response(draw(body), mimetype="image/svg+xml")


@bp.post("/stored/<int:report_id>/verify")
@signed_in()
def stored_verify(report_id: int):
    stored_in_scope(report_id)
    result = store.verify(_db(), report_id, key=_seal_key())
    return stored_page(report_id, verification=result)
