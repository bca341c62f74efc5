"""The compliance report exporters: every format carries the JSON's numbers and names."""

from __future__ import annotations

import copy
import csv
import io
import json
import unicodedata
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from broadcaster.errors import InvalidInput
from broadcaster.reports import charts
from broadcaster.reports.export import (
    COUNT_FIELDS,
    COUNT_LABELS,
    CSV_COLUMNS,
    CSV_HEADERS_VI,
    FORMATS,
    LEVELS_VI,
    XLSX_PCT_FORMAT,
    to_csv,
    to_json,
    to_pdf,
    to_xlsx,
)

FLOAT_FIELDS = {"minutes_aired", "compliance_pct", "on_time_pct"}
WEEKS = [
    ("2026-W44", "2026-10-26", "2026-11-01"),
    ("2026-W45", "2026-11-02", "2026-11-08"),
    ("2026-W46", "2026-11-09", "2026-11-15"),
]
# code, name, commune code, commune name, province code, last seen
STATIONS = [
    ("HT-CX-01", "Đài truyền thanh xã Cẩm Xuyên", "18652", "Xã Cẩm Xuyên", "42", None),
    ("HT-TS-01", "Đài phường Thành Sen", "18070", "Phường Thành Sen", "42", "2026-11-05T00:58Z"),
    ("HUE-TH-01", "Đài phường Thuận Hóa", "19900", "Phường Thuận Hóa", "46", "2026-11-03T16:02Z"),
]
PROVINCES = {"42": "Hà Tĩnh", "46": unicodedata.normalize("NFD", "Thừa Thiên Huế")}
CAMPAIGNS = [(7, "Phòng, chống bão lũ năm 2026", 3), (9, "Tiêm chủng mở rộng", 2)]


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def counts(required, pending=0, on_time=0, late=0, partial=0, failed=0, manual=0, minutes=0.0):
    due = required - pending
    return {
        "required": required,
        "due": due,
        "on_time": on_time,
        "late": late,
        "partial": partial,
        "failed": failed,
        "missed": due - on_time - late - partial - failed,
        "pending": pending,
        "unplaced": 0,
        "aired_agent": on_time + late - manual,
        "aired_manual": manual,
        "minutes_aired": round(minutes, 1),
        "compliance_pct": pct(on_time + late, due),
        "on_time_pct": pct(on_time, due),
    }


def summed(rows: list[dict]) -> dict:
    total = {key: sum(row[key] for row in rows) for key in COUNT_FIELDS if key not in FLOAT_FIELDS}
    total["minutes_aired"] = round(sum(row["minutes_aired"] for row in rows), 1)
    total["compliance_pct"] = pct(total["on_time"] + total["late"], total["due"])
    total["on_time_pct"] = pct(total["on_time"], total["due"])
    return total


def detail_counts(station: int, campaign: int, week: int) -> dict:
    per_week = CAMPAIGNS[campaign][2]
    if week == 2:  # the current week: nothing due yet
        return counts(per_week, pending=per_week)
    if station == 2:  # the Huế station fell silent
        return counts(per_week, failed=1) if week == 0 else counts(per_week)
    if station == 0 and campaign == 1 and week == 1:  # one airing ran late
        return counts(per_week, on_time=1, late=1, minutes=8.5)
    on_time = per_week - (1 if station == 1 and week == 1 else 0)
    return counts(per_week, on_time=on_time, manual=station, minutes=on_time * 4.25)


def build_report() -> dict:
    detail = [
        {"station_code": s[0], "campaign_id": c[0], "week": w[0], **detail_counts(i, j, k)}
        for i, s in enumerate(STATIONS)
        for j, c in enumerate(CAMPAIGNS)
        for k, w in enumerate(WEEKS)
    ]

    def over(**match) -> dict:
        return summed([d for d in detail if all(d[k] in v for k, v in match.items())])

    def codes(field: int, value: str) -> set[str]:
        return {s[0] for s in STATIONS if s[field] == value}

    stations = [
        {
            "code": code,
            "name": name,
            "unit_code": unit,
            "unit_name": unit_name,
            "province_code": province,
            "last_seen_at": seen,
            "offline": code == "HUE-TH-01" or seen is None,
            **over(station_code={code}),
        }
        for code, name, unit, unit_name, province, seen in STATIONS
    ]
    behind = sorted(stations, key=lambda s: -(s["missed"] + s["partial"] + s["failed"]))
    return {
        # a body stored before relays were counted: every exporter still reads it
        "format": FORMATS[0],
        "title": "Báo cáo thực hiện phát thanh tuyên truyền",
        "scope": {"unit": None, "campaign": None},
        "period": {
            "kind": "month",
            "key": "2026-11",
            "label": "Tháng 11/2026",
            "from": "2026-10-15",
            "to": "2026-11-14",
            "cutoff_day": 15,
        },
        "generated_at": "2026-11-05T08:30:00+07:00",
        "as_of": "2026-11-05T01:30:00.123456+00:00",
        "timezone": "Asia/Ho_Chi_Minh",
        "rules": {"grace_minutes": 15, "early_minutes": 180, "offline_after_minutes": 15},
        "totals": {**summed(detail), "stations": 3},
        "provinces": [
            {"code": p, "name": n, **over(station_code=codes(4, p)), "stations": len(codes(4, p))}
            for p, n in PROVINCES.items()
        ],
        "communes": [
            {
                "code": s[2],
                "name": s[3],
                "province_code": s[4],
                **over(station_code=codes(2, s[2])),
                "stations": 1,
            }
            for s in sorted(STATIONS, key=lambda s: s[2])
        ],
        "stations": stations,
        "campaigns": [
            {"id": c, "name": n, "times_per_week": t, **over(campaign_id={c})}
            for c, n, t in CAMPAIGNS
        ],
        "weeks": [{"week": w, "from": f, "to": t, **over(week={w})} for w, f, t in WEEKS],
        "station_campaigns": [
            {
                "station_code": s[0],
                "campaign_id": c[0],
                **over(station_code={s[0]}, campaign_id={c[0]}),
            }
            for s in STATIONS
            for c in CAMPAIGNS
        ],
        "detail": detail,
        "detail_omitted": None,
        "behind": [
            {
                "station_code": s["code"],
                "station_name": s["name"],
                "unit_name": s["unit_name"],
                "missing": s["missed"] + s["partial"] + s["failed"],
                "compliance_pct": s["compliance_pct"],
            }
            for s in behind
            if s["missed"] + s["partial"] + s["failed"]
        ],
        "emergencies": {
            "sent": 1,
            "deliveries": 3,
            "aired": 2,
            "median_seconds": 42.5,
            "max_seconds": 61.0,
            "items": [
                {
                    "id": 3,
                    "title": "Khẩn cấp: bão số 12 đổ bộ",
                    "created_at": "2026-10-30T21:05:00+07:00",
                    "stations": 3,
                    "aired": 2,
                    "median_seconds": 42.5,
                    "max_seconds": 61.0,
                }
            ],
        },
        "offline": {"count": 2, "never_seen": 1, "stations": ["HT-CX-01", "HUE-TH-01"]},
        "stamp": {
            "stations": 2,
            "rows": 57,
            "heads_sha256": "9f2c" * 16,
            "heads": {"HT-TS-01": [31, "ab" * 32], "HUE-TH-01": [26, "cd" * 32]},
        },
    }


@pytest.fixture
def report() -> dict:
    return build_report()


@pytest.fixture
def empty_report() -> dict:
    zero = counts(0)
    return {
        **build_report(),
        "scope": {
            "unit": {"code": "42", "name": "Hà Tĩnh", "kind": "tỉnh", "level": 1},
            "campaign": None,
        },
        "totals": {**zero, "stations": 0},
        **{key: [] for key in ("provinces", "communes", "stations", "campaigns", "weeks")},
        **{key: [] for key in ("station_campaigns", "detail", "behind")},
        "emergencies": {
            "sent": 0,
            "deliveries": 0,
            "aired": 0,
            "median_seconds": None,
            "max_seconds": None,
            "items": [],
        },
        "offline": {"count": 0, "never_seen": 0, "stations": []},
        "stamp": {"stations": 0, "rows": 0, "heads_sha256": "e3b0" * 16, "heads": {}},
    }


def level_rows(report: dict) -> dict[str, list[dict]]:
    return {
        "total": [report["totals"]],
        "province": report["provinces"],
        "commune": report["communes"],
        "station": report["stations"],
        "campaign": report["campaigns"],
        "week": report["weeks"],
        "station_campaign": report["station_campaigns"],
        "detail": report["detail"] or [],
    }


def parsed(field: str, text: str):
    if text == "":
        return None
    return float(text) if field in FLOAT_FIELDS else int(text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --- JSON -------------------------------------------------------------------------------


def test_json_is_utf8_nfc_and_keeps_every_value(report):
    raw = to_json(report)
    assert "Hà Tĩnh".encode() in raw  # not \u escapes
    assert nfc("Thừa Thiên Huế").encode() in raw  # the NFD input comes out composed
    assert unicodedata.normalize("NFD", "Thừa Thiên Huế").encode() not in raw
    back = json.loads(raw)
    expected = json.loads(json.dumps(report))
    expected["provinces"][1]["name"] = nfc(expected["provinces"][1]["name"])
    assert back == expected


def test_an_unknown_format_is_refused(report):
    report["format"] = "broadcaster.compliance/9"
    with pytest.raises(InvalidInput, match="compliance/9"):
        to_csv(report)


# --- CSV --------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline=""))
    english = tuple(reader.fieldnames) == CSV_COLUMNS
    assert english or tuple(reader.fieldnames) == tuple(CSV_HEADERS_VI[c] for c in CSV_COLUMNS)
    return list(reader)


def test_csv_has_a_bom_and_the_json_numbers_at_every_level(report):
    rows = read_csv(to_csv(report, "en"))
    by_level: dict[str, list[dict]] = {}
    for row in rows:
        by_level.setdefault(row["level"], []).append(row)
    expected = level_rows(report)
    assert list(by_level) == list(expected)
    for level, sources in expected.items():
        assert len(by_level[level]) == len(sources), level
        for row, source in zip(by_level[level], sources, strict=True):
            for field in COUNT_FIELDS:
                assert parsed(field, row[field]) == source[field], (level, field)
            assert parsed("stations", row["stations"]) == source.get("stations")
    assert any(row["compliance_pct"] == "" for row in rows)  # null stays empty
    assert "58.3" in {row["compliance_pct"] for row in rows}  # a dot, never a comma


def test_csv_identifies_every_row(report):
    rows = read_csv(to_csv(report, "en"))
    total = rows[0]
    assert (total["name"], total["from"], total["to"]) == ("Toàn quốc", "2026-10-15", "2026-11-14")
    provinces = [(r["code"], r["name"]) for r in rows if r["level"] == "province"]
    assert provinces == [("42", "Hà Tĩnh"), ("46", nfc("Thừa Thiên Huế"))]
    commune = next(r for r in rows if r["level"] == "commune" and r["code"] == "18070")
    assert (commune["name"], commune["province_code"]) == ("Phường Thành Sen", "42")
    station = next(r for r in rows if r["level"] == "station" and r["code"] == "HT-CX-01")
    assert (station["unit_code"], station["province_code"]) == ("18652", "42")
    campaign = next(r for r in rows if r["level"] == "campaign")
    assert (campaign["campaign_id"], campaign["name"]) == ("7", "Phòng, chống bão lũ năm 2026")
    week = next(r for r in rows if r["level"] == "week")
    assert (week["week"], week["from"], week["to"]) == ("2026-W44", "2026-10-26", "2026-11-01")
    detail = next(r for r in rows if r["level"] == "detail")
    assert (detail["code"], detail["name"], detail["campaign_id"], detail["week"]) == (
        "HT-CX-01",
        "Đài truyền thanh xã Cẩm Xuyên",
        "7",
        "2026-W44",
    )
    assert (detail["unit_code"], detail["from"]) == ("18652", "2026-10-26")


def test_hostile_names_round_trip_through_csv(report):
    hostile = 'Xã <script>alert("x")</script>; "A", B'
    report["stations"][0]["name"] = hostile
    report["campaigns"][0]["name"] = 'Chiến dịch ;,"\n2 dòng'
    report["provinces"][0]["name"] = '=HYPERLINK("http://x")'
    rows = read_csv(to_csv(report, "en"))
    station = next(r for r in rows if r["level"] == "station" and r["code"] == "HT-CX-01")
    assert station["name"] == hostile
    assert next(r for r in rows if r["level"] == "campaign")["name"] == 'Chiến dịch ;,"\n2 dòng'
    # a spreadsheet must not run it as a formula
    assert next(r for r in rows if r["level"] == "province")["name"] == '\'=HYPERLINK("http://x")'


# --- XLSX -------------------------------------------------------------------------------

SHEETS = {
    "Tỉnh": "provinces",
    "Xã": "communes",
    "Đài": "stations",
    "Chiến dịch": "campaigns",
    "Tuần": "weeks",
    "Đài × chiến dịch": "station_campaigns",
    "Chi tiết": "detail",
}


def test_xlsx_sheets_hold_the_json_numbers(report):
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    assert wb.sheetnames == ["Tổng hợp", *SHEETS]
    for title, key in SHEETS.items():
        ws = wb[title]
        header = [cell.value for cell in ws[1]]
        assert all(cell.font.b for cell in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{ws.max_row}"
        sources = report[key]
        assert ws.max_row == len(sources) + 1, title
        for index, source in enumerate(sources, start=2):
            for field in COUNT_FIELDS:
                cell = ws.cell(index, header.index(COUNT_LABELS[field]) + 1)
                assert cell.value == source[field], (title, index, field)
                if field in ("compliance_pct", "on_time_pct") and cell.value is not None:
                    assert isinstance(cell.value, int | float)  # xlsx stores 90.0 as 90
                    assert cell.number_format == XLSX_PCT_FORMAT
            if "stations" in source:
                assert ws.cell(index, header.index("Số đài") + 1).value == source["stations"]


def test_xlsx_names_dates_and_summary(report):
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    provinces = [row[1] for row in wb["Tỉnh"].iter_rows(min_row=2, values_only=True)]
    assert provinces == ["Hà Tĩnh", nfc("Thừa Thiên Huế")]
    week = next(wb["Tuần"].iter_rows(min_row=2, values_only=True))
    assert week[:3] == ("2026-W44", datetime(2026, 10, 26), datetime(2026, 11, 1))
    pair = next(wb["Đài × chiến dịch"].iter_rows(min_row=2, values_only=True))
    assert pair[:4] == ("HT-CX-01", STATIONS[0][1], 7, "Phòng, chống bão lũ năm 2026")
    station = list(wb["Đài"].iter_rows(min_row=2, values_only=True))[1]
    assert station[:7] == (  # last seen in local time: 00:58 UTC is 07:58 in Hà Nội
        "HT-TS-01",
        "Đài phường Thành Sen",
        "18070",
        "Phường Thành Sen",
        "42",
        datetime(2026, 11, 5, 7, 58),
        "Không",
    )
    summary = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(values_only=True) if row}
    assert summary["Kỳ báo cáo"] == "Tháng 11/2026"
    assert summary["Từ ngày"].date() == date(2026, 10, 15)
    assert summary["Lập lúc"].strftime("%d/%m/%Y %H:%M") == "05/11/2026 08:30"
    assert summary["Ngày chốt số liệu"] == 15
    assert summary["Dấu chuỗi nhật ký (SHA-256)"] == "9f2c" * 16
    for field in ("stations", *COUNT_FIELDS):
        assert summary[COUNT_LABELS[field]] == report["totals"][field], field
    assert summary["Số đài mất liên lạc"] == 2
    assert summary["Số lượt đã phát"] == 2


def test_a_report_without_detail_has_no_detail_sheet(report):
    report["detail"] = None
    report["detail_omitted"] = "Báo cáo có 3.321 đài (quá 500): bảng chi tiết được bỏ."
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    assert "Chi tiết" not in wb.sheetnames
    summary = {row[0]: row[1] for row in wb["Tổng hợp"].iter_rows(values_only=True) if row}
    assert summary["Không có bảng chi tiết"] == report["detail_omitted"]
    assert "detail" not in {row["level"] for row in read_csv(to_csv(report, "en"))}
    assert report["detail_omitted"] in pdf_text(to_pdf(report))


def test_xlsx_keeps_a_formula_like_name_as_text(report):
    report["stations"][0]["name"] = "=1+1"
    ws = load_workbook(io.BytesIO(to_xlsx(report)))["Đài"]
    assert (ws["B2"].value, ws["B2"].data_type) == ("=1+1", "s")


# --- PDF --------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The PDF's text, NFC, with whitespace collapsed: table cells wrap long names."""
    assert data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(nfc(text).split())


def test_pdf_has_the_names_period_stamp_and_signatures(report):
    data = to_pdf(report)
    text = pdf_text(data)
    for name in (
        "Báo cáo thực hiện phát thanh tuyên truyền",
        "Toàn quốc",
        "Hà Tĩnh",
        "Thừa Thiên Huế",
        "Xã Cẩm Xuyên",
        "Phường Thành Sen",
        "Phòng, chống bão lũ năm 2026",
        "Tiêm chủng mở rộng",
        "Đài phường Thuận Hóa",
        "Khẩn cấp: bão số 12 đổ bộ",
    ):
        assert nfc(name) in text, name
    assert "Tháng 11/2026" in text
    assert "15/10/2026" in text and "14/11/2026" in text
    assert "05/11/2026 08:30" in text
    assert "9f2c" * 16 in text
    assert "58,3" in text and "56,7" in text  # Vietnamese decimal comma for people
    for line in ("Người lập biểu", "Thủ trưởng đơn vị", "(Ký, ghi rõ họ tên)"):
        assert line in text
    assert "......, ngày ... tháng ... năm ...." in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(data)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("DejaVuSans" in font for font in fonts)


def test_pdf_caps_communes_and_repeats_the_table_header(report):
    template = report["communes"][0]
    report["communes"] = [
        {**template, "code": f"{30000 + i}", "name": f"Xã Thạch Hà {i}"} for i in range(230)
    ]
    text = pdf_text(to_pdf(report))
    assert "Xã Thạch Hà 199" in text
    assert "Xã Thạch Hà 200" not in text
    assert "Còn 30 xã/phường nữa" in text
    pages = [nfc(p.extract_text()) for p in PdfReader(io.BytesIO(to_pdf(report))).pages]
    commune_pages = [p for p in pages if "Xã Thạch Hà" in p]
    assert len(commune_pages) > 1
    assert all("Xã/phường" in page for page in commune_pages)


@pytest.mark.parametrize("lines", range(16, 64, 4))
def test_the_behind_table_stays_on_one_page_under_its_header(report, lines):
    """Pushed down the page line by line, the ten stations most behind never split from
    their header (nor the header from them)."""
    row = report["behind"][0]
    report["behind"] = [
        {**row, "station_code": f"HT-{i:02d}", "station_name": f"Đài số {i}"} for i in range(10)
    ]
    report["title"] = "\n".join(["Báo cáo"] * (1 + lines))  # 8 mm a line
    pages = [nfc(p.extract_text()) for p in PdfReader(io.BytesIO(to_pdf(report))).pages]
    holding = [n for n, page in enumerate(pages) if "HT-0" in page]
    assert len(holding) == 1, holding
    page = pages[holding[0]]
    assert page.index("Không phát đủ") < page.index("HT-00")
    assert all(f"HT-{i:02d}" in page for i in range(10))


def test_a_range_of_days_is_named_once_in_the_pdf_header(report):
    report["period"] = {
        "kind": "custom",
        "key": "2026-11-09..2026-11-29",
        "label": "Từ 09/11/2026 đến 29/11/2026",
        "from": "2026-11-09",
        "to": "2026-11-29",
        "cutoff_day": 15,
    }
    text = pdf_text(to_pdf(report))
    assert "Kỳ báo cáo: Từ 09/11/2026 đến 29/11/2026 Số liệu lập lúc" in text
    assert "(từ 09/11/2026 đến 29/11/2026" not in text  # once was: "Từ … (từ … đến …; …)"
    assert "ngày chốt số liệu" not in text  # a range of days has no cut-off day


# --- empty report and charts -----------------------------------------------------------


def test_an_empty_report_exports_in_every_format(empty_report):
    assert json.loads(to_json(empty_report))["totals"]["compliance_pct"] is None
    rows = read_csv(to_csv(empty_report, "en"))
    assert [(r["level"], r["code"], r["name"]) for r in rows] == [("total", "42", "Hà Tĩnh")]
    assert rows[0]["compliance_pct"] == "" and rows[0]["required"] == "0"
    wb = load_workbook(io.BytesIO(to_xlsx(empty_report)))
    assert all(wb[title].max_row == 1 for title in SHEETS)
    text = pdf_text(to_pdf(empty_report))
    assert "Hà Tĩnh" in text and "Người lập biểu" in text


def test_charts_draw_data_or_a_placeholder(report, empty_report):
    for data in (charts.weekly_compliance_png(report), charts.behind_png(empty_report)):
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert charts.weekly_compliance_svg(report).lstrip().startswith("<?xml")
    placeholder = charts.weekly_figure(empty_report)
    assert charts.NO_DATA in [t.get_text() for t in placeholder.texts]
    drawn = charts.weekly_figure(report)
    assert [t.get_text() for t in drawn.axes[0].get_xticklabels()] == ["T44", "T45", "T46"]
    bars = [patch.get_height() for patch in drawn.axes[0].patches]
    assert bars == [w["compliance_pct"] or 0 for w in report["weeks"]]
    behind = charts.behind_figure(report)
    assert [p.get_width() for p in behind.axes[0].patches] == [
        row["missing"] for row in report["behind"]
    ]


def test_exporters_do_not_change_the_report(report):
    before = copy.deepcopy(report)
    to_json(report), to_csv(report), to_xlsx(report), to_pdf(report)
    assert report == before


def test_csv_speaks_vietnamese_by_default_with_the_xlsx_labels(report):
    rows = read_csv(to_csv(report))
    assert list(rows[0])[:3] == ["Cấp", "Mã", "Tên"]
    assert "Tỷ lệ thực hiện (%)" in rows[0] and "Số phút đã phát" in rows[0]
    levels = {row["Cấp"] for row in rows}
    assert {"Tổng cộng", "Tỉnh", "Xã", "Đài", "Chiến dịch", "Tuần"} <= levels
    english = read_csv(to_csv(report, "en"))
    assert [LEVELS_VI[r["level"]] for r in english] == [r["Cấp"] for r in rows]
    with pytest.raises(InvalidInput, match="vi hoặc en"):
        to_csv(report, "fr")
