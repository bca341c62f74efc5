"""The report in the official form (báo cáo theo thể thức văn bản hành chính).

A stored compliance report may carry a ``document`` section: what the official
wrote and chose for the administrative document (Nghị định 30/2020/NĐ-CP, Phụ
lục I) — the issuing body, number and symbol, place and date, the summary line,
sections II and III, the signer and the recipients — and, for a province's or
the country's report, the filings of the units below it. The section is part of
the stamped, chained body, so ``report verify`` proves it with the figures.

:func:`layout` turns a stored body into a :class:`Layout`: every line of the
document as text, in order, with the tables of section I and the appendix
already formatted. The DOCX (reports/official_docx.py) and the PDF
(reports/official_pdf.py) draw the same :class:`Layout`; neither reads the
report's JSON itself, so the two cannot disagree on a word or a figure.

The ``document`` section (format ``broadcaster.report-document/1``)::

    {
      "format": "broadcaster.report-document/1",
      "issuer": {"parent": str, "name": str},   # printed upper case; "" parent: none
      "number": str,                # "" : left blank, written by hand when signed
      "symbol": str,                # "BC-UBND" (upper case, letters incl. Đ, digits, - and /)
      "place": str,                 # "Đậu Liêu"
      "date": "YYYY-MM-DD",         # the document's date
      "summary": str,               # "Kết quả tuyên truyền … tháng 12 năm 2026"
      "difficulties": str,          # section II as written (NFC); "" is printed "Không có."
      "proposals": str,             # section III as written; "" is printed "Không có."
      "signer": {"authority": [str], "title": str, "name": str},
      "recipients": [str],          # "Như trên;", "UBND tỉnh (b/c);", "Lưu: VT."
      "filings": null | {           # a province's (the country's) report: the units below
        "deadline": "YYYY-MM-DD",
        "units": [{"code", "name", "report_id", "body_sha256", "filed_at", "on_time": bool,
                   "totals": Counts + {"stations"} + RelayCounts}],
        "missing": [{"code", "name"}],
        "aggregate": Counts + {"stations", "units"} + RelayCounts   # the sum of "units"
      }
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from broadcaster.errors import InvalidInput

DOCUMENT_FORMAT = "broadcaster.report-document/1"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
KIND = "BÁO CÁO"
NONE_WRITTEN = "Không có."
RECIPIENTS_LABEL = "Nơi nhận:"


@dataclass(frozen=True)
class Para:
    """A paragraph of running text (justified, first line indented unless ``indent`` is off)."""

    text: str
    bold: bool = False
    italic: bool = False
    indent: bool = True


@dataclass(frozen=True)
class Table:
    """A table of section I or the appendix: every cell already formatted as text."""

    title: str  # "Bảng 1. Kết quả theo chiến dịch" (printed above the table, bold)
    columns: list[str]
    rows: list[list[str]]
    total: list[str] | None = None  # the "Tổng cộng" row, printed bold
    widths: list[float] = field(default_factory=list)  # relative, one per column
    numeric: list[bool] = field(default_factory=list)  # right-aligned columns


Block = Para | Table


@dataclass(frozen=True)
class Section:
    heading: str  # "I. KẾT QUẢ THỰC HIỆN" (bold, upper case)
    blocks: list[Block]


@dataclass(frozen=True)
class Layout:
    """Every line of the official document, in order, as the renderers draw it."""

    issuer_parent: str  # "" or the managing body, upper case (may hold "\n")
    issuer_name: str  # the issuing body, upper case, bold (may hold "\n")
    number_line: str  # "Số: 12/BC-UBND" or "Số:      /BC-UBND"
    place_date: str  # "Đậu Liêu, ngày 05 tháng 12 năm 2026" (italic)
    kind: str  # "BÁO CÁO"
    summary: str  # the summary line under the kind (bold)
    intro: list[Para]  # the paragraph(s) before section I ("Thực hiện …")
    sections: list[Section]  # I, II, III
    appendix: Section | None  # "PHỤ LỤC …": tables after the signature, on a new page
    signer_authority: list[str]  # ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"] (bold, upper)
    signer_title: str  # "PHÓ CHỦ TỊCH" (bold, upper)
    signer_name: str  # bold, below the space for the signature and seal
    recipients: list[str]  # each printed "- …" at 11 pt
    # the file's properties: title, subject, author, keywords; and the moment it stands
    # for (the report's generated_at), used as both created and modified so a rebuild
    # gives the same bytes
    title: str = ""
    subject: str = ""
    author: str = ""
    keywords: str = ""
    created: datetime | None = None


# The bodies whose name stands on its own line, the unit under it (NĐ 30/2020, Phụ lục I:
# "ỦY BAN NHÂN DÂN" / "XÃ ĐẬU LIÊU"), so no renderer wraps a name in the middle.
_BODIES = ("ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN", "HỘI ĐỒNG NHÂN DÂN")


def _heading_lines(name: str) -> str:
    if "\n" in name:
        return name  # the official broke it where they wanted
    for body in _BODIES:
        if name.startswith(body + " "):
            return f"{body}\n{name[len(body) + 1 :]}"
    return name


def layout(body: dict) -> Layout:
    """The official document of a stored body that has a ``document`` section.

    Raises :class:`~broadcaster.errors.InvalidInput` for a body without one (a data
    sheet stored before, or by the periodic job) or of another format."""
    from broadcaster.reports import official_content as words  # both build on the above
    from broadcaster.reports.export import prepared
    from broadcaster.reports.official_appendix import appendix_tables

    body = prepared(body)  # the compliance format checked, every string NFC
    document = body.get("document")
    if not isinstance(document, dict):
        raise InvalidInput(
            "Báo cáo đã lưu này không có phần văn bản hành chính (số, ký hiệu, người ký…): "
            "hãy soạn và lưu báo cáo theo mẫu văn bản cho kỳ này.",
            field="document",
        )
    if document.get("format") != DOCUMENT_FORMAT:
        raise InvalidInput(
            "Không đọc được phần văn bản định dạng {found!r}: chỉ hỗ trợ {supported}.",
            field="document",
            found=document.get("format"),
            supported=DOCUMENT_FORMAT,
        )
    issuer = document.get("issuer") or {}
    issuer_name = _heading_lines((issuer.get("name") or "").upper())
    symbol = document.get("symbol") or ""
    number = words.number_line(document.get("number") or "", symbol)
    try:
        day = date.fromisoformat(document.get("date") or "")
    except (TypeError, ValueError):
        raise InvalidInput(
            "Phần văn bản của báo cáo không có ngày ban hành hợp lệ ({found!r}).",
            field="date",
            found=document.get("date"),
        ) from None
    place = (document.get("place") or "").strip()
    place_date = f"{place}, {words.nd30_date(day)}" if place else words.nd30_date(day).capitalize()
    period = body.get("period") or {}
    in_words = words.period_words(period)
    intro = Para(
        "Thực hiện nhiệm vụ thông tin, tuyên truyền trên hệ thống truyền thanh cơ sở, "
        f"{words.subject(body, issuer.get('name') or '')} báo cáo kết quả {in_words}"
        f"{words.period_span(period)} như sau:"
    )
    sections = [
        Section("I. KẾT QUẢ THỰC HIỆN", words.results(body, document)),
        Section("II. KHÓ KHĂN, VƯỚNG MẮC", words.narrative(document.get("difficulties") or "")),
        Section("III. ĐỀ XUẤT, KIẾN NGHỊ", words.narrative(document.get("proposals") or "")),
    ]
    reference = number.removeprefix("Số:")  # " 12/BC-UBND", or the blank to fill in
    appendix = Section(
        "PHỤ LỤC",
        [
            Para("SỐ LIỆU CHI TIẾT KẾT QUẢ TUYÊN TRUYỀN", bold=True, indent=False),
            Para(
                f"(Kèm theo Báo cáo số{reference} ngày {day:%d/%m/%Y} của "
                f"{words.subject(body, issuer.get('name') or '')})",
                italic=True,
                indent=False,
            ),
            *appendix_tables(body, document),
        ],
    )
    signer = document.get("signer") or {}
    summary = document.get("summary") or ""
    unit = (body.get("scope") or {}).get("unit")
    return Layout(
        issuer_parent=(issuer.get("parent") or "").upper(),
        issuer_name=issuer_name,
        number_line=number,
        place_date=place_date,
        kind=KIND,
        summary=summary,
        intro=[intro],
        sections=sections,
        appendix=appendix,
        signer_authority=[line.upper() for line in signer.get("authority") or []],
        signer_title=(signer.get("title") or "").upper(),
        signer_name=signer.get("name") or "",
        recipients=list(document.get("recipients") or []),
        title=(f"Báo cáo số{reference}: " if document.get("number") else "Báo cáo: ") + summary,
        subject=f"{body.get('title') or ''}, {in_words}, {unit['name'] if unit else 'toàn quốc'}",
        author=words.one_line(issuer_name),
        keywords="; ".join(
            part
            for part in (
                "báo cáo",
                "truyền thanh cơ sở",
                f"{period.get('kind')}:{period.get('key')}",
                unit["code"] if unit else "VN",
            )
            if part
        ),
        created=datetime.fromisoformat(body["generated_at"]),
    )
