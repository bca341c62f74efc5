"""Compliance report exporters: JSON, CSV, XLSX and PDF from the report's JSON dict.

The JSON (``broadcaster.compliance/1``, docs/compliance.md) is the source: every number
in the other formats is the JSON's number, never recomputed. Strings are NFC-normalised.

CSV — UTF-8 with a BOM (so Excel shows Vietnamese), ``\\r\\n`` line ends, one table.
By default its headers and level names are Vietnamese (the XLSX's and PDF's labels:
"Cấp", "Mã", "Tên", … "Tổng cộng", "Tỉnh", "Xã", "Đài" …); in English (``lang="en"``,
``--lang en``, the admin's English interface) they are the names below. Columns, empty
where they do not apply:

``level``
    total, province, commune, station, campaign, relay_campaign, week,
    station_campaign, detail
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
    campaign, relay_campaign, station_campaign and detail rows
``week``
    ISO week such as ``2026-W44`` (week and detail rows)
``from``, ``to``
    YYYY-MM-DD: the period (total) or the ISO week (week, detail)
``required`` … ``on_time_pct``
    the Counts, in the spec's order; percentages as numbers (``87.5``), null empty
``stations``
    number of stations (total, province, commune)
``relay_slots`` … ``relay_pct``
    relays (tiếp âm), their own kind: relay slots required, minutes required, minutes
    due, minutes relayed, relayed / due in percent — on total, province, commune,
    station, week and relay_campaign rows (empty elsewhere, and in a report stored
    before relays were counted)

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
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from broadcaster.errors import InvalidInput
from broadcaster.reports.fields import COUNT_FIELDS, FORMATS, RELAY_FIELDS
from broadcaster.reports.fields import FORMAT as FORMAT  # the current one, for readers
from broadcaster.vntext import nfc

NATION = "Toàn quốc"
PCT_FIELDS = frozenset({"compliance_pct", "on_time_pct", "relay_pct"})
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
RELAY_LABELS = {
    "relay_slots": "Tiếp âm: số lượt phải phát",
    "relay_required_minutes": "Tiếp âm: phút phải phát",
    "relay_due_minutes": "Tiếp âm: phút đã đến hạn",
    "relay_minutes": "Tiếp âm: phút đã tiếp âm",
    "relay_pct": "Tiếp âm: tỷ lệ (%)",
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
    *RELAY_FIELDS,
)
# the CSV in Vietnamese (the default): headers as XLSX and PDF label them, levels in words
CSV_HEADERS_VI = {
    "level": "Cấp",
    "code": "Mã",
    "name": "Tên",
    "unit_code": "Mã xã",
    "province_code": "Mã tỉnh",
    "campaign_id": "Số chiến dịch",
    "week": "Tuần",
    "from": "Từ ngày",
    "to": "Đến ngày",
    **COUNT_LABELS,
    **RELAY_LABELS,
}
LEVELS_VI = {
    "total": "Tổng cộng",
    "province": "Tỉnh",
    "commune": "Xã",
    "station": "Đài",
    "campaign": "Chiến dịch",
    "relay_campaign": "Chiến dịch tiếp âm",
    "week": "Tuần",
    "station_campaign": "Đài × chiến dịch",
    "detail": "Đài × chiến dịch × tuần",
}
CSV_LANGUAGES = ("vi", "en")
XLSX_PCT_FORMAT = '0.0"%"'
VN_ZONE = "Asia/Ho_Chi_Minh"
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


def prepared(report: dict) -> dict:
    """The report, checked for its format version and NFC-normalised throughout."""
    found = report.get("format")
    if found not in FORMATS:
        raise InvalidInput(
            "Không xuất được báo cáo định dạng {found!r}: chỉ hỗ trợ {supported}.",
            found=found,
            supported=", ".join(FORMATS),
        )
    return _normalised(report)


def unit_name(report: dict) -> str:
    unit = (report.get("scope") or {}).get("unit")
    return unit["name"] if unit else NATION


def local_time(iso: str | None, report: dict) -> datetime | None:
    """An ISO timestamp in the report's time zone, without tzinfo (Excel has none)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(report.get("timezone") or VN_ZONE))
    return moment.replace(tzinfo=None)


def vn_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def vn_datetime(iso: str | None, report: dict) -> str:
    moment = local_time(iso, report)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


def with_names(rows: Iterable[dict], report: dict) -> Iterator[dict]:
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
    text = json.dumps(prepared(report), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")


def _csv_rows(report: dict) -> Iterator[dict]:
    unit = report["scope"].get("unit")
    period = report["period"]
    yield {
        **report["totals"],
        "level": "total",
        "code": unit["code"] if unit else None,
        "name": unit_name(report),
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
    for row in report.get("relay_campaigns") or []:
        yield {**row, "level": "relay_campaign", "campaign_id": row["id"]}
    for row in report.get("weeks") or []:
        yield {**row, "level": "week"}
    for level, key in (("station_campaign", "station_campaigns"), ("detail", "detail")):
        for row in with_names(report.get(key) or [], report):
            yield {**row, "level": level, "code": row["station_code"], "name": row["station_name"]}


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)  # repr of a float: 87.5, never 87,5


def to_csv(report: dict, lang: str = "vi") -> bytes:
    """The CSV: Vietnamese headers and level names (``lang="en"``: the column names and
    level values documented above, for English readers and programs)."""
    if lang not in CSV_LANGUAGES:
        raise InvalidInput(
            "Ngôn ngữ CSV '{lang}' không có; chọn vi hoặc en.", field="lang", lang=lang
        )
    report = prepared(report)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    vietnamese = lang == "vi"
    writer.writerow([CSV_HEADERS_VI[c] for c in CSV_COLUMNS] if vietnamese else CSV_COLUMNS)
    for row in _csv_rows(report):
        if vietnamese:
            row["level"] = LEVELS_VI[row["level"]]
        writer.writerow([_csv_value(row.get(column)) for column in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


# --- XLSX and PDF (their libraries load only when asked for) ------------------------------


def to_xlsx(report: dict) -> bytes:
    from broadcaster.reports.export_xlsx import write_xlsx

    return write_xlsx(report)


def to_pdf(report: dict) -> bytes:
    from broadcaster.reports.export_pdf import write_pdf

    return write_pdf(report)
