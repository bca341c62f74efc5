"""``broadcaster plan`` and ``broadcaster slots list`` from the shell."""

from __future__ import annotations

import json

from sqlalchemy import select

from broadcaster.models import Slot, Station
from tests.planning.fixtures import TZ


def test_plan_then_list_a_stations_day(cli, factory, campaign):
    campaign()
    first = cli("plan", "--days", "7")
    assert first.exit_code == 0, first.output
    assert " mới," in first.stdout and "0 không xếp được" in first.stdout
    again = cli("plan", "--days", "7")
    assert "0 mới, 0 thay đổi, 0 hủy" in again.stdout
    with factory() as s:
        sid = s.scalar(select(Station.id).where(Station.code == "18073"))
        start = s.scalar(
            select(Slot.planned_start).where(Slot.station_id == sid).order_by(Slot.planned_start)
        )
    day = start.astimezone(TZ).date()
    listed = json.loads(
        cli("slots", "list", "--station", "18073", "--date", day.isoformat(), "--json").stdout
    )
    assert listed and all(r["status"] == "planned" and not r["audio_ready"] for r in listed)
    table = cli("slots", "list", "--station", "18073", "--date", day.strftime("%d/%m/%Y"))
    assert start.astimezone(TZ).strftime("%H:%M") in table.stdout
    assert "chưa có" in table.stdout  # audio not rendered yet is visible as such


def test_slots_list_bad_input(cli, ha_tinh):
    bad_day = cli("slots", "list", "--station", "18073", "--date", "31/02/2026")
    assert bad_day.exit_code == 2 and "không hợp lệ" in bad_day.output
    bad_station = cli("slots", "list", "--station", "nope")
    assert bad_station.exit_code == 2 and "Không có đài" in bad_station.output


def test_changing_a_stations_windows_replans(cli, factory, campaign):
    campaign(unit="18073")
    assert cli("plan").exit_code == 0
    result = cli("stations", "windows", "18073", "06:00-06:15")
    assert result.exit_code == 0, result.output
    assert "06:00–06:15" in result.stdout and "Đã lập lịch lại" in result.stdout
    with factory() as s:
        starts = s.scalars(select(Slot.planned_start).where(Slot.status == "planned")).all()
    assert starts and all(t.astimezone(TZ).strftime("%H:%M") >= "06:00" for t in starts)
    assert all(t.astimezone(TZ).hour == 6 for t in starts)
