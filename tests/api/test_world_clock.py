"""The API tests' world keeps its "soon" slots on Việt Nam's today at any hour."""

from datetime import UTC, date, datetime, timedelta

from tests.api.world import VIETNAM, slot_base


def test_late_in_the_evening_the_slots_move_back_into_today():
    late = datetime(2026, 12, 6, 16, 40, tzinfo=UTC)  # 23:40 in Việt Nam
    base = slot_base(late)
    for minutes in (5, 10, 30, 60):
        assert (base + timedelta(minutes=minutes)).astimezone(VIETNAM).date() == date(2026, 12, 6)


def test_at_other_hours_the_slots_start_now():
    for hour in (0, 5, 12, 15):
        now = datetime(2026, 12, 6, hour, 7, 9, tzinfo=UTC)
        assert slot_base(now) == now
