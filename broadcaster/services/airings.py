"""The airing log (nhật ký phát): taking reports in, confirming by hand, reading it back.

Reports are idempotent by the client's UUID: a re-sent report gets the answer
the first one got and is never stored twice. A batch is taken whole or not at
all: if any report in it is wrong, nothing is stored and every problem is named,
so a station never has to guess which half of a batch arrived.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Row, String, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcaster.config import DEFAULT_TIMEZONE
from broadcaster.db import utcnow
from broadcaster.errors import InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.models import (
    AdminUnit,
    Airing,
    AiringChainHead,
    AiringStatus,
    Role,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.services.audit import Actor, record
from broadcaster.services.chain import GENESIS, canonical, link
from broadcaster.vntext import nfc

MAX_BATCH = 500
FUTURE_TOLERANCE = timedelta(minutes=10)  # a station clock a little fast is not an error
MAX_AGE = timedelta(days=60)  # an agent offline for weeks still gets its reports in
MAX_LENGTH = timedelta(hours=6)
SLOT_SLACK = timedelta(days=7)  # how far from its planned time a slot may be reported aired
SOURCES = ("agent", "manual")
RELAY_USED = ("main", "backup", "file")  # which source of a relay played (longest)
RELAY_OVER = timedelta(seconds=60)  # relayed seconds may pass the slot's length by this


@dataclass(frozen=True)
class AiringReport:
    """One report as a station sends it (already parsed; times UTC-aware)."""

    id: str
    slot_id: int
    started_at: datetime
    ended_at: datetime
    status: AiringStatus
    audio_sha256: str | None = None
    source: str = "agent"
    note: str | None = None
    # a relay's report (tiếp âm): the seconds actually relayed and the source that played
    # longest; only on a relay slot
    relayed_s: int | None = None
    relay_used: str | None = None


@dataclass(frozen=True)
class ItemProblem:
    """What is wrong with one report of a batch: its place, its id and the error itself
    (a message id with parameters and the report's field it is about)."""

    index: int
    id: str
    error: InvalidInput

    @property
    def field(self) -> str | None:
        return self.error.field

    @property
    def message(self) -> str:
        return self.error.message


@dataclass(frozen=True)
class ItemResult:
    id: str
    result: str  # stored | duplicate
    seq: int
    status: str


# The batch's message: which report (by its place) and what is wrong with it
_ONE_PROBLEM = Words("Báo cáo thứ {n}: {problem}")
_MORE_PROBLEMS = Words("Báo cáo thứ {n}: {problem} (và {more} lỗi khác)")


class InvalidReports(InvalidInput):
    """Some reports of a batch are wrong; nothing of the batch was stored.

    The message names the first report by its place in the batch and says what is
    wrong in words (never the protocol's field name); ``problems`` has every one.
    """

    def __init__(self, problems: list[ItemProblem]) -> None:
        first = problems[0]
        more = len(problems) - 1
        super().__init__(
            _MORE_PROBLEMS if more else _ONE_PROBLEM,
            field=first.field,
            n=first.index + 1,
            problem=first.message,
            **({"more": more} if more else {}),
        )
        self.problems = problems

    def render(self, translate: Callable[[str], str] = str) -> str:
        # the first problem is itself a message id with parameters: rendered in the same
        # language before it fills its place in the batch's message
        problem = self.problems[0].error.render(translate)
        return InvalidInput(self.template, **{**self.params, "problem": problem}).render(translate)


@dataclass(frozen=True)
class AiringInfo:
    id: int
    station_code: str
    seq: int
    report_id: str
    slot_id: int
    campaign_id: int | None
    emergency_id: int | None
    started_at: datetime
    ended_at: datetime
    status: str
    source: str
    confirmed_by: str | None
    note: str | None
    received_at: datetime
    row_hash: str
    relay_source_id: int | None = None
    relayed_s: int | None = None
    relay_used: str | None = None


def _same(stored: Airing, report: AiringReport) -> bool:
    return (
        stored.slot_id == report.slot_id
        and stored.started_at == report.started_at
        and stored.ended_at == report.ended_at
        and stored.status == report.status
        and stored.audio_sha256 == report.audio_sha256
        and stored.source == report.source
        and (stored.note or None) == (nfc(report.note) if report.note else None)
        and stored.relayed_s == report.relayed_s
        and stored.relay_used == report.relay_used
    )


def _check_relay(report: AiringReport, slot: Row) -> InvalidInput | None:
    """``relayed_s`` and ``relay_used`` belong to a relay slot, and fit its length."""
    has_relay = report.relayed_s is not None or report.relay_used is not None
    if slot.relay_source_id is None:
        if not has_relay:
            return None
        return InvalidInput(
            "lượt phát {slot} không phải lượt tiếp âm: không nhận số giây tiếp âm "
            "hay nguồn tiếp âm",
            field="relayed_s" if report.relayed_s is not None else "relay_used",
            slot=report.slot_id,
        )
    if report.relay_used is not None and report.relay_used not in RELAY_USED:
        return InvalidInput("nguồn tiếp âm phải là main, backup hoặc file", field="relay_used")
    if report.relayed_s is not None:
        most = int((timedelta(milliseconds=slot.duration_ms or 0) + RELAY_OVER).total_seconds())
        if report.relayed_s < 0 or report.relayed_s > most:
            return InvalidInput(
                "số giây tiếp âm phải từ 0 đến {most} (độ dài lượt phát cộng 60 giây)",
                field="relayed_s",
                most=most,
            )
    return None


def _check_times(report: AiringReport, now: datetime) -> InvalidInput | None:
    if report.ended_at < report.started_at:
        return InvalidInput("giờ kết thúc trước giờ bắt đầu", field="ended_at")
    if report.ended_at - report.started_at > MAX_LENGTH:
        return InvalidInput("một lượt phát không thể dài quá 6 giờ", field="ended_at")
    if report.started_at > now + FUTURE_TOLERANCE:
        return InvalidInput(
            "giờ bắt đầu ở tương lai (đồng hồ máy đài có sai không?)", field="started_at"
        )
    if report.started_at < now - MAX_AGE:
        return InvalidInput(
            "giờ bắt đầu quá cũ: chỉ nhận báo cáo trong 60 ngày gần đây", field="started_at"
        )
    return None


# Built once: every batch runs them, and building a statement costs as much as running it.
_STATION_CODE = select(Station.code).where(Station.id == bindparam("station_id"))


@functools.cache
def _batch_statements(dialect: str):
    """The per-batch lookups by a list of ids, for one backend.

    On PostgreSQL a list is one array parameter (``= ANY(:ids)``): an ``IN`` of a
    hundred placeholders makes a new statement text per batch size, which psycopg
    parses afresh each time (a third of a batch's time, measured). SQLite has no
    arrays and parses ``IN`` quickly.
    """
    if dialect == "postgresql":

        def member(column, name, item_type):
            return column == any_(bindparam(name, type_=ARRAY(item_type)))
    else:

        def member(column, name, _item_type):
            return column.in_(bindparam(name, expanding=True))

    stored = select(Airing).where(member(Airing.report_id, "ids", String))
    slots = select(  # only the columns a report needs
        Slot.id,
        Slot.station_id,
        Slot.planned_start,
        Slot.campaign_id,
        Slot.emergency_id,
        Slot.script_version_id,
        Slot.relay_source_id,
        Slot.duration_ms,
    ).where(member(Slot.id, "ids", Integer))
    aired = (
        update(Slot)
        .where(
            member(Slot.id, "ids", Integer),
            Slot.status.in_((SlotStatus.PLANNED, SlotStatus.MISSED)),
        )
        .values(status=SlotStatus.AIRED, note=None, updated_at=bindparam("now"))
        .execution_options(synchronize_session=False)
    )
    return stored, slots, aired


def ingest(
    session: Session,
    station_id: int,
    reports: Sequence[AiringReport],
    *,
    confirmed_by: tuple[int | None, str] | None = None,
    now: datetime | None = None,
    station_code: str | None = None,
) -> list[ItemResult]:
    """Append a batch of reports to a station's chain; answer one result per report.

    Raises :class:`InvalidReports` (nothing stored) when any report is wrong.
    A race with another writer of the same station surfaces as ``IntegrityError``;
    the caller rolls back and calls again (the retry finds the other's rows).
    """
    now = now or utcnow()
    if len(reports) > MAX_BATCH:
        raise InvalidInput(
            "Một lần gửi tối đa {max} báo cáo (nhận {n}).",
            field="reports",
            max=MAX_BATCH,
            n=len(reports),
        )
    station_code = station_code or session.scalar(_STATION_CODE, {"station_id": station_id})
    by_stored_ids, by_slot_ids, set_aired = _batch_statements(session.get_bind().dialect.name)
    if station_code is None:
        raise NotFound("Không có đài số {id}.", field="station", id=station_id)
    problems: list[ItemProblem] = []
    seen: set[str] = set()
    for i, r in enumerate(reports):
        if r.id in seen:
            problems.append(
                ItemProblem(
                    i,
                    r.id,
                    InvalidInput("mã báo cáo trùng với một báo cáo khác cùng lần gửi", field="id"),
                )
            )
        seen.add(r.id)
    ids = [r.id for r in reports]
    stored = {a.report_id: a for a in session.scalars(by_stored_ids, {"ids": ids})}
    slot_ids = list({r.slot_id for r in reports})
    slots = {s.id: s for s in session.execute(by_slot_ids, {"ids": slot_ids})}
    fresh: list[tuple[int, AiringReport, Row]] = []
    for i, r in enumerate(reports):
        old = stored.get(r.id)
        if old is not None:
            if old.station_id != station_id or not _same(old, r):
                problems.append(
                    ItemProblem(
                        i,
                        r.id,
                        InvalidInput(
                            "mã báo cáo này đã dùng cho một báo cáo khác nội dung", field="id"
                        ),
                    )
                )
            continue
        slot = slots.get(r.slot_id)
        if slot is None:
            missing = InvalidInput("không có lượt phát {slot}", field="slot_id", slot=r.slot_id)
            problems.append(ItemProblem(i, r.id, missing))
            continue
        if slot.station_id != station_id:
            problems.append(
                ItemProblem(
                    i,
                    r.id,
                    InvalidInput(
                        "lượt phát {slot} không thuộc đài {station}",
                        field="slot_id",
                        slot=r.slot_id,
                        station=station_code,
                    ),
                )
            )
            continue
        bad = _check_times(r, now)
        far = slot.planned_start is not None and abs(r.started_at - slot.planned_start) > SLOT_SLACK
        if bad is None and far:
            bad = InvalidInput(
                "giờ bắt đầu cách giờ dự kiến của lượt phát quá 7 ngày", field="started_at"
            )
        bad = bad or _check_relay(r, slot)
        if bad is not None:
            problems.append(ItemProblem(i, r.id, bad))
            continue
        fresh.append((i, r, slot))
    if problems:
        raise InvalidReports(problems)

    results: dict[str, ItemResult] = {
        r.id: ItemResult(r.id, "duplicate", stored[r.id].seq, str(stored[r.id].status))
        for r in reports
        if r.id in stored
    }
    if fresh:
        head = _lock_head(session, station_id)
        prev, seq = head.head_hash, head.seq
        rows = []
        for _i, r, slot in fresh:
            seq += 1
            row = SimpleNamespace(
                station_id=station_id,
                seq=seq,
                report_id=r.id,
                slot_id=slot.id,
                campaign_id=slot.campaign_id,
                emergency_id=slot.emergency_id,
                script_version_id=slot.script_version_id,
                started_at=r.started_at.astimezone(UTC),
                ended_at=r.ended_at.astimezone(UTC),
                status=r.status,
                audio_sha256=r.audio_sha256,
                source=r.source,
                note=nfc(r.note) if r.note else None,
                confirmed_by_id=confirmed_by[0] if confirmed_by else None,
                confirmed_by=confirmed_by[1] if confirmed_by else None,
                relay_source_id=slot.relay_source_id,
                relayed_s=r.relayed_s,
                relay_used=r.relay_used,
                received_at=now,
                prev_hash=prev,
            )
            row.row_hash = prev = link(prev, canonical(station_code, row))
            rows.append(vars(row))
            results[r.id] = ItemResult(r.id, "stored", seq, str(r.status))
        # Core insert of the table: one multi-row INSERT per batch (the ORM bulk path
        # splits rows by which fields are empty into dozens of small statements)
        session.connection().execute(insert(Airing.__table__), rows)
        session.execute(
            update(AiringChainHead)
            .where(AiringChainHead.station_id == station_id, AiringChainHead.seq == head.seq)
            .values(seq=seq, head_hash=prev, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        aired = [slot.id for _i, r, slot in fresh if r.status is AiringStatus.AIRED]
        if aired:
            session.connection().execute(set_aired, {"ids": aired, "now": now})
    return [results[r.id] for r in reports]


def _lock_head(session: Session, station_id: int) -> AiringChainHead:
    """The station's chain head, locked for this transaction (created at the first airing)."""
    stmt = select(AiringChainHead).where(AiringChainHead.station_id == station_id)
    head = session.scalar(stmt.with_for_update())
    if head is None:
        try:
            with session.begin_nested():
                session.add(AiringChainHead(station_id=station_id, seq=0, head_hash=GENESIS))
        except IntegrityError:  # another writer created it first: take theirs, locked
            pass
        head = session.scalar(stmt.with_for_update().execution_options(populate_existing=True))
    return head


def _station_for(session: Session, actor: Actor, code: str) -> tuple[Station, str]:
    row = session.execute(
        select(Station, AdminUnit.path)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .where(Station.code == code)
    ).first()
    if row is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=code)
    return row[0], row[1]


def confirm(
    session: Session,
    actor: Actor,
    station_code: str,
    slot_id: int,
    *,
    status: AiringStatus = AiringStatus.AIRED,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    note: str | None = None,
    report_id: str | None = None,
    tz: ZoneInfo | None = None,
    relayed_s: int | None = None,
    relay_used: str | None = None,
) -> ItemResult:
    """An operator confirms by hand what aired (source ``manual``, with who confirmed).

    A relay slot confirmed ``aired`` without ``relayed_s`` counts the minutes from its
    start to its end as relayed (``failed``: none); ``relay_used`` stays unknown unless given.

    ``report_id`` (a UUID the confirming form carries) makes a form sent twice one
    row: the second sending finds the first and is answered ``duplicate``. A slot not
    yet due, or a start time still to come, is refused in words an operator reads
    (times in ``tz``, the instance's zone by default), not as a station's report would be.
    """
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    now = utcnow()
    station, path = _station_for(session, actor, station_code)
    allowed = actor.role in (Role.OPERATOR, Role.ADMIN) and actor.covers(path)
    if not actor.is_system and not allowed:
        raise PermissionDenied(
            "{who} không được xác nhận lượt phát của đài {station}.",
            field="station",
            who=actor.label,
            station=station_code,
        )
    slot = session.get(Slot, slot_id)
    if slot is None or slot.station_id != station.id:
        raise NotFound(
            "Đài {station} không có lượt phát {slot}.",
            field="slot_id",
            station=station_code,
            slot=slot_id,
        )
    if slot.planned_start is not None and slot.planned_start > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            "Lượt phát này chưa đến giờ (dự kiến {at:%H:%M} ngày {at:%d/%m/%Y}): "
            "chỉ xác nhận được khi đã đến giờ phát.",
            field="slot_id",
            at=slot.planned_start.astimezone(tz),
        )
    if started_at is not None and started_at > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            "Giờ bắt đầu {at:%H:%M} ngày {at:%d/%m/%Y} còn chưa tới: "
            "chỉ xác nhận được điều đã phát.",
            field="started_at",
            at=started_at.astimezone(tz),
        )
    start = started_at or slot.planned_start
    if start is None:
        raise InvalidInput(
            "Lượt phát {slot} chưa xếp được giờ: cần cho biết giờ bắt đầu.",
            field="started_at",
            slot=slot_id,
        )
    end = ended_at or start + timedelta(milliseconds=slot.duration_ms)
    if slot.relay_source_id is not None and relayed_s is None:
        if status == AiringStatus.AIRED:
            longest = timedelta(milliseconds=slot.duration_ms) + RELAY_OVER
            relayed_s = int(max(timedelta(0), min(end - start, longest)).total_seconds())
        elif status == AiringStatus.FAILED:
            relayed_s = 0
    report = AiringReport(
        id=report_id or str(uuid.uuid4()),
        slot_id=slot_id,
        started_at=start,
        ended_at=end,
        status=status,
        source="manual",
        note=note,
        relayed_s=relayed_s,
        relay_used=relay_used,
    )
    try:
        (result,) = ingest(
            session, station.id, [report], confirmed_by=(actor.user_id, actor.label), now=now
        )
    except InvalidReports as exc:  # one report: its problem alone, not "report no. 1: …"
        raise exc.problems[0].error from None
    if result.result == "duplicate":
        return result
    record(
        session,
        actor,
        "airing.confirm",
        "airing",
        report.id,
        after={
            "station": station_code,
            "slot": slot_id,
            "status": str(status),
            "seq": result.seq,
            **({"relayed_s": relayed_s} if relayed_s is not None else {}),
        },
        note=note,
    )
    return result


def list_airings(
    session: Session,
    *,
    station_code: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    tz: ZoneInfo | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AiringInfo]:
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    stmt = select(Airing, Station.code).join(Station, Station.id == Airing.station_id)
    if station_code is not None:
        stmt = stmt.where(Station.code == station_code)
    if day_from is not None:
        stmt = stmt.where(Airing.started_at >= datetime.combine(day_from, time(0), tzinfo=tz))
    if day_to is not None:
        end = datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=tz)
        stmt = stmt.where(Airing.started_at < end)
    stmt = stmt.order_by(Airing.started_at.desc(), Airing.id.desc()).limit(limit).offset(offset)
    return [
        AiringInfo(
            id=a.id,
            station_code=code,
            seq=a.seq,
            report_id=a.report_id,
            slot_id=a.slot_id,
            campaign_id=a.campaign_id,
            emergency_id=a.emergency_id,
            started_at=a.started_at,
            ended_at=a.ended_at,
            status=str(a.status),
            source=a.source,
            confirmed_by=a.confirmed_by,
            note=a.note,
            received_at=a.received_at,
            row_hash=a.row_hash,
            relay_source_id=a.relay_source_id,
            relayed_s=a.relayed_s,
            relay_used=a.relay_used,
        )
        for a, code in session.execute(stmt)
    ]
