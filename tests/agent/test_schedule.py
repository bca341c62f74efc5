"""The agenda: which item is due, emergencies first, cancelled emergencies dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadcaster.agent.clock import ClockDrift
from broadcaster.agent.schedule import Agenda, Item

NOW = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 07:00 in Hà Nội


def item(slot_id: int, minutes: float, *, kind: str = "campaign", status: str = "planned"):
    start = NOW + timedelta(minutes=minutes)
    return {
        "slot_id": slot_id,
        "kind": kind,
        "title": f"  Tin\nsố {slot_id} ",
        "repeat": 2 if kind == "emergency" else 1,
        "planned_start": start.isoformat(),
        "window_end": (start + timedelta(minutes=30)).isoformat(),
        "duration_ms": 20_000,
        "status": status,
        "emergency_id": slot_id if kind == "emergency" else None,
        "audio": {"url": "http://x", "sha256": "a" * 64, "size": 10},
    }


def playlist(*items):
    return {"date": "2026-03-03", "timezone": "Asia/Ho_Chi_Minh", "items": list(items)}


def never(_item) -> bool:
    return False


def test_items_play_in_planned_order_inside_their_window():
    agenda = Agenda()
    agenda.set_playlist(playlist(item(2, -1), item(1, -2), item(3, 5), item(4, -31)), 0)
    assert agenda.due(NOW, never).slot_id == 1  # the earliest open one
    assert agenda.due(NOW, lambda i: i.slot_id == 1).slot_id == 2
    assert agenda.due(NOW, lambda i: i.slot_id in (1, 2)) is None  # 3 not yet, 4 closed
    assert agenda.next_start(NOW, never) == NOW + timedelta(minutes=5)
    first = agenda.get(1)
    assert first.title == "Tin số 1"
    assert first.sha256 == "a" * 64
    assert agenda.local(first.planned_start) == "2026-03-03 06:58:00+07:00"


def test_an_emergency_comes_before_anything_else():
    agenda = Agenda()
    agenda.set_playlist(playlist(item(1, -2), item(9, -0.5, kind="emergency")), 0)
    due = agenda.due(NOW, never)
    assert (due.slot_id, due.is_emergency, due.repeat) == (9, True, 2)
    assert agenda.due(NOW, never, emergencies_only=True).slot_id == 9


def test_a_heard_emergency_is_dropped_only_by_a_playlist_asked_for_after_it():
    agenda = Agenda()
    agenda.set_playlist(playlist(item(1, -2)), asked_at=10)
    heard = Item.from_json(item(9, 0, kind="emergency"))
    assert agenda.add_emergencies([heard], heard_at=20) == [heard]
    assert agenda.add_emergencies([heard], heard_at=21) == []  # known already

    assert agenda.set_playlist(playlist(item(1, -2)), asked_at=15) == []  # older request
    assert agenda.due(NOW, never).slot_id == 9
    dropped = agenda.set_playlist(playlist(item(1, -2)), asked_at=30)  # cancelled meanwhile
    assert [i.slot_id for i in dropped] == [9]
    assert agenda.due(NOW, never).slot_id == 1


def test_a_playlist_that_carries_a_heard_emergency_takes_it_over():
    agenda = Agenda()
    agenda.add_emergencies([Item.from_json(item(9, 0, kind="emergency"))], heard_at=5)
    agenda.set_playlist(playlist(item(9, 0, kind="emergency", status="aired")), asked_at=1)
    assert [i.status for i in agenda.items()] == ["aired"]


def test_the_clock_corrects_only_drifts_it_can_measure():
    wall = [1_000_000.0]
    clock = ClockDrift(wall=lambda: wall[0])
    assert clock.drift_s is None
    assert clock.now().timestamp() == 1_000_000.0
    clock.observe(1_000_000.0, 1_000_000.2, "Mon, 12 Jan 1970 13:46:40 GMT")  # = 1_000_000
    assert abs(clock.drift_s) < 1  # within the header's resolution: left alone
    assert clock.now().timestamp() == 1_000_000.0
    for _ in range(3):
        clock.observe(1_000_300.0, 1_000_300.2, "Mon, 12 Jan 1970 13:46:40 GMT")
    assert clock.drift_s == 299.6  # the median of the samples
    wall[0] = 1_000_300.0  # the station clock, five minutes ahead of the server's
    assert clock.now().timestamp() == 1_000_000.4
    clock.observe(0, 10, "Mon, 12 Jan 1970 13:46:40 GMT")  # too slow an answer to trust
    clock.observe(0, 1, "not a date")
    assert clock.drift_s == 299.6
