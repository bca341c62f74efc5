"""Recordings read by a person (bản ghi âm) as script versions, and their mastered audio.

A recorded version is an ordinary :class:`ScriptVersion` (draft → submitted →
approved, four eyes) whose ``recording_*`` columns name the uploaded file; its body is
an optional transcript. The source bytes are kept once under the audio folder,
addressed by their sha256 (``recordings/ab/<sha256>.<ext>``, written to a temporary
name and renamed into place). The mastered MP3 is an :class:`AudioAsset` (engine
``recording``) keyed by the source's sha256 and the mastering settings: one file
however many versions, campaigns and stations use it (recordings are never
personalised). Nothing half-written is kept when anything fails: the source copy,
the asset and the version all go.

``recording_info`` is :meth:`broadcaster.audio.recording.Analysis.info` (see there).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.config import AudioSettings
from broadcaster.errors import Conflict, InvalidInput, NotFound, Words
from broadcaster.library import _SLUG, MAX_TITLE, ScriptText
from broadcaster.models import AudioAsset, Script, ScriptVersion
from broadcaster.services.audit import Actor, record
from broadcaster.services.scripts import _refuse_bidi, _require_writer, load_script, new_version
from broadcaster.services.units import get_unit
from broadcaster.vntext import nfc

if TYPE_CHECKING:  # the audio pipeline pulls in numpy and scipy
    from broadcaster.audio.recording import Analysis, Limits
    from broadcaster.audio.render import AudioRenderer, Mastering, RenderResult

ENGINE = "recording"
CHUNK = 1 << 20
Progress = Callable[[str], None]
# what a container is kept as (ffmpeg's demuxer name → file extension)
_EXTENSIONS = {
    "mp3": "mp3",
    "wav": "wav",
    "ogg": "ogg",
    "amr": "amr",
    "aac": "aac",
    "flac": "flac",
    "matroska,webm": "webm",
}
_MP4_EXTENSIONS = ("m4a", "mp4", "3gp", "3g2", "m4b", "mov")


@dataclass(frozen=True)
class RecordingAdded:
    version: ScriptVersion
    asset: AudioAsset
    warnings: tuple[str, ...]  # in Vietnamese, filled in (the info keeps the message ids)


def limits_of(audio: AudioSettings) -> Limits:
    from broadcaster.audio.recording import Limits

    return Limits(
        max_bytes=audio.recording_max_mb * 1024 * 1024, max_s=audio.recording_max_minutes * 60
    )


def source_path(audio_dir: Path, sha: str, ext: str) -> Path:
    return audio_dir / "recordings" / sha[:2] / f"{sha}.{ext}"


def _extension(fmt: str, filename: str) -> str:
    suffix = Path(filename).suffix.lstrip(".").lower()
    if fmt in _EXTENSIONS:
        return _EXTENSIONS[fmt]
    if fmt.startswith("mov,mp4"):
        return suffix if suffix in _MP4_EXTENSIONS else "m4a"
    return suffix if re.fullmatch(r"[a-z0-9]{1,5}", suffix) else "bin"


@dataclass
class _Stored:
    sha256: str
    path: Path
    relative: str
    analysis: Analysis
    created: bool  # this call put the file there (so a failure removes it)


@contextmanager
def _stored_source(
    source: Path | BinaryIO, filename: str, audio_dir: Path, limits: Limits
) -> Iterator[_Stored]:
    """Copy the upload beside its final place, hashing it; measure it; move it into
    place (flushed, then renamed: a host sharing the folder sees all of it or nothing).
    If the body of the ``with`` fails, a file this call created is removed."""
    from broadcaster.audio.recording import analyse, too_big
    from broadcaster.audio.stores.folder import move_into_place, temporary_file

    tmp = temporary_file(audio_dir / "recordings", ".upload")
    stored: _Stored | None = None
    try:
        digest = hashlib.sha256()
        size = 0
        with tmp.open("wb") as out:
            reader = source.open("rb") if isinstance(source, Path) else _unclosed(source)
            with reader as fh:
                while chunk := fh.read(CHUNK):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise too_big(size, limits)
                    digest.update(chunk)
                    out.write(chunk)
        analysis = analyse(tmp, limits, filename=Path(filename).name[:200])
        sha = digest.hexdigest()
        final = source_path(audio_dir, sha, _extension(analysis.probe.format, filename))
        created = not final.exists()
        if created:  # same file system as the temporary name: one atomic rename
            move_into_place(tmp, final)
        stored = _Stored(sha, final, final.relative_to(audio_dir).as_posix(), analysis, created)
        yield stored
    except BaseException:
        if stored is not None and stored.created:
            stored.path.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _unclosed(fh: BinaryIO) -> Iterator[BinaryIO]:
    yield fh  # the caller's stream: read, not closed


def _clean_title(title: str | None) -> str | None:
    if title is None:
        return None
    title = nfc(" ".join(title.split()))
    if not title:
        return None
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            "Tiêu đề dài {length} ký tự, quá {limit}.",
            field="title",
            length=len(title),
            limit=MAX_TITLE,
        )
    return title


def _add(
    session: Session,
    script: Script,
    number: int,
    text: ScriptText,
    source: Path | BinaryIO,
    *,
    filename: str,
    audio_dir: Path,
    actor: Actor,
    audio: AudioSettings,
    progress: Progress | None,
    renderer: AudioRenderer | None,
) -> RecordingAdded:
    _refuse_bidi(text)
    if progress:
        progress("Đang đọc và đo bản ghi…")
    with _stored_source(source, filename, audio_dir, limits_of(audio)) as stored:
        text = ScriptText(**{**asdict(text), "recording_sha256": stored.sha256})
        version = new_version(
            script,
            text,
            actor,
            number,
            (stored.sha256, stored.relative, stored.analysis.info()),
        )
        session.add(version)
        session.flush()
        if progress:
            progress("Đang xử lý âm thanh (độ lớn, cắt im lặng, MP3)…")
        asset = recording_asset(session, renderer or _renderer_for(audio_dir, audio), version)
    warnings = tuple(w.text() for w in stored.analysis.warnings)
    return RecordingAdded(version, asset, warnings)


def _renderer_for(audio_dir: Path, audio: AudioSettings):
    """One host's renderer (tests, tools); the server and the CLI pass theirs, made by
    :func:`broadcaster.services.audio.renderer_for` (the database's lock)."""
    from broadcaster.audio.render import AudioRenderer

    return AudioRenderer(audio_dir, audio)


def add_recording(
    session: Session,
    slug: str,
    source: Path | BinaryIO,
    *,
    filename: str,
    audio_dir: Path,
    actor: Actor,
    transcript: str | None = None,
    title: str | None = None,
    audio: AudioSettings | None = None,
    progress: Progress | None = None,
    renderer: AudioRenderer | None = None,
) -> ScriptVersion:
    """A new draft version of ``slug`` carrying this recording (see :func:`add_recording_full`)."""
    return add_recording_full(
        session,
        slug,
        source,
        filename=filename,
        audio_dir=audio_dir,
        actor=actor,
        transcript=transcript,
        title=title,
        audio=audio,
        progress=progress,
        renderer=renderer,
    ).version


def add_recording_full(
    session: Session,
    slug: str,
    source: Path | BinaryIO,
    *,
    filename: str,
    audio_dir: Path,
    actor: Actor,
    transcript: str | None = None,
    title: str | None = None,
    audio: AudioSettings | None = None,
    progress: Progress | None = None,
    renderer: AudioRenderer | None = None,
) -> RecordingAdded:
    """A new draft version of ``slug`` carrying this recording, already mastered.

    Title, tags and campaign come from the latest version unless given; the
    transcript (the body) is optional. ``audio`` gives the limits and the mastering
    (defaults when None); ``renderer`` masters it (None: one host's, see
    ``_renderer_for``). Refuses (``InvalidInput``, field ``recording``) what is not
    audio, truncated, empty, silent, too big or too long; nothing is kept then.
    """
    audio = audio or AudioSettings()
    script = load_script(session, slug)
    _require_writer(actor, script.unit.path if script.unit else None, Words("ghi âm tin bài"))
    if script.archived_at is not None:
        raise Conflict("Tin bài '{slug}' đã lưu trữ.", slug=script.slug)
    latest = script.latest
    text = ScriptText(
        slug=script.slug,
        title=_clean_title(title) or latest.title,
        body=nfc((transcript or "").strip()),
        tags=tuple(latest.tags),
        campaign=latest.campaign,
        source="recording",
    )
    added = _add(
        session,
        script,
        latest.number + 1,
        text,
        source,
        filename=filename,
        audio_dir=audio_dir,
        actor=actor,
        audio=audio,
        progress=progress,
        renderer=renderer,
    )
    record(
        session,
        actor,
        "script.version",
        "script",
        script.id,
        before={"version": latest.number, "sha256": latest.content_sha256},
        after={
            "version": added.version.number,
            "sha256": added.version.content_sha256,
            "recording": added.version.recording_sha256,
        },
    )
    return added


def create_recorded_script(
    session: Session,
    slug: str,
    source: Path | BinaryIO,
    *,
    filename: str,
    audio_dir: Path,
    actor: Actor,
    title: str,
    unit: str | None = None,
    transcript: str | None = None,
    tags: tuple[str, ...] = (),
    campaign: str | None = None,
    audio: AudioSettings | None = None,
    progress: Progress | None = None,
    renderer: AudioRenderer | None = None,
) -> RecordingAdded:
    """A new script (owned by ``unit``, a unit code; None nation-wide) whose first
    version is this recording."""
    audio = audio or AudioSettings()
    slug = (slug or "").strip()
    if not _SLUG.match(slug):
        raise InvalidInput(
            "Mã tin bài '{slug}' không hợp lệ: chỉ chữ thường không dấu, số và '-', "
            "tối đa 120 ký tự (vd: thong-bao-tiem-chung).",
            field="slug",
            slug=slug,
        )
    if session.scalar(select(Script.id).where(Script.slug == slug)) is not None:
        raise Conflict(
            "Đã có tin bài '{slug}'; hãy ghi âm phiên bản mới cho tin bài đó.",
            field="slug",
            slug=slug,
        )
    clean = _clean_title(title)
    if clean is None:
        raise InvalidInput("Cần tiêu đề cho tin bài ghi âm.", field="title")
    owner = get_unit(session, unit, field="unit") if unit else None
    _require_writer(actor, owner.path if owner else None, Words("soạn tin bài"))
    script = Script(slug=slug, unit=owner)
    session.add(script)
    text = ScriptText(
        slug=slug,
        title=clean,
        body=nfc((transcript or "").strip()),
        tags=tuple(tags),
        campaign=campaign,
        source="recording",
    )
    added = _add(
        session,
        script,
        1,
        text,
        source,
        filename=filename,
        audio_dir=audio_dir,
        actor=actor,
        audio=audio,
        progress=progress,
        renderer=renderer,
    )
    record(
        session,
        actor,
        "script.create",
        "script",
        script.id,
        after={
            "slug": slug,
            "version": 1,
            "sha256": added.version.content_sha256,
            "recording": added.version.recording_sha256,
        },
    )
    return added


# -- the mastered asset ------------------------------------------------------------


def _mastering(renderer: AudioRenderer) -> dict:
    from broadcaster.audio import recording

    m: Mastering = renderer.mastering
    return {
        "target_lufs": m.target_lufs,
        "true_peak_db": m.true_peak_db,
        "bitrate_kbps": m.bitrate_kbps,
        "sample_rate": m.sample_rate,
        "format_version": recording.FORMAT_VERSION,
    }


def recording_key(source_sha256: str, mastering: dict) -> str:
    import json

    canonical = json.dumps(
        {"recording": source_sha256, "mastering": mastering}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def recording_asset(
    session: Session, renderer_or_audio_dir: AudioRenderer | Path, version: ScriptVersion
) -> AudioAsset:
    """The mastered MP3 of a recorded version: found, or made now (once, under a lock)."""
    return recording_render(session, renderer_or_audio_dir, version)[0]


def recording_render(
    session: Session, renderer_or_audio_dir: AudioRenderer | Path, version: ScriptVersion
) -> tuple[AudioAsset, RenderResult]:
    """:func:`recording_asset` with the renderer's kind of result (for the render paths)."""
    from broadcaster.audio import recording, steps
    from broadcaster.audio.render import AudioRenderer, RenderResult
    from broadcaster.audio.stores import AssetRecord
    from broadcaster.files import file_digest
    from broadcaster.services.audio import record_asset

    if version.recording_sha256 is None or version.recording_path is None:
        raise Conflict("Phiên bản {number} không có bản ghi âm.", number=version.number)
    renderer = (
        renderer_or_audio_dir
        if isinstance(renderer_or_audio_dir, AudioRenderer)
        else _renderer_for(Path(renderer_or_audio_dir), AudioSettings())
    )
    store = renderer.store
    mastering = _mastering(renderer)
    sha = recording_key(version.recording_sha256, mastering)
    path = store.asset_path(sha)
    row = session.scalar(select(AudioAsset).where(AudioAsset.sha256 == sha))
    if row is not None and (found := store.get(sha)) is not None:
        return row, RenderResult(found, path, True)
    cached = True
    with store.lock(sha):
        found = store.get(sha, fresh=True)  # another host may have made it meanwhile
        if found is None:
            cached = False
            source = store.file(version.recording_path)
            if not source.is_file():
                raise NotFound(
                    "Không thấy tệp ghi âm của phiên bản {number} ({path}) trong thư mục âm thanh.",
                    number=version.number,
                    path=version.recording_path,
                )
            info = version.recording_info or recording.analyse(source).info()
            with store.temporary_mp3(sha) as tmp:
                done = recording.master(
                    source,
                    recording.Measured.from_info(info),
                    tmp,
                    target_lufs=mastering["target_lufs"],
                    true_peak_db=mastering["true_peak_db"],
                    sample_rate=mastering["sample_rate"],
                    bitrate_kbps=mastering["bitrate_kbps"],
                )
                steps.tag(
                    tmp,
                    steps.Tags(
                        title=version.title,
                        campaign=version.campaign,
                        comment=f"broadcaster {sha[:16]} {ENGINE}",
                    ),
                )
                size = tmp.stat().st_size
                store.publish(tmp, sha)
            found = AssetRecord(
                sha256=sha,
                engine=ENGINE,
                requested_engine=ENGINE,
                voice="",
                speed=1.0,
                title=version.title,
                station_code=None,
                text=version.body or version.title,
                duration_ms=round(done.duration_s * 1000),
                loudness_lufs=done.loudness_lufs,
                true_peak_db=done.true_peak_db,
                size_bytes=size,
                bitrate_kbps=mastering["bitrate_kbps"],
                sample_rate=mastering["sample_rate"],
                settings={**mastering, "source_sha256": version.recording_sha256},
                format_version=recording.FORMAT_VERSION,
            )
            store.put_record(found)
    row = record_asset(session, found, store.relative(path), file_digest(path))
    return row, RenderResult(found, path, cached)
