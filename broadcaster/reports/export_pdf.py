"""Compliance reports as PDF (fpdf2, DejaVu Sans): header, tables, charts, signatures."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from datetime import datetime

from fpdf import FPDF, FontFace

from broadcaster.reports import charts
from broadcaster.reports.export import (
    COUNT_FIELDS,
    COUNT_LABELS,
    RELAY_LABELS,
    VN_ZONE,
    prepared,
    unit_name,
    vn_date,
    vn_datetime,
)
from broadcaster.reports.fields import RELAY_FIELDS, has_relays, vn_number

PDF_FONT = "DejaVu"
PDF_MAX_COMMUNES = 200
_HEADING = FontFace(emphasis="BOLD", fill_color=(226, 234, 245))
_PDF_COUNTS = ("required", "due", "on_time", "late", "partial", "failed", "missed")
_PDF_PCTS = ("compliance_pct", "on_time_pct")


class _ReportPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(PDF_FONT, "", str(charts.FONT_REGULAR))
        self.add_font(PDF_FONT, "B", str(charts.FONT_BOLD))
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=15)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(PDF_FONT, size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text} · Trang {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)


def _pdf_num(value) -> str:
    if value is None:
        return "–"
    return vn_number(value, 1)


def _pdf_heading(pdf: FPDF, text: str) -> None:
    if pdf.will_page_break(25):  # never leave a title alone at the foot of a page
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(PDF_FONT, "B", 11)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _pdf_line(pdf: FPDF, text: str, size: float = 9, bold: bool = False) -> None:
    pdf.set_font(PDF_FONT, "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


def _pdf_table(
    pdf: FPDF, headers: list[str], rows: Iterable[list[str]], widths, left, *, together=False
):
    """A table whose first ``left`` columns are text (or per-column alignments), numbers
    right-aligned; headings repeat on every page. A short table (``together``) starts on
    the next page rather than split."""
    pdf.set_font(PDF_FONT, size=7.5)
    if together:
        rows = list(rows)
        height = _table_height(pdf, len(rows) + 1)
        if pdf.will_page_break(height) and height < pdf.eph:
            pdf.add_page()
            pdf.set_font(PDF_FONT, size=7.5)
    align = left if isinstance(left, list) else ["LEFT"] * left + ["RIGHT"] * (len(headers) - left)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        headings_style=_HEADING,
        line_height=pdf.font_size * 1.5,
        padding=_PADDING,
        repeat_headings=1,
        width=pdf.epw,
    ) as table:
        table.row(headers)
        for row in rows:
            table.row(row)
    pdf.ln(2)


def _table_height(pdf: FPDF, rows: int) -> float:
    """The height of ``rows`` one-line rows at the table font, with a line to spare."""
    return (rows + 1) * (pdf.font_size * 1.5 + 2 * _PADDING[0])


def _pdf_counts(row: dict, first: list[str]) -> list[str]:
    return [*first, *(_pdf_num(row.get(key)) for key in (*_PDF_COUNTS, *_PDF_PCTS))]


_PADDING = (0.6, 1)  # mm above and below, left and right of a table cell's text
_COUNT_HEADERS = [COUNT_LABELS[key] for key in (*_PDF_COUNTS, *_PDF_PCTS)]
_COUNT_WIDTHS = [13] * len(_PDF_COUNTS) + [15, 15]


def period_line(period: dict) -> str:
    """The period as the header says it: its name, then its days and cut-off day — except
    a range of days, whose name already is its days (and has no cut-off day)."""
    days = f"từ {vn_date(period.get('from'))} đến {vn_date(period.get('to'))}"
    if period.get("kind") == "custom":
        return days[0].upper() + days[1:]
    return f"{period.get('label')} ({days}; ngày chốt số liệu: {period.get('cutoff_day')})"


def _pdf_header(pdf: FPDF, report: dict) -> None:
    period, stamp = report["period"], report.get("stamp") or {}
    pdf.set_font(PDF_FONT, "B", 15)
    pdf.multi_cell(0, 8, report.get("title") or "", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(PDF_FONT, "B", 12)
    pdf.multi_cell(0, 7, unit_name(report), align="C", new_x="LMARGIN", new_y="NEXT")
    campaign = (report.get("scope") or {}).get("campaign")
    if campaign:
        _pdf_line(pdf, f"Chiến dịch: {campaign.get('name')}", 10, bold=True)
    pdf.ln(2)
    _pdf_line(pdf, f"Kỳ báo cáo: {period_line(period)}", 10)
    when = vn_datetime(report.get("generated_at"), report)
    zone = report.get("timezone") or VN_ZONE
    zone = "giờ Việt Nam" if zone == VN_ZONE else f"giờ {zone}"
    _pdf_line(pdf, f"Số liệu lập lúc: {when} ({zone})", 10)
    rules = report.get("rules") or {}
    _pdf_line(
        pdf,
        f"Đúng giờ: phát từ {rules.get('early_minutes')} phút trước giờ dự kiến đến hết "
        f"khung giờ cộng {rules.get('grace_minutes')} phút. Tỷ lệ thực hiện = "
        "(đúng giờ + trễ giờ) / số lượt đã đến hạn.",
        8,
    )
    _pdf_line(
        pdf,
        f"Dấu chuỗi nhật ký (SHA-256): {stamp.get('heads_sha256') or ''} — "
        f"{vn_number(stamp.get('stations'))} đài, {vn_number(stamp.get('rows'))} bản ghi",
        8,
    )


def _pdf_totals(pdf: FPDF, report: dict) -> None:
    _pdf_heading(pdf, "Tổng hợp số liệu")
    totals = report["totals"]
    pairs = [(COUNT_LABELS[key], _pdf_num(totals.get(key))) for key in ("stations", *COUNT_FIELDS)]
    if has_relays(report):
        pairs += [(RELAY_LABELS[key], _pdf_num(totals.get(key))) for key in RELAY_FIELDS]
    half = (len(pairs) + 1) // 2
    rows = []
    for index in range(half):
        right = pairs[index + half] if index + half < len(pairs) else ("", "")
        rows.append([*pairs[index], *right])
    headers, align = ["Chỉ tiêu", "Số liệu"] * 2, ["LEFT", "RIGHT"] * 2
    _pdf_table(pdf, headers, rows, (3, 1.2, 3, 1.2), align)


def _pdf_chart(pdf: FPDF, png: bytes, keep_with: float = 0.0) -> None:
    """A chart (it carries its own title) across the page width, on the same page as the
    next ``keep_with`` millimetres when both fit on one."""
    width, height = struct.unpack(">II", png[16:24])  # from the PNG's IHDR chunk
    needed = pdf.epw * height / width + 6
    together = needed + keep_with < pdf.eph  # both fit on one page
    if pdf.will_page_break(needed + keep_with if together else needed):
        pdf.add_page()
    pdf.ln(4)
    pdf.image(io.BytesIO(png), w=pdf.epw)
    pdf.ln(2)


def _pdf_levels(pdf: FPDF, report: dict) -> None:
    provinces = report.get("provinces") or []
    if len(provinces) > 1:
        _pdf_heading(pdf, "Theo tỉnh, thành phố")
        rows = (_pdf_counts(row, [row["code"], row["name"]]) for row in provinces)
        _pdf_table(pdf, ["Mã", "Tỉnh", *_COUNT_HEADERS], rows, [12, 36, *_COUNT_WIDTHS], 2)
    communes = report.get("communes") or []
    if communes:
        _pdf_heading(pdf, "Theo xã, phường")
        shown = communes[:PDF_MAX_COMMUNES]
        rows = (_pdf_counts(row, [row["code"], row["name"]]) for row in shown)
        _pdf_table(pdf, ["Mã", "Xã/phường", *_COUNT_HEADERS], rows, [12, 36, *_COUNT_WIDTHS], 2)
        if len(communes) > len(shown):
            more = vn_number(len(communes) - len(shown))
            _pdf_line(pdf, f"Còn {more} xã/phường nữa: xem đầy đủ trong tệp XLSX hoặc CSV.")
    campaigns = report.get("campaigns") or []
    if campaigns:
        _pdf_heading(pdf, "Theo chiến dịch")
        rows = (
            _pdf_counts(row, [row["name"], _pdf_num(row.get("times_per_week"))])
            for row in campaigns
        )
        headers = ["Chiến dịch", "Số lần/tuần", *_COUNT_HEADERS]
        _pdf_table(pdf, headers, rows, [34, 14, *_COUNT_WIDTHS], 1)
    weeks = report.get("weeks") or []
    if weeks:
        _pdf_heading(pdf, "Theo tuần")
        rows = (
            _pdf_counts(row, [row["week"], f"{vn_date(row['from'])}–{vn_date(row['to'])}"])
            for row in weeks
        )
        _pdf_table(
            pdf, ["Tuần", "Từ – đến ngày", *_COUNT_HEADERS], rows, [16, 32, *_COUNT_WIDTHS], 2
        )


_RELAY_HEADERS = ["Số lượt", "Phút phải phát", "Phút đến hạn", "Phút đã tiếp âm", "Tỷ lệ (%)"]
_RELAY_WIDTHS = [16, 22, 22, 24, 18]


def _pdf_relays(pdf: FPDF, report: dict) -> None:
    """Relays (tiếp âm), their own kind: minutes required against minutes relayed."""
    if not has_relays(report):
        return  # stored before relays were counted
    _pdf_heading(pdf, "Tiếp âm (tiếp sóng đài cấp trên)")
    totals = report["totals"]
    if not totals.get("relay_slots"):
        _pdf_line(pdf, "Không có lượt tiếp âm nào phải phát trong kỳ.")
        return
    _pdf_line(
        pdf,
        f"{RELAY_LABELS['relay_required_minutes']} {_pdf_num(totals['relay_required_minutes'])}"
        f" · {RELAY_LABELS['relay_minutes']} {_pdf_num(totals['relay_minutes'])}"
        f" · tỷ lệ {_pdf_num(totals['relay_pct'])}% số phút đã đến hạn. Không tính vào số "
        "lượt phát tin bài ở trên.",
    )

    def relay_cells(row: dict) -> list[str]:
        return [_pdf_num(row.get(key)) for key in RELAY_FIELDS]

    campaigns = report.get("relay_campaigns") or []
    if campaigns:
        rows = (
            [
                row.get("name") or "",
                row.get("source") or "",
                f"{row.get('start') or ''} · {_pdf_num(row.get('length_minutes'))}′",
                *relay_cells(row),
            ]
            for row in campaigns
        )
        headers = ["Chiến dịch tiếp âm", "Nguồn", "Giờ · phút", *_RELAY_HEADERS]
        _pdf_table(pdf, headers, rows, [30, 26, 22, *_RELAY_WIDTHS], 3)
    provinces = report.get("provinces") or []
    rows, label = report.get("communes") or [], "Xã/phường"
    if len(provinces) > 1:
        rows, label = provinces, "Tỉnh"
    shown = rows[:PDF_MAX_COMMUNES]
    table = ([row["code"], row["name"], *relay_cells(row)] for row in shown)
    _pdf_table(pdf, ["Mã", label, *_RELAY_HEADERS], table, [14, 64, *_RELAY_WIDTHS], 2)
    if len(rows) > len(shown):
        more = vn_number(len(rows) - len(shown))
        _pdf_line(pdf, f"Còn {more} {label.lower()} nữa: xem đầy đủ trong tệp XLSX hoặc CSV.")


def _pdf_behind(pdf: FPDF, report: dict) -> None:
    """The chart of the stations most behind, and their table under it on the same page."""
    behind = report.get("behind") or []
    pdf.set_font(PDF_FONT, size=7.5)
    table = _table_height(pdf, len(behind) + 1) if behind else 0.0
    _pdf_chart(pdf, charts.behind_png(report), keep_with=table)
    if behind:
        rows = [
            [
                row.get("station_code") or "",
                row.get("station_name") or "",
                row.get("unit_name") or "",
                _pdf_num(row.get("missing")),
                _pdf_num(row.get("compliance_pct")),
            ]
            for row in behind
        ]
        headers = ["Mã đài", "Đài", "Xã/phường", "Không phát đủ", COUNT_LABELS["compliance_pct"]]
        _pdf_table(pdf, headers, rows, [20, 55, 55, 28, 28], 3, together=True)


def _pdf_emergencies_offline(pdf: FPDF, report: dict) -> None:
    emergencies = report.get("emergencies") or {}
    _pdf_heading(pdf, "Tin khẩn cấp")
    _pdf_line(
        pdf,
        f"Đã gửi {_pdf_num(emergencies.get('sent'))} tin tới "
        f"{_pdf_num(emergencies.get('deliveries'))} lượt đài; đã phát "
        f"{_pdf_num(emergencies.get('aired'))} lượt. Thời gian tới khi phát: trung vị "
        f"{_pdf_num(emergencies.get('median_seconds'))} giây, lâu nhất "
        f"{_pdf_num(emergencies.get('max_seconds'))} giây.",
    )
    items = emergencies.get("items") or []
    if items:
        pdf.ln(1)
        rows = (
            [
                item.get("title") or "",
                vn_datetime(item.get("created_at"), report),
                *(_pdf_num(item.get(k)) for k in ("stations", "aired")),
                *(_pdf_num(item.get(k)) for k in ("median_seconds", "max_seconds")),
            ]
            for item in items
        )
        headers = ["Tin", "Lúc gửi", "Số đài", "Đã phát", "Trung vị (giây)", "Lâu nhất (giây)"]
        _pdf_table(pdf, headers, rows, [70, 28, 20, 20, 24, 24], 2)
    offline = report.get("offline") or {}
    _pdf_heading(pdf, "Đài mất liên lạc")
    _pdf_line(
        pdf,
        f"{_pdf_num(offline.get('count'))} đài mất liên lạc "
        f"(trong đó {_pdf_num(offline.get('never_seen'))} đài chưa từng liên lạc).",
    )
    codes = offline.get("stations") or []
    if codes:
        names = {row["code"]: row.get("name") for row in report.get("stations") or []}
        listed = [f"{code} {names[code]}" if names.get(code) else code for code in codes[:60]]
        more = f" và {vn_number(len(codes) - 60)} đài khác" if len(codes) > 60 else ""
        _pdf_line(pdf, "; ".join(listed) + more + ".", 8)


def _pdf_signatures(pdf: FPDF) -> None:
    if pdf.will_page_break(45):
        pdf.add_page()
    pdf.ln(8)
    half = pdf.epw / 2
    left, right = pdf.l_margin, pdf.l_margin + half
    pdf.set_font(PDF_FONT, size=10)
    pdf.set_x(right)
    pdf.cell(
        half, 6, "......, ngày ... tháng ... năm ....", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    top = pdf.get_y()
    for x, title in ((left, "Người lập biểu"), (right, "Thủ trưởng đơn vị")):
        pdf.set_xy(x, top)
        pdf.set_font(PDF_FONT, "B", 10)
        pdf.cell(half, 6, title, align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(PDF_FONT, size=9)
        pdf.cell(half, 5, "(Ký, ghi rõ họ tên)", align="C")
    pdf.set_y(top + 35)


def write_pdf(report: dict) -> bytes:
    report = prepared(report)
    label = report["period"].get("label") or ""
    pdf = _ReportPDF(f"{unit_name(report)} — {label}")
    pdf.set_title(report.get("title") or "")
    pdf.set_creator("broadcaster")
    generated = report.get("generated_at")
    if generated:  # the same report gives the same file
        pdf.set_creation_date(datetime.fromisoformat(generated))
    pdf.add_page()
    _pdf_header(pdf, report)
    _pdf_totals(pdf, report)
    _pdf_chart(pdf, charts.weekly_compliance_png(report))
    _pdf_behind(pdf, report)
    _pdf_levels(pdf, report)
    _pdf_relays(pdf, report)
    _pdf_emergencies_offline(pdf, report)
    if report.get("detail_omitted"):
        _pdf_line(pdf, f"Bảng chi tiết theo tuần không kèm theo: {report['detail_omitted']}", 8)
    _pdf_signatures(pdf)
    return bytes(pdf.output())
