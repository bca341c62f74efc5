"""The planner: cadence spread, windows, capacity, idempotency, re-planning."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, time, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from broadcaster.db import transaction
from broadcaster.models import (
    Campaign,
    CampaignStatus,
    Priority,
    Slot,
    SlotStatus,
    Station,
    StationQuietDay,
    StationWindow,
)
from broadcaster.planning import plan
from tests.planning.fixtures import MONDAY, TZ, local


def run(factory, now=MONDAY, days=28, **kw):
    with transaction(factory) as s:
        return plan(s, now=now, days=days, tz=TZ, **kw)


def slots(factory, station="18073", status=SlotStatus.PLANNED):
    with factory() as s:
        sid = s.scalar(select(Station.id).where(Station.code == station))
        return s.scalars(
            select(Slot)
            .where(Slot.station_id == sid, Slot.status == status)
            .order_by(Slot.planned_start)
        ).all()


def test_three_a_week_over_four_weeks_is_twelve_per_station_on_spread_days(factory, campaign):
    campaign()
    report = run(factory)
    assert report.created == 12 * 69 and not report.unplaced
    mine = slots(factory)
    assert len(mine) == 12
    by_week: dict[str, list[date]] = {}
    for slot in mine:
        by_week.setdefault(slot.week, []).append(slot.planned_start.astimezone(TZ).date())
    for days in by_week.values():
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        assert len(days) == 3 and all(g == 2 for g in gaps)  # Mon/Wed/Fri or Tue/Thu/Sat
    for slot in mine:  # inside a window
        start = slot.planned_start.astimezone(TZ).time()
        end = (slot.planned_start + timedelta(milliseconds=slot.duration_ms)).astimezone(TZ)
        assert time(5, 30) <= start < time(6, 30) or time(17) <= start < time(18)
        assert end <= slot.window_end


def test_stations_are_balanced_across_days_and_windows(factory, campaign):
    campaign()
    run(factory)
    with factory() as s:
        starts = s.scalars(select(Slot.planned_start)).all()
    weekdays = Counter(t.astimezone(TZ).weekday() for t in starts)
    mornings = sum(1 for t in starts if t.astimezone(TZ).hour < 12)
    assert weekdays[0] > 0 and weekdays[1] > 0  # not every station on Monday
    assert 0.3 < mornings / len(starts) < 0.7


def test_planning_again_changes_nothing(factory, campaign):
    campaign()
    run(factory)
    with factory() as s:
        before = s.execute(select(Slot.id, Slot.updated_at).order_by(Slot.id)).all()
    again = run(factory)
    assert again.skipped  # the inputs' digest is the same: nothing to do
    assert (again.created, again.updated, again.cancelled) == (0, 0, 0)
    # the same inputs planned in full (one campaign's scope skips no work) agree
    cid = 1
    full = run(factory, campaign_ids=[cid])
    assert (full.created, full.updated, full.cancelled, full.unchanged) == (0, 0, 0, 12 * 69)
    with factory() as s:
        assert s.execute(select(Slot.id, Slot.updated_at).order_by(Slot.id)).all() == before


def test_any_change_to_the_inputs_plans_again(factory, campaign):
    campaign()
    run(factory)
    with transaction(factory) as s:  # a station reports an airing
        first = s.scalar(select(Slot).order_by(Slot.planned_start).limit(1))
        first.status = SlotStatus.AIRED
    assert not run(factory).skipped
    assert run(factory).skipped
    with transaction(factory) as s:  # a station's window changes
        window = s.scalar(select(StationWindow).limit(1))
        window.ends_at = time(6, 45) if window.starts_at.hour < 12 else time(18, 30)
    assert not run(factory).skipped


def test_explicit_pattern_lands_exactly(factory, campaign):
    campaign(pattern=[(0, "06:00"), (2, "17:30"), (4, "06:00")])
    run(factory, days=7)
    starts = [s.planned_start for s in slots(factory)]
    monday = date(2026, 11, 2)
    assert starts == [
        local(monday, time(6)),
        local(monday + timedelta(days=2), time(17, 30)),
        local(monday + timedelta(days=4), time(6)),
    ]


def test_a_campaign_starting_mid_week_is_pro_rated(factory, campaign):
    # starts Thursday: Thu, Fri, Sat of the 6 allowed days -> 3 * 3/6 = 1.5 -> 2
    campaign(starts_on=date(2026, 11, 5), ends_on=date(2026, 11, 15))
    run(factory, days=14)
    weeks = Counter(s.week for s in slots(factory))
    assert weeks == {"2026-W45": 2, "2026-W46": 3}


def test_over_full_windows_spill_then_report(factory, campaign):
    # a 15-minute ward window and 10-minute announcements: one fits per window
    with transaction(factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == "18073"))
        s.execute(delete(StationWindow).where(StationWindow.station_id == sid))
        s.add(StationWindow(station_id=sid, starts_at=time(6), ends_at=time(6, 15)))
    long_words = 10 * 60 * 25 // 10  # about ten minutes at 2.5 words a second
    campaign("A", times_per_week=6, priority=Priority.PRIORITY, words=long_words)
    campaign("B", times_per_week=2, words=long_words)
    report = run(factory, days=7)
    mine = slots(factory)
    assert len(mine) == 6 and {s.campaign_id for s in mine} == {1}  # priority first
    unplaced = slots(factory, status=SlotStatus.UNPLACED)
    assert len(unplaced) == 2 and all(u.note for u in unplaced)
    assert sum(1 for u in report.unplaced if u.station_code == "18073") == 2


def test_editing_cadence_replans_only_the_future(factory, campaign):
    cid = campaign()
    run(factory)
    wednesday = MONDAY + timedelta(days=2)
    with transaction(factory) as s:
        s.execute(update(Campaign).where(Campaign.id == cid).values(times_per_week=2))
    report = run(factory, now=wednesday, campaign_ids=[cid])
    mine = slots(factory)
    past = [x for x in mine if x.planned_start < wednesday]
    assert past and all(x.planned_start < wednesday for x in past)
    assert report.cancelled > 0
    with factory() as s:
        cancelled = s.scalars(select(Slot).where(Slot.status == SlotStatus.CANCELLED)).all()
    assert all(c.updated_at and c.planned_start >= wednesday for c in cancelled if c.planned_start)


def test_pause_cancels_future_slots_and_resume_brings_them_back(factory, campaign):
    cid = campaign()
    run(factory)
    with transaction(factory) as s:
        s.execute(update(Campaign).where(Campaign.id == cid).values(status=CampaignStatus.PAUSED))
    paused = run(factory, campaign_ids=[cid])
    assert paused.cancelled == 12 * 69 and not slots(factory)
    with transaction(factory) as s:
        s.execute(update(Campaign).where(Campaign.id == cid).values(status=CampaignStatus.ACTIVE))
    resumed = run(factory, campaign_ids=[cid])
    assert resumed.updated == 12 * 69 and resumed.created == 0
    assert len(slots(factory)) == 12


def test_quiet_days_move_the_airing(factory, campaign):
    campaign(times_per_week=1, weekdays=(0, 1))
    run(factory, days=7)
    (first,) = slots(factory)
    day = first.planned_start.astimezone(TZ).date()
    with transaction(factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == "18073"))
        s.add(StationQuietDay(station_id=sid, day=day))
    run(factory, days=7)
    (moved,) = slots(factory)
    assert moved.planned_start.astimezone(TZ).date() != day


def test_iso_week_53_and_the_year_boundary(factory, campaign):
    # 2026 has an ISO week 53: Mon 28 Dec 2026 .. Sun 3 Jan 2027
    campaign(starts_on=date(2026, 12, 21), ends_on=date(2027, 1, 17))
    monday = local(date(2026, 12, 21), time(0, 30))
    run(factory, now=monday, days=21)
    weeks = Counter(s.week for s in slots(factory))
    assert weeks == {"2026-W52": 3, "2026-W53": 3, "2027-W01": 3}


def test_rotation_over_several_scripts(factory, campaign):
    campaign(script_slugs=("a", "b", "c"))
    run(factory, days=7)
    assert len({s.script_version_id for s in slots(factory)}) == 3


def test_the_whole_province_plans_on_both_backends(factory, campaign):
    campaign()
    campaign("Khác", preferred="evening")
    run(factory, days=14)
    with factory() as s:
        count = s.scalar(select(func.count()).select_from(Slot))
    assert count == 2 * 6 * 69


@pytest.mark.parametrize("days", [0, 500])
def test_bad_horizon(factory, days):
    with pytest.raises(ValueError):
        run(factory, days=days)


def test_what_does_not_fit_moves_to_the_next_allowed_window(factory, campaign):
    with transaction(factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == "18073"))
        s.execute(delete(StationWindow).where(StationWindow.station_id == sid))
        s.add(StationWindow(station_id=sid, starts_at=time(6), ends_at=time(6, 15)))
    ten_minutes = 1500
    campaign("A", times_per_week=1, weekdays=(0,), priority=Priority.PRIORITY, words=ten_minutes)
    campaign("B", times_per_week=1, weekdays=(0, 1), words=ten_minutes)
    report = run(factory, days=7)
    a, b = slots(factory)
    assert a.planned_start.astimezone(TZ).weekday() == 0
    assert b.planned_start.astimezone(TZ).weekday() == 1
    assert not [u for u in report.unplaced if u.station_code == "18073"]


def test_a_campaign_ending_mid_week_is_pro_rated(factory, campaign):
    # ends Tuesday 10 Nov: Mon and Tue of the 6 allowed days -> 3 * 2/6 = 1
    campaign(starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 10))
    run(factory, days=14)
    weeks = Counter(s.week for s in slots(factory))
    assert weeks == {"2026-W45": 3, "2026-W46": 1}
    (last,) = [s for s in slots(factory) if s.week == "2026-W46"]
    assert last.planned_start.astimezone(TZ).date() <= date(2026, 11, 10)
