"""``broadcaster report``: every format carries the JSON's numbers; bad input is named."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import timedelta

import openpyxl
import pytest
from pypdf import PdfReader

from broadcaster.db import transaction
from broadcaster.reports.compliance import COUNTS
from broadcaster.reports.fields import RELAY_FIELDS
from broadcaster.services import users
from tests.reports.scene import at


def _scene_airings(scene):
    d = scene.m0
    scene.report(scene.slot(d + timedelta(2)), at(d + timedelta(2), "06:02"), 2)
    scene.report(scene.slot(d + timedelta(4)), at(d + timedelta(4), "18:40"), 2)
    scene.report(scene.slot(d + timedelta(7)), at(d + timedelta(7), "06:00"), 1, "partial")


def _range(scene):
    return ["--from", scene.m0.isoformat(), "--to", (scene.m0 + timedelta(20)).isoformat()]


def _json(cli, scene, *extra):
    result = cli("report", "compliance", *_range(scene), "--unit", scene.province, *extra)
    assert result.exit_code == 0, result.output
    return _first_json(result.stdout)


def _first_json(out: str):
    """The JSON document on stdout (the test runner mixes in the summary from stderr)."""
    return json.JSONDecoder().raw_decode(out)[0]


def _number(text: str):
    if text == "":
        return None
    return float(text) if "." in text else int(text)


def test_json_csv_xlsx_pdf_carry_the_same_numbers(cli, scene, tmp_path):
    _scene_airings(scene)
    report = _json(cli, scene)
    assert report["totals"]["on_time"] == 1 and report["totals"]["late"] == 1

    out = tmp_path / "bao-cao.csv"
    result = cli(
        "report",
        "compliance",
        *_range(scene),
        "--unit",
        scene.province,
        "--format",
        "csv",
        "--lang",
        "en",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Vietnamese
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    by_level = {}
    for row in rows:
        by_level.setdefault(row["level"], []).append(row)
    for level, key, ident in (
        ("station", "stations", "code"),
        ("commune", "communes", "code"),
        ("province", "provinces", "code"),
        ("week", "weeks", "week"),
    ):
        csv_rows = {r[ident]: r for r in by_level[level]}
        assert len(csv_rows) == len(report[key])
        for item in report[key]:
            got = csv_rows[item[ident]]
            assert {k: _number(got[k]) for k in COUNTS} == {k: item[k] for k in COUNTS}
    (total,) = by_level["total"]
    assert {k: _number(total[k]) for k in COUNTS} == {k: report["totals"][k] for k in COUNTS}
    names = {r["name"] for r in by_level["commune"]}
    assert scene.unit_name in names  # accented names survive (NFC)
    # by default the CSV speaks Vietnamese, with the XLSX's and PDF's labels
    vietnamese = cli(
        "report", "compliance", *_range(scene), "--unit", scene.province, "--format", "csv"
    )
    first = next(csv.DictReader(io.StringIO(vietnamese.stdout.lstrip("\ufeff"))))
    assert first["Cấp"] == "Tổng cộng" and _number(first["Trễ giờ"]) == report["totals"]["late"]
    assert "level" not in first

    out = tmp_path / "bao-cao.xlsx"
    result = cli(
        "report",
        "compliance",
        *_range(scene),
        "--unit",
        scene.province,
        "--format",
        "xlsx",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    sheet = book["Đài"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    values = {}
    for line in sheet.iter_rows(min_row=2, values_only=True):
        values[str(line[0])] = dict(zip(header, line, strict=True))
    station = next(s for s in report["stations"] if s["code"] == scene.station)
    row = values[scene.station]
    # every number of the JSON is a number in the sheet, under its Vietnamese header
    numbers = sorted(v for v in row.values() if isinstance(v, int | float) and v is not True)
    fields = (*COUNTS, *RELAY_FIELDS)  # the relay figures are numbers too (zero relays here)
    expected = sorted(station[k] for k in fields if station[k] is not None)
    assert numbers == expected

    out = tmp_path / "bao-cao.pdf"
    result = cli(
        "report",
        "compliance",
        *_range(scene),
        "--unit",
        scene.province,
        "--format",
        "pdf",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "tỷ lệ thực hiện 25,0%" in result.output  # Vietnamese decimal comma
    text = unicodedata.normalize(
        "NFC", "\n".join(page.extract_text() for page in PdfReader(out).pages)
    )
    assert "Hà Tĩnh" in text and scene.unit_name in text
    assert "Thủ trưởng đơn vị" in text


def test_periods_by_name(cli, scene):
    month = f"{scene.m0:%Y-%m}"
    result = cli("report", "compliance", "--period", "month", "--of", month, "--unit", scene.unit)
    assert result.exit_code == 0, result.output
    report = _first_json(result.stdout)
    assert report["period"]["kind"] == "month" and report["period"]["from"].endswith("-15")
    calendar = cli(
        "report",
        "compliance",
        "--period",
        "month",
        "--of",
        month,
        "--calendar",
        "--unit",
        scene.unit,
    )
    assert _first_json(calendar.stdout)["period"]["from"] == f"{month}-01"


def test_store_list_show_verify(cli, scene, tmp_path):
    _scene_airings(scene)
    result = cli(
        "report",
        "compliance",
        *_range(scene),
        "--unit",
        scene.unit,
        "--store",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "a.csv"),
    )
    assert result.exit_code == 0, result.output
    assert "Đã lưu báo cáo số 1" in result.output
    listed = cli("report", "list")
    assert scene.unit in listed.output and "custom" in listed.output
    shown = cli("report", "show", "1")
    assert _first_json(shown.stdout)["totals"]["partial"] == 1
    verified = cli("report", "verify", "1")
    assert verified.exit_code == 0 and "toàn vẹn" in verified.output
    assert "đúng vị trí 1 trong chuỗi đã ký" in verified.output
    assert "Chuỗi báo cáo đã lưu: 1 báo cáo, đầu chuỗi đã ký 1 · " in verified.output
    missing = cli("report", "verify", "99")
    assert missing.exit_code == 2 and "Không có báo cáo đã lưu số 99" in missing.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-10", "--to", "2026-11-01"], "trước ngày bắt đầu"),
        (["--from", "2016-01-01", "--to", "2026-01-01"], "dài quá 3 năm"),
        (["--from", "2026-02-30", "--to", "2026-03-01"], "không tồn tại ngày này"),
        (["--from", "26-11-01", "--to", "2026-11-02"], "không hợp lệ: dùng YYYY-MM-DD"),
        (["--from", "2026-11-01", "--to", "9999-12-31"], "nằm ngoài khoảng cho phép"),
        (["--from", "2026-11-01"], "Cần kỳ báo cáo"),
        (["--period", "month"], "--period cần --of"),
        (["--period", "month", "--of", "2026-13"], "Tháng 13 không có"),
        (["--period", "quarter", "--of", "2026-11"], "YYYY-Qn"),
        (["--period", "month", "--of", "2026-11", "--from", "2026-11-01"], "không dùng cả hai"),
        (["--from", "2026-11-01", "--to", "2026-11-02", "--unit", "XX-1"], "mã 'XX-1'"),
        (["--from", "2026-11-01", "--to", "2026-11-02", "--campaign", "999"], "số 999"),
        (["--from", "2026-11-01", "--to", "2026-11-02", "--format", "xlsx"], "cần tệp ra"),
        (
            ["--from", "2026-11-01", "--to", "2026-11-02", "-o", "/nonexistent/dir/x.json"],
            "Thư mục '/nonexistent/dir' không có",
        ),
    ],
)
def test_bad_input_is_named(cli, scene, args, message):
    result = cli("report", "compliance", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_user_sees_only_their_scope(cli, scene, factory, actor):
    with transaction(factory) as s:
        users.add_user(s, actor, "kiemtra", "auditor", "password1", scope=scene.unit)
    env = {"BROADCASTER_PASSWORD": "password1"}
    cli.env.update(env)
    own = cli("report", "compliance", *_range(scene), "--unit", scene.unit, "--user", "kiemtra")
    assert own.exit_code == 0, own.output
    wider = cli(
        "report", "compliance", *_range(scene), "--unit", scene.province, "--user", "kiemtra"
    )
    assert wider.exit_code == 2 and "không được xem báo cáo của đơn vị 42" in wider.output
    nation = cli("report", "compliance", *_range(scene), "--user", "kiemtra")
    assert nation.exit_code == 2 and "toàn quốc" in nation.output
