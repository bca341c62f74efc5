"""Weekday abbreviations (T2 … T7, CN) in running text, and the codes that look like them."""

from __future__ import annotations

import pytest

from broadcaster.text import normalise_vi

WEEKDAYS = [
    ("Tiếp dân các ngày T2, T4, T6", "Tiếp dân các ngày thứ hai, thứ tư, thứ sáu"),
    ("làm việc từ T2 đến T6", "làm việc từ thứ hai đến thứ sáu"),
    ("làm việc T2-T6, nghỉ T7, CN", "làm việc thứ hai đến thứ sáu, nghỉ thứ bảy, Chủ nhật"),
    ("Mở cửa T2 – T7", "Mở cửa thứ hai đến thứ bảy"),
    ("T7 - CN", "thứ bảy đến Chủ nhật"),
    ("sáng CN tuần này", "sáng Chủ nhật tuần này"),
    ("chiều T5 họp chi bộ", "chiều thứ năm họp chi bộ"),
    ("tối T7 có chiếu phim", "tối thứ bảy có chiếu phim"),
    ("vào T3 hằng tuần", "vào thứ ba hằng tuần"),
    ("họp T5 tuần sau", "họp thứ năm tuần sau"),
    ("Lịch tiếp dân T2, T5 hằng tuần.", "Lịch tiếp dân thứ hai, thứ năm hằng tuần."),
    ("Lớp học T3 và T5", "Lớp học thứ ba và thứ năm"),
    ("T5 ngày 20/6", "thứ năm ngày hai mươi tháng sáu"),
    ("vào T7 (15/6)", "vào thứ bảy, ngày mười lăm tháng sáu,"),
    ("mỗi T6 thu gom rác", "mỗi thứ sáu thu gom rác"),
    ("trừ T7, CN và ngày lễ", "trừ thứ bảy, Chủ nhật và ngày lễ"),
    ("Đêm T6 cấm đốt pháo", "Đêm thứ sáu cấm đốt pháo"),
    ("các ngày T7 hoặc CN", "các ngày thứ bảy hoặc Chủ nhật"),
    # already read by the abbreviation table: unchanged
    ("từ thứ 2 đến CN", "từ thứ hai đến Chủ nhật"),
    ("thứ 7 và CN", "thứ bảy và Chủ nhật"),
]

NOT_WEEKDAYS = [
    ("phòng T2", "phòng T hai"),
    ("tầng T3 nhà A", "tầng T ba nhà A"),
    ("mã T2-2026", "mã T hai đến hai nghìn không trăm hai mươi sáu"),
    ("khu CN Vũng Áng", "khu CN Vũng Áng"),
    ("ngành CN thông tin", "ngành CN thông tin"),
    ("CN nghỉ", "CN nghỉ"),
    ("T2 họp", "T hai họp"),
    ("KT2", "ca tê hai"),  # an unknown code, spelled (see test_unread.py)
]

CASES = WEEKDAYS + NOT_WEEKDAYS


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0][:40] for c in CASES])
def test_weekday_abbreviations(written: str, spoken: str) -> None:
    assert normalise_vi(written) == spoken
