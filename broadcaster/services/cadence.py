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
from broadcaster.errors import InvalidInput, Words
from broadcaster.models import Priority
from broadcaster.vntext import fold, nfc, refuse_bidi, strip_marks

WEEKDAY_LABELS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
DEFAULT_WEEKDAYS = (0, 1, 2, 3, 4, 5)  # thứ 2 – thứ 7
NOON = time(12, 0)
PREFERRED = ("morning", "evening", "any")
MAX_CAMPAIGN_DAYS = 731  # about two years
PREFERRED_LABELS = {
    "morning": Words("buổi sáng"),
    "evening": Words("buổi chiều"),
    "any": Words("mọi khung giờ"),
}

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


_WEEKDAYS_LABEL = Words("Ngày phát")
_PATTERN_LABEL = Words("Lịch cố định")


def _day(token: str, source: str, label: str, field: str) -> int:
    if token in _DAY_TOKENS:
        return _DAY_TOKENS[token]
    if token in ("1", "8", "t8", "t1"):
        raise InvalidInput(
            "{label}: không hiểu thứ '{token}' trong '{source}' (Chủ nhật viết CN). "
            "Dùng T2…T7, CN, 'thứ 2', hoặc mon…sun; khoảng như T2-T7.",
            field=field,
            label=label,
            token=token,
            source=source.strip(),
        )
    raise InvalidInput(
        "{label}: không hiểu thứ '{token}' trong '{source}'. "
        "Dùng T2…T7, CN, 'thứ 2', hoặc mon…sun; khoảng như T2-T7.",
        field=field,
        label=label,
        token=token,
        source=source.strip(),
    )


def _days_in(text: str, source: str, label: str, field: str) -> list[int]:
    days: list[int] = []
    for token in re.split(r"[,;/\s]+", text):
        if not token:
            continue
        if "-" in token:
            first, _, last = token.partition("-")
            a, b = _day(first, source, label, field), _day(last, source, label, field)
            span = (b - a) % 7
            days.extend((a + i) % 7 for i in range(span + 1))
        else:
            days.append(_day(token, source, label, field))
    return days


def parse_weekdays(
    value: str | Iterable[int], label: str = _WEEKDAYS_LABEL, field: str = "weekdays"
) -> tuple:
    """``"T2-T7"``, ``"T2, T4, T6"``, ``"mon-fri"`` … → sorted weekday numbers (0 = Monday)."""
    if not isinstance(value, str):
        days = [int(d) for d in value]
        if any(not 0 <= d <= 6 for d in days):
            raise InvalidInput(
                "{label}: thứ phải từ 0 (thứ 2) đến 6 (Chủ nhật).", field=field, label=label
            )
    else:
        days = _days_in(_normalise_days(value), value, label, field)
    if not days:
        raise InvalidInput("{label}: cần ít nhất một ngày, ví dụ T2-T7.", field=field, label=label)
    return tuple(sorted(set(days)))


def parse_time(text: str, label: str, field: str | None = None) -> time:
    m = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2})|h(\d{2})?)\s*", _ascii(text))
    if not m:
        raise InvalidInput(
            "{label}: giờ '{text}' sai định dạng; dùng GIỜ:PHÚT, ví dụ 06:00.",
            field=field,
            label=label,
            text=text.strip(),
        )
    hour, minute = int(m[1]), int(m[2] or m[3] or 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(
            "{label}: giờ '{text}' không hợp lệ.", field=field, label=label, text=text.strip()
        )
    return time(hour, minute)


def format_entry(weekday: int, hhmm: str) -> str:
    return f"{WEEKDAY_LABELS[weekday]} {hhmm}"


def parse_pattern(
    value: str | Iterable[Sequence], label: str = _PATTERN_LABEL, field: str = "pattern"
):
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
                    "{label}: mục '{entry}' thiếu giờ; viết như 'T2 06:00, T4 17:30'.",
                    field=field,
                    label=label,
                    entry=raw.strip(),
                )
            at = parse_time(m[0], label, field).strftime("%H:%M")
            days_text = text[: m.start()].strip()
            if not days_text:
                raise InvalidInput(
                    "{label}: mục '{entry}' thiếu thứ; viết như 'T2 06:00'.",
                    field=field,
                    label=label,
                    entry=raw.strip(),
                )
            entries.extend((d, at) for d in _days_in(days_text, raw, label, field))
    else:
        for item in value:
            day = parse_weekdays([int(item[0])], label, field)[0]
            entries.append((day, parse_time(str(item[1]), label, field).strftime("%H:%M")))
    if not entries:
        raise InvalidInput(
            "{label}: cần ít nhất một mục, ví dụ 'T2 06:00, T4 17:30'.", field=field, label=label
        )
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        if entry in seen:
            raise InvalidInput(
                "{label}: mục '{entry}' bị lặp lại.",
                field=field,
                label=label,
                entry=format_entry(*entry),
            )
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


def parse_date(value: str | date, label: str, field: str | None = None) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` (Vietnamese order; ``.`` works as ``/``), in the
    product's range of years (:mod:`broadcaster.days`)."""
    try:
        return parse_day(value, label)
    except InvalidInput as exc:
        if exc.field is None:
            exc.field = field
        raise


def parse_name(value: str) -> str:
    name = nfc((value or "").strip())
    if not name:
        raise InvalidInput("Tên chiến dịch không được để trống.", field="name")
    if len(name) > 300:
        raise InvalidInput("Tên chiến dịch dài quá 300 ký tự.", field="name")
    try:
        refuse_bidi(name, Words("Tên chiến dịch"))
    except InvalidInput as exc:
        exc.field = exc.field or "name"
        raise
    return name


def check_dates(starts_on: date, ends_on: date, today: date, ends_changed: bool = True) -> None:
    """End not before start, at most about two years, and (when set now) not already past."""
    if ends_on < starts_on:
        raise InvalidInput(
            "Ngày kết thúc {ends_on:%d/%m/%Y} trước ngày bắt đầu {starts_on:%d/%m/%Y}.",
            field="ends_on",
            ends_on=ends_on,
            starts_on=starts_on,
        )
    days = (ends_on - starts_on).days
    if days > MAX_CAMPAIGN_DAYS:
        raise InvalidInput(
            "Chiến dịch dài tối đa khoảng hai năm ({most} ngày) từ ngày bắt đầu đến ngày "
            "kết thúc; đã nhập {days} ngày.",
            field="ends_on",
            most=MAX_CAMPAIGN_DAYS,
            days=days,
        )
    if ends_changed and ends_on < today:
        raise InvalidInput(
            "Ngày kết thúc {ends_on:%d/%m/%Y} đã qua; muốn dừng chiến dịch thì hãy kết thúc "
            "chiến dịch.",
            field="ends_on",
            ends_on=ends_on,
        )


def parse_priority(value: str | Priority) -> Priority:
    if isinstance(value, Priority):
        return value
    found = _PRIORITY.get(fold(value or ""))
    if found is None:
        raise InvalidInput(
            "Mức ưu tiên '{value}' không hợp lệ; chọn normal (thông thường) "
            "hoặc priority (ưu tiên).",
            field="priority",
            value=value,
        )
    return found


def parse_preferred(value: str) -> str:
    found = _PREFERRED.get(fold(value or ""))
    if found is None:
        raise InvalidInput(
            "Khung giờ ưu tiên '{value}' không hợp lệ; chọn morning (sáng), "
            "evening (chiều) hoặc any (bất kỳ).",
            field="preferred",
            value=value,
        )
    return found


def parse_times_per_week(value: int | str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InvalidInput(
            "Số lần/tuần '{value}' phải là một số.", field="times_per_week", value=value
        ) from None
    if n < 1:
        raise InvalidInput(
            "Số lần/tuần phải từ 1 trở lên (đã nhập {n}).", field="times_per_week", n=n
        )
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
            "Tần suất: chọn MỘT trong hai, số lần/tuần hoặc lịch cố định, không cả hai.",
            field="pattern",
        )
    if not has_n and not has_pattern:
        raise InvalidInput(
            "Tần suất: thiếu số lần/tuần (ví dụ 3) hoặc lịch cố định (ví dụ 'T2 06:00, T4 17:30').",
            field="times_per_week",
        )
    if has_pattern:
        if weekdays is not None or preferred is not None:
            raise InvalidInput(
                "Lịch cố định đã nêu thứ và giờ; bỏ ngày phát và khung giờ ưu tiên "
                "(chỉ dùng với số lần/tuần).",
                field="pattern",
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


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (", …" if len(names) > 3 else "")


def _name(station) -> str:
    return getattr(station, "name", None) or station.code


def check_against_stations(cadence: Cadence, stations: Sequence) -> None:
    """Can every target station air this cadence in its broadcast windows?

    ``stations`` have ``code``, ``windows`` (each with ``starts_at``, ``ends_at``) and
    perhaps ``name`` (the messages name a station by it).
    N times a week may use at most one airing per matching window per allowed day at
    the station with the fewest matching windows; a pattern entry must fall inside a
    window (starts_at ≤ t < ends_at) of every station.
    """
    if cadence.is_pattern:
        for day, hhmm in cadence.pattern:
            at = time.fromisoformat(hhmm)
            outside = [
                _name(s)
                for s in stations
                if not any(w.starts_at <= at < w.ends_at for w in s.windows)
            ]
            if outside:
                raise InvalidInput(
                    "Lịch cố định: mục '{entry}' nằm ngoài khung giờ phát của {n}/{total} đài "
                    "được chọn (ví dụ {examples}); khung giờ phát của mỗi đài ở trang của đài.",
                    field="pattern",
                    entry=format_entry(day, hhmm),
                    n=len(outside),
                    total=len(stations),
                    examples=_examples(outside),
                )
        return
    label = PREFERRED_LABELS[cadence.preferred]
    counts = [
        (sum(window_fits(w.starts_at, cadence.preferred) for w in s.windows), s.code, _name(s))
        for s in stations
    ]
    fewest, _code, name = min(counts)
    if fewest == 0:
        none = [n for count, _c, n in counts if count == 0]
        raise InvalidInput(
            "Khung giờ ưu tiên: {n}/{total} đài không có khung giờ {window} "
            "(ví dụ {examples}); chọn khung giờ khác.",
            field="preferred",
            n=len(none),
            total=len(stations),
            window=label,
            examples=_examples(none),
        )
    allowed = len(cadence.weekdays) * fewest
    if cadence.times_per_week > allowed:
        raise InvalidInput(
            "Số lần/tuần tối đa là {allowed}: {days} ngày ({weekdays}) × {fewest} khung giờ "
            "({window}) ở đài ít khung giờ nhất ({station}); đã nhập {asked}.",
            field="times_per_week",
            allowed=allowed,
            days=len(cadence.weekdays),
            weekdays=describe_weekdays(cadence.weekdays),
            fewest=fewest,
            window=label,
            station=name,
            asked=cadence.times_per_week,
        )
