"""Reading what people type about a campaign: dates, weekdays, cadence (tần suất phát).

Pure functions, no database: the CLI and the web pass the strings they got and
receive checked values, or an :class:`InvalidInput` naming the field.

Weekdays are stored as 0 = Monday … 6 = Sunday (Python's ``date.weekday()``).
Vietnamese counts days from Sunday, so "thứ 2" (T2) is Monday, "thứ 7" (T7)
Saturday and "Chủ nhật" (CN) Sunday. Accepted: ``T2``…``T7``, ``CN``, ``thứ 2``,
``thu 2``, ``thứ hai``…``thứ bảy``, ``chủ nhật``, bare digits ``2``…``7`` (the
Vietnamese day numbers), English ``mon``…``sun`` (or full names), and ranges
``T2-T7`` (a range may wrap: ``T7-T2`` is Saturday, Sunday, Monday). ``8`` and
``1`` are refused: Sunday is written ``CN``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time

from broadcaster.days import parse_day
from broadcaster.errors import InvalidInput
from broadcaster.models import Priority
from broadcaster.vntext import fold, nfc, refuse_bidi, strip_marks

WEEKDAY_LABELS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
DEFAULT_WEEKDAYS = (0, 1, 2, 3, 4, 5)  # thứ 2 – thứ 7
NOON = time(12, 0)
PREFERRED = ("morning", "evening", "any")
MAX_CAMPAIGN_DAYS = 731  # about two years
PREFERRED_LABELS = {"morning": "buổi sáng", "evening": "buổi chiều", "any": "mọi khung giờ"}

_DAY_TOKENS = {
    **{f"t{n}": n - 2 for n in range(2, 8)},
    **{str(n): n - 2 for n in range(2, 8)},
    "cn": 6,
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_VI_DAY_WORDS = {"hai": 2, "ba": 3, "tu": 4, "nam": 5, "sau": 6, "bay": 7}
_PRIORITY = {
    "normal": Priority.NORMAL,
    "thuong": Priority.NORMAL,
    "thong thuong": Priority.NORMAL,
    "binh thuong": Priority.NORMAL,
    "priority": Priority.PRIORITY,
    "uu tien": Priority.PRIORITY,
    "uutien": Priority.PRIORITY,
}
_PREFERRED = {
    "morning": "morning",
    "sang": "morning",
    "buoi sang": "morning",
    "evening": "evening",
    "afternoon": "evening",
    "chieu": "evening",
    "buoi chieu": "evening",
    "toi": "evening",
    "any": "any",
    "bat ky": "any",
    "ca ngay": "any",
}
_TIME_AT_END = re.compile(r"(\d{1,2})(?::(\d{2})|h(\d{2})?)$")


@dataclass(frozen=True)
class Cadence:
    """How often a campaign airs: N times a week on some days, or a fixed weekly pattern."""

    times_per_week: int | None
    weekdays: tuple[int, ...]
    preferred: str
    pattern: tuple[tuple[int, str], ...]

    @property
    def is_pattern(self) -> bool:
        return bool(self.pattern)

    def describe(self) -> str:
        if self.is_pattern:
            return ", ".join(format_entry(d, t) for d, t in self.pattern)
        days = describe_weekdays(self.weekdays)
        return f"{self.times_per_week} lần/tuần ({days}, {PREFERRED_LABELS[self.preferred]})"


def _ascii(text: str) -> str:
    """Lower case without diacritics, punctuation kept (unlike :func:`fold`)."""
    return strip_marks(nfc(text)).lower().strip()


def _normalise_days(text: str) -> str:
    text = _ascii(text)
    text = re.sub(r"\bchu\s*nhat\b", "cn", text)
    text = re.sub(r"\bthu\s+(hai|ba|tu|nam|sau|bay)\b", lambda m: f"t{_VI_DAY_WORDS[m[1]]}", text)
    # "thứ 2", "thu 2", "th 2", "t 2" → t2; not "thu 6:00" (English Thursday at six).
    text = re.sub(r"\b(?:thu|th|t)\s*\.?\s*([2-7])(?![\d:h])", r"t\1", text)
    return re.sub(r"\s*[-–—]\s*", "-", text)


def _day(token: str, source: str, field: str) -> int:
    if token in _DAY_TOKENS:
        return _DAY_TOKENS[token]
    hint = " (Chủ nhật viết CN)" if token in ("1", "8", "t8", "t1") else ""
    raise InvalidInput(
        f"{field}: không hiểu thứ '{token}' trong '{source.strip()}'{hint}. "
        "Dùng T2…T7, CN, 'thứ 2', hoặc mon…sun; khoảng như T2-T7."
    )


def _days_in(text: str, source: str, field: str) -> list[int]:
    days: list[int] = []
    for token in re.split(r"[,;/\s]+", text):
        if not token:
            continue
        if "-" in token:
            first, _, last = token.partition("-")
            a, b = _day(first, source, field), _day(last, source, field)
            span = (b - a) % 7
            days.extend((a + i) % 7 for i in range(span + 1))
        else:
            days.append(_day(token, source, field))
    return days


def parse_weekdays(value: str | Iterable[int], field: str = "Ngày phát (--weekdays)") -> tuple:
    """``"T2-T7"``, ``"T2, T4, T6"``, ``"mon-fri"`` … → sorted weekday numbers (0 = Monday)."""
    if not isinstance(value, str):
        days = [int(d) for d in value]
        if any(not 0 <= d <= 6 for d in days):
            raise InvalidInput(f"{field}: thứ phải từ 0 (thứ 2) đến 6 (Chủ nhật).")
    else:
        days = _days_in(_normalise_days(value), value, field)
    if not days:
        raise InvalidInput(f"{field}: cần ít nhất một ngày, ví dụ T2-T7.")
    return tuple(sorted(set(days)))


def parse_time(text: str, field: str) -> time:
    m = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2})|h(\d{2})?)\s*", _ascii(text))
    if not m:
        raise InvalidInput(
            f"{field}: giờ '{text.strip()}' sai định dạng; dùng GIỜ:PHÚT, ví dụ 06:00."
        )
    hour, minute = int(m[1]), int(m[2] or m[3] or 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(f"{field}: giờ '{text.strip()}' không hợp lệ.")
    return time(hour, minute)


def format_entry(weekday: int, hhmm: str) -> str:
    return f"{WEEKDAY_LABELS[weekday]} {hhmm}"


def parse_pattern(value: str | Iterable[Sequence], field: str = "Lịch cố định (--pattern)"):
    """``"T2 06:00, T4 17:30"`` or ``"mon 06:00; wed 17:30"`` → sorted ((weekday, "HH:MM"), …).

    An entry may name several days (``"T2-T6 06:00"``); a repeated entry is refused.
    """
    entries: list[tuple[int, str]] = []
    if isinstance(value, str):
        for raw in re.split(r"[,;\n]+", value):
            if not raw.strip():
                continue
            text = _normalise_days(raw)
            m = _TIME_AT_END.search(text)
            if not m:
                raise InvalidInput(
                    f"{field}: mục '{raw.strip()}' thiếu giờ; viết như 'T2 06:00, T4 17:30'."
                )
            at = parse_time(m[0], field).strftime("%H:%M")
            days_text = text[: m.start()].strip()
            if not days_text:
                raise InvalidInput(f"{field}: mục '{raw.strip()}' thiếu thứ; viết như 'T2 06:00'.")
            entries.extend((d, at) for d in _days_in(days_text, raw, field))
    else:
        for item in value:
            day = parse_weekdays([int(item[0])], field)[0]
            entries.append((day, parse_time(str(item[1]), field).strftime("%H:%M")))
    if not entries:
        raise InvalidInput(f"{field}: cần ít nhất một mục, ví dụ 'T2 06:00, T4 17:30'.")
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        if entry in seen:
            raise InvalidInput(f"{field}: mục '{format_entry(*entry)}' bị lặp lại.")
        seen.add(entry)
    return tuple(sorted(entries))


def describe_weekdays(days: Sequence[int]) -> str:
    """(0, 1, 2, 3, 4, 5) → "T2–T7"; (0, 2, 4) → "T2, T4, T6"."""
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_LABELS[run[0]]}–{WEEKDAY_LABELS[run[-1]]}")
        else:
            parts.extend(WEEKDAY_LABELS[d] for d in run)
    return ", ".join(parts)


def parse_date(value: str | date, field: str) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` (Vietnamese order; ``.`` works as ``/``), in the
    product's range of years (:mod:`broadcaster.days`)."""
    return parse_day(value, field)


def parse_name(value: str) -> str:
    name = nfc((value or "").strip())
    if not name:
        raise InvalidInput("Tên chiến dịch (--name) không được để trống.")
    if len(name) > 300:
        raise InvalidInput("Tên chiến dịch (--name) dài quá 300 ký tự.")
    refuse_bidi(name, "Tên chiến dịch (--name)")
    return name


def check_dates(starts_on: date, ends_on: date, today: date, ends_changed: bool = True) -> None:
    """End not before start, at most about two years, and (when set now) not already past."""
    if ends_on < starts_on:
        raise InvalidInput(
            f"Ngày kết thúc (--to) {ends_on:%d/%m/%Y} trước ngày bắt đầu (--from) "
            f"{starts_on:%d/%m/%Y}."
        )
    days = (ends_on - starts_on).days
    if days > MAX_CAMPAIGN_DAYS:
        raise InvalidInput(
            f"Chiến dịch dài tối đa khoảng hai năm ({MAX_CAMPAIGN_DAYS} ngày) từ ngày bắt đầu "
            f"(--from) đến ngày kết thúc (--to); đã nhập {days} ngày."
        )
    if ends_changed and ends_on < today:
        raise InvalidInput(
            f"Ngày kết thúc (--to) {ends_on:%d/%m/%Y} đã qua; muốn dừng chiến dịch hãy dùng "
            "'broadcaster campaigns end'."
        )


def parse_priority(value: str | Priority) -> Priority:
    if isinstance(value, Priority):
        return value
    found = _PRIORITY.get(fold(value or ""))
    if found is None:
        raise InvalidInput(
            f"Mức ưu tiên (--priority) '{value}' không hợp lệ; chọn normal (thông thường) "
            "hoặc priority (ưu tiên)."
        )
    return found


def parse_preferred(value: str) -> str:
    found = _PREFERRED.get(fold(value or ""))
    if found is None:
        raise InvalidInput(
            f"Khung giờ ưu tiên (--window) '{value}' không hợp lệ; chọn morning (sáng), "
            "evening (chiều) hoặc any (bất kỳ)."
        )
    return found


def parse_times_per_week(value: int | str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"Số lần/tuần (--times-per-week) '{value}' phải là một số.") from None
    if n < 1:
        raise InvalidInput(f"Số lần/tuần (--times-per-week) phải từ 1 trở lên (đã nhập {n}).")
    return n


def parse_cadence(
    times_per_week: int | str | None,
    weekdays: str | Iterable[int] | None,
    preferred: str | None,
    pattern: str | Iterable[Sequence] | None,
) -> Cadence:
    """Exactly one of ``times_per_week`` (with optional weekdays and window) or ``pattern``."""
    has_n = times_per_week is not None and str(times_per_week).strip() != ""
    has_pattern = pattern is not None and (not isinstance(pattern, str) or pattern.strip() != "")
    if has_n and has_pattern:
        raise InvalidInput(
            "Tần suất: chọn MỘT trong hai, số lần/tuần (--times-per-week) hoặc lịch cố định "
            "(--pattern), không cả hai."
        )
    if not has_n and not has_pattern:
        raise InvalidInput(
            "Tần suất: thiếu số lần/tuần (--times-per-week, ví dụ 3) hoặc lịch cố định "
            "(--pattern, ví dụ 'T2 06:00, T4 17:30')."
        )
    if has_pattern:
        if weekdays is not None or preferred is not None:
            raise InvalidInput(
                "Lịch cố định (--pattern) đã nêu thứ và giờ; bỏ --weekdays và --window "
                "(chỉ dùng với --times-per-week)."
            )
        return Cadence(None, (), "any", parse_pattern(pattern))
    return Cadence(
        parse_times_per_week(times_per_week),
        parse_weekdays(weekdays) if weekdays is not None else DEFAULT_WEEKDAYS,
        parse_preferred(preferred) if preferred is not None else "any",
        (),
    )


def window_fits(starts_at: time, preferred: str) -> bool:
    """Morning windows start before noon, evening ones from noon."""
    if preferred == "morning":
        return starts_at < NOON
    if preferred == "evening":
        return starts_at >= NOON
    return True


def _examples(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:3])
    return shown + (", …" if len(codes) > 3 else "")


def check_against_stations(cadence: Cadence, stations: Sequence) -> None:
    """Can every target station air this cadence in its broadcast windows?

    ``stations`` have ``code`` and ``windows`` (each with ``starts_at``, ``ends_at``).
    N times a week may use at most one airing per matching window per allowed day at
    the station with the fewest matching windows; a pattern entry must fall inside a
    window (starts_at ≤ t < ends_at) of every station.
    """
    if cadence.is_pattern:
        for day, hhmm in cadence.pattern:
            at = time.fromisoformat(hhmm)
            outside = [
                s.code
                for s in stations
                if not any(w.starts_at <= at < w.ends_at for w in s.windows)
            ]
            if outside:
                raise InvalidInput(
                    f"Lịch cố định (--pattern): mục '{format_entry(day, hhmm)}' nằm ngoài khung "
                    f"giờ phát của {len(outside)}/{len(stations)} đài được chọn "
                    f"(ví dụ {_examples(outside)}). Xem khung giờ: broadcaster stations show MÃ"
                )
        return
    label = PREFERRED_LABELS[cadence.preferred]
    counts = [
        (sum(window_fits(w.starts_at, cadence.preferred) for w in s.windows), s.code)
        for s in stations
    ]
    fewest, code = min(counts)
    if fewest == 0:
        none = [c for n, c in counts if n == 0]
        raise InvalidInput(
            f"Khung giờ ưu tiên (--window): {len(none)}/{len(stations)} đài không có khung giờ "
            f"{label} (ví dụ {_examples(none)}); chọn khung giờ khác."
        )
    allowed = len(cadence.weekdays) * fewest
    if cadence.times_per_week > allowed:
        raise InvalidInput(
            f"Số lần/tuần (--times-per-week) tối đa là {allowed}: {len(cadence.weekdays)} ngày "
            f"({describe_weekdays(cadence.weekdays)}) × {fewest} khung giờ ({label}) ở đài ít "
            f"khung giờ nhất ({code}); đã nhập {cadence.times_per_week}."
        )
