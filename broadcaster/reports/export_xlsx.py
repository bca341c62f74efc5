"""Compliance reports as XLSX (openpyxl, write-only): a summary sheet and one per level."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter

from broadcaster.reports.export import (
    COUNT_FIELDS,
    COUNT_LABELS,
    PCT_FIELDS,
    RELAY_LABELS,
    XLSX_PCT_FORMAT,
    local_time,
    prepared,
    unit_name,
    with_names,
)
from broadcaster.reports.fields import RELAY_FIELDS, has_relays

# (header, key, kind); kind picks the cell's type and number format
_COUNT_COLUMNS = [
    (COUNT_LABELS[f], f, "pct" if f in PCT_FIELDS else "dec" if f == "minutes_aired" else "int")
    for f in COUNT_FIELDS
]
_STATIONS = ("Số đài", "stations", "int")
_RELAY_COLUMNS = [
    (RELAY_LABELS[f], f, "pct" if f in PCT_FIELDS else "int" if f == "relay_slots" else "dec")
    for f in RELAY_FIELDS
]
_RELAYED = ("provinces", "communes", "stations", "weeks")  # tables with the relay figures
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
    relays = has_relays(report)
    out = []
    for title, columns, key in tables:
        rows = report.get(key) or []
        if key in ("station_campaigns", "detail"):
            rows = list(with_names(rows, report))
        extra = _RELAY_COLUMNS if relays and key in _RELAYED else []
        out.append((title, [*columns, *_COUNT_COLUMNS, *extra], rows))
    if relays:
        relay = [
            ("Mã chiến dịch", "id", "text"),
            ("Tên chiến dịch", "name", "text"),
            ("Nguồn tiếp âm", "source", "text"),
            ("Giờ bắt đầu", "start", "text"),
            ("Số phút mỗi lần", "length_minutes", "int"),
        ]
        out.append(("Tiếp âm", [*relay, *_RELAY_COLUMNS], report.get("relay_campaigns") or []))
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
    parse = {"date": date.fromisoformat, "datetime": lambda v: local_time(v, report)}.get(kind)
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
    yield "Đơn vị", unit_name(report), "text"
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
    if has_relays(report):
        yield None, "Tiếp âm", "text"
        for label, key, kind in _RELAY_COLUMNS:
            yield label, report["totals"].get(key), kind
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


def write_xlsx(report: dict) -> bytes:
    report = prepared(report)
    wb = Workbook(write_only=True)  # streams rows: a national report has ~20,000
    wb.properties.title = report.get("title")
    wb.properties.creator = "broadcaster"
    _write_summary(wb, report)
    for title, columns, rows in _xlsx_tables(report):
        _write_table(wb, title, columns, rows, report)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
