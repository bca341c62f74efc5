"""Compliance report exporters: JSON, CSV, XLSX and PDF from the report's JSON dict.

The JSON (``broadcaster.compliance/1``, docs/compliance.md) is the source: every number
in the other formats is the JSON's number, never recomputed. Strings are NFC-normalised.

CSV — UTF-8 with a BOM (so Excel shows Vietnamese), ``\\r\\n`` line ends, one table for
machines. Columns, empty where they do not apply:

``level``
    total, province, commune, station, campaign, week, station_campaign, detail
``code``
    the unit's code (total), province, commune or station code; the station code
    for station_campaign and detail
``name``
    unit name (``Toàn quốc`` for the whole country), province, commune, station or
    campaign name; the station's name for station_campaign and detail
``unit_code``, ``province_code``
    the commune and province a station (or station_campaign, detail row) belongs to;
    ``province_code`` also for communes
``campaign_id``
    campaign, station_campaign and detail rows
``week``
    ISO week such as ``2026-W44`` (week and detail rows)
``from``, ``to``
    YYYY-MM-DD: the period (total) or the ISO week (week, detail)
``required`` … ``on_time_pct``
    the Counts, in the spec's order; percentages as numbers (``87.5``), null empty
``stations``
    number of stations (total, province, commune)

A text cell starting with ``= + - @`` gets a leading ``'`` so a spreadsheet does not
run it as a formula (CSV injection).

XLSX — percentages are stored as the JSON's own number (87.5, not 0.875) with the
number format ``0.0"%"``, so a cell compares equal to the JSON value. Dates and
times are real Excel dates in the report's local time zone.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF, FontFace
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter

from broadcaster.errors import InvalidInput
from broadcaster.reports import charts
from broadcaster.reports.charts import vn_number
from broadcaster.vntext import nfc

FORMAT = "broadcaster.compliance/1"
NATION = "Toàn quốc"
COUNT_FIELDS = (
    "required",
    "due",
    "on_time",
    "late",
    "partial",
    "failed",
    "missed",
    "pending",
    "unplaced",
    "aired_agent",
    "aired_manual",
    "minutes_aired",
    "compliance_pct",
    "on_time_pct",
)
PCT_FIELDS = frozenset({"compliance_pct", "on_time_pct"})
COUNT_LABELS = {
    "stations": "Số đài",
    "required": "Phải phát",
    "due": "Đã đến hạn",
    "on_time": "Đúng giờ",
    "late": "Trễ giờ",
    "partial": "Phát dở",
    "failed": "Lỗi",
    "missed": "Bỏ lỡ",
    "pending": "Chưa đến giờ",
    "unplaced": "Không xếp được giờ",
    "aired_agent": "Đã phát (máy báo)",
    "aired_manual": "Đã phát (xác nhận tay)",
    "minutes_aired": "Số phút đã phát",
    "compliance_pct": "Tỷ lệ thực hiện (%)",
    "on_time_pct": "Tỷ lệ đúng giờ (%)",
}
CSV_COLUMNS = (
    "level",
    "code",
    "name",
    "unit_code",
    "province_code",
    "campaign_id",
    "week",
    "from",
    "to",
    *COUNT_FIELDS,
    "stations",
)
XLSX_PCT_FORMAT = '0.0"%"'
_VN_ZONE = "Asia/Ho_Chi_Minh"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- shared ----------------------------------------------------------------------------


def _normalised(value):
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {_normalised(key): _normalised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(item) for item in value]
    return value


def _prepared(report: dict) -> dict:
    """The report, checked for its format version and NFC-normalised throughout."""
    found = report.get("format")
    if found != FORMAT:
        raise InvalidInput(f"Không xuất được báo cáo định dạng {found!r}: chỉ hỗ trợ {FORMAT}.")
    return _normalised(report)


def _unit_name(report: dict) -> str:
    unit = (report.get("scope") or {}).get("unit")
    return unit["name"] if unit else NATION


def _local(iso: str | None, report: dict) -> datetime | None:
    """An ISO timestamp in the report's time zone, without tzinfo (Excel has none)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(report.get("timezone") or _VN_ZONE))
    return moment.replace(tzinfo=None)


def _vn_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _vn_datetime(iso: str | None, report: dict) -> str:
    moment = _local(iso, report)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


def _with_names(rows: Iterable[dict], report: dict) -> Iterator[dict]:
    """Rows keyed by station code and campaign id, with the names and week dates added."""
    stations = {row["code"]: row for row in report.get("stations") or []}
    campaigns = {row["id"]: row for row in report.get("campaigns") or []}
    weeks = {row["week"]: row for row in report.get("weeks") or []}
    for row in rows:
        station = stations.get(row.get("station_code"), {})
        week = weeks.get(row.get("week"), {})
        yield {
            **row,
            "station_name": station.get("name"),
            "unit_code": station.get("unit_code"),
            "province_code": station.get("province_code"),
            "campaign_name": campaigns.get(row.get("campaign_id"), {}).get("name"),
            "from": week.get("from"),
            "to": week.get("to"),
        }


# --- JSON and CSV ----------------------------------------------------------------------


def to_json(report: dict) -> bytes:
    text = json.dumps(_prepared(report), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


def _csv_rows(report: dict) -> Iterator[dict]:
    unit = report["scope"].get("unit")
    period = report["period"]
    yield {
        **report["totals"],
        "level": "total",
        "code": unit["code"] if unit else None,
        "name": _unit_name(report),
        "from": period["from"],
        "to": period["to"],
    }
    for row in report.get("provinces") or []:
        yield {**row, "level": "province"}
    for row in report.get("communes") or []:
        yield {**row, "level": "commune"}
    for row in report.get("stations") or []:
        yield {**row, "level": "station"}
    for row in report.get("campaigns") or []:
        yield {**row, "level": "campaign", "campaign_id": row["id"]}
    for row in report.get("weeks") or []:
        yield {**row, "level": "week"}
    for level, key in (("station_campaign", "station_campaigns"), ("detail", "detail")):
        for row in _with_names(report.get(key) or [], report):
            yield {**row, "level": level, "code": row["station_code"], "name": row["station_name"]}


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)  # repr of a float: 87.5, never 87,5


def to_csv(report: dict) -> bytes:
    report = _prepared(report)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(report):
        writer.writerow([_csv_value(row.get(column)) for column in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


# --- XLSX ------------------------------------------------------------------------------

# (header, key, kind); kind picks the cell's type and number format
_COUNT_COLUMNS = [
    (COUNT_LABELS[f], f, "pct" if f in PCT_FIELDS else "dec" if f == "minutes_aired" else "int")
    for f in COUNT_FIELDS
]
_STATIONS = ("Số đài", "stations", "int")
_WIDTHS = {"pct": 11, "dec": 11, "int": 10, "date": 12, "datetime": 17, "bool": 10}
_FORMATS = {
    "pct": XLSX_PCT_FORMAT,
    "dec": "#,##0.0",
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm",
}
_BOLD = Font(bold=True)


def _xlsx_tables(report: dict) -> list[tuple[str, list[tuple], list[dict]]]:
    station_campaign = [
        ("Mã đài", "station_code", "text"),
        ("Tên đài", "station_name", "text"),
        ("Mã chiến dịch", "campaign_id", "text"),
    ]
    tables = [
        (
            "Tỉnh",
            [("Mã tỉnh", "code", "text"), ("Tên tỉnh", "name", "text"), _STATIONS],
            "provinces",
        ),
        (
            "Xã",
            [
                ("Mã xã/phường", "code", "text"),
                ("Tên xã/phường", "name", "text"),
                ("Mã tỉnh", "province_code", "text"),
                _STATIONS,
            ],
            "communes",
        ),
        (
            "Đài",
            [
                ("Mã đài", "code", "text"),
                ("Tên đài", "name", "text"),
                ("Mã xã/phường", "unit_code", "text"),
                ("Tên xã/phường", "unit_name", "text"),
                ("Mã tỉnh", "province_code", "text"),
                ("Liên lạc lần cuối", "last_seen_at", "datetime"),
                ("Mất liên lạc", "offline", "bool"),
            ],
            "stations",
        ),
        (
            "Chiến dịch",
            [
                ("Mã chiến dịch", "id", "text"),
                ("Tên chiến dịch", "name", "text"),
                ("Số lần/tuần", "times_per_week", "int"),
            ],
            "campaigns",
        ),
        (
            "Tuần",
            [("Tuần", "week", "text"), ("Từ ngày", "from", "date"), ("Đến ngày", "to", "date")],
            "weeks",
        ),
        (
            "Đài × chiến dịch",
            [*station_campaign, ("Tên chiến dịch", "campaign_name", "text")],
            "station_campaigns",
        ),
    ]
    if report.get("detail") is not None:
        tables.append(("Chi tiết", [*station_campaign, ("Tuần", "week", "text")], "detail"))
    out = []
    for title, columns, key in tables:
        rows = report.get(key) or []
        if key in ("station_campaigns", "detail"):
            rows = list(_with_names(rows, report))
        out.append((title, [*columns, *_COUNT_COLUMNS], rows))
    return out


def _xlsx_text(ws, value: str):
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters are not allowed in XML
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"  # text, not a formula: names are typed by users
    return cell


def _xlsx_column(ws, kind: str, report: dict) -> Callable[[object], object]:
    """For one column: a JSON value → what ``ws.append`` takes (None leaves the cell empty)."""
    if kind == "bool":
        return lambda value: None if value is None else ("Có" if value else "Không")
    if kind not in _FORMATS:
        return lambda value: _xlsx_text(ws, value) if isinstance(value, str) else value
    parse = {"date": date.fromisoformat, "datetime": lambda v: _local(v, report)}.get(kind)
    # One styled cell per column, reused for every row: append() writes a row at once,
    # and creating and styling ~70,000 cells is most of a national report's time.
    cell = WriteOnlyCell(ws)
    cell.number_format = _FORMATS[kind]

    def styled(value):
        if value is None:
            return None
        cell.value = parse(value) if parse else value
        return cell

    return styled


def _width(header: str, kind: str, values: Iterable) -> float:
    """Wide enough for the values seen and the header's longest word (headers wrap)."""
    if kind in _WIDTHS:
        longest = _WIDTHS[kind]
    else:
        longest = max((len(str(v)) for v in values if v is not None), default=6)
    return min(max(longest, *(len(word) for word in header.split())) + 2, 50)


def _write_table(wb: Workbook, title: str, columns: list[tuple], rows: list[dict], report: dict):
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    sample = rows[:500]  # widths from a sample: reading 16,600 rows twice buys nothing
    for index, (header, key, kind) in enumerate(columns, 1):
        width = _width(header, kind, (row.get(key) for row in sample))
        ws.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    headers = []
    for header, _key, _kind in columns:
        cell = WriteOnlyCell(ws, header)
        cell.font, cell.alignment = _BOLD, wrap
        headers.append(cell)
    ws.append(headers)
    keys = [key for _header, key, _kind in columns]
    cells = [_xlsx_column(ws, kind, report) for _header, _key, kind in columns]
    for row in rows:
        ws.append([cell(row.get(key)) for cell, key in zip(cells, keys, strict=True)])
    last = get_column_letter(len(columns))
    ws.auto_filter = AutoFilter(ref=f"A1:{last}{len(rows) + 1}")


def _summary_rows(report: dict) -> Iterator[tuple[str, object, str]]:
    """(label, value, kind) rows of the summary sheet; a None label is a section title."""
    scope, period, stamp = report.get("scope") or {}, report["period"], report.get("stamp") or {}
    unit = scope.get("unit")
    yield "Đơn vị", _unit_name(report), "text"
    if unit:
        yield "Mã đơn vị", unit.get("code"), "text"
    if scope.get("campaign"):
        yield "Chiến dịch", scope["campaign"].get("name"), "text"
    yield "Kỳ báo cáo", period.get("label"), "text"
    yield "Từ ngày", period.get("from"), "date"
    yield "Đến ngày", period.get("to"), "date"
    yield "Ngày chốt số liệu", period.get("cutoff_day"), "int"
    yield "Lập lúc", report.get("generated_at"), "datetime"
    yield "Múi giờ", report.get("timezone"), "text"
    yield "Dấu chuỗi nhật ký (SHA-256)", stamp.get("heads_sha256"), "text"
    yield "Số đài trong dấu chuỗi", stamp.get("stations"), "int"
    yield "Số bản ghi nhật ký", stamp.get("rows"), "int"
    yield "Định dạng", report.get("format"), "text"
    if report.get("detail_omitted"):
        yield "Không có bảng chi tiết", report["detail_omitted"], "text"
    yield None, "Tổng hợp số liệu", "text"
    for _header, key, kind in [_STATIONS, *_COUNT_COLUMNS]:
        yield COUNT_LABELS[key], report["totals"].get(key), kind
    emergencies = report.get("emergencies") or {}
    yield None, "Tin khẩn cấp", "text"
    yield "Số tin đã gửi", emergencies.get("sent"), "int"
    yield "Số lượt gửi tới đài", emergencies.get("deliveries"), "int"
    yield "Số lượt đã phát", emergencies.get("aired"), "int"
    yield "Thời gian tới khi phát, trung vị (giây)", emergencies.get("median_seconds"), "int"
    yield "Thời gian tới khi phát, lâu nhất (giây)", emergencies.get("max_seconds"), "int"
    offline = report.get("offline") or {}
    yield None, "Đài mất liên lạc", "text"
    yield "Số đài mất liên lạc", offline.get("count"), "int"
    yield "Số đài chưa từng liên lạc", offline.get("never_seen"), "int"
    yield "Mã các đài", ", ".join(offline.get("stations") or []), "text"


def _write_summary(wb: Workbook, report: dict) -> None:
    ws = wb.create_sheet("Tổng hợp")
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 70
    title = WriteOnlyCell(ws, report.get("title"))
    title.font = Font(bold=True, size=14)
    ws.append([title])
    ws.append([])
    for label, value, kind in _summary_rows(report):
        if label is None:
            section = WriteOnlyCell(ws, value)
            section.font = _BOLD
            ws.append([])
            ws.append([section])
        else:
            ws.append([label, _xlsx_column(ws, kind, report)(value)])


def to_xlsx(report: dict) -> bytes:
    report = _prepared(report)
    wb = Workbook(write_only=True)  # streams rows: a national report has ~20,000
    wb.properties.title = report.get("title")
    wb.properties.creator = "broadcaster"
    _write_summary(wb, report)
    for title, columns, rows in _xlsx_tables(report):
        _write_table(wb, title, columns, rows, report)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- PDF -------------------------------------------------------------------------------

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


def _pdf_table(pdf: FPDF, headers: list[str], rows: Iterable[list[str]], widths, left):
    """A table whose first ``left`` columns are text (or per-column alignments), numbers
    right-aligned; headings repeat on every page."""
    pdf.set_font(PDF_FONT, size=7.5)
    align = left if isinstance(left, list) else ["LEFT"] * left + ["RIGHT"] * (len(headers) - left)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        headings_style=_HEADING,
        line_height=pdf.font_size * 1.5,
        padding=(0.6, 1),
        repeat_headings=1,
        width=pdf.epw,
    ) as table:
        table.row(headers)
        for row in rows:
            table.row(row)
    pdf.ln(2)


def _pdf_counts(row: dict, first: list[str]) -> list[str]:
    return [*first, *(_pdf_num(row.get(key)) for key in (*_PDF_COUNTS, *_PDF_PCTS))]


_COUNT_HEADERS = [COUNT_LABELS[key] for key in (*_PDF_COUNTS, *_PDF_PCTS)]
_COUNT_WIDTHS = [13] * len(_PDF_COUNTS) + [15, 15]


def _pdf_header(pdf: FPDF, report: dict) -> None:
    period, stamp = report["period"], report.get("stamp") or {}
    pdf.set_font(PDF_FONT, "B", 15)
    pdf.multi_cell(0, 8, report.get("title") or "", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(PDF_FONT, "B", 12)
    pdf.multi_cell(0, 7, _unit_name(report), align="C", new_x="LMARGIN", new_y="NEXT")
    campaign = (report.get("scope") or {}).get("campaign")
    if campaign:
        _pdf_line(pdf, f"Chiến dịch: {campaign.get('name')}", 10, bold=True)
    pdf.ln(2)
    _pdf_line(
        pdf,
        f"Kỳ báo cáo: {period.get('label')} "
        f"(từ {_vn_date(period.get('from'))} đến {_vn_date(period.get('to'))}; "
        f"ngày chốt số liệu: {period.get('cutoff_day')})",
        10,
    )
    when = _vn_datetime(report.get("generated_at"), report)
    zone = report.get("timezone") or _VN_ZONE
    zone = "giờ Việt Nam" if zone == _VN_ZONE else f"giờ {zone}"
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
    half = (len(pairs) + 1) // 2
    rows = []
    for index in range(half):
        right = pairs[index + half] if index + half < len(pairs) else ("", "")
        rows.append([*pairs[index], *right])
    headers, align = ["Chỉ tiêu", "Số liệu"] * 2, ["LEFT", "RIGHT"] * 2
    _pdf_table(pdf, headers, rows, (3, 1.2, 3, 1.2), align)


def _pdf_chart(pdf: FPDF, png: bytes) -> None:
    """A chart (it carries its own title) across the page width."""
    width, height = struct.unpack(">II", png[16:24])  # from the PNG's IHDR chunk
    if pdf.will_page_break(pdf.epw * height / width + 4):
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
            _pdf_counts(row, [row["week"], f"{_vn_date(row['from'])}–{_vn_date(row['to'])}"])
            for row in weeks
        )
        _pdf_table(
            pdf, ["Tuần", "Từ – đến ngày", *_COUNT_HEADERS], rows, [16, 32, *_COUNT_WIDTHS], 2
        )


def _pdf_behind(pdf: FPDF, report: dict) -> None:
    _pdf_chart(pdf, charts.behind_png(report))
    behind = report.get("behind") or []
    if behind:
        rows = (
            [
                row.get("station_code") or "",
                row.get("station_name") or "",
                row.get("unit_name") or "",
                _pdf_num(row.get("missing")),
                _pdf_num(row.get("compliance_pct")),
            ]
            for row in behind
        )
        headers = ["Mã đài", "Đài", "Xã/phường", "Không phát đủ", COUNT_LABELS["compliance_pct"]]
        _pdf_table(pdf, headers, rows, [20, 55, 55, 28, 28], 3)


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
                _vn_datetime(item.get("created_at"), report),
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


def to_pdf(report: dict) -> bytes:
    report = _prepared(report)
    label = report["period"].get("label") or ""
    pdf = _ReportPDF(f"{_unit_name(report)} — {label}")
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
    _pdf_emergencies_offline(pdf, report)
    if report.get("detail_omitted"):
        _pdf_line(pdf, f"Bảng chi tiết theo tuần không kèm theo: {report['detail_omitted']}", 8)
    _pdf_signatures(pdf)
    return bytes(pdf.output())
