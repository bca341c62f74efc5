"""Quiet days (ngày nghỉ phát): days a station does not broadcast, so nothing is planned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcaster.days import parse_day
from broadcaster.errors import Conflict, InvalidInput, NotFound, Words
from broadcaster.models import Station, StationQuietDay
from broadcaster.services.audit import Actor, record
from broadcaster.services.campaigns import require_manager


@dataclass(frozen=True)
class QuietDayInfo:
    station_code: str
    station_name: str
    day: date


def _station(session: Session, code: str) -> Station:
    station = session.scalar(
        select(Station).options(selectinload(Station.unit)).where(Station.code == code.strip())
    )
    if station is None:
        raise NotFound(
            "Không có đài nào mã '{code}'. Xem danh sách: broadcaster stations list",
            field="station",
            code=code,
        )
    return station


def _quiet_day(
    session: Session, actor: Actor, station_code: str, day: str | date, what: str
) -> tuple[Station, date, StationQuietDay | None]:
    station = _station(session, station_code)
    require_manager(actor, [station.unit], what)
    when = parse_day(day, Words("Ngày nghỉ phát"), field="day")
    row = session.scalar(
        select(StationQuietDay).where(
            StationQuietDay.station_id == station.id, StationQuietDay.day == when
        )
    )
    return station, when, row


def add_quiet_day(
    session: Session, actor: Actor, station_code: str, day: str | date, *, today: date
) -> QuietDayInfo:
    """Mark a day a station does not broadcast; nothing is planned there that day."""
    station, when, row = _quiet_day(session, actor, station_code, day, Words("đặt ngày nghỉ phát"))
    if when < today:
        raise InvalidInput(
            "Ngày nghỉ phát {day:%d/%m/%Y} đã qua; chỉ đặt cho hôm nay trở đi.",
            field="day",
            day=when,
        )
    if row is not None:
        raise Conflict(
            "Đài {code} đã có ngày nghỉ phát {day:%d/%m/%Y}.",
            field="day",
            code=station.code,
            day=when,
        )
    session.add(StationQuietDay(station_id=station.id, day=when))
    session.flush()
    change = {"day": when.isoformat()}
    record(session, actor, "station.quiet_day.add", "station", station.id, after=change)
    return QuietDayInfo(station.code, station.name, when)


def remove_quiet_day(
    session: Session, actor: Actor, station_code: str, day: str | date
) -> QuietDayInfo:
    station, when, row = _quiet_day(session, actor, station_code, day, Words("bỏ ngày nghỉ phát"))
    if row is None:
        raise NotFound(
            "Đài {code} không có ngày nghỉ phát {day:%d/%m/%Y}.",
            field="day",
            code=station.code,
            day=when,
        )
    session.delete(row)
    session.flush()
    change = {"day": when.isoformat()}
    record(session, actor, "station.quiet_day.remove", "station", station.id, before=change)
    return QuietDayInfo(station.code, station.name, when)


def list_quiet_days(
    session: Session, station_code: str | None = None, since: str | date | None = None
) -> list[QuietDayInfo]:
    stmt = select(Station.code, Station.name, StationQuietDay.day).join(
        Station, Station.id == StationQuietDay.station_id
    )
    if station_code:
        stmt = stmt.where(Station.id == _station(session, station_code).id)
    if since:
        stmt = stmt.where(StationQuietDay.day >= parse_day(since, Words("Từ ngày"), field="since"))
    rows = session.execute(stmt.order_by(StationQuietDay.day, Station.code))
    return [QuietDayInfo(code, name, day) for code, name, day in rows]
