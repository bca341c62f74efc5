"""Stations (đài truyền thanh): one per commune by default, with broadcast windows.

Windows are daily local times (the instance's time zone, Asia/Ho_Chi_Minh by
default): a commune typically airs 05:30–06:30 and 17:00–18:00.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.errors import Conflict, InvalidInput, NotFound, Words
from broadcaster.models import AdminUnit, Station, StationWindow
from broadcaster.services.audit import Actor, record
from broadcaster.services.units import COMMUNE_LEVEL, get_unit
from broadcaster.vntext import mid_sentence_name, nfc, refuse_bidi

DEFAULT_WINDOWS = "05:30-06:30,17:00-18:00"
_WINDOW = re.compile(r"^\s*(\d{1,2})[:hH](\d{2})\s*[-–]\s*(\d{1,2})[:hH](\d{2})\s*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class Window:
    starts_at: time
    ends_at: time

    def __str__(self) -> str:
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    @property
    def minutes(self) -> int:
        return (self.ends_at.hour * 60 + self.ends_at.minute) - (
            self.starts_at.hour * 60 + self.starts_at.minute
        )


@dataclass(frozen=True)
class StationInfo:
    id: int
    code: str
    name: str
    unit_code: str
    unit_name: str
    active: bool
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class StationImportResult:
    communes: int
    created: int
    existing: int


def parse_windows(text: str) -> tuple[Window, ...]:
    """Parse ``"05:30-06:30,17:00-18:00"`` (``5h30-6h30`` is accepted too)."""
    parts = [p for p in re.split(r"[,;]", text or "") if p.strip()]
    if not parts:
        raise InvalidInput(
            "Cần ít nhất một khung giờ phát, ví dụ 05:30-06:30,17:00-18:00.", field="windows"
        )
    windows: list[Window] = []
    for part in parts:
        m = _WINDOW.match(part)
        if not m:
            raise InvalidInput(
                "Khung giờ '{window}' sai định dạng; dùng GIỜ:PHÚT-GIỜ:PHÚT, ví dụ 17:00-18:00.",
                field="windows",
                window=part.strip(),
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise InvalidInput(
                "Khung giờ '{window}' có giờ hoặc phút không hợp lệ.",
                field="windows",
                window=part.strip(),
            )
        w = Window(time(h1, m1), time(h2, m2))
        if w.starts_at >= w.ends_at:
            raise InvalidInput(
                "Khung giờ '{window}': giờ bắt đầu phải trước giờ kết thúc "
                "(khung giờ không được vắt qua nửa đêm).",
                field="windows",
                window=part.strip(),
            )
        windows.append(w)
    windows.sort(key=lambda w: w.starts_at)
    for a, b in itertools.pairwise(windows):
        if b.starts_at < a.ends_at:
            raise InvalidInput(
                "Khung giờ {first} và {second} chồng lên nhau.",
                field="windows",
                first=str(a),
                second=str(b),
            )
    return tuple(windows)


def station_name_for(unit: AdminUnit) -> str:
    return f"Đài truyền thanh {mid_sentence_name(unit.name, unit.kind)}"


def _info(station: Station) -> StationInfo:
    return StationInfo(
        id=station.id,
        code=station.code,
        name=station.name,
        unit_code=station.unit.code,
        unit_name=station.unit.name,
        active=station.active,
        windows=tuple(Window(w.starts_at, w.ends_at) for w in station.windows),
    )


def import_stations(
    session: Session,
    actor: Actor,
    province: str | None = None,
    windows: str = DEFAULT_WINDOWS,
    progress: Callable[[int], None] | None = None,
) -> StationImportResult:
    """Create one station per commune that has none yet (idempotent).

    Station codes are the communes' official codes.
    """
    parsed = parse_windows(windows)
    stmt = select(AdminUnit.id, AdminUnit.code, AdminUnit.name, AdminUnit.kind).where(
        AdminUnit.level == COMMUNE_LEVEL
    )
    if province:
        root = get_unit(session, province, field="province")
        stmt = stmt.where(AdminUnit.path.startswith(root.path))
    communes = session.execute(stmt.order_by(AdminUnit.code)).all()
    if not communes:
        if province:
            raise NotFound(
                "Chưa có xã/phường nào trong phạm vi này. Hãy nạp danh mục trước: "
                "broadcaster units import --province {province}",
                field="province",
                province=province,
            )
        raise NotFound(
            "Chưa có xã/phường nào trong phạm vi này. Hãy nạp danh mục trước: "
            "broadcaster units import"
        )
    taken_units = set(session.scalars(select(Station.unit_id)))
    taken_codes = set(session.scalars(select(Station.code)))
    rows = []
    for c in communes:
        if c.id in taken_units:
            continue
        if c.code in taken_codes:
            raise Conflict(
                "Mã đài {code} đã được dùng cho một đài khác; không thể tạo đài "
                "cho {name}. Hãy đổi mã đài kia trước.",
                code=c.code,
                name=c.name,
            )
        rows.append(
            {
                "code": c.code,
                "name": f"Đài truyền thanh {mid_sentence_name(c.name, c.kind)}",
                "unit_id": c.id,
                "active": True,
            }
        )
    created = 0
    batch = 500
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        ids = session.scalars(
            insert(Station).returning(Station.id, sort_by_parameter_order=True), chunk
        ).all()
        session.execute(
            insert(StationWindow),
            [
                {"station_id": sid, "starts_at": w.starts_at, "ends_at": w.ends_at}
                for sid in ids
                for w in parsed
            ],
        )
        created += len(ids)
        if progress:
            progress(len(chunk))
    if created:
        record(
            session,
            actor,
            "stations.import",
            "station",
            province or "*",
            after={"created": created, "windows": [str(w) for w in parsed]},
        )
    return StationImportResult(len(communes), created, len(communes) - created)


def add_station(
    session: Session,
    actor: Actor,
    unit: str,
    code: str | None = None,
    name: str | None = None,
    windows: str = DEFAULT_WINDOWS,
) -> StationInfo:
    """Add one station for a unit; its code defaults to the unit's code."""
    target = get_unit(session, unit, field="unit")
    code = (code or target.code).strip()
    if not _CODE.match(code):
        raise InvalidInput(
            "Mã đài '{code}' không hợp lệ: chỉ chữ cái không dấu, chữ số, '.', '_', '-' "
            "(tối đa 32 ký tự).",
            field="code",
            code=code,
        )
    if session.scalar(select(Station.id).where(Station.code == code)) is not None:
        raise Conflict("Đài có mã '{code}' đã tồn tại.", field="code", code=code)
    name = nfc(name.strip()) if name else station_name_for(target)
    if not name:
        raise InvalidInput("Tên đài không được để trống.", field="name")
    refuse_bidi(name, Words("Tên đài"), field="name")
    station = Station(code=code, name=name, unit=target, active=True)
    station.windows = [
        StationWindow(starts_at=w.starts_at, ends_at=w.ends_at) for w in parse_windows(windows)
    ]
    session.add(station)
    session.flush()
    info = _info(station)
    record(
        session,
        actor,
        "station.add",
        "station",
        station.id,
        after={
            "code": info.code,
            "name": info.name,
            "unit": info.unit_code,
            "windows": [str(w) for w in info.windows],
        },
    )
    return info


def _load(session: Session, code: str) -> Station:
    station = session.scalar(
        select(Station)
        .options(selectinload(Station.windows), selectinload(Station.unit))
        .where(Station.code == code.strip())
    )
    if station is None:
        raise NotFound(
            "Không có đài nào mã '{code}'. Xem danh sách: broadcaster stations list",
            field="code",
            code=code,
        )
    return station


def get_station(session: Session, code: str) -> StationInfo:
    return _info(_load(session, code))


def list_stations(
    session: Session, unit: str | None = None, include_inactive: bool = True
) -> list[StationInfo]:
    stmt = (
        select(Station)
        .join(Station.unit)
        .options(selectinload(Station.windows), selectinload(Station.unit))
        .order_by(AdminUnit.path, Station.code)
    )
    if unit:
        root = get_unit(session, unit, field="unit")
        stmt = stmt.where(AdminUnit.path.startswith(root.path))
    if not include_inactive:
        stmt = stmt.where(Station.active.is_(True))
    return [_info(s) for s in session.scalars(stmt)]


def set_windows(session: Session, actor: Actor, code: str, windows: str) -> StationInfo:
    """Replace a station's broadcast windows (a ward's 15-minute session, say)."""
    station = _load(session, code)
    if not (actor.is_system or actor.covers(station.unit.path)):
        raise NotFound(
            "Không có đài nào mã '{code}' trong phạm vi của '{actor}'.",
            field="code",
            code=code,
            actor=actor.label,
        )
    parsed = parse_windows(windows)
    before = [str(Window(w.starts_at, w.ends_at)) for w in station.windows]
    station.windows.clear()
    session.flush()  # the old rows go before the new ones take their start times
    station.windows.extend(StationWindow(starts_at=w.starts_at, ends_at=w.ends_at) for w in parsed)
    session.flush()
    after = [str(w) for w in parsed]
    record(
        session,
        actor,
        "station.windows",
        "station",
        station.id,
        before={"windows": before},
        after={"windows": after},
    )
    return _info(station)
