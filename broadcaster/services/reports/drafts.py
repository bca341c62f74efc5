"""Drafting the report in the official form: what the official types, checked; the
document section of the stored body (format in broadcaster/reports/official.py); the
fields each unit used last, remembered.

The narrative (sections II and III) and the document's metadata go inside the stamped,
chained body, so ``report verify`` proves them with the figures.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster import days
from broadcaster.db import utcnow
from broadcaster.errors import InvalidInput, NotFound, Words
from broadcaster.models import AdminUnit, ComplianceReport, ReportDocumentDefaults
from broadcaster.reports import compliance, store
from broadcaster.reports.official import DOCUMENT_FORMAT
from broadcaster.reports.periods import Period
from broadcaster.reports.seal import SealKey
from broadcaster.reports.store import StoredInfo

COUNTRY = "VN"  # the remembered fields' key for the country's reports
SUMMARY = "Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở"
# the country's issuer until an official changes it (then remembered like any unit's)
COUNTRY_ISSUER = ("BỘ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "CỤC THÔNG TIN CƠ SỞ")
COUNTRY_PLACE = "Hà Nội"
NARRATIVE_MAX = 30_000
RECIPIENTS_MAX = 30
AUTHORITY_MAX = 4
_LINE_MAX = 200
# letters (Vietnamese ones too) and digits, "-" and "/" only between them: BC-UBND/VHXH
_SYMBOL = re.compile(r"[^\W_]+(?:[-/][^\W_]+)*")
_NUMBER = re.compile(r"[0-9]{1,10}", re.ASCII)
REMEMBERED = (
    "issuer_parent",
    "issuer_name",
    "symbol",
    "place",
    "signer_authority",
    "signer_title",
    "signer_name",
    "recipients",
)
_ROMAN = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class DocumentDraft:
    """What the official types or chooses (all text NFC, stripped)."""

    issuer_parent: str
    issuer_name: str
    number: str
    symbol: str
    place: str
    date: date
    summary: str
    difficulties: str
    proposals: str
    signer_authority: tuple[str, ...]
    signer_title: str
    signer_name: str
    recipients: tuple[str, ...]


def deadline(period: Period, deadline_day: int) -> date:
    """The first ``deadline_day`` strictly after the period's last day."""
    end = period.end
    if end.day < deadline_day:
        return end.replace(day=deadline_day)
    first_next = (end.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next.replace(day=deadline_day)


def period_words(period: Period) -> str:
    """The period as the summary line says it: "tháng 12 năm 2026", "quý IV năm 2026"."""
    key = period.key
    if period.kind == "month":
        year, month = key.split("-")
        return f"tháng {int(month)} năm {year}"
    if period.kind == "quarter":
        year, quarter = key.split("-Q")
        return f"quý {_ROMAN[int(quarter) - 1]} năm {year}"
    if period.kind == "half":
        year, half = key.split("-H")
        return f"6 tháng {'đầu' if half == '1' else 'cuối'} năm {year}"
    if period.kind == "year":
        return f"năm {key}"
    return f"từ ngày {period.start:%d/%m/%Y} đến ngày {period.end:%d/%m/%Y}"


def _kind_word(unit: AdminUnit) -> str:
    kind = (unit.kind or "").strip()
    return "thành phố" if kind.startswith("thành phố") else kind


def full_name(unit: AdminUnit) -> str:
    """The unit's name with its kind: "Xã Đậu Liêu", "Tỉnh Hà Tĩnh"."""
    kind = _kind_word(unit)
    if not kind or unit.name.lower().startswith(kind.lower()):
        return unit.name
    return f"{kind[:1].upper()}{kind[1:]} {unit.name}"


def bare_name(unit: AdminUnit) -> str:
    """The unit's name without its kind: "Đậu Liêu"."""
    kind = _kind_word(unit)
    if kind and unit.name.lower().startswith(kind.lower() + " "):
        return unit.name[len(kind) + 1 :].strip()
    return unit.name


def _unit(session: Session, unit_code: str | None) -> AdminUnit | None:
    if unit_code is None:
        return None
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code))
    if unit is None:
        raise NotFound(
            "Không có đơn vị hành chính nào mã '{code}'.", field="unit_code", code=unit_code
        )
    return unit


def _derived(session: Session, unit: AdminUnit | None) -> dict:
    """The document fields a unit starts with, before anything is remembered."""
    if unit is None:
        parent, name = COUNTRY_ISSUER
        return dict(
            issuer_parent=parent,
            issuer_name=name,
            symbol="BC-TTCS",
            place=COUNTRY_PLACE,
            signer_authority=("KT. CỤC TRƯỞNG",),
            signer_title="PHÓ CỤC TRƯỞNG",
            signer_name="",
            recipients=("Lãnh đạo Bộ (để b/c);", "Lưu: VT."),
        )
    parent = unit.parent
    # NĐ 30/2020: a People's Committee has no managing body above its name in the heading
    # ("ỦY BAN NHÂN DÂN / XÃ …"); an office that issues under one types it once
    issuer_parent = ""
    recipients = (
        (f"UBND {full_name(parent)} (b/c);", "Lưu: VT.")
        if parent is not None
        else ("Bộ Văn hóa, Thể thao và Du lịch (b/c);", "Lưu: VT.")
    )
    return dict(
        issuer_parent=issuer_parent,
        issuer_name=f"ỦY BAN NHÂN DÂN {full_name(unit).upper()}",
        symbol="BC-UBND",
        place=bare_name(unit),
        signer_authority=("TM. ỦY BAN NHÂN DÂN",),
        signer_title="CHỦ TỊCH",
        signer_name="",
        recipients=recipients,
    )


def _remembered(session: Session, unit_code: str | None) -> dict | None:
    row = session.get(ReportDocumentDefaults, unit_code or COUNTRY)
    if row is None:
        return None
    try:
        stored = json.loads(row.fields)
    except ValueError:
        return None
    out = {}
    for name in REMEMBERED:
        if name in stored:
            value = stored[name]
            out[name] = tuple(value) if isinstance(value, list) else value
    return out


def defaults(session: Session, unit_code: str | None, period: Period, *, today: date):
    """The draft an official starts from: the unit's last stored document's issuer,
    symbol, place, signer and recipients (else derived from the unit); no number, no
    narrative, today's date and the period's summary line."""
    unit = _unit(session, unit_code)
    fields = _derived(session, unit) | (_remembered(session, unit_code) or {})
    return DocumentDraft(
        number="",
        date=today,
        summary=f"{SUMMARY} {period_words(period)}",
        difficulties="",
        proposals="",
        **fields,
    )


def remember(session: Session, unit_code: str | None, draft: DocumentDraft) -> None:
    """Keep the draft's lasting fields as the unit's defaults."""
    fields = {name: getattr(draft, name) for name in REMEMBERED}
    text = json.dumps(
        {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
        ensure_ascii=False,
    )
    row = session.get(ReportDocumentDefaults, unit_code or COUNTRY)
    if row is None:
        session.add(ReportDocumentDefaults(unit_code=unit_code or COUNTRY, fields=text))
    else:
        row.fields = text
        row.updated_at = utcnow()
    session.flush()


# -- what the official typed ---------------------------------------------------------


def _text(value: object) -> str:
    text = unicodedata.normalize("NFC", str(value or ""))
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _lines(value: object, *, strip_dash: bool = False) -> tuple[str, ...]:
    out = []
    for line in _text(value).split("\n"):
        line = line.strip()
        if strip_dash and line[:1] in ("-", "–", "•"):
            line = line[1:].strip()
        if line:
            out.append(line)
    return tuple(out)


_LABELS = {
    "issuer_parent": Words("Cơ quan chủ quản"),
    "issuer_name": Words("Cơ quan ban hành"),
    "number": Words("Số"),
    "symbol": Words("Ký hiệu"),
    "place": Words("Địa danh"),
    "date": Words("Ngày ban hành"),
    "summary": Words("Trích yếu"),
    "difficulties": Words("Khó khăn, vướng mắc"),
    "proposals": Words("Đề xuất, kiến nghị"),
    "signer_authority": Words("Thẩm quyền ký"),
    "signer_title": Words("Chức vụ người ký"),
    "signer_name": Words("Họ tên người ký"),
    "recipients": Words("Nơi nhận"),
}


def _too_long(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(
            "{label} dài {length} ký tự, quá {limit}: hãy rút gọn.",
            field=name,
            label=_LABELS[name],
            length=len(value),
            limit=limit,
        )


def _required(name: str, value: str) -> None:
    if not value:
        raise InvalidInput("Cần nhập {label}.", field=name, label=_LABELS[name])


def check(draft: DocumentDraft) -> DocumentDraft:
    """Refuse a draft that cannot be stored (a signer without a name, a bad symbol …)."""
    for name in ("issuer_parent", "issuer_name", "place", "summary", "signer_title"):
        _too_long(name, getattr(draft, name), 500 if name == "summary" else _LINE_MAX)
    _required("issuer_name", draft.issuer_name)
    if draft.number and not _NUMBER.fullmatch(draft.number):
        raise InvalidInput(
            "Số văn bản chỉ gồm chữ số (vd 12), hoặc để trống để viết tay khi ký; "
            "không phải '{number}'.",
            field="number",
            number=draft.number,
        )
    _required("symbol", draft.symbol)
    if len(draft.symbol) > 40 or not _SYMBOL.fullmatch(draft.symbol):
        raise InvalidInput(
            "Ký hiệu '{symbol}' không hợp lệ: chỉ gồm chữ cái, chữ số, dấu '-' và '/' "
            "ở giữa (vd BC-UBND, BC-UBND/VHXH).",
            field="symbol",
            symbol=draft.symbol,
        )
    _required("place", draft.place)
    _required("summary", draft.summary)
    for name in ("difficulties", "proposals"):
        _too_long(name, getattr(draft, name), NARRATIVE_MAX)
    if len(draft.signer_authority) > AUTHORITY_MAX:
        raise InvalidInput(
            "Thẩm quyền ký có nhiều nhất {limit} dòng.",
            field="signer_authority",
            limit=AUTHORITY_MAX,
        )
    for line in draft.signer_authority:
        _too_long("signer_authority", line, _LINE_MAX)
    _required("signer_title", draft.signer_title)
    _too_long("signer_name", draft.signer_name, _LINE_MAX)
    _required("signer_name", draft.signer_name)
    if len(draft.recipients) > RECIPIENTS_MAX:
        raise InvalidInput(
            "Nơi nhận có {count} dòng, quá {limit}.",
            field="recipients",
            count=len(draft.recipients),
            limit=RECIPIENTS_MAX,
        )
    for line in draft.recipients:
        _too_long("recipients", line, _LINE_MAX)
    return draft


def parse_draft(form: Mapping[str, str]) -> DocumentDraft:
    """A draft from a form (keys: the :class:`DocumentDraft` fields; signer_authority and
    recipients one per line; date YYYY-MM-DD or DD/MM/YYYY), checked."""
    raw_date = _text(form.get("date"))
    if not raw_date:
        raise InvalidInput("Cần nhập {label}.", field="date", label=_LABELS["date"])
    draft = DocumentDraft(
        issuer_parent=_text(form.get("issuer_parent")),
        issuer_name=_text(form.get("issuer_name")),
        number=_text(form.get("number")),
        symbol=_text(form.get("symbol")).upper(),
        place=_text(form.get("place")),
        date=days.parse_day(raw_date, _LABELS["date"], field="date"),
        summary=" ".join(_text(form.get("summary")).split()),
        difficulties=_text(form.get("difficulties")),
        proposals=_text(form.get("proposals")),
        signer_authority=tuple(line.upper() for line in _lines(form.get("signer_authority"))),
        signer_title=_text(form.get("signer_title")).upper(),
        signer_name=" ".join(_text(form.get("signer_name")).split()),
        recipients=_lines(form.get("recipients"), strip_dash=True),
    )
    return check(draft)


def as_form(draft: DocumentDraft) -> dict[str, str]:
    """The draft as a form's values (the inverse of :func:`parse_draft`)."""
    out = {k: v for k, v in asdict(draft).items()}
    out["date"] = draft.date.isoformat()
    out["signer_authority"] = "\n".join(draft.signer_authority)
    out["recipients"] = "\n".join(draft.recipients)
    return out


def with_changes(draft: DocumentDraft, **changes) -> DocumentDraft:
    """The draft with some fields replaced (the CLI's options), normalised as a form's."""
    form = as_form(draft) | {k: v for k, v in changes.items() if v is not None}
    return parse_draft(form)


# -- the stored body's document section ------------------------------------------------


def _unit_of(body: dict) -> dict | None:
    return body["scope"]["unit"]


def document_section(
    session: Session, body: dict, draft: DocumentDraft, *, deadline_day: int, now: datetime
) -> dict:
    """The body's ``document`` dict; a province's (the country's) report also holds the
    filings of the units directly below it."""
    from broadcaster.services.reports.filing import filings_section

    unit = _unit_of(body)
    filings = None
    if unit is None or unit["level"] == 1:
        period = store.period_of(body)
        filings = filings_section(
            session,
            period,
            unit["code"] if unit else None,
            deadline_day=deadline_day,
            tz=ZoneInfo(body["timezone"]),
        )
    return {
        "format": DOCUMENT_FORMAT,
        "issuer": {"parent": draft.issuer_parent, "name": draft.issuer_name},
        "number": draft.number,
        "symbol": draft.symbol,
        "place": draft.place,
        "date": draft.date.isoformat(),
        "summary": draft.summary,
        "difficulties": draft.difficulties,
        "proposals": draft.proposals,
        "signer": {
            "authority": list(draft.signer_authority),
            "title": draft.signer_title,
            "name": draft.signer_name,
        },
        "recipients": list(draft.recipients),
        "filings": filings,
    }


def preview(
    session: Session,
    period: Period,
    unit_code: str | None,
    draft: DocumentDraft,
    *,
    tz: ZoneInfo,
    deadline_day: int,
    now: datetime | None = None,
) -> dict:
    """The report with its document, as it would be stored now: NOT stored."""
    now = now or utcnow()
    report = compliance.compute(session, period, unit_code=unit_code, as_of=now, tz=tz)
    report["document"] = document_section(
        session, report, draft, deadline_day=deadline_day, now=now
    )
    return report


def store_document(
    session: Session,
    period: Period,
    unit_code: str | None,
    draft: DocumentDraft,
    *,
    key: SealKey,
    generated_by: str,
    tz: ZoneInfo,
    deadline_day: int,
    now: datetime | None = None,
) -> StoredInfo:
    """Compute, add the document, store it (stamped, chained), and remember the draft's
    lasting fields for the unit. The caller commits."""
    check(draft)
    report = preview(session, period, unit_code, draft, tz=tz, deadline_day=deadline_day, now=now)
    info = store.store(session, report, key=key, generated_by=generated_by)
    remember(session, unit_code, draft)
    return info


def has_document(body: dict) -> bool:
    return isinstance(body.get("document"), dict)


def stored_documents(
    session: Session, *, unit_code: str | None = None, limit: int = 100
) -> list[StoredInfo]:
    """Stored reports that carry a document (newest first); ``unit_code`` None: every unit."""
    q = (
        select(ComplianceReport)
        .where(ComplianceReport.body.contains(f'"{DOCUMENT_FORMAT}"'))
        .order_by(ComplianceReport.id.desc())
        .limit(limit)
    )
    if unit_code is not None:
        q = q.where(ComplianceReport.unit_code == unit_code)
    return [store._info(r) for r in session.scalars(q)]
