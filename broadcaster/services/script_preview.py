"""Hearing a script before it airs: its spoken form and a rendered preview.

The spoken form is the normaliser's output (what the voice will actually
read: "UBND" → "Ủy ban nhân dân", dates and numbers in words); a preview is
the real broadcast MP3 of one version, any state, filled in for a station the
user may see (or with sample names when there is none), made by the same
renderer the planner uses, so what the author hears is what will air.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput, NotFound, PermissionDenied
from broadcaster.models import (
    AdminUnit,
    AudioAsset,
    AuditEvent,
    Script,
    ScriptVersion,
    Slot,
    Station,
)
from broadcaster.services.audio import (
    fill,
    load_station,
    record_rendered,
    script_request,
    station_context,
    voice_choice,
)
from broadcaster.services.audit import Actor, record
from broadcaster.services.script_list import visible_to
from broadcaster.services.scripts import load_script
from broadcaster.text import NormaliseOptions, load_abbreviations, normalise_vi

# what placeholders read as when no station is at hand (the library's own examples)
SAMPLE = {
    "ten_xa": "xã Cẩm Xuyên",
    "ten_tinh": "tỉnh Hà Tĩnh",
    "ten_dai": "Đài truyền thanh xã Cẩm Xuyên",
}
MAX_SPOKEN = 20_000


@dataclass(frozen=True)
class Preview:
    sha256: str
    version: int
    station_code: str | None  # None: sample names, or no placeholders
    cached: bool
    duration_ms: int
    warnings: tuple[str, ...] = ()
    engine: str = ""  # the engine that spoke it: gtts, espeak, piper, fptai
    station_name: str | None = None  # whose names the audio says
    voice: str = ""  # the engine's voice that spoke it


@functools.lru_cache(maxsize=8)
def _options(abbreviations_file: Path | None, document_numbers: str) -> NormaliseOptions:
    return NormaliseOptions(
        abbreviations=load_abbreviations(abbreviations_file), document_numbers=document_numbers
    )


def spoken_form(audio: AudioSettings, text: str, context: dict[str, str] | None = None) -> str:
    """What the voice reads for ``text``, placeholders filled (sample names by default)."""
    if len(text) > MAX_SPOKEN:
        limit = format(MAX_SPOKEN, ",").replace(",", ".")
        raise InvalidInput("Văn bản dài quá {limit} ký tự.", limit=limit)
    return _spoken(audio.abbreviations_file, audio.document_numbers, fill(text, context or SAMPLE))


# a script's page is opened again and again; a long bulletin costs ~0.2 s to normalise
@functools.lru_cache(maxsize=128)
def _spoken(abbreviations_file: Path | None, document_numbers: str, text: str) -> str:
    return normalise_vi(text, _options(abbreviations_file, document_numbers))


def _version(script: Script, number: int | None) -> ScriptVersion:
    if number is None:
        return script.latest
    for v in script.versions:
        if v.number == number:
            return v
    raise NotFound(
        "Tin bài '{slug}' không có phiên bản {number}.",
        field="version",
        slug=script.slug,
        number=number,
    )


def _first_station(session: Session, paths: list[str]) -> Station | None:
    """The first active station (by code) below the deepest of ``paths``."""
    stmt = (
        select(Station)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
        .where(Station.active.is_(True))
        .order_by(Station.code)
        .limit(1)
    )
    if paths:
        stmt = stmt.where(AdminUnit.path.startswith(max(paths, key=len), autoescape=True))
    return session.scalar(stmt)


def render_preview(
    session: Session,
    renderer: AudioRenderer,
    actor: Actor,
    slug: str,
    *,
    version: int | None = None,
    station_code: str | None = None,
) -> Preview:
    """Render (or find) the broadcast MP3 of one version, and record that it was asked for."""
    script = load_script(session, slug)
    unit_path = script.unit.path if script.unit else None
    if not visible_to(actor.scope_path, unit_path):
        raise PermissionDenied(
            "Tin bài '{slug}' nằm ngoài phạm vi của '{actor}'.", slug=slug, actor=actor.label
        )
    chosen = _version(script, version)
    if chosen.recording_sha256:  # a person's recording: heard as it will air, for everybody
        return _recording_preview(session, renderer, actor, script, chosen)
    station = None
    if station_code:
        station = load_station(session, station_code)
        if not actor.covers(station.unit.path):
            raise PermissionDenied(
                "Đài '{code}' nằm ngoài phạm vi của '{actor}'.",
                field="station",
                code=station_code,
                actor=actor.label,
            )
        if unit_path and not station.unit.path.startswith(unit_path):
            raise InvalidInput(
                "Đài '{code}' không thuộc {unit}, nơi tin bài này được phát.",
                field="station",
                code=station_code,
                unit=script.unit.name,
            )
    elif chosen.placeholders:
        paths = [p for p in (unit_path, actor.scope_path) if p]
        station = _first_station(session, paths)
    if station is not None and chosen.placeholders:
        request, _ = script_request(chosen, station)
    else:
        request = RenderRequest(
            text=f"{chosen.title}.\n\n{fill(chosen.body, SAMPLE)}",
            title=chosen.title,
            campaign=chosen.campaign,
            voice=voice_choice(station),  # a station chosen: heard in its voice
        )
        station = None
    result = renderer.render(request, cached_first=True)
    asset = record_rendered(session, renderer, result)
    record(
        session,
        actor,
        "script.preview",
        "script",
        script.id,
        after={
            "version": chosen.number,
            "station": station.code if station else None,
            "sha256": asset.sha256,
        },
    )
    return Preview(
        sha256=asset.sha256,
        version=chosen.number,
        station_code=station.code if station else None,
        cached=result.cached,
        duration_ms=asset.duration_ms,
        warnings=tuple(result.warnings),
        engine=result.record.engine,
        station_name=station.name if station else None,
        voice=result.record.voice,
    )


def _recording_preview(
    session: Session, renderer: AudioRenderer, actor: Actor, script: Script, chosen: ScriptVersion
) -> Preview:
    from broadcaster.services.recordings import recording_render

    asset, result = recording_render(session, renderer, chosen)
    record(
        session,
        actor,
        "script.preview",
        "script",
        script.id,
        after={"version": chosen.number, "station": None, "sha256": asset.sha256},
    )
    return Preview(
        sha256=asset.sha256,
        version=chosen.number,
        station_code=None,
        cached=result.cached,
        duration_ms=asset.duration_ms,
        engine=asset.engine,
    )


def context_for(session: Session, station_code: str | None) -> dict[str, str]:
    """Placeholder values of a station (sample names when None)."""
    if not station_code:
        return SAMPLE
    return station_context(load_station(session, station_code))


def asset_visible(session: Session, sha256: str, scope_path: str | None) -> bool:
    """May a user of ``scope_path`` hear the asset ``sha256``?

    When a station of the scope airs it (a slot holds it), or when it was made by a
    preview of a script the user may read; a personalised rendering only when its
    station is in the scope. The address alone is not secret: it is in page URLs.
    """
    asset = session.execute(
        select(AudioAsset.id, AudioAsset.station_code).where(AudioAsset.sha256 == sha256)
    ).first()
    if asset is None:
        return False
    if scope_path is None:
        return True
    if asset.station_code is not None:
        path = session.scalar(
            select(AdminUnit.path)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(Station.code == asset.station_code)
        )
        return path is not None and path.startswith(scope_path)
    aired_here = session.scalar(
        select(Slot.id)
        .join(Station, Station.id == Slot.station_id)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .where(Slot.audio_asset_id == asset.id, AdminUnit.path.startswith(scope_path))
        .limit(1)
    )
    if aired_here is not None:
        return True
    previewed = session.scalars(
        select(AdminUnit.path)
        .select_from(AuditEvent)
        .join(Script, cast(Script.id, String) == AuditEvent.entity_id)
        .outerjoin(AdminUnit, AdminUnit.id == Script.unit_id)
        .where(
            AuditEvent.action == "script.preview",
            AuditEvent.entity_type == "script",
            AuditEvent.after["sha256"].as_string() == sha256,
        )
        .limit(20)
    ).all()
    return any(visible_to(scope_path, path) for path in previewed)
