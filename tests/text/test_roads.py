"""Route names (QL, ĐT, TL, ĐH, HL) and chainage (Km 15+200) in running text."""

from __future__ import annotations

import pytest

from broadcaster.text import normalise_vi

ROUTES = [
    ("QL8A", "quốc lộ tám a"),
    ("đoạn QL 1A qua xã", "đoạn quốc lộ một a qua xã"),
    ("trên QL.14 hướng Bắc", "trên quốc lộ mười bốn hướng Bắc"),
    ("QL15B và QL281", "quốc lộ mười lăm bê và quốc lộ hai trăm tám mươi mốt"),
    ("tuyến ĐT 549", "tuyến đường tỉnh năm trăm bốn mươi chín"),
    ("nâng cấp ĐT549", "nâng cấp đường tỉnh năm trăm bốn mươi chín"),
    ("ĐT.769 đoạn qua thôn", "đường tỉnh bảy trăm sáu mươi chín đoạn qua thôn"),
    ("đường ĐT 549", "đường tỉnh năm trăm bốn mươi chín"),
    ("Đường ĐH 12", "Đường huyện mười hai"),
    ("TL8 bị sạt lở", "tỉnh lộ tám bị sạt lở"),
    ("ĐH 12 và ĐH 05", "đường huyện mười hai và đường huyện năm"),
    ("HL 7", "hương lộ bảy"),
    ("Quốc lộ 1A", "Quốc lộ một a"),
    ("tỉnh lộ 8B", "tỉnh lộ tám bê"),
    ("Cấm xe trên QL8A, ĐT 549.", "Cấm xe trên quốc lộ tám a, đường tỉnh năm trăm bốn mươi chín."),
]

CHAINAGE = [
    ("km 15+200", "ki lô mét mười lăm cộng hai trăm"),
    ("Km15+200", "ki lô mét mười lăm cộng hai trăm"),
    (
        "tại Km 1089+500 QL1A",
        "tại ki lô mét một nghìn không trăm tám mươi chín cộng năm trăm quốc lộ một a",
    ),
    ("từ Km3+050 đến Km4+200", "từ ki lô mét ba cộng năm mươi đến ki lô mét bốn cộng hai trăm"),
    (
        "đoạn Km12+300 - Km12+800",
        "đoạn ki lô mét mười hai cộng ba trăm đến ki lô mét mười hai cộng tám trăm",
    ),
    ("tại Km 15 ĐT 549", "tại ki lô mét mười lăm đường tỉnh năm trăm bốn mươi chín"),
    ("KM 0", "ki lô mét không"),
]

LEFT_TO_OTHER_READINGS = [
    ("đường dài 12 km", "đường dài mười hai ki lô mét"),
    ("tốc độ 40 km/h", "tốc độ bốn mươi ki lô mét một giờ"),
    ("ĐT: 0912345678", "điện thoại: không chín một hai, ba bốn năm, sáu bảy tám"),
    ("ĐT 0239 3855 555", "điện thoại không hai ba chín, ba tám năm năm, năm năm năm"),
    ("ĐH Vinh", "đại học Vinh"),
    ("TL. CHỦ TỊCH", "thừa lệnh CHỦ TỊCH"),
    ("sinh viên ĐH năm 2", "sinh viên đại học năm hai"),
    ("QL và ĐT", "quốc lộ và ĐT"),
]

CASES = ROUTES + CHAINAGE + LEFT_TO_OTHER_READINGS


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0][:40] for c in CASES])
def test_routes_and_chainage(written: str, spoken: str) -> None:
    assert normalise_vi(written) == spoken
