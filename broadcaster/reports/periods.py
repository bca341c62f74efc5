"""Reporting periods (kỳ báo cáo): month, quarter, half-year, year, or any range.

Vietnamese periodic government reporting commonly closes its figures on the
14th: a month runs from the 15th of the month before to the 14th of the month
reported. The cut-off day is configurable; cut-off day 1 gives calendar periods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from broadcaster import days
from broadcaster.days import FIRST_DAY, LAST_DAY
from broadcaster.errors import InvalidInput, Words

DEFAULT_CUTOFF_DAY = 15
MAX_DAYS = 3 * 366 + 1  # a custom range longer than this is a typo, not a report
KINDS = ("month", "quarter", "half", "year")
_KIND_VI = {"month": "Tháng", "quarter": "Quý", "half": "6 tháng", "year": "Năm"}


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | half | year | custom
    start: date
    end: date  # inclusive
    label: str
    cutoff_day: int
    key: str  # 2026-11, 2026-Q4, 2026-H2, 2026, or 2026-10-15..2026-11-14

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "key": self.key,
            "label": self.label,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "cutoff_day": self.cutoff_day,
        }


def _check_cutoff(cutoff_day: int) -> None:
    if not 1 <= cutoff_day <= 28:
        raise InvalidInput(
            "Ngày chốt số liệu phải từ 1 đến 28 (mọi tháng đều có), không phải {cutoff_day}.",
            field="cutoff_day",
            cutoff_day=cutoff_day,
        )


def _month_start(year: int, month: int, cutoff_day: int) -> date:
    """First day of the reporting month (year, month) with this cut-off day."""
    if cutoff_day == 1:
        return date(year, month, 1)
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, cutoff_day)


def _span(year: int, first_month: int, months: int, cutoff_day: int) -> tuple[date, date]:
    start = _month_start(year, first_month, cutoff_day)
    last_month = first_month + months - 1
    next_year, next_month = (year + 1, 1) if last_month == 12 else (year, last_month + 1)
    return start, _month_start(next_year, next_month, cutoff_day) - timedelta(days=1)


def resolve(kind: str, of: str, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The period ``kind`` named by ``of``: 2026-11, 2026-Q4, 2026-H2 or 2026."""
    _check_cutoff(cutoff_day)
    of = (of or "").strip().upper()
    if kind not in KINDS:
        raise InvalidInput(
            "Kỳ báo cáo '{kind}' không có; dùng month, quarter, half hoặc year.",
            field="kind",
            kind=kind,
        )
    patterns = {
        "month": (r"(\d{4})-(\d{1,2})", "YYYY-MM, vd 2026-11"),
        "quarter": (r"(\d{4})-Q([1-4])", "YYYY-Qn, vd 2026-Q4"),
        "half": (r"(\d{4})-H([12])", "YYYY-Hn, vd 2026-H2"),
        "year": (r"(\d{4})", "YYYY, vd 2026"),
    }
    pattern, example = patterns[kind]
    match = re.fullmatch(pattern, of)
    if not match:
        raise InvalidInput(
            "Kỳ '{of}' không đúng dạng cho {kind}: dùng {example}.",
            field="of",
            of=of,
            kind=kind,
            example=example,
        )
    year = int(match.group(1))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise InvalidInput(
            "Năm {year} nằm ngoài khoảng {first}–{last}.",
            field="of",
            year=year,
            first=FIRST_DAY.year,
            last=LAST_DAY.year,
        )
    n = int(match.group(2)) if kind != "year" else 1
    if kind == "month":
        if not 1 <= n <= 12:
            raise InvalidInput("Tháng {month} không có; dùng 1 đến 12.", field="of", month=n)
        start, end = _span(year, n, 1, cutoff_day)
        key, label = f"{year}-{n:02d}", f"Tháng {n:02d}/{year}"
    elif kind == "quarter":
        start, end = _span(year, 3 * n - 2, 3, cutoff_day)
        key, label = f"{year}-Q{n}", f"Quý {['I', 'II', 'III', 'IV'][n - 1]}/{year}"
    elif kind == "half":
        start, end = _span(year, 6 * n - 5, 6, cutoff_day)
        key, label = f"{year}-H{n}", f"{'6 tháng đầu năm' if n == 1 else '6 tháng cuối năm'} {year}"
    else:
        start, end = _span(year, 1, 12, cutoff_day)
        key, label = str(year), f"Năm {year}"
    return Period(kind, start, end, label, cutoff_day, key)


def custom(start: date, end: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """Any range of whole days, both ends included."""
    start = days.parse_day(start, Words("Ngày bắt đầu"), field="day_from")
    end = days.parse_day(end, Words("Ngày kết thúc"), field="day_to")
    if end < start:
        raise InvalidInput(
            "Ngày kết thúc {end:%d/%m/%Y} trước ngày bắt đầu {start:%d/%m/%Y}: đổi lại hai ngày.",
            field="day_to",
            start=start,
            end=end,
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "Khoảng {start:%d/%m/%Y}–{end:%d/%m/%Y} dài quá 3 năm: hãy lập báo cáo theo từng năm.",
            field="day_to",
            start=start,
            end=end,
        )
    label = f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}"
    return Period("custom", start, end, label, cutoff_day, f"{start}..{end}")


def parse_day(value: str, label: str, *, field: str | None = None) -> date:
    """A typed day (YYYY-MM-DD or DD/MM/YYYY) in the product's range of years; ``label``
    (a :class:`~broadcaster.errors.Words`) names it in an error about ``field``."""
    return days.parse_day(value, label, field=field)


def closed(kind: str, today: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> list[Period]:
    """The periods of ``kind`` that ended before ``today`` (this year's and last), newest first."""
    names = {
        "month": [f"{m:02d}" for m in range(1, 13)],
        "quarter": [f"Q{q}" for q in range(1, 5)],
        "half": ["H1", "H2"],
    }
    found = []
    for year in (today.year - 2, today.year - 1, today.year):
        for name in names.get(kind, [""]):
            period = resolve(kind, f"{year}-{name}" if name else str(year), cutoff_day)
            if period.end < today:
                found.append(period)
    return sorted(found, key=lambda p: p.end, reverse=True)


def last_closed(kind: str, today: date, cutoff_day: int = DEFAULT_CUTOFF_DAY) -> Period:
    """The latest period of ``kind`` that ended before ``today``."""
    return closed(kind, today, cutoff_day)[0]


def kind_label(kind: str) -> str:
    return _KIND_VI.get(kind, "Tùy chọn")
