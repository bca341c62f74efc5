"""Stations: one per commune, windows, duplicates."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, NotFound
from broadcaster.models import Station, StationWindow
from broadcaster.services import stations, units


def test_one_station_per_commune_with_default_windows(factory, ha_tinh):
    with factory() as s:
        listed = stations.list_stations(s, "Hà Tĩnh")
        assert len(listed) == 69
        assert len({st.unit_code for st in listed}) == 69
        first = stations.get_station(s, "18073")
        assert first.name == "Đài truyền thanh phường Thành Sen"
        assert [str(w) for w in first.windows] == ["05:30–06:30", "17:00–18:00"]
        assert s.scalar(select(func.count()).select_from(StationWindow)) == 138


def test_station_import_is_idempotent(factory, actor, ha_tinh):
    with transaction(factory) as s:
        result = stations.import_stations(s, actor, "42")
    assert (result.created, result.existing) == (0, 69)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Station)) == 69


def test_station_import_needs_units_first(factory, actor):
    with transaction(factory) as s, pytest.raises(NotFound, match="units import"):
        stations.import_stations(s, actor)


def test_duplicate_station_is_refused_and_nothing_written(factory, actor, ha_tinh):
    with transaction(factory) as s:
        extra = stations.add_station(s, actor, "18073", code="18073-b", windows="06:00-06:15")
    assert [str(w) for w in extra.windows] == ["06:00–06:15"]
    with pytest.raises(Conflict, match="đã tồn tại"), transaction(factory) as s:
        stations.add_station(s, actor, "18073", code="18073-b")
    with pytest.raises(Conflict), transaction(factory) as s:
        stations.add_station(s, actor, "18073")  # the default code is the commune's, taken
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Station)) == 70


def test_unknown_unit_for_a_station(factory, actor, ha_tinh):
    with pytest.raises(NotFound), transaction(factory) as s:
        stations.add_station(s, actor, "99999")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05:30-06:30,17:00-18:00", [(time(5, 30), time(6, 30)), (time(17), time(18))]),
        ("17h00-17h45; 5h30-6h15", [(time(5, 30), time(6, 15)), (time(17), time(17, 45))]),
        ("6:00 – 6:15", [(time(6), time(6, 15))]),
    ],
)
def test_parse_windows(text, expected):
    assert [(w.starts_at, w.ends_at) for w in stations.parse_windows(text)] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "ít nhất một khung giờ"),
        ("sáng sớm", "sai định dạng"),
        ("25:00-26:00", "không hợp lệ"),
        ("18:00-17:00", "trước giờ kết thúc"),
        ("05:30-06:30,06:00-07:00", "chồng lên nhau"),
    ],
)
def test_bad_windows_say_what_is_wrong(text, message):
    with pytest.raises(InvalidInput, match=message):
        stations.parse_windows(text)


def test_bad_station_code(factory, actor, ha_tinh):
    with pytest.raises(InvalidInput, match="Mã đài"), transaction(factory) as s:
        stations.add_station(s, actor, "18073", code="đài 1")


def test_whole_country_stations(factory, actor):
    with transaction(factory) as s:
        units.import_units(s, actor)
        result = stations.import_stations(s, actor)
    assert result.created == 3321


def test_windows_can_be_replaced_and_are_audited(factory, actor, ha_tinh):
    from broadcaster.models import AuditEvent

    with transaction(factory) as s:
        info = stations.set_windows(s, actor, "18073", "05:30-05:45, 17:00-17:45")
    assert [str(w) for w in info.windows] == ["05:30–05:45", "17:00–17:45"]
    with factory() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "station.windows"))
        assert event.before == {"windows": ["05:30–06:30", "17:00–18:00"]}
    with pytest.raises(InvalidInput), transaction(factory) as s:
        stations.set_windows(s, actor, "18073", "18:00-17:00")
    with factory() as s:  # the bad call changed nothing
        assert [str(w) for w in stations.get_station(s, "18073").windows] == [
            "05:30–05:45",
            "17:00–17:45",
        ]
