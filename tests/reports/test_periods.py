"""Reporting periods: cut-off days, calendar periods, and what is refused."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from broadcaster.errors import InvalidInput
from broadcaster.reports.periodic import due_on, due_periods
from broadcaster.reports.periods import custom, last_closed, resolve


@pytest.mark.parametrize(
    ("kind", "of", "cutoff", "first", "last", "label"),
    [
        ("month", "2026-11", 15, date(2026, 10, 15), date(2026, 11, 14), "Tháng 11/2026"),
        ("month", "2026-01", 15, date(2025, 12, 15), date(2026, 1, 14), "Tháng 01/2026"),
        ("month", "2026-02", 1, date(2026, 2, 1), date(2026, 2, 28), "Tháng 02/2026"),
        ("month", "2028-02", 1, date(2028, 2, 1), date(2028, 2, 29), "Tháng 02/2028"),
        ("quarter", "2026-Q1", 15, date(2025, 12, 15), date(2026, 3, 14), "Quý I/2026"),
        ("quarter", "2026-q4", 15, date(2026, 9, 15), date(2026, 12, 14), "Quý IV/2026"),
        ("quarter", "2026-Q4", 1, date(2026, 10, 1), date(2026, 12, 31), "Quý IV/2026"),
        ("half", "2026-H2", 15, date(2026, 6, 15), date(2026, 12, 14), "6 tháng cuối năm 2026"),
        ("year", "2026", 15, date(2025, 12, 15), date(2026, 12, 14), "Năm 2026"),
        ("year", "2026", 1, date(2026, 1, 1), date(2026, 12, 31), "Năm 2026"),
    ],
)
def test_periods(kind, of, cutoff, first, last, label):
    p = resolve(kind, of, cutoff)
    assert (p.start, p.end, p.label) == (first, last, label)


def test_consecutive_months_tile_the_year():
    months = [resolve("month", f"2026-{m:02d}", 15) for m in range(1, 13)]
    for a, b in itertools.pairwise(months):
        assert (b.start - a.end).days == 1
    assert months[0].start == resolve("year", "2026").start
    assert months[-1].end == resolve("year", "2026").end
    assert sum(m.days for m in months) == resolve("year", "2026").days == 365


@pytest.mark.parametrize(
    ("kind", "of", "cutoff", "message"),
    [
        ("month", "2026-13", 15, "Tháng 13"),
        ("month", "11/2026", 15, "YYYY-MM"),
        ("quarter", "2026-Q5", 15, "YYYY-Qn"),
        ("year", "1999", 15, "2000–2099"),
        ("month", "2026-11", 29, "từ 1 đến 28"),
        ("week", "2026-11", 15, "không có"),
    ],
)
def test_bad_periods_are_named(kind, of, cutoff, message):
    with pytest.raises(InvalidInput, match=message):
        resolve(kind, of, cutoff)


def test_custom_ranges():
    assert custom(date(2026, 11, 1), date(2026, 11, 1)).days == 1
    with pytest.raises(InvalidInput, match="trước ngày bắt đầu"):
        custom(date(2026, 11, 2), date(2026, 11, 1))
    with pytest.raises(InvalidInput, match="dài quá 3 năm"):
        custom(date(2016, 1, 1), date(2026, 1, 1))


def test_last_closed_and_report_day():
    assert last_closed("month", date(2026, 11, 23)).key == "2026-11"
    assert last_closed("month", date(2026, 11, 14)).key == "2026-10"
    assert last_closed("quarter", date(2026, 11, 23)).key == "2026-Q3"
    assert last_closed("year", date(2026, 11, 23)).key == "2025"
    assert last_closed("year", date(2026, 12, 15)).key == "2026"
    # month 2026-11 closes on the 14th; its report is due on the 20th, before the 25th
    assert due_on(resolve("month", "2026-11"), 20) == date(2026, 11, 20)
    # calendar months close at the month's end: due on the 20th of the next month
    assert due_on(resolve("month", "2026-11", 1), 20) == date(2026, 12, 20)
    # a report day before the cut-off waits for the next month
    assert due_on(resolve("month", "2026-11"), 10) == date(2026, 12, 10)
    # before the report day: the previous ones (a run after downtime catches up with them)
    assert [p.key for p in due_periods(date(2026, 11, 19), 15, 20)] == ["2026-10"]
    assert [p.key for p in due_periods(date(2026, 11, 20), 15, 20)] == ["2026-11"]
    # ... for at most 31 days after the report day: the quarter was due on 20 September
    assert [p.key for p in due_periods(date(2026, 10, 22), 15, 20)] == ["2026-10"]
    assert [p.key for p in due_periods(date(2026, 10, 19), 15, 20)] == ["2026-09", "2026-Q3"]
    assert [p.key for p in due_periods(date(2026, 12, 20), 15, 20)] == [
        "2026-12",
        "2026-Q4",
        "2026",
    ]
