"""Codes nobody said how to read: spelled in the spoken form, and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.services.script_text import TextWarning, text_warnings
from broadcaster.text import (
    NormaliseOptions,
    SpokenText,
    load_abbreviations,
    normalise_checked,
    normalise_vi,
    unread_codes,
)

SPELLED = [
    ("Mã XYZQ", "Mã ích i dài dét quy", ("XYZQ",)),
    ("nhập mã ABC123 để nhận quà", "nhập mã a bê xê một hai ba để nhận quà", ("ABC123",)),
    ("Chủng cúm H5N1", "Chủng cúm hát năm en một", ("H5N1",)),
    ("Theo KXT, các hộ", "Theo ca ích tê, các hộ", ("KXT",)),
    ("XYZQ và XYZQ, QWE", "ích i dài dét quy và ích i dài dét quy, quy vê kép e", ("XYZQ", "QWE")),
    ("(PTZ)", "pê tê dét,", ("PTZ",)),
]

LEFT_ALONE = [
    # known abbreviations read as before
    ("nộp hồ sơ TTHC qua DVCTT", "nộp hồ sơ thủ tục hành chính qua dịch vụ công trực tuyến"),
    ("UBND xã", "Ủy ban nhân dân xã"),
    # a table entry whose context did not apply: left as written, not reported
    ("CT đã ký", "CT đã ký"),
    # known words, brands, units
    ("mã OTP gửi về điện thoại", "mã OTP gửi về điện thoại"),
    ("quét mã QR", "quét mã QR"),
    ("dịch COVID-19", "dịch COVID mười chín"),
    ("khối ASEAN", "khối ASEAN"),
    ("ứng dụng VNeID", "ứng dụng VNeID"),
    ("giá 50.000 VND", "giá năm mươi nghìn đồng"),
    ("đường dây 110 KV", "đường dây một trăm mười KV"),
    # capital headings typed without accents, Roman numerals, single capitals
    ("THONG BAO KHAN", "THONG BAO KHAN"),
    ("ỦY BAN NHÂN DÂN", "ỦY BAN NHÂN DÂN"),
    ("Đại hội lần thứ XIII", "Đại hội lần thứ mười ba"),
    ("Chương II", "Chương hai"),
    ("ca F0 và F1", "ca F không và F một"),
    ("giấy A4", "giấy A bốn"),
    ("mạng 4G", "mạng bốn G"),
    # codes other rules read
    ("Thông báo 256/TB-UBND", "Thông báo số hai trăm năm mươi sáu thông báo Ủy ban nhân dân"),
    ("QL8A", "quốc lộ tám a"),
    ("các ngày T2, T4", "các ngày thứ hai, thứ tư"),
    ("truy cập dichvucong.gov.vn", "truy cập dịch vụ công chấm gờ o vê chấm vê en"),
]


@pytest.mark.parametrize(("written", "spoken", "unread"), SPELLED, ids=[c[0] for c in SPELLED])
def test_unknown_codes_are_spelled_and_reported(written, spoken, unread) -> None:
    assert normalise_checked(written) == SpokenText(spoken, unread)
    assert normalise_vi(written) == spoken
    assert unread_codes(written) == unread


@pytest.mark.parametrize(("written", "spoken"), LEFT_ALONE, ids=[c[0] for c in LEFT_ALONE])
def test_known_codes_are_not_reported(written, spoken) -> None:
    assert normalise_checked(written) == SpokenText(spoken, ())
    assert unread_codes(written) == ()


def test_a_deployment_table_entry_makes_a_code_known(tmp_path: Path) -> None:
    extra = tmp_path / "extra.tsv"
    extra.write_text("XYZQ\tdự án xanh\n", encoding="utf-8")
    options = NormaliseOptions(abbreviations=load_abbreviations(extra))
    assert normalise_checked("Mã XYZQ", options) == SpokenText("Mã dự án xanh", ())
    assert unread_codes("Mã XYZQ", options) == ()


def test_lines_are_kept_and_codes_listed_once_in_order() -> None:
    spoken = normalise_checked("Mã QWE\n\nMã XYZQ, mã QWE")
    assert spoken.text == "Mã quy vê kép e\n\nMã ích i dài dét quy, mã quy vê kép e"
    assert spoken.unread == ("QWE", "XYZQ")


def test_the_editor_warns_about_them_where_they_stand() -> None:
    body = "Hạn nộp 31/02/2026, mã XYZQ; ông ........ ký, mã ABC123, UBND xã."
    assert text_warnings(body) == [
        TextWarning("no_such_day", "31/02/2026"),
        TextWarning("unread", "XYZQ"),
        TextWarning("blank", "........"),
        TextWarning("unread", "ABC123"),
    ]
    assert text_warnings("UBND xã thông báo lịch tiêm COVID-19 các ngày T2, T4.") == []
