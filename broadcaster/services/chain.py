"""The airing log's hash chain (chuỗi băm nhật ký phát): how a row is hashed, and checking it.

Each station's airings form one chain. A row's hash covers the previous row's
hash and the row's canonical content: a JSON object with sorted keys, UTF-8 NFC,
timestamps in UTC with microseconds. Changing, removing or reordering any row
breaks every hash after it, which :func:`verify` finds and names.

The canonical form carries a version (``v``) so that a later release can add
fields without making old rows unverifiable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadcaster.errors import NotFound
from broadcaster.models import AdminUnit, Airing, AiringChainHead, Station
from broadcaster.vntext import nfc

CANONICAL_VERSION = 1  # 2 for a relay's report, which adds its three fields
GENESIS = "0" * 64
RELAY_FIELDS = ("relay_source_id", "relayed_s", "relay_used")


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(station_code: str, row: Airing) -> bytes:
    """The bytes a row's hash is computed over (without the previous hash)."""
    content = {
        "v": CANONICAL_VERSION,
        "station": station_code,
        "seq": row.seq,
        "report_id": row.report_id,
        "slot_id": row.slot_id,
        "campaign_id": row.campaign_id,
        "emergency_id": row.emergency_id,
        "script_version_id": row.script_version_id,
        "started_at": _ts(row.started_at),
        "ended_at": _ts(row.ended_at),
        "status": str(row.status),
        "audio_sha256": row.audio_sha256,
        "source": row.source,
        "note": nfc(row.note) if row.note is not None else None,
        "confirmed_by_id": row.confirmed_by_id,
        "confirmed_by": row.confirmed_by,
        "received_at": _ts(row.received_at),
    }
    # a relay's report (v2) adds three fields; every other row keeps its v1 bytes, also
    # when the caller's row value (a bench's, an older tool's) has no such attributes
    relay = {name: getattr(row, name, None) for name in RELAY_FIELDS}
    if any(value is not None for value in relay.values()):
        content.update(v=2, **relay)
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + content).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first row of a station's chain that does not match."""

    station_code: str
    seq: int
    airing_id: int | None
    reason: str


@dataclass
class VerifyReport:
    stations: int = 0
    rows: int = 0
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # code -> (seq, hash)
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(
    session: Session,
    station_code: str | None = None,
    *,
    scope_path: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Recompute every chain (or one station's, or those of the stations below a unit
    path) and name the first bad row of each."""
    stations = select(Station.id, Station.code).order_by(Station.code)
    if station_code is not None:
        stations = stations.where(Station.code == station_code)
    if scope_path is not None:
        stations = stations.join(AdminUnit, AdminUnit.id == Station.unit_id).where(
            AdminUnit.path.startswith(scope_path, autoescape=True)
        )
    pairs = session.execute(stations).all()
    if station_code is not None and not pairs:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=station_code)
    narrowed = station_code is not None or scope_path is not None
    heads = {
        h.station_id: h
        for h in session.scalars(
            select(AiringChainHead).where(AiringChainHead.station_id.in_([p.id for p in pairs]))
            if narrowed
            else select(AiringChainHead)
        )
    }
    report = VerifyReport()
    for station_id, code in pairs:
        head = heads.get(station_id)
        rows = session.scalars(
            select(Airing)
            .where(Airing.station_id == station_id)
            .order_by(Airing.seq)
            .execution_options(yield_per=2000)
        )
        expected_prev, expected_seq, broken = GENESIS, 1, None
        count = 0
        for row in rows:
            count += 1
            if broken is None:
                broken = _check(code, row, expected_seq, expected_prev)
            expected_prev, expected_seq = row.row_hash, row.seq + 1
        if count or head is not None:
            report.stations += 1
        report.rows += count
        last_seq = expected_seq - 1
        if (
            broken is None
            and head is not None
            and (head.seq, head.head_hash)
            != (
                last_seq,
                expected_prev,
            )
        ):
            broken = Break(
                code,
                head.seq,
                None,
                f"đầu chuỗi ghi số {head.seq} nhưng nhật ký kết thúc ở số {last_seq}"
                " (có dòng bị xóa hoặc thêm ngoài hệ thống)",
            )
        if broken is None and head is None and count:
            broken = Break(code, 1, None, "có nhật ký nhưng không có đầu chuỗi")
        if broken is not None:
            report.breaks.append(broken)
        if count:
            report.heads[code] = (last_seq, expected_prev)
        if progress:
            progress(1)
    return report


def _check(code: str, row: Airing, seq: int, prev: str) -> Break | None:
    if row.seq != seq:
        return Break(code, seq, row.id, f"thiếu dòng số {seq} (dòng kế tiếp mang số {row.seq})")
    if row.prev_hash != prev:
        return Break(code, row.seq, row.id, "mã băm dòng trước không khớp (dòng trước bị sửa)")
    if link(prev, canonical(code, row)) != row.row_hash:
        return Break(code, row.seq, row.id, "nội dung dòng không khớp mã băm (dòng bị sửa)")
    return None


def count_stations(session: Session, scope_path: str | None) -> int:
    """How many stations a verification of this subtree would walk (None: the country)."""
    stmt = select(func.count()).select_from(Station)
    if scope_path is not None:
        stmt = stmt.join(AdminUnit, AdminUnit.id == Station.unit_id).where(
            AdminUnit.path.startswith(scope_path, autoescape=True)
        )
    return session.scalar(stmt) or 0


def heads(session: Session) -> dict[str, tuple[int, str]]:
    """Every station's chain head now: the stamp a stored report carries."""
    rows = session.execute(
        select(Station.code, AiringChainHead.seq, AiringChainHead.head_hash).join(
            AiringChainHead, AiringChainHead.station_id == Station.id
        )
    )
    return {code: (seq, h) for code, seq, h in rows}


def verify_prefix(session: Session, station_code: str, seq: int, head_hash: str) -> Break | None:
    """Check a station's chain up to ``seq`` and that row ``seq`` still has ``head_hash``.

    This is how a stored report proves the rows behind it are the ones it saw:
    rows added since do not matter; any change at or before ``seq`` does.
    """
    station_id = session.scalar(select(Station.id).where(Station.code == station_code))
    if station_id is None:
        return Break(station_code, seq, None, "đài không còn trong hệ thống")
    rows = session.scalars(
        select(Airing)
        .where(Airing.station_id == station_id, Airing.seq <= seq)
        .order_by(Airing.seq)
        .execution_options(yield_per=2000)
    )
    expected_prev, expected_seq = GENESIS, 1
    for row in rows:
        broken = _check(station_code, row, expected_seq, expected_prev)
        if broken is not None:
            return broken
        expected_prev, expected_seq = row.row_hash, row.seq + 1
    if expected_seq - 1 != seq:
        return Break(
            station_code, expected_seq, None, f"nhật ký dừng ở số {expected_seq - 1}, dấu ghi {seq}"
        )
    if expected_prev != head_hash:
        return Break(station_code, seq, None, "dòng cuối không khớp dấu chuỗi băm đã lưu")
    return None
