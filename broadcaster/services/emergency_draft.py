"""An emergency before it is sent: its text and units checked, what the voice will read,
and a hearing of it (Listen) — without sending anything.

:func:`broadcaster.services.emergency.send` checks the text and the units with the same
functions, and a hearing renders the same request as the send (the common reading, or
one station's when the text names the commune), so the audio heard is, byte for byte,
the audio the send finds already made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.errors import BroadcasterError, InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.library import MAX_TITLE, used_placeholders
from broadcaster.models import AdminUnit, Station
from broadcaster.services.audit import Actor
from broadcaster.vntext import nfc, refuse_bidi

if TYPE_CHECKING:  # rendering pulls in numpy and scipy: only when a reading is heard
    from broadcaster.audio.render import AudioRenderer, RenderRequest

MAX_BODY = 5000


@contextmanager
def _about(field: str) -> Iterator[None]:
    """Say which input a shared check's error is about, when the check does not."""
    try:
        yield
    except BroadcasterError as exc:
        if exc.field is None:
            exc.field = field
        raise


def checked_text(title: str, body: str) -> tuple[str, str, tuple[str, ...]]:
    """The title and body as they will be stored (NFC, trimmed) and the placeholders the
    body uses; :class:`InvalidInput` about ``title`` or ``body`` when one is unusable."""
    title, body = nfc(title).strip(), nfc(body).strip()
    if not title:
        raise InvalidInput("Tin khẩn cấp cần có tiêu đề.", field="title")
    if not body:
        raise InvalidInput("Tin khẩn cấp cần có nội dung.", field="body")
    with _about("title"):
        refuse_bidi(title, Words("Tiêu đề tin khẩn cấp"))
    with _about("body"):
        refuse_bidi(body, Words("Nội dung tin khẩn cấp"))
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            "Tiêu đề tin khẩn cấp dài quá {limit} ký tự.", field="title", limit=MAX_TITLE
        )
    if len(body) > MAX_BODY:
        raise InvalidInput(
            "Nội dung tin khẩn cấp dài quá {limit} ký tự.", field="body", limit=MAX_BODY
        )
    with _about("body"):
        placeholders = used_placeholders(body)  # typed in a form: "Dòng 2: …"
    return title, body, placeholders


def target_units(session: Session, actor: Actor, codes: list[str]) -> list[AdminUnit]:
    """The units an emergency goes to, each known and inside ``actor``'s scope."""
    if not codes:
        raise InvalidInput("Cần ít nhất một đơn vị nhận tin khẩn cấp.", field="units")
    units = []
    for code in dict.fromkeys(c.strip() for c in codes):
        unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
        if unit is None:
            raise NotFound("Không có đơn vị hành chính mã '{code}'.", field="units", code=code)
        if not actor.covers(unit.path):
            raise PermissionDenied(
                "Đơn vị {unit} nằm ngoài phạm vi của bạn.", field="units", unit=unit.name
            )
        units.append(unit)
    return units


def stations_under(session: Session, units: list[AdminUnit], limit: int | None = None):
    """The active stations under ``units``, by code (with their units, for the names)."""
    stmt = (
        select(Station)
        .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .where(Station.active.is_(True), or_(*(AdminUnit.path.startswith(u.path) for u in units)))
        .order_by(Station.code)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


@dataclass(frozen=True)
class Reading:
    """What the voice will read, and whose names it says."""

    title: str
    body: str
    spoken: str  # the normaliser's output: what the voice actually reads
    request: RenderRequest
    station_code: str | None = None  # the text names the commune: read for this station
    station_name: str | None = None
    common: bool = False  # the text names the commune and no unit is chosen yet


@dataclass(frozen=True)
class Hearing:
    """A rendered reading (the attributes of a script's preview, for the voice note)."""

    sha256: str
    duration_ms: int
    cached: bool
    engine: str  # the engine that spoke it: gtts, espeak
    warnings: tuple[str, ...]
    station_code: str | None
    station_name: str | None
    voice: str = ""  # the engine's voice that spoke it


def reading(
    session: Session,
    actor: Actor,
    renderer: AudioRenderer,
    *,
    title: str,
    body: str,
    unit_codes: list[str] | None = None,
) -> Reading:
    """What an emergency with this text would read. When it names the commune
    (``{ten_xa}``…) it is read for the first station under ``unit_codes`` — each station
    hears its own names — or, with no unit chosen, as the common reading every station
    gets at once. Nothing is stored."""
    from broadcaster.audio.render import RenderRequest
    from broadcaster.services.audio import NEUTRAL_CONTEXT, fill, station_context

    title, body, placeholders = checked_text(title, body)
    station = None
    if placeholders and unit_codes:
        found = stations_under(session, target_units(session, actor, unit_codes), limit=1)
        station = found[0] if found else None
    if station is not None:
        request = RenderRequest(
            text=f"{title}.\n\n{fill(body, station_context(station))}",
            title=title,
            station_name=station.name,
            station_code=station.code,
        )
    else:  # as emergency.send renders it for everybody
        text = fill(body, NEUTRAL_CONTEXT) if placeholders else body
        request = RenderRequest(text=f"{title}.\n\n{text}", title=title)
    return Reading(
        title=title,
        body=body,
        spoken=renderer.normalise(nfc(request.text)),
        request=request,
        station_code=station.code if station else None,
        station_name=station.name if station else None,
        common=bool(placeholders) and station is None,
    )


def hear(session: Session, renderer: AudioRenderer, said: Reading) -> Hearing:
    """Render (or find) the audio of a reading; the asset is recorded, nothing is sent.

    Audio already made by any engine is served first (``cached_first``): the official
    waits at the page, and the send finds the same file."""
    from broadcaster.services.audio import record_rendered

    result = renderer.render(said.request, cached_first=True)
    asset = record_rendered(session, renderer, result)
    return Hearing(
        sha256=asset.sha256,
        duration_ms=asset.duration_ms,
        cached=result.cached,
        engine=result.record.engine,
        warnings=tuple(result.warnings),
        station_code=said.station_code,
        station_name=said.station_name,
        voice=result.record.voice,
    )
