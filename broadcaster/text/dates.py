"""Day/month pairs, fractions and weekday abbreviations in running text.

"a/b" without a year is a date, a fraction or a ratio, and only the words around it say
which. :func:`day_months` decides, in this order:

1. a date after "ngày", "mùng", "mồng" ("ngày 20/11" → "ngày hai mươi tháng mười một"),
   or continuing a list of dates ("dịp 30/4 và 1/5", "từ 15/8 đến 20/8");
2. a fraction when a share of something follows ("2/3 diện tích" → "hai phần ba diện
   tích", "1/4 số thôn" → "một phần tư số thôn"; "3/4 hộ dân"), or a word of
   proportion comes before ("chiếm 1/3", "khoảng 2/3", "giảm 1/2") — only a proper
   fraction, and a count ("20/25 xã") only for denominators up to ten;
3. left as written after "tỉ số", "tỷ lệ" (a score or ratio: the normaliser reads "trên");
4. a date named by the day ("đường 3/2", "Quốc khánh 2/9", "kỷ niệm 26/3", "chào mừng
   20/11", "dịp 30/4", "Ngày Nhà giáo Việt Nam 20/11") is read bare: "đường ba tháng hai";
5. a date placed in time ("trước 8/3", "sáng 2/9", "hạn chót 31/12", "từ 15/8",
   "15/8 âm lịch", "thứ 7 (15/6)", a range of two dates "15/11–14/12", "1/6 đến 7/6")
   gets "ngày":
   "trước ngày tám tháng ba";
6. anything else is left as written ("số nhà 12/5", "đạt 20/25 xã" read "trên").

Weekday abbreviations (:func:`weekdays`): "T2" … "T7" and "CN" are read "thứ hai" …
"thứ bảy", "Chủ nhật" only in a list of such tokens ("T2, T4, T6", "T2-T6", "từ T2 đến
CN") or after a word that introduces a day ("các ngày T7", "sáng CN", "vào T5") or before
one that follows a day ("T2 tuần sau", "T6 (15/6)"); "T2-T6" is "thứ hai đến thứ sáu".
"T2-2026", "T2/2026", "phòng T2" are
left alone.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

from broadcaster.text.numbers import read_integer, read_month, read_whole

Park = Callable[..., str]

# Not inside a code ("KH-12/5") or a longer figure; "8/8-12/8" is two pairs.
SLASH_PAIR = re.compile(r"(?<![0-9/.,])(?<![^\W\d_]-)([0-9]{1,4})/([0-9]{1,4})(?![0-9]|/[0-9])")

_NGAY_BEFORE = re.compile(r"(?i:ngày|mùng|mồng)\s*$")
_LIST_BEFORE = re.compile(r"(?:(?i:đến|tới|và|hoặc|hay)|[-–,;])\s*$")
_RANGE_BEFORE = re.compile(r"(?:(?i:đến|tới)|[-–])\s*$")
_RANGE_AHEAD = re.compile(
    r"\s*(?:[-–]|\s(?i:đến|tới)\s)\s*([0-9]{1,2})/([0-9]{1,2})(?![0-9]|/[0-9])"
)
_NGAY_NEARBY = re.compile(r"(?i:ngày)")
_RATIO_BEFORE = re.compile(r"(?i:t[ỉỷ] (?:số|lệ)|tỉ lệ|tỷ lệ)(?:\s+\w+){0,3}\s*:?\s*$")
_STREET_BEFORE = re.compile(r"(?<!\w)(?i:đường|phố)\s*$")
# A date named by its day: the bare date is the name ("Quốc khánh hai tháng chín").
_NUMBERED_BEFORE = re.compile(
    r"(?<!\w)(?i:số|nhà|kiệt|hẻm|ngõ|ngách|phòng|tổ|lô|căn|khoản|điểm|mục)\s*:?\s*$"
)
_NAMED_BEFORE = re.compile(
    r"(?<!\w)(?<!(?i:tuần) )(?i:lễ|dịp|kỷ niệm|kỉ niệm|chào mừng|mừng|quốc khánh|tết|ngày)"
    r"(?!\w)[^0-9.!?;]{0,40}$"
)
# A date placed in time: "ngày" is said before it ("trước ngày tám tháng ba").
_WHEN_BEFORE = re.compile(
    r"(?<!\w)(?:(?i:trước|sau|từ|đến|tới|vào|sáng|trưa|chiều|tối|đêm|khuya|hôm|hết|kể từ"
    r"|tính từ|tính đến)|(?i:hạn)(?:\s+[^\W\d_]+){0,2})\s*:?\s*$"
)
_WEEKDAY_BEFORE = re.compile(
    r"(?<!\w)(?i:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật)\s*[,(]?\s*$"
)
_WHEN_AFTER = re.compile(
    r"\s*(?:\(|,)?\s*(?i:âm lịch|dương lịch|hằng năm|hàng năm|năm nay|năm tới|năm sau"
    r"|vừa qua|tới|này|sắp tới)(?!\w)"
)
# A share of something follows: "2/3 diện tích", "1/4 số thôn", "3/4 hộ dân".
_SHARE_AFTER = re.compile(
    r"\s*(?i:số|tổng|diện tích|dân số|thời gian|khối lượng|sản lượng|kinh phí|ngân sách"
    r"|giá trị|giá|mức|lượng|quãng đường|chiều dài|đoạn|phần|công suất|quỹ|vốn|lực lượng"
    r"|trong số|trong tổng)(?!\w)"
)
_COUNT_AFTER = re.compile(
    r"\s*(?i:hộ|dân|người|thôn|xóm|bản|xã|phường|tổ|khu|học sinh|cán bộ|đảng viên|thành viên"
    r"|đại biểu|cử tri|lao động|gia đình|trường|đơn vị|cơ quan|huyện|tỉnh|thửa|con|cây)(?!\w)"
)
_SHARE_BEFORE = re.compile(r"(?<!\w)(?i:chiếm|khoảng|gần|hơn|quá|bằng|còn|mất|giảm|tăng|chừng)\s*$")
_DENOMINATOR_WORDS = {4: "tư", 100: "trăm", 1000: "nghìn"}


def valid_day_month(day: int, month: int) -> bool:
    try:
        datetime.date(2000, month, day)  # a leap year: 29/2 is a date
    except ValueError:
        return False
    return True


def spoken_date(day: int, month: int, year: int | None = None) -> str:
    text = f"{read_integer(day)} tháng {read_month(month)}"
    return text + (f" năm {read_integer(year)}" if year is not None else "")


def read_fraction_words(numerator: int, denominator: int) -> str:
    """ "2/3" → "hai phần ba", "1/4" → "một phần tư", "1/100" → "một phần trăm"."""
    below = _DENOMINATOR_WORDS.get(denominator) or read_integer(denominator)
    return f"{read_integer(numerator)} phần {below}"


def _is_fraction(line: str, start: int, end: int, num: int, den: int) -> bool:
    if not 1 <= num < den <= 1000:
        return False
    ahead = _RANGE_AHEAD.match(line, end)  # "1/3 - 1/2 diện tích": the share is after both
    if ahead and int(ahead.group(1)) < int(ahead.group(2)):
        end = ahead.end()
    if _SHARE_AFTER.match(line, end):
        return True
    small = den <= 10
    if small and _COUNT_AFTER.match(line, end):
        return True
    return small and bool(_SHARE_BEFORE.search(line, max(0, start - 12), start))


def day_months(line: str, park: Park) -> str:
    """Read the "a/b" pairs of ``line`` that are dates or fractions (see the module doc)."""
    pieces: list[str] = []
    last_end, last_date_end, last_bare = 0, -1000, False
    for match in SLASH_PAIR.finditer(line):
        start, end = match.start(), match.end()
        num, den = int(match.group(1)), int(match.group(2))
        date = len(match.group(1)) <= 2 and len(match.group(2)) <= 2 and valid_day_month(num, den)
        previous = (last_bare,) if start - last_date_end <= 12 else ()
        spoken = _read_pair(line, start, end, (num, den, date), previous)
        if spoken is None:
            continue
        text, kind = spoken
        if kind != "fraction":
            last_date_end, last_bare = end, kind == "bare"
        pieces += [line[last_end:start], park(text, numeric=True)]
        last_end = end
    pieces.append(line[last_end:])
    return "".join(pieces)


def _date_range_ahead(line: str, end: int) -> bool:
    """Whether "a/b" is followed by "–c/d", another date with no share after it."""
    ahead = _RANGE_AHEAD.match(line, end)
    if not ahead or not valid_day_month(int(ahead.group(1)), int(ahead.group(2))):
        return False
    return not (_SHARE_AFTER.match(line, ahead.end()) or _COUNT_AFTER.match(line, ahead.end()))


def _read_pair(
    line: str, start: int, end: int, pair: tuple[int, int, bool], previous: tuple[bool, ...]
) -> tuple[str, str] | None:
    """(spoken, kind) or None; kind is "bare", "ngày" or "fraction"; ``previous`` is
    (the date just before was bare,) when a date came just before."""
    num, den, date = pair
    before = line[max(0, start - 60) : start]
    if date and _NGAY_BEFORE.search(before[-8:]):
        return spoken_date(num, den), "ngày"
    if _NUMBERED_BEFORE.search(before):
        return None
    if _is_fraction(line, start, end, num, den):
        return read_fraction_words(num, den), "fraction"
    listed = date and _LIST_BEFORE.search(before[-8:])
    if listed and previous and previous[0] and not _RANGE_BEFORE.search(before[-8:]):
        return spoken_date(num, den), "bare"  # "dịp 30/4 và 1/5": as bare as the first
    if listed and (previous or _NGAY_NEARBY.search(before[-40:])):
        return "ngày " + spoken_date(num, den), "ngày"
    if not date or _RATIO_BEFORE.search(before):
        return None
    if _STREET_BEFORE.search(before):
        return spoken_date(num, den), "bare"
    if _date_range_ahead(line, end):
        return "ngày " + spoken_date(num, den), "ngày"  # "(15/11–14/12)"
    when = _WHEN_BEFORE.search(before[-24:]) or _WEEKDAY_BEFORE.search(before[-16:])
    if when or _WHEN_AFTER.match(line, end):
        return "ngày " + spoken_date(num, den), "ngày"
    if _NAMED_BEFORE.search(before):
        return spoken_date(num, den), "bare"
    return None


# --- weekdays -----------------------------------------------------------------------------

WEEKDAYS = {
    "T2": "thứ hai", "T3": "thứ ba", "T4": "thứ tư", "T5": "thứ năm", "T6": "thứ sáu",
    "T7": "thứ bảy", "CN": "Chủ nhật",
}  # fmt: skip
_DAY_TOKEN = r"(?:T[2-7]|CN)(?![\w/]|[.,-]?[0-9])"
_WEEKDAY_RANGE = re.compile(rf"(?<![\w/.])(T[2-7]|CN)\s*[-–—]\s*({_DAY_TOKEN})")
_WEEKDAY = re.compile(rf"(?<![\w/.]){_DAY_TOKEN}")
_JOIN = r"\s*(?:,|;|-|–|—|&|\s(?i:đến|tới|và|hoặc|hay|với)\s)\s*"
_JOINED_AFTER = re.compile(rf"{_JOIN}{_DAY_TOKEN}")
_JOINED_BEFORE = re.compile(rf"(?<![\w/.])(?:T[2-7]|CN){_JOIN}$")
_DAY_WORD_BEFORE = re.compile(
    r"(?<!\w)(?i:ngày|các ngày|sáng|trưa|chiều|tối|đêm|vào|hằng|hàng|mỗi|trừ|hôm)\s*$"
)
_DAY_WORD_AFTER = re.compile(
    r"\s*(?:(?i:tuần|hằng tuần|hàng tuần|này|tới)(?!\w)"
    r"|,?\s*\(?\s*(?i:ngày\s*)?[0-9]{1,2}/[0-9]{1,2})"
)


def weekdays(line: str) -> str:
    """Read "T2" … "T7", "CN" as weekdays where the text shows they are (see module doc).

    The words stay in the line (not parked), so a date after them is seen as one."""

    def replace(match: re.Match[str]) -> str:
        start, end = match.start(), match.end()
        is_day = (
            _JOINED_AFTER.match(line, end)
            or _JOINED_BEFORE.search(line, max(0, start - 12), start)
            or _DAY_WORD_BEFORE.search(line, max(0, start - 12), start)
            or _DAY_WORD_AFTER.match(line, end)
        )
        return WEEKDAYS[match.group()] if is_day else match.group()

    line = _WEEKDAY_RANGE.sub(lambda m: f"{WEEKDAYS[m.group(1)]} đến {WEEKDAYS[m.group(2)]}", line)
    return _WEEKDAY.sub(replace, line)


__all__ = ["SLASH_PAIR", "day_months", "read_fraction_words", "read_whole", "weekdays"]
