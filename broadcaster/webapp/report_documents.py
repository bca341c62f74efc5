"""The report in the official form (báo cáo theo thể thức): draft, store, download, file.

A thin shell over :mod:`broadcaster.services.reports.drafts` and ``filing``:

* ``/reports/documents/`` — the draft: the period and unit (the reports' filters),
  section I as generated, the form for sections II–III, number, signer and
  recipients (prefilled from what the unit used last). "Xem trước" shows the whole
  document laid out like the paper, with DOCX/PDF built from that preview, stored
  nowhere; "Lưu báo cáo" stores it (stamped and chained) and opens the stored page.
* ``/reports/documents/<id>.docx|.pdf`` — rebuilt from the stored body each time.
* ``/reports/documents/<id>/file`` — files a stored report to the level above.
* ``/reports/documents/filings`` — a province's (the country's) view of who filed.

Drafting and storing: admin, editor, approver; filing: admin, approver; reading:
anyone, always inside their scope.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from broadcaster.errors import BroadcasterError, Conflict, NotFound, PermissionDenied
from broadcaster.models import AdminUnit, Role
from broadcaster.reports import official
from broadcaster.reports.seal import ChainRefused, SealKey
from broadcaster.services import audit
from broadcaster.services.reports import drafts, filing
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import FormErrors, done, error_text
from broadcaster.webapp.common import db as _db
from broadcaster.webapp.common import settings as _settings
from broadcaster.webapp.report_documents_forms import (
    document_query,
    filename,
    read_draft,
    today,
    typed_values,
    values_of,
)
from broadcaster.webapp.reports import stored_in_scope
from broadcaster.webapp.reports_filters import Query, form_context
from broadcaster.webapp.reports_labels import period_label

bp = Blueprint("report_documents", __name__, url_prefix="/reports/documents")

DRAFTERS = (Role.ADMIN, Role.EDITOR, Role.APPROVER)
FILERS = (Role.ADMIN, Role.APPROVER)
MIME = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
STATES = ("on_time", "late", "missing")


def _state_labels() -> dict[str, str]:
    return {"on_time": _("Đúng hạn"), "late": _("Trễ hạn"), "missing": _("Chưa gửi")}


@bp.app_context_processor
def _helpers() -> dict:
    return {"document_actions": _document_actions}


def _document_actions(report_id: int, body: dict) -> dict | None:
    """What the stored report's page offers for its document: downloads, the filing
    button and the filings made of it (None: the report has no document)."""
    if not body.get("document"):
        return None
    unit = body["scope"]["unit"]
    filings = []  # the country's report is filed nowhere
    if unit is not None:
        filings = [f for f in filing.filings_of(_db(), unit["code"]) if f.report_id == report_id]
    return {
        "docx": url_for("report_documents.download", report_id=report_id, fmt="docx"),
        "pdf": url_for("report_documents.download", report_id=report_id, fmt="pdf"),
        "file_url": url_for("report_documents.file", report_id=report_id),
        "can_file": unit is not None and current_user.actor.role in FILERS and not filings,
        "filings": filings,
    }


def _render(fmt: str, body: dict, name: str) -> Response:
    """The DOCX or PDF of ``body``; python-docx and fpdf2 load at the first download."""
    lay = official.layout(body)
    if fmt == "docx":
        from broadcaster.reports.official_docx import to_docx

        data = to_docx(lay)
    else:
        from broadcaster.reports.official_pdf import to_pdf

        data = to_pdf(lay)
    return Response(
        data,
        mimetype=MIME[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _preview(q: Query, draft: drafts.DocumentDraft) -> dict:
    s = _settings()
    return drafts.preview(
        _db(), q.period, q.unit_code, draft, tz=s.tz, deadline_day=s.report_deadline_day
    )


def _draft_page(q: Query, values: dict[str, str], errors: dict[str, str], body=None):
    """The draft page: section I of the period, the form, and — given the previewed
    ``body`` — the whole document. Section I is the same with any draft (it is counted),
    so without a body it is shown from the unit's defaults."""
    paper = None
    if body is None:
        body = _preview(q, drafts.defaults(_db(), q.unit_code, q.period, today=today()))
        lay = official.layout(body)
    else:
        lay = paper = official.layout(body)
    s = _settings()
    return render_template(
        "reports/documents/draft.html",
        query=q,
        args=q.args(),
        period_name=period_label(body["period"]),
        unit_name=q.unit.name if q.unit is not None else _("Toàn quốc"),
        deadline=drafts.deadline(q.period, s.report_deadline_day),
        section_one=lay.sections[0] if lay.sections else None,
        doc=values,
        doc_errors=errors,
        paper=paper,
        official=official,
        filings=body["document"].get("filings"),
        **_filter_context(q),
    ), (400 if errors else 200)


def _filter_context(q: Query | None, args=None, errors=None) -> dict:
    context = form_context(args if args is not None else q.args(), errors or {}, q)
    context["kinds"] = [k for k in context["kinds"] if k[0] != "custom"]
    return context


def _bad_query(exc: FormErrors, template: str = "reports/documents/draft.html"):
    return render_template(
        template, query=None, doc_errors={}, **_filter_context(None, request.values, exc.errors)
    ), 400


@bp.get("/")
@signed_in(*DRAFTERS)
def draft():
    try:
        q = document_query(request.args)
    except FormErrors as exc:
        return _bad_query(exc)
    defaults = drafts.defaults(_db(), q.unit_code, q.period, today=today())
    return _draft_page(q, values_of(defaults), {})


def _posted() -> tuple[Query, drafts.DocumentDraft | None, dict[str, str]]:
    """The posted period and draft; the draft is None with its errors when bad."""
    try:
        q = document_query(request.form)
    except FormErrors as exc:
        abort(400, description=str(exc))
    try:
        return q, read_draft(request.form), {}
    except FormErrors as exc:
        return q, None, exc.errors


@bp.post("/preview")
@signed_in(*DRAFTERS)
def preview():
    q, draft_, errors = _posted()
    if draft_ is None:
        return _draft_page(q, typed_values(request.form), errors)
    try:
        body = _preview(q, draft_)
    except BroadcasterError as exc:
        return _draft_page(q, typed_values(request.form), {"summary": error_text(exc)})
    return _draft_page(q, typed_values(request.form), {}, body)


@bp.post("/preview.<fmt>")
@signed_in(*DRAFTERS)
def preview_download(fmt: str):
    if fmt not in MIME:
        abort(404)
    q, draft_, errors = _posted()
    if draft_ is None:
        return _draft_page(q, typed_values(request.form), errors)
    body = _preview(q, draft_)
    return _render(fmt, body, filename(body, fmt, preview=True))


@bp.post("/store")
@signed_in(*DRAFTERS)
def store():
    q, draft_, errors = _posted()
    if draft_ is None:
        return _draft_page(q, typed_values(request.form), errors)
    db, s = _db(), _settings()
    try:
        info = drafts.store_document(
            db,
            q.period,
            q.unit_code,
            draft_,
            key=SealKey.from_secret(s.secret_key),
            generated_by=current_user.actor.label,
            tz=s.tz,
            deadline_day=s.report_deadline_day,
        )
    except ChainRefused as exc:  # the signed head is not this instance's: store nothing
        db.rollback()
        abort(409, description=exc.message)
    except BroadcasterError as exc:
        db.rollback()
        return _draft_page(q, typed_values(request.form), {"summary": error_text(exc)})
    audit.record(
        db,
        current_user.actor,
        "report.document.store",
        "compliance_report",
        info.id,
        after={"period": q.period.key, "unit": q.unit_code, "sha256": info.body_sha256},
    )
    db.commit()
    done(_("Đã lưu báo cáo số %(number)s.", number=info.id))
    return redirect(url_for("reports.stored_page", report_id=info.id))


@bp.get("/<int:report_id>.<fmt>")
@signed_in()
def download(report_id: int, fmt: str):
    if fmt not in MIME:
        abort(404)
    _info, body = stored_in_scope(report_id)
    if not body.get("document"):
        abort(404, description=_("Báo cáo này chưa lập theo thể thức (không có phần văn bản)."))
    return _render(fmt, body, filename(body, fmt))


@bp.post("/<int:report_id>/file")
@signed_in(*FILERS)
def file(report_id: int):
    stored_in_scope(report_id)  # 403 outside the scope, 404 unknown
    db, s = _db(), _settings()
    try:
        made = filing.file_report(
            db,
            report_id,
            scope_unit_code=current_user.scope_code,
            filed_by=current_user.actor.label,
            deadline_day=s.report_deadline_day,
            tz=s.tz,
        )
    except BroadcasterError as exc:
        db.rollback()
        code = 400
        if isinstance(exc, PermissionDenied):
            code = 403
        elif isinstance(exc, Conflict):
            code = 409
        elif isinstance(exc, NotFound):
            code = 404
        abort(code, description=error_text(exc))
    audit.record(
        db,
        current_user.actor,
        "report.file",
        "compliance_report",
        report_id,
        after={
            "unit": made.unit_code,
            "to": made.parent_code,
            "period": f"{made.period_kind} {made.period_key}",
            "version": made.version,
            "on_time": made.on_time,
        },
    )
    db.commit()
    if made.on_time:
        done(_("Đã nộp báo cáo lên cấp trên (lần %(version)s, đúng hạn).", version=made.version))
    else:
        done(_("Đã nộp báo cáo lên cấp trên (lần %(version)s, trễ hạn).", version=made.version))
    return redirect(url_for("reports.stored_page", report_id=report_id))


@bp.get("/filings")
@signed_in()
def filings():
    try:
        q = document_query(request.args)
    except FormErrors as exc:
        return _bad_query(exc, "reports/documents/filings.html")
    s = _settings()
    db = _db()
    if q.unit is not None and q.unit.level >= 2:  # a commune: its own filings
        return render_template(
            "reports/documents/filings.html",
            query=q,
            args=q.args(),
            status=None,
            own=filing.filings_of(db, q.unit.code),
            unit_name=q.unit.name,
            **_filter_context(q),
        )
    status = filing.filing_status(
        db, q.period, q.unit_code, deadline_day=s.report_deadline_day, tz=s.tz
    )
    return render_template(
        "reports/documents/filings.html",
        query=q,
        args=q.args(),
        status=status,
        own=None,
        unit_name=q.unit.name if q.unit is not None else _("Toàn quốc"),
        period_name=period_label(q.period.as_dict()),
        states=_state_labels(),
        can_draft=current_user.actor.role in DRAFTERS,
        **_filter_context(q),
    )


def dashboard_reminders(day) -> list[dict]:
    """The filing reminders of a commune user's dashboard: the unfiled periods whose
    deadline is near or just past, each with its text and the draft's link."""
    code = current_user.scope_code
    if not code:
        return []
    db = _db()
    level = db.scalar(select(AdminUnit.level).where(AdminUnit.code == code))
    if level is None or level < 2:
        return []
    s = _settings()
    out = []
    for r in filing.reminders(
        db,
        code,
        today=day,
        cutoff_day=s.report_cutoff_day,
        deadline_day=s.report_deadline_day,
        remind_days=s.report_remind_days,
    ):
        if r.filed:
            continue
        name = period_label(r.period.as_dict())
        name = name[:1].lower() + name[1:]
        deadline = f"{r.deadline:%d/%m/%Y}"
        if r.days_left > 0:
            text = _(
                "Báo cáo %(period)s phải gửi trước %(deadline)s (còn %(n)s ngày).",
                period=name,
                deadline=deadline,
                n=r.days_left,
            )
        elif r.days_left == 0:
            text = _(
                "Báo cáo %(period)s phải gửi trước %(deadline)s (hôm nay là hạn cuối).",
                period=name,
                deadline=deadline,
            )
        else:
            text = _(
                "Báo cáo %(period)s đã quá hạn %(deadline)s (%(n)s ngày), chưa gửi.",
                period=name,
                deadline=deadline,
                n=-r.days_left,
            )
        args = {"kind": r.period.kind, "of": r.period.key, "cutoff": str(r.period.cutoff_day)}
        link = None
        if current_user.actor.role in DRAFTERS:
            link = url_for("report_documents.draft", unit=code, **args)
        out.append({"text": text, "url": link, "late": r.days_left < 0})
    return out
