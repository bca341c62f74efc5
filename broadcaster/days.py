"""Dates typed by people and programs: one way to read them, one range they must lie in.

Every date the product takes — a form field, a query parameter, a command-line
option — is read here. A date outside :data:`FIRST_DAY` … :data:`LAST_DAY` is
refused with a message, never passed on: ``date.max`` plus one day overflows
``datetime``, a local midnight in year 1 has no UTC equivalent, and no
broadcast, campaign or report of this product lies outside those years.

:func:`read_day` raises :class:`DayError` (a :class:`ValueError`) saying which
of three things is wrong, so each caller words the message for its reader (a
translated form error, a JSON error, a Vietnamese CLI line); :func:`parse_day`
is the services' and commands' wording, raising
:class:`~broadcaster.errors.InvalidInput` about a field, with the input's name (a
:class:`~broadcaster.errors.Words`, translated with the message) in its text.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from broadcaster.errors import InvalidInput

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)

# ASCII digits only: \d alone also takes "٢٠٢٦" and "２０２６", which int() then reads
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)  # RFC 3339 full-date (APIs, forms)
_VIETNAMESE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", re.ASCII)


class DayError(ValueError):
    """``reason`` is ``"format"`` (not a date written as accepted), ``"missing"`` (no such
    day, e.g. 31/02) or ``"range"`` (a real day outside FIRST_DAY … LAST_DAY)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason}: {text!r}")
        self.text = text
        self.reason = reason


def in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def check_day(day: date, text: str | None = None) -> date:
    """``day`` itself, or :class:`DayError` ``"range"``."""
    if not in_range(day):
        raise DayError(text if text is not None else day.isoformat(), "range")
    return day


def read_day(value: str | date, *, vietnamese: bool = True) -> date:
    """``YYYY-MM-DD``, or (``vietnamese``) ``DD/MM/YYYY`` with ``/`` or ``.``, in range.

    Without ``vietnamese`` only RFC 3339's full-date is read (two-digit month and day).

    A ``date`` (or ``datetime``, whose day is taken) is only checked against the range.
    """
    if isinstance(value, datetime):
        return check_day(value.date())
    if isinstance(value, date):
        return check_day(value)
    text = (value or "").strip()
    if len(text) > 10:  # the longest accepted form; also keeps the regexes cheap
        raise DayError(text[:40], "format")
    if m := (_ISO if vietnamese else _RFC3339).fullmatch(text):
        y, mo, d = (int(g) for g in m.groups())
    elif vietnamese and (m := _VIETNAMESE.fullmatch(text)):
        d, mo, y = (int(g) for g in m.groups())
    else:
        raise DayError(text, "format")
    try:
        day = date(y, mo, d)
    except ValueError:
        raise DayError(text, "missing") from None
    return check_day(day, text)


def day_problem(
    error: DayError, label: str, *, field: str | None = None, vietnamese: bool = True
) -> InvalidInput:
    """The error for ``error`` in the input called ``label`` (a :class:`Words` is translated
    with the message; a plain string is shown as it is), about ``field``."""
    said = {"label": label, "text": error.text}
    if error.reason == "range":
        return InvalidInput(
            "{label}: ngày '{text}' nằm ngoài khoảng cho phép ({first:%d/%m/%Y} đến "
            "{last:%d/%m/%Y}).",
            field=field,
            first=FIRST_DAY,
            last=LAST_DAY,
            **said,
        )
    if error.reason == "missing":
        return InvalidInput(
            "{label}: ngày '{text}' không hợp lệ: không tồn tại ngày này.", field=field, **said
        )
    if vietnamese:
        return InvalidInput(
            "{label}: ngày '{text}' không hợp lệ: dùng YYYY-MM-DD hoặc DD/MM/YYYY.",
            field=field,
            **said,
        )
    return InvalidInput(
        "{label}: ngày '{text}' không hợp lệ: dùng YYYY-MM-DD.", field=field, **said
    )


def parse_day(
    value: str | date, label: str, *, field: str | None = None, vietnamese: bool = True
) -> date:
    """:func:`read_day`, refusing with :class:`InvalidInput` naming ``label`` (give it as
    :class:`~broadcaster.errors.Words`) about ``field``."""
    try:
        return read_day(value, vietnamese=vietnamese)
    except DayError as error:
        raise day_problem(error, label, field=field, vietnamese=vietnamese) from None


def check_moment(moment: datetime, label: str, *, field: str | None = None) -> datetime:
    """A typed date and time whose day lies in range (else :class:`InvalidInput`)."""
    if not in_range(moment.date()):
        raise InvalidInput(
            "{label}: thời điểm '{moment:%d/%m/%Y %H:%M}' nằm ngoài khoảng cho phép "
            "({first:%d/%m/%Y} đến {last:%d/%m/%Y}).",
            field=field,
            label=label,
            moment=moment,
            first=FIRST_DAY,
            last=LAST_DAY,
        )
    return moment
