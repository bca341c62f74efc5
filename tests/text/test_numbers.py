"""The cardinal reader: Vietnamese rules for linh, mốt, tư, lăm, nghìn, tỷ and decimals."""

from __future__ import annotations

import pytest

from broadcaster.text import read_number
from broadcaster.text.numbers import read_digits, read_fraction, read_ordinal, roman_value

CARDINALS = [
    ("0", "không"),
    ("5", "năm"),
    ("10", "mười"),
    ("11", "mười một"),
    ("14", "mười bốn"),
    ("15", "mười lăm"),
    ("20", "hai mươi"),
    ("21", "hai mươi mốt"),
    ("24", "hai mươi tư"),
    ("25", "hai mươi lăm"),
    ("31", "ba mươi mốt"),
    ("45", "bốn mươi lăm"),
    ("55", "năm mươi lăm"),
    ("100", "một trăm"),
    ("101", "một trăm linh một"),
    ("104", "một trăm linh bốn"),
    ("105", "một trăm linh năm"),
    ("110", "một trăm mười"),
    ("111", "một trăm mười một"),
    ("115", "một trăm mười lăm"),
    ("208", "hai trăm linh tám"),
    ("1000", "một nghìn"),
    ("1001", "một nghìn không trăm linh một"),
    ("1010", "một nghìn không trăm mười"),
    ("1100", "một nghìn một trăm"),
    ("1174", "một nghìn một trăm bảy mươi tư"),
    ("2019", "hai nghìn không trăm mười chín"),
    ("2023", "hai nghìn không trăm hai mươi ba"),
    ("2025", "hai nghìn không trăm hai mươi lăm"),
    ("10000", "mười nghìn"),
    ("18.328", "mười tám nghìn ba trăm hai mươi tám"),
    ("100000", "một trăm nghìn"),
    ("1000000", "một triệu"),
    ("1.000.000", "một triệu"),
    ("1.500.000", "một triệu năm trăm nghìn"),
    ("1.000.050", "một triệu không trăm năm mươi"),
    ("1.005.000", "một triệu không trăm linh năm nghìn"),
    ("1.234.567", "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
    ("1000000000", "một tỷ"),
    ("1.000.000.005", "một tỷ không trăm linh năm"),
    ("2000000000000", "hai nghìn tỷ"),
    ("2.360", "hai nghìn ba trăm sáu mươi"),
    ("200.000", "hai trăm nghìn"),
]

DECIMALS = [
    ("7,5", "bảy phẩy năm"),
    ("3,25", "ba phẩy hai mươi lăm"),
    ("0,05", "không phẩy không năm"),
    ("95,5", "chín mươi lăm phẩy năm"),
    ("1,5", "một phẩy năm"),
    ("3.5", "ba phẩy năm"),
    ("2,50", "hai phẩy năm mươi"),
    ("1.234,5", "một nghìn hai trăm ba mươi tư phẩy năm"),
    ("3,14159", "ba phẩy một bốn một năm chín"),
]

NEGATIVES = [
    ("-5", "âm năm"),
    ("-15", "âm mười lăm"),
    ("-0,5", "âm không phẩy năm"),
    ("−2", "âm hai"),
]


@pytest.mark.parametrize(("digits", "spoken"), CARDINALS)
def test_cardinals(digits: str, spoken: str) -> None:
    assert read_number(digits) == spoken


@pytest.mark.parametrize(("digits", "spoken"), DECIMALS)
def test_decimals(digits: str, spoken: str) -> None:
    assert read_number(digits) == spoken


@pytest.mark.parametrize(("digits", "spoken"), NEGATIVES)
def test_negatives(digits: str, spoken: str) -> None:
    assert read_number(digits) == spoken


def test_never_lẻ_or_ngàn() -> None:
    spoken = " ".join(read_number(str(n)) for n in range(0, 3000, 7))
    assert "lẻ" not in spoken
    assert "ngàn" not in spoken


def test_zero_led_two_digits_are_values_longer_are_codes() -> None:
    assert read_number("05") == "năm"
    assert read_number("0123") == "không một hai ba"


def test_very_long_runs_are_read_digit_by_digit() -> None:
    assert read_number("1" * 16) == " ".join(["một"] * 16)


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3.4", "1,,2", "12a", "--5"])
def test_not_a_number_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        read_number(bad)


def test_helpers() -> None:
    assert read_digits("0912") == "không chín một hai"
    assert read_fraction("05") == "không năm"
    assert read_ordinal(1) == "nhất"
    assert read_ordinal(4) == "tư"
    assert read_ordinal(7) == "bảy"
    assert roman_value("XIV") == 14
    assert roman_value("IIII") is None
    assert roman_value("") is None
