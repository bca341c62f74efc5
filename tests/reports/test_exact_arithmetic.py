"""Every quarter-hour window boundary is judged exactly, on both backends.

An airing that starts exactly at its window's end + 15 minutes, or exactly 3 hours
before its planned start, counts as on time (``docs/compliance.md``); a second
later (or earlier) it does not. SQLite used to compare ``julianday()``
differences in floating point, which put a third of the 96 quarter-hour window
ends (06:30 and 18:00 among them) on the wrong side.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import literal, select

from broadcaster.db import UTCDateTime
from broadcaster.reports.compliance import EARLY, GRACE, _within, minutes
from tests.planning.fixtures import TZ
from tests.reports.test_compliance import _report

SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)


def _at(value: datetime):
    return literal(value, UTCDateTime())


def test_every_quarter_hour_boundary_late_and_early_edge(factory):
    day = datetime(2026, 11, 30, tzinfo=TZ)
    cases = []  # (label, moment, planned start, window end, expected)
    for n in range(96):
        end = day + timedelta(minutes=15 * n)
        start = end - timedelta(minutes=30)
        for shift in (SECOND, TICK):
            cases += [
                (f"end {end:%H:%M} + 15 min", end + GRACE, start, end, True),
                (f"end {end:%H:%M} + 15 min + {shift}", end + GRACE + shift, start, end, False),
                (f"start {start:%H:%M} - 3 h", start - EARLY, start, end, True),
                (f"start {start:%H:%M} - 3 h - {shift}", start - EARLY - shift, start, end, False),
            ]
    with factory() as session:
        got = []
        for chunk in range(0, len(cases), 100):
            part = cases[chunk : chunk + 100]
            row = session.execute(
                select(
                    *(
                        _within(session, _at(m.astimezone(UTC)), _at(s), _at(e), EARLY, GRACE)
                        for _, m, s, e, _ in part
                    )
                )
            ).one()
            got += [bool(v) for v in row]
    wrong = [
        label for (label, *_, expected), value in zip(cases, got, strict=True) if value != expected
    ]
    assert wrong == [], f"{len(wrong)} of {len(cases)} boundaries judged wrongly: {wrong[:8]}"


def test_the_default_windows_edges_in_the_report(scene):
    """The default windows' ends (06:30, 18:00) and the early edge, through the report."""
    d = scene.m0
    w1 = [scene.slot(d + timedelta(n)) for n in (7, 9, 11)]  # Mon, Wed 06:00; Fri 17:30
    w2 = [scene.slot(d + timedelta(n)) for n in (14, 16)]
    assert [s.window_end.astimezone(TZ).strftime("%H:%M") for s in w1] == ["06:30"] * 2 + ["18:00"]
    scene.report(w1[0], w1[0].window_end + GRACE, 2)  # exactly at the edge: on time
    scene.report(w1[1], w1[1].window_end + GRACE + SECOND, 2)  # a second after: late
    scene.report(w1[2], w1[2].window_end + GRACE, 2)  # 18:15 exactly: on time
    scene.report(w2[0], w2[0].planned_start - EARLY, 2)  # exactly 3 hours early: on time
    scene.report(w2[1], w2[1].planned_start - EARLY - SECOND, 2)  # a second more: outside
    r = _report(scene, d + timedelta(7), d + timedelta(16))
    assert (r["totals"]["on_time"], r["totals"]["late"]) == (3, 2)


def test_minutes_aired_are_exact_sums_rounded_once_half_up(scene):
    """Lengths are summed in whole milliseconds and rounded once, halves up: 7.25 and
    8.25 minutes show as 7.3 and 8.3 (floating-point seconds once made 145 s into
    145.0000182 s, so equal halves rounded different ways)."""
    d = scene.m0
    first, second = scene.slot(d + timedelta(7)), scene.slot(d + timedelta(14))
    scene.report(first, first.planned_start, 7.25)  # 435 s
    scene.report(second, second.planned_start, 8.25)  # 495 s
    third = scene.slot(d + timedelta(16))
    scene.report(third, third.planned_start + timedelta(microseconds=1), 145 / 60)  # 145 s
    r = _report(scene, d + timedelta(7), d + timedelta(20))
    assert [w["minutes_aired"] for w in r["weeks"]] == [7.3, 10.7]  # 495 + 145 = 640 s
    assert r["totals"]["minutes_aired"] == 17.9  # 1,075 s = 17.9166… min
    assert minutes([435_000, 495_000, 145_000, 3_000, 2_999, 0]).tolist() == [
        7.3,
        8.3,
        2.4,
        0.1,
        0.0,
        0.0,
    ]
