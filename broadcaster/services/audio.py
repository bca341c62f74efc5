"""Audio for scripts and stations: personalise, render, and record assets in the database.

The renderer (:mod:`broadcaster.audio.render`) knows nothing of the database;
this module picks the text (an approved script version, filled in for a
station), asks the renderer for the file and keeps an ``AudioAsset`` row per
distinct rendering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from broadcaster import clock
from broadcaster.audio.locks import RenderLock
from broadcaster.audio.render import AudioRenderer, RenderRequest, RenderResult
from broadcaster.audio.stores import AssetRecord
from broadcaster.config import Settings
from broadcaster.errors import BroadcasterError, Conflict, InvalidInput, NotFound
from broadcaster.files import file_digest
from broadcaster.models import AdminUnit, AudioAsset, Script, ScriptVersion, Station
from broadcaster.services.playlist import RENDER_AHEAD
from broadcaster.services.scripts import load_script
from broadcaster.vntext import mid_sentence_name

log = logging.getLogger(__name__)
_PLACEHOLDER = re.compile(r"\{(ten_xa|ten_tinh|ten_dai)\}")


@dataclass(frozen=True)
class RenderOutcome:
    label: str  # script slug, with the station code when personalised
    result: RenderResult | None = None
    error: str | None = None


@dataclass
class BatchSummary:
    done: list[RenderOutcome] = field(default_factory=list)
    cached: list[RenderOutcome] = field(default_factory=list)
    failed: list[RenderOutcome] = field(default_factory=list)


def render_lock_for(settings: Settings) -> RenderLock:
    """The lock assets are made under: this host's lock folder, and on PostgreSQL the
    database's advisory lock (the one that holds between hosts sharing the audio)."""
    return RenderLock(
        settings.audio_lock_dir or settings.instance_dir / "locks", settings.database_url
    )


def renderer_for(
    settings: Settings, *, preview: bool = False, engines: dict | None = None
) -> AudioRenderer:
    """The installation's renderer: the configured store, made under :func:`render_lock_for`.

    Every renderer of the server, the scheduler and the CLI is made here, so the store
    and the lock are chosen in one place. ``preview``: the one for a person waiting
    (:meth:`AudioRenderer.for_previews`); ``engines``: engines already built, by name."""
    from broadcaster.audio.stores import open_store

    store = open_store(settings.audio_dir, render_lock_for(settings))
    if preview:
        return AudioRenderer.for_previews(store, settings.audio)
    return AudioRenderer(store, settings.audio, engines)


def station_context(station: Station) -> dict[str, str]:
    """What a station's placeholders read as, inside a sentence."""
    unit = station.unit
    province = unit
    while province.parent is not None:
        province = province.parent
    province_kind = "thành phố" if "thành phố" in province.kind else "tỉnh"
    province_name = mid_sentence_name(province.name, "thành phố")
    if not province_name.lower().startswith(province_kind):
        province_name = f"{province_kind} {province_name}"
    return {
        "ten_xa": mid_sentence_name(unit.name, unit.kind),
        "ten_tinh": province_name,
        "ten_dai": station.name,
    }


# How placeholders read where no station is meant: the common reading of an emergency,
# sent to every station at once before each commune's own is ready.
NEUTRAL_CONTEXT = {"ten_xa": "địa phương", "ten_tinh": "tỉnh", "ten_dai": "Đài truyền thanh"}


def fill(body: str, context: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: context[m.group(1)], body)


def record_asset(
    session: Session, record: AssetRecord, relative_path: str, file_sha256: str | None = None
) -> AudioAsset:
    """The database row for a rendered asset (created once, whoever asks first)."""
    row = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == record.sha256))
    if row is not None:
        if row.file_sha256 is None and file_sha256 is not None:
            row.file_sha256 = file_sha256
        return row
    row = AudioAsset(path=relative_path, file_sha256=file_sha256, **vars(record))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker recorded it between our look and our insert
        return session.scalar(select(AudioAsset).where(AudioAsset.sha256 == record.sha256))
    return row


def record_rendered(session: Session, renderer: AudioRenderer, result: RenderResult) -> AudioAsset:
    """Record a fresh render, with the sha256 of its file."""
    return record_asset(
        session, result.record, renderer.store.relative(result.path), file_digest(result.path)
    )


def recording_render(session: Session, renderer: AudioRenderer, version: ScriptVersion):
    """The mastered recording of a recorded version (asset row, render result)."""
    from broadcaster.services.recordings import recording_render as made

    return made(session, renderer, version)


def load_station(session: Session, code: str) -> Station:
    """The station of ``code`` with its unit and the unit's parent (for its placeholders)."""
    station = session.scalar(
        select(Station)
        .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
        .where(Station.code == code)
    )
    if station is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="station", code=code)
    return station


def _pick_version(script: Script, latest: bool) -> ScriptVersion:
    if latest:
        return script.latest
    if script.archived_at is not None:
        raise Conflict("Tin bài '{slug}' đã lưu trữ, không tạo âm thanh để phát.", slug=script.slug)
    if script.approved_version is None:
        # the field is the choice of the latest version, which can be listened to
        raise Conflict(
            "Tin bài '{slug}' chưa có phiên bản nào được duyệt; chỉ tin đã duyệt mới "
            "được phát (bản mới nhất thì nghe thử được).",
            field="latest",
            slug=script.slug,
        )
    return script.approved_version


def common_request(version: ScriptVersion) -> RenderRequest:
    """A version read for everybody: placeholders read neutrally ("bà con địa phương")."""
    return RenderRequest(
        text=f"{version.title}.\n\n{fill(version.body, NEUTRAL_CONTEXT)}",
        title=version.title,
        campaign=version.campaign,
    )


def voice_choice(station: Station | None, campaign_voice: str | None = None) -> str | None:
    """The voice a station's listeners hear: the station's choice, else the campaign's
    (the station is where the listeners are: a southern commune, a southern voice)."""
    return (station.voice if station is not None else None) or campaign_voice


def script_request(
    version: ScriptVersion, station: Station | None, campaign_voice: str | None = None
) -> tuple[RenderRequest, str]:
    """The render request for a script version, personalised for a station if needed,
    read in the station's or campaign's chosen voice (:func:`voice_choice`)."""
    if version.placeholders and station is None:
        raise InvalidInput(
            "Tin bài '{slug}' có chỗ điền ({placeholders}): cần chọn một đài.",
            field="station",
            slug=version.script.slug,
            placeholders=", ".join("{" + p + "}" for p in version.placeholders),
        )
    personal = bool(version.placeholders) and station is not None
    body = fill(version.body, station_context(station)) if personal else version.body
    label = f"{version.script.slug}@{station.code}" if personal else version.script.slug
    request = RenderRequest(
        text=f"{version.title}.\n\n{body}",
        title=version.title,
        campaign=version.campaign,
        station_name=station.name if personal else None,
        station_code=station.code if personal else None,
        voice=voice_choice(station, campaign_voice),
    )
    return request, label


def render_script(
    session: Session,
    renderer: AudioRenderer,
    slug: str,
    station_code: str | None = None,
    *,
    latest: bool = False,
    engine: str | None = None,
    voice: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RenderResult:
    script = load_script(session, slug)
    station = load_station(session, station_code) if station_code else None
    version = _pick_version(script, latest)
    if version.recording_sha256:  # a person's recording airs, never a voice reading it
        return recording_render(session, renderer, version)[1]
    request, _ = script_request(version, station)
    result = renderer.render(request, engine=engine, voice=voice, progress=progress)
    record_rendered(session, renderer, result)
    return result


def approved_jobs(session: Session) -> list[tuple[ScriptVersion, Station | None]]:
    """Every (approved version, station) to render: per station where it has placeholders."""
    scripts = session.scalars(
        select(Script)
        .options(
            selectinload(Script.approved_version).selectinload(ScriptVersion.script),
            selectinload(Script.unit),
        )
        .where(Script.approved_version_id.is_not(None), Script.archived_at.is_(None))
        .order_by(Script.slug)
    ).all()
    jobs: list[tuple[ScriptVersion, Station | None]] = []
    for script in scripts:
        version = script.approved_version
        assert version is not None
        if not version.placeholders or version.recording_sha256:  # a recording: one file
            jobs.append((version, None))
            continue
        stmt = (
            select(Station)
            .join(Station.unit)
            .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
            .where(Station.active.is_(True))
            .order_by(Station.code)
        )
        if script.unit is not None:
            stmt = stmt.where(AdminUnit.path.startswith(script.unit.path))
        jobs.extend((version, station) for station in session.scalars(stmt))
    return jobs


def render_approved(
    session: Session,
    renderer: AudioRenderer,
    *,
    engine: str | None = None,
    voice: str | None = None,
    progress: Callable[[RenderOutcome], None] | None = None,
) -> BatchSummary:
    """Render every approved script; one failure never stops the batch."""
    summary = BatchSummary()
    for version, station in approved_jobs(session):
        label = version.script.slug
        try:
            if version.recording_sha256:
                result = recording_render(session, renderer, version)[1]
            else:
                request, label = script_request(version, station)
                result = renderer.render(request, engine=engine, voice=voice)
                record_rendered(session, renderer, result)
        except BroadcasterError as exc:
            outcome = RenderOutcome(label, error=exc.message)
            summary.failed.append(outcome)
        else:
            outcome = RenderOutcome(label, result=result)
            (summary.cached if result.cached else summary.done).append(outcome)
        if progress:
            progress(outcome)
    return summary


def render_slot(
    session: Session,
    renderer: AudioRenderer,
    slot_id: int,
    *,
    engine: str | None = None,
    voice: str | None = None,
) -> RenderResult:
    """Render a slot's audio (its script version, for its station, in the station's or
    campaign's chosen voice) and attach it to the slot."""
    from broadcaster.models import Campaign, Slot

    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound("Không có lượt phát {slot_id}.", slot_id=slot_id)
    if slot.script_version_id is None:
        raise Conflict(
            "Lượt phát {slot_id} là tiếp âm một luồng trực tiếp; không có âm thanh để tạo.",
            slot_id=slot_id,
        )
    version = session.scalar(
        select(ScriptVersion)
        .options(selectinload(ScriptVersion.script))
        .where(ScriptVersion.id == slot.script_version_id)
    )
    station = session.scalar(
        select(Station)
        .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
        .where(Station.id == slot.station_id)
    )
    if version.recording_sha256:  # the mastered recording, the same file for every station
        asset, result = recording_render(session, renderer, version)
    else:
        campaign = session.get(Campaign, slot.campaign_id) if slot.campaign_id else None
        request, _ = script_request(version, station, campaign.voice if campaign else None)
        result = renderer.render(request, engine=engine, voice=voice)
        asset = record_rendered(session, renderer, result)
    slot.audio_asset_id = asset.id
    slot.duration_ms = asset.duration_ms
    return result


@dataclass
class SlotsRendered:
    """What :func:`render_pending` did: slots given audio, and those that failed (why)."""

    attached: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (slot id, reason)

    def say(self) -> str:
        if not self.attached and not self.failed:
            return "không lượt nào còn thiếu âm thanh"
        text = f"{self.attached} lượt vừa được gắn âm thanh"
        if self.failed:
            first = self.failed[0][1]
            text += f", {len(self.failed)} lượt lỗi (vd: {first})"
        return text


def pending_slots(session: Session, campaign_id: int | None = None) -> list[int]:
    """Planned slots airing within :data:`RENDER_AHEAD` that have no audio yet."""
    from broadcaster.models import Slot, SlotStatus

    stmt = select(Slot.id).where(
        Slot.status == SlotStatus.PLANNED,
        Slot.audio_asset_id.is_(None),
        Slot.script_version_id.is_not(None),  # a relay (tiếp âm) plays a stream: no audio
        Slot.planned_start < clock.utcnow() + RENDER_AHEAD,
    )
    if campaign_id is not None:
        stmt = stmt.where(Slot.campaign_id == campaign_id)
    return list(session.scalars(stmt.order_by(Slot.planned_start)))


def render_pending(
    factory,
    renderer: AudioRenderer,
    *,
    campaign_id: int | None = None,
    engine: str | None = None,
    voice: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SlotsRendered:
    """Give every pending slot (of one campaign, or all) its audio, each in its own
    transaction: one failure never stops the others, and is said with its reason."""
    from broadcaster.db import transaction

    with factory() as s:
        pending = pending_slots(s, campaign_id)
    summary = SlotsRendered()
    for n, slot_id in enumerate(pending, 1):
        try:
            with transaction(factory) as s:
                render_slot(s, renderer, slot_id, engine=engine, voice=voice)
            summary.attached += 1
        except BroadcasterError as exc:
            summary.failed.append((slot_id, exc.message))
        except Exception as exc:  # retried at the next run; the others go on
            log.exception("rendering slot %s failed", slot_id)
            summary.failed.append((slot_id, type(exc).__name__))
        if progress:
            progress(n, len(pending))
    return summary
