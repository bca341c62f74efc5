"""Emergency items (tin khẩn cấp): storm, flood, fire, epidemic — played at once.

Vietnam's rules for IP radio give bulletins three levels: thông thường (in the
station's schedule), ưu tiên (played first) and khẩn cấp (played immediately).
The first two are campaign priorities; an emergency bypasses the plan: sending
one renders its audio and gives every station under the chosen units one slot,
due now, that stays at the top of the station's playlist until it airs or expires.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import utcnow
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooMany
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    Airing,
    Emergency,
    EmergencyTarget,
    Role,
    Script,
    ScriptVersion,
    Slot,
    SlotStatus,
    Station,
    VersionStatus,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services.audit import Actor, record
from broadcaster.services.emergency_draft import MAX_BODY as MAX_BODY  # the send's limit
from broadcaster.services.emergency_draft import checked_text, stations_under, target_units

if TYPE_CHECKING:  # rendering pulls in numpy and scipy: only when an emergency is sent
    from broadcaster.audio.render import AudioRenderer

SENDERS = (Role.APPROVER, Role.ADMIN)
MAX_REPEAT = 5
DEFAULT_EXPIRY = timedelta(hours=2)
MAX_EXPIRY = timedelta(hours=24)
# The brake: the same text to overlapping units again within this window needs the
# sender's confirmation; no one sends more than SENDS_PER_MINUTE in a minute.
REPEAT_WINDOW = timedelta(minutes=10)
SENDS_PER_MINUTE = 3


class RepeatedSend(Conflict):
    """The same text went to some of these units a moment ago: send again only if meant."""

    def __init__(self, message: str, earlier_id: int, **params: object) -> None:
        super().__init__(message, **params)
        self.earlier_id = earlier_id


# PostgreSQL: a sent emergency's id is notified here once, at commit, and every server
# process listening wakes the stations waiting on it (webapp/slot_notices.py).
NOTIFY_CHANNEL = "broadcaster_emergencies"


@dataclass(frozen=True)
class EmergencyInfo:
    id: int
    title: str
    repeat: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    cancelled_at: datetime | None
    units: tuple[str, ...]
    stations: int
    # the text names each commune ({ten_xa}…): the common reading went out first, and
    # :func:`personalise` gives each station its own afterwards
    personal: bool = False


@dataclass(frozen=True)
class EmergencyDelivery:
    """How one station is doing with an emergency."""

    station_code: str
    slot_id: int
    picked_up_at: datetime | None
    aired_at: datetime | None  # the first airing reported aired
    status: str  # waiting | picked_up | aired | partial | failed | skipped | missed | cancelled


def _brake(
    session: Session,
    actor: Actor,
    title: str,
    body: str,
    units: list[AdminUnit],
    now: datetime,
    *,
    confirmed: bool,
) -> None:
    """Refuse a burst of sends (:class:`TooMany`) and ask before the same text goes again
    to overlapping units (:class:`RepeatedSend`, unless ``confirmed``). A person's brake:
    the system actor (scripts, tests, the bench) has no one to ask."""
    if actor.is_system:
        return
    recent = session.scalars(
        select(Emergency.created_at)
        .where(
            Emergency.created_by_id == actor.user_id,
            Emergency.created_at > now - timedelta(minutes=1),
        )
        .order_by(Emergency.created_at)
    ).all()
    if len(recent) >= SENDS_PER_MINUTE:
        wait = max(1, int((recent[0] + timedelta(minutes=1) - now).total_seconds()) + 1)
        raise TooMany(
            "Bạn đã gửi {count} tin khẩn cấp trong một phút qua (tối đa {limit}); hãy chờ "
            "{wait} giây rồi gửi tiếp.",
            wait,
            count=len(recent),
            limit=SENDS_PER_MINUTE,
            wait=wait,
        )
    if confirmed:
        return
    earlier = session.execute(
        select(Emergency.id, Emergency.created_at, ScriptVersion.body, AdminUnit.path)
        .join(ScriptVersion, ScriptVersion.id == Emergency.script_version_id)
        .join(EmergencyTarget, EmergencyTarget.emergency_id == Emergency.id)
        .join(AdminUnit, AdminUnit.id == EmergencyTarget.unit_id)
        .where(
            Emergency.created_at > now - REPEAT_WINDOW,
            Emergency.cancelled_at.is_(None),
            Emergency.title == title,
        )
        .order_by(Emergency.id.desc())
    ).all()
    for emergency_id, at, earlier_body, path in earlier:
        if earlier_body != body:
            continue
        if any(path.startswith(u.path) or u.path.startswith(path) for u in units):
            minutes = max(1, round((now - at).total_seconds() / 60))
            raise RepeatedSend(
                "Tin khẩn cấp số {earlier} cùng tiêu đề và nội dung đã được gửi tới các đơn vị "
                "này {minutes} phút trước. Nếu cần phát lại, hãy xác nhận gửi lại.",
                emergency_id,
                field="again",
                earlier=emergency_id,
                minutes=minutes,
            )


def send(
    session: Session,
    actor: Actor,
    renderer: AudioRenderer,
    *,
    title: str,
    body: str,
    unit_codes: list[str],
    repeat: int = 1,
    expires_in: timedelta = DEFAULT_EXPIRY,
    now: datetime | None = None,
    again: bool = False,
) -> EmergencyInfo:
    """Send an emergency item now to every active station under ``unit_codes``.

    The sender (an approver or admin) vouches for the text: an emergency cannot
    wait for a second reader, so it is stored as a script version approved by the
    sender, and the audit trail says so.
    """
    from broadcaster.services.audio import common_request, record_rendered, script_request

    if not actor.is_system and actor.role not in SENDERS:
        raise PermissionDenied("Chỉ người duyệt tin hoặc quản trị được phát tin khẩn cấp.")
    title, body, placeholders = checked_text(title, body)
    if not 1 <= repeat <= MAX_REPEAT:
        raise InvalidInput(
            "Số lần phát lặp phải từ 1 đến {limit}.", field="repeat", limit=MAX_REPEAT
        )
    if not timedelta(minutes=5) <= expires_in <= MAX_EXPIRY:
        raise InvalidInput("Thời hạn tin khẩn cấp phải từ 5 phút đến 24 giờ.", field="expires")
    units = target_units(session, actor, unit_codes)
    now = now or utcnow()
    _brake(session, actor, title, body, units, now, confirmed=again)
    stations = stations_under(session, units)
    if not stations:
        raise InvalidInput("Các đơn vị đã chọn không có đài nào đang hoạt động.", field="units")

    stamp = now.strftime("%Y%m%d-%H%M")
    text = ScriptText(
        slug=f"khan-cap-{stamp}-{secrets.token_hex(3)}",
        title=title,
        body=body,
        tags=("khan-cap",),
        placeholders=placeholders,
        source="khẩn cấp",
    )
    script = Script(slug=text.slug, unit=units[0] if len(units) == 1 else None)
    version = ScriptVersion(
        script=script,
        number=1,
        title=title,
        body=body,
        tags=list(text.tags),
        placeholders=list(placeholders),
        content_sha256=text.content_sha256,
        source=text.source,
        status=VersionStatus.APPROVED,
        author_id=actor.user_id,
        submitted_by_id=actor.user_id,
        submitted_at=now,
        reviewed_by_id=actor.user_id,
        reviewed_at=now,
        review_reason="tin khẩn cấp: người gửi chịu trách nhiệm nội dung",
    )
    session.add_all([script, version])
    session.flush()
    script.approved_version = version
    emergency = Emergency(
        title=title,
        script_version_id=version.id,
        repeat=repeat,
        created_by_id=actor.user_id,
        created_by=actor.label,
        created_at=now,
        expires_at=now + expires_in,
        targets=[EmergencyTarget(unit_id=u.id) for u in units],
    )
    session.add(emergency)
    session.flush()

    # One reading for every station, so that every station can fetch it at once: with
    # placeholders it reads them neutrally, and each station's own follows (personalise).
    if placeholders:
        common = common_request(version)
    else:
        common, _ = script_request(version, None)  # no station's chosen voice: everybody's
    asset = record_rendered(session, renderer, renderer.render(common))
    for station in stations:
        session.add(
            Slot(
                station_id=station.id,
                emergency_id=emergency.id,
                occurrence=f"E{emergency.id}",
                script_version_id=version.id,
                audio_asset_id=asset.id,
                week=week_label(now.date()),
                planned_start=now,
                window_end=emergency.expires_at,
                position=-1,
                duration_ms=asset.duration_ms * repeat,
                status=SlotStatus.PLANNED,
            )
        )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sql("SELECT pg_notify(:channel, :id)"),
            {"channel": NOTIFY_CHANNEL, "id": str(emergency.id)},
        )
    record(
        session,
        actor,
        "emergency.send",
        "emergency",
        emergency.id,
        after={
            "title": title,
            "units": [u.code for u in units],
            "stations": len(stations),
            "repeat": repeat,
            "expires_at": emergency.expires_at.isoformat(),
            "script": script.slug,
        },
    )
    info = _info(emergency, units, len(stations))
    return replace(info, personal=bool(placeholders))


@dataclass(frozen=True)
class Personalised:
    done: int  # stations given their own reading
    skipped: int  # aired, cancelled or gone meanwhile: left with the common reading
    failed: list[str]  # "station: why"


def personalise(
    factory,
    renderer: AudioRenderer,
    emergency_id: int,
    *,
    workers: int | None = None,
    progress=None,
) -> Personalised:
    """Give each station of an emergency whose text names the commune its own reading.

    Runs after :func:`send` committed (the stations already have the common reading),
    in ``workers`` threads; each station's slot takes its own audio in its own short
    transaction as soon as it is rendered, unless the slot has aired or was cancelled
    meanwhile. Stations pick it up at their next playlist pull.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import update

    from broadcaster.db import transaction
    from broadcaster.services.audio import load_station, record_rendered, script_request

    with factory() as session:
        e = _load(session, emergency_id)
        version_id, repeat = e.script_version_id, e.repeat
        slots = session.execute(
            select(Slot.id, Station.code)
            .join(Station, Station.id == Slot.station_id)
            .where(Slot.emergency_id == emergency_id, Slot.status == SlotStatus.PLANNED)
            .order_by(Station.code)
        ).all()
    failed: list[str] = []
    counts = {"done": 0, "skipped": 0}
    counting = threading.Lock()

    def one(slot_id: int, code: str) -> None:
        try:
            with factory() as session:
                version = session.get(ScriptVersion, version_id)
                request, _ = script_request(version, load_station(session, code))
            result = renderer.render(request)
            with transaction(factory) as session:
                asset = record_rendered(session, renderer, result)
                changed = session.execute(
                    update(Slot)
                    .where(Slot.id == slot_id, Slot.status == SlotStatus.PLANNED)
                    .values(audio_asset_id=asset.id, duration_ms=asset.duration_ms * repeat)
                ).rowcount
            with counting:
                counts["done" if changed else "skipped"] += 1
        except Exception as exc:  # one commune's reading must not stop the others
            with counting:
                failed.append(f"{code}: {exc}")
        if progress is not None:
            progress(1)

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        list(pool.map(lambda row: one(*row), slots))
    return Personalised(counts["done"], counts["skipped"], failed)


def _info(e: Emergency, units: list[AdminUnit], stations: int) -> EmergencyInfo:
    return EmergencyInfo(
        id=e.id,
        title=e.title,
        repeat=e.repeat,
        created_by=e.created_by,
        created_at=e.created_at,
        expires_at=e.expires_at,
        cancelled_at=e.cancelled_at,
        units=tuple(u.code for u in units),
        stations=stations,
    )


def _load(session: Session, emergency_id: int) -> Emergency:
    e = session.scalar(
        select(Emergency)
        .options(selectinload(Emergency.targets).selectinload(EmergencyTarget.unit))
        .where(Emergency.id == emergency_id)
    )
    if e is None:
        raise NotFound("Không có tin khẩn cấp số {id}.", id=emergency_id)
    return e


def cancel(session: Session, actor: Actor, emergency_id: int) -> EmergencyInfo:
    """Withdraw an emergency: stations that have not aired it drop it from their playlist."""
    if not actor.is_system and actor.role not in SENDERS:
        raise PermissionDenied("Chỉ người duyệt tin hoặc quản trị được hủy tin khẩn cấp.")
    e = _load(session, emergency_id)
    for target in e.targets:  # withdrawing it reaches every target's stations
        if not actor.covers(target.unit.path):
            raise PermissionDenied(
                "Tin khẩn cấp số {id} gửi tới {unit}, ngoài phạm vi của bạn; không được hủy.",
                id=e.id,
                unit=target.unit.name,
            )
    if e.cancelled_at is None:
        e.cancelled_at = utcnow()
        for slot in session.scalars(
            select(Slot).where(Slot.emergency_id == e.id, Slot.status == SlotStatus.PLANNED)
        ):
            slot.status = SlotStatus.CANCELLED
            slot.note = "tin khẩn cấp đã bị hủy"
        record(session, actor, "emergency.cancel", "emergency", e.id)
    return _info(e, [t.unit for t in e.targets], _station_counts(session, [e.id]).get(e.id, 0))


def _station_counts(session: Session, emergency_ids: list[int]) -> dict[int, int]:
    """How many stations each emergency went to (one slot per station), in one query."""
    rows = session.execute(
        select(Slot.emergency_id, func.count())
        .where(Slot.emergency_id.in_(emergency_ids))
        .group_by(Slot.emergency_id)
    )
    return {emergency_id: count for emergency_id, count in rows}


def list_emergencies(session: Session, limit: int = 50) -> list[EmergencyInfo]:
    rows = session.scalars(
        select(Emergency)
        .options(selectinload(Emergency.targets).selectinload(EmergencyTarget.unit))
        .order_by(Emergency.id.desc())
        .limit(limit)
    ).all()
    counts = _station_counts(session, [e.id for e in rows])
    return [_info(e, [t.unit for t in e.targets], counts.get(e.id, 0)) for e in rows]


def deliveries(
    session: Session, emergency_id: int
) -> tuple[EmergencyInfo, list[EmergencyDelivery]]:
    """Station by station: picked up? aired? (for watching an emergency go out)."""
    e = _load(session, emergency_id)
    slots = session.execute(
        select(Slot, Station.code)
        .join(Station, Station.id == Slot.station_id)
        .where(Slot.emergency_id == e.id)
        .order_by(Station.code)
    ).all()
    airings: dict[int, list[Airing]] = {}
    for a in session.scalars(
        select(Airing).where(Airing.emergency_id == e.id).order_by(Airing.started_at)
    ):
        airings.setdefault(a.slot_id, []).append(a)
    out = []
    for slot, code in slots:
        reported = airings.get(slot.id, [])
        aired = next((a for a in reported if str(a.status) == "aired"), None)
        if aired is not None:
            status = "aired"
        elif reported:
            status = str(reported[-1].status)
        elif slot.status is SlotStatus.MISSED:
            status = "missed"
        elif slot.status is SlotStatus.CANCELLED:
            status = "cancelled"
        elif slot.picked_up_at is not None:
            status = "picked_up"
        else:
            status = "waiting"
        out.append(
            EmergencyDelivery(
                station_code=code,
                slot_id=slot.id,
                picked_up_at=slot.picked_up_at,
                aired_at=aired.started_at if aired else None,
                status=status,
            )
        )
    return _info(e, [t.unit for t in e.targets], len(slots)), out


def latest_id(session: Session) -> int:
    """The newest emergency's id (0 when none): what waiting stations watch."""
    return session.scalar(select(Emergency.id).order_by(Emergency.id.desc()).limit(1)) or 0
