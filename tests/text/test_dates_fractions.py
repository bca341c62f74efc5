"""A day/month without a year: a date, a fraction or a ratio, by the words around it."""

from __future__ import annotations

import pytest

from broadcaster.text import normalise_vi

UBND = "Ủy ban nhân dân"

# Dates the context places in time: "ngày" is said before them.
PLACED = [
    ("Hoàn thành trước 8/3.", "Hoàn thành trước ngày tám tháng ba."),
    ("nộp hồ sơ trước 15/10", "nộp hồ sơ trước ngày mười lăm tháng mười"),
    ("sau 20/4 sẽ thông báo", "sau ngày hai mươi tháng tư sẽ thông báo"),
    (
        "thời gian từ 15/8 đến 20/8",
        "thời gian từ ngày mười lăm tháng tám đến ngày hai mươi tháng tám",
    ),
    ("tiêm nhắc lại từ 1/7", "tiêm nhắc lại từ ngày một tháng bảy"),
    ("Sáng 2/9, nhân dân tập trung", "Sáng ngày hai tháng chín, nhân dân tập trung"),
    ("chiều 14/2 tại nhà văn hóa", "chiều ngày mười bốn tháng hai tại nhà văn hóa"),
    ("tối 24/12 có văn nghệ", "tối ngày hai mươi tư tháng mười hai có văn nghệ"),
    ("hôm 5/6 vừa rồi", "hôm ngày năm tháng sáu vừa rồi"),
    ("hạn chót 31/12", "hạn chót ngày ba mươi mốt tháng mười hai"),
    ("Hạn nộp: 30/6.", "Hạn nộp: ngày ba mươi tháng sáu."),
    ("thời hạn đăng ký 15/7", "thời hạn đăng ký ngày mười lăm tháng bảy"),
    ("tính đến 30/9, toàn xã", "tính đến ngày ba mươi tháng chín, toàn xã"),
    ("kể từ 1/1 năm sau", "kể từ ngày một tháng một năm sau"),
    ("đến hết 31/3", "đến hết ngày ba mươi mốt tháng ba"),
    ("vào 25/12 tới", "vào ngày hai mươi lăm tháng mười hai tới"),
    ("tổ chức 15/8 âm lịch", "tổ chức ngày mười lăm tháng tám âm lịch"),
    ("lễ hội diễn ra 10/3 hằng năm", "lễ hội diễn ra ngày mười tháng ba hằng năm"),
    ("họp vào 29/2", "họp vào ngày hai mươi chín tháng hai"),
    ("thứ 7 (15/6) nghỉ", "thứ bảy, ngày mười lăm tháng sáu, nghỉ"),
    ("Thứ Hai, 3/11 khai mạc", "Thứ Hai, ngày ba tháng mười một khai mạc"),
    (
        "kỳ tháng 12 (15/11–14/12)",
        "kỳ tháng mười hai, ngày mười lăm tháng mười một đến ngày mười bốn tháng mười hai,",
    ),
    (
        "tiêm từ T2 đến T6 (8/8-12/8)",
        "tiêm từ thứ hai đến thứ sáu, ngày tám tháng tám đến ngày mười hai tháng tám,",
    ),
    ("Tuần lễ 1/6 đến 7/6", "Tuần lễ ngày một tháng sáu đến ngày bảy tháng sáu"),
    ("Sáng T2 (17/6), họp", "Sáng thứ hai, ngày mười bảy tháng sáu, họp"),
    ("dịp lễ 2/9 năm nay", "dịp lễ ngày hai tháng chín năm nay"),
    ("nghỉ Tết 8/2 - 14/2", "nghỉ Tết ngày tám tháng hai đến ngày mười bốn tháng hai"),
]

# Dates that name a day: read bare, the way people say the holiday.
NAMED = [
    ("chào mừng ngày 20/11", "chào mừng ngày hai mươi tháng mười một"),
    (
        "Chào mừng 20/11, ngày Nhà giáo Việt Nam",
        "Chào mừng hai mươi tháng mười một, ngày Nhà giáo Việt Nam",
    ),
    ("nhân dịp 30/4 và 1/5", "nhân dịp ba mươi tháng tư và một tháng năm"),
    ("dịp 30/4, 1/5 năm nay", "dịp ba mươi tháng tư, một tháng năm năm nay"),
    ("mừng Quốc khánh 2/9", "mừng Quốc khánh hai tháng chín"),
    (
        "kỷ niệm 94 năm Ngày thành lập Đoàn 26/3",
        "kỷ niệm chín mươi tư năm Ngày thành lập Đoàn hai mươi sáu tháng ba",
    ),
    ("Kỷ niệm 27/7", "Kỷ niệm hai mươi bảy tháng bảy"),
    (
        "Ngày Quốc phòng toàn dân 22/12",
        "Ngày Quốc phòng toàn dân hai mươi hai tháng mười hai",
    ),
    ("Lễ 8/3 của Hội Phụ nữ", "Lễ tám tháng ba của Hội Phụ nữ"),
    ("Tết Dương lịch 1/1", "Tết Dương lịch một tháng một"),
    ("Tết Độc lập 2/9", "Tết Độc lập hai tháng chín"),
    ("đường 3/2", "đường ba tháng hai"),
    ("số 12 Đường 30/4, phường Nam Hà", "số mười hai Đường ba mươi tháng tư, phường Nam Hà"),
    ("phố 19/5", "phố mười chín tháng năm"),
]

# Already handled before this change: must not move.
UNCHANGED = [
    ("ngày 15/6 họp tổ", "ngày mười lăm tháng sáu họp tổ"),
    ("mùng 2/9", "mùng hai tháng chín"),
    ("ngày 2/9 và 3/9", "ngày hai tháng chín và ngày ba tháng chín"),
    (
        "Kế hoạch số 14/KH-UBND ngày 26/01/2022",
        f"Kế hoạch số mười bốn kế hoạch {UBND} ngày hai mươi sáu tháng một năm "
        "hai nghìn không trăm hai mươi hai",
    ),
    (
        "Nghị định 30/2020/NĐ-CP",
        "Nghị định số ba mươi năm hai nghìn không trăm hai mươi nghị định Chính phủ",
    ),
    ("trước 26/01/2022", "trước ngày hai mươi sáu tháng một năm hai nghìn không trăm hai mươi hai"),
    ("tháng 7/2023", "tháng bảy năm hai nghìn không trăm hai mươi ba"),
    ("quý 2/2023", "quý hai năm hai nghìn không trăm hai mươi ba"),
]

FRACTIONS = [
    ("2/3 diện tích lúa bị ngập", "hai phần ba diện tích lúa bị ngập"),
    ("1/4 số thôn chưa có nhà văn hóa", "một phần tư số thôn chưa có nhà văn hóa"),
    ("3/4 hộ dân đã đăng ký", "ba phần tư hộ dân đã đăng ký"),
    ("chiếm 1/3 tổng kinh phí", "chiếm một phần ba tổng kinh phí"),
    ("chiếm 2/5", "chiếm hai phần năm"),
    ("khoảng 1/2 thời gian", "khoảng một phần hai thời gian"),
    ("giảm 1/3 so với năm trước", "giảm một phần ba so với năm trước"),
    ("hơn 2/3 dân số", "hơn hai phần ba dân số"),
    ("trước 2/3 diện tích", "trước hai phần ba diện tích"),
    ("1/10 ngân sách", "một phần mười ngân sách"),
    ("1/100 diện tích", "một phần trăm diện tích"),
    ("1/1000 số hộ", "một phần nghìn số hộ"),
    ("5/8 người được hỏi", "năm phần tám người được hỏi"),
    ("gần 3/4 lượng mưa", "gần ba phần tư lượng mưa"),
    ("từ 1/3 đến 1/2 số hộ", "từ một phần ba đến một phần hai số hộ"),
    ("gieo cấy 3/4 diện tích.", "gieo cấy ba phần tư diện tích."),
    ("1/3 - 1/2 diện tích", "một phần ba đến một phần hai diện tích"),
]

# A ratio, a score, an address, a count: left to the "a trên b" reading.
TRÊN = [
    ("tỉ số 2/1", "tỉ số hai trên một"),
    ("thắng với tỷ số 3/2", "thắng với tỷ số ba trên hai"),
    ("tỷ lệ 1/1000", "tỷ lệ một trên một nghìn"),
    ("tỉ lệ bản đồ 1/500", "tỉ lệ bản đồ một trên năm trăm"),
    ("tỉ lệ chọi 1/5", "tỉ lệ chọi một trên năm"),
    ("đạt 20/25 xã", "đạt hai mươi trên hai mươi lăm xã"),
    ("đạt 17/19 tiêu chí", "đạt mười bảy trên mười chín tiêu chí"),
    ("số nhà 12/5", "số nhà mười hai trên năm"),
    ("kiệt 4/2 đường Hùng Vương", "kiệt bốn trên hai đường Hùng Vương"),
    ("phòng 2/3", "phòng hai trên ba"),
    ("Địa chỉ: số 25/3 đường Trần Phú", "Địa chỉ: số hai mươi lăm trên ba đường Trần Phú"),
    ("Tổ 3/4 hộ", "Tổ ba trên bốn hộ"),
    ("kết quả 15/6", "kết quả mười lăm trên sáu"),
    ("32/13", "ba mươi hai trên mười ba"),
    ("trước 45/9", "trước bốn mươi lăm trên chín"),
    ("sáng 30/2", "sáng ba mươi trên hai"),
    ("7/3 hộ", "bảy trên ba hộ"),
    ("tỉ số 2/1 - 1/2", "tỉ số hai trên một đến một trên hai"),
]

CASES = PLACED + NAMED + UNCHANGED + FRACTIONS + TRÊN


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0][:40] for c in CASES])
def test_day_month_fraction_ratio(written: str, spoken: str) -> None:
    assert normalise_vi(written) == spoken


def test_a_date_and_a_fraction_in_one_sentence() -> None:
    written = "Từ 1/6 đến 15/6, 2/3 số hộ đã nộp; hạn cuối 30/6."
    assert normalise_vi(written) == (
        "Từ ngày một tháng sáu đến ngày mười lăm tháng sáu, hai phần ba số hộ đã nộp; "
        "hạn cuối ngày ba mươi tháng sáu."
    )


def test_no_digit_survives_in_a_bulletin() -> None:
    text = (
        "Chào mừng 20/11 và kỷ niệm 22/12, trước 8/3 các thôn hoàn thành; "
        "1/4 số thôn và 3/4 hộ dân tham gia, tỉ số 2/1."
    )
    assert not any(ch.isdigit() for ch in normalise_vi(text))
