"""Typed dates: one reader, one range, on every page, command and API parameter that takes one.

A date beyond what the product's arithmetic can hold (``9999-12-31`` plus a day
overflows ``datetime``; a local midnight in year 1 has no UTC time) once answered
500 or printed a traceback. Each entry point is tried at the extremes here."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from broadcaster import days
from broadcaster.errors import InvalidInput, Words

EXTREMES = ["9999-12-31", "0001-01-01", "2100-01-01", "1999-12-31"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-06", date(2026, 12, 6)),
        ("2026-1-5", date(2026, 1, 5)),
        ("06/12/2026", date(2026, 12, 6)),
        ("6.12.2026", date(2026, 12, 6)),
        (" 2000-01-01 ", date(2000, 1, 1)),
        ("31/12/2099", date(2099, 12, 31)),
    ],
)
def test_the_forms_people_type_are_read(text, expected):
    assert days.read_day(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("9999-12-31", "range"),
        ("0001-01-01", "range"),
        ("1999-12-31", "range"),
        ("2100-01-01", "range"),
        ("31/12/2100", "range"),
        ("2026-02-31", "missing"),
        ("31/02/2026", "missing"),
        ("2026-13-01", "missing"),
        ("20261206", "format"),  # ISO's basic form: date.fromisoformat took it
        ("2026-W49-1", "format"),  # and this
        ("hôm qua", "format"),
        ("٢٠٢٦-١٢-٠٦", "format"),  # Arabic-Indic digits
        ("２０２６-１２-０６", "format"),  # full-width digits
        ("", "format"),
        ("2026-12-06" + "0" * 5000, "format"),
    ],
)
def test_what_is_refused_and_why(text, reason):
    with pytest.raises(days.DayError) as refused:
        days.read_day(text)
    assert refused.value.reason == reason
    assert len(refused.value.text) <= 40


def test_the_api_form_is_rfc3339_full_date_only():
    assert days.read_day("2026-12-06", vietnamese=False) == date(2026, 12, 6)
    for text in ("2026-1-5", "06/12/2026"):
        with pytest.raises(days.DayError):
            days.read_day(text, vietnamese=False)


def test_dates_and_datetimes_given_as_values_are_checked_too():
    assert days.read_day(datetime(2026, 12, 6, 23, 59)) == date(2026, 12, 6)
    with pytest.raises(days.DayError):
        days.read_day(date.max)


@pytest.mark.parametrize("text", EXTREMES)
def test_the_message_names_the_field_and_the_range(text):
    with pytest.raises(InvalidInput) as refused:
        days.parse_day(text, Words("Ngày kết thúc"), field="day_to")
    assert refused.value.message.startswith("Ngày kết thúc: ngày ")
    assert "01/01/2000 đến 31/12/2099" in refused.value.message
    assert refused.value.field == "day_to"


def test_the_field_name_is_translated_with_the_message():
    english = {
        "Ngày bắt đầu": "The start date",
        "{label}: ngày '{text}' không hợp lệ: không tồn tại ngày này.": (
            "{label}: the date '{text}' is not valid: there is no such day."
        ),
    }
    with pytest.raises(InvalidInput) as refused:
        days.parse_day("31/02/2026", Words("Ngày bắt đầu"), field="day_from")
    assert refused.value.message == (
        "Ngày bắt đầu: ngày '31/02/2026' không hợp lệ: không tồn tại ngày này."
    )
    assert refused.value.render(lambda t: english.get(t, t)) == (
        "The start date: the date '31/02/2026' is not valid: there is no such day."
    )


# -- every entry point ----------------------------------------------------------------------


@pytest.mark.parametrize("text", EXTREMES)
def test_commands_refuse_far_dates_with_a_message(cli, ha_tinh, text):
    commands = [
        ("airings", "list", "--to", text),
        ("airings", "list", "--from", text),
        ("slots", "list", "--station", "18073", "--date", text),
        ("report", "compliance", "--from", "2026-11-01", "--to", text),
        ("report", "compliance", "--from", text, "--to", "2026-11-01"),
        ("report", "periodic", "--today", text),
        ("quiet-days", "add", "--station", "18073", text),
        ("quiet-days", "list", "--since", text),
    ]
    for command in commands:
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output, command
        assert "nằm ngoài khoảng cho phép" in result.output, (command, result.output)


def test_a_typed_moment_is_held_to_the_same_range():
    from datetime import UTC

    inside = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)
    assert days.check_moment(inside, "Giờ") is inside
    for far in (datetime(9999, 12, 31, 10, 0, tzinfo=UTC), datetime(1, 1, 1, 0, 0, tzinfo=UTC)):
        with pytest.raises(InvalidInput, match=r"Giờ: thời điểm .* nằm ngoài khoảng cho phép"):
            days.check_moment(far, "Giờ")
