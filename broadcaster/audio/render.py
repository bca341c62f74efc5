"""Text in, broadcast-ready MP3 out: the audio pipeline.

normalise → split → synthesise (piece by piece) → trim → join → chime →
loudness/limit/encode → tag, with the result stored once under the sha256 of
everything that shaped it. The ``auto`` policy tries gTTS and falls back to
the offline engine when gTTS cannot be reached, recording which engine spoke.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import time
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path

from pydub import AudioSegment

from broadcaster.audio import steps
from broadcaster.audio.store import AssetRecord, AudioStore, write_atomically
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.library import PLACEHOLDERS
from broadcaster.text import NormaliseOptions, load_abbreviations, normalise_vi
from broadcaster.text.split import split_for_speech
from broadcaster.tts import AUTO_ORDER, build_engine
from broadcaster.tts.base import EngineAudio, EngineUnavailable, TtsEngine
from broadcaster.vntext import nfc

log = logging.getLogger(__name__)
# a placeholder read out as "ten xa" on the loudspeakers would be an embarrassment
_UNFILLED = re.compile(r"\{\s*(?:" + "|".join(PLACEHOLDERS) + r")\s*\}")

FORMAT_VERSION = 1  # bump when a change in the pipeline changes the sound of a file
MAX_TEXT_CHARS = 60_000  # about an hour of speech; longer is a mistake, not a bulletin
OUT_RATE = 44_100
OFFLINE_AFTER_FAILURE_S = 300  # after gTTS fails, skip it for a while instead of waiting again
PREVIEW_TIMEOUT_S = 4.0  # Listen: a person waits; a dead line falls back after this, once
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Mastering:
    """Everything after synthesis that changes the sound (part of the cache key)."""

    target_lufs: float = -16.0
    true_peak_db: float = -1.0
    bitrate_kbps: int = 64
    sample_rate: int = OUT_RATE
    silence_threshold_db: float = -45.0
    pauses_ms: dict[str, int] = field(
        default_factory=lambda: {"none": 60, "phrase": 200, "sentence": 450, "paragraph": 800}
    )
    lead_in_ms: int = 250
    tail_ms: int = 600
    chime: str = "off"  # off | generated | sha256 of the chime file
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class RenderRequest:
    text: str
    title: str
    campaign: str | None = None
    station_name: str | None = None  # tagged only when the text was personalised
    station_code: str | None = None


@dataclass(frozen=True)
class RenderResult:
    record: AssetRecord
    path: Path
    cached: bool
    warnings: tuple[str, ...] = ()


def _sha(payload: dict) -> str:
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AudioRenderer:
    """Renders and caches announcement audio. Engines are built lazily by name."""

    def __init__(
        self,
        audio_dir: Path,
        settings: AudioSettings | None = None,
        engines: dict[str, TtsEngine] | None = None,
    ) -> None:
        self.settings = settings or AudioSettings()
        self.store = AudioStore(audio_dir)
        self._engines: dict[str, TtsEngine] = dict(engines or {})
        self._down_until: dict[str, float] = {}
        self._normalise_options = NormaliseOptions(
            abbreviations=load_abbreviations(self.settings.abbreviations_file),
            document_numbers=self.settings.document_numbers,
        )
        self._chime_cache: AudioSegment | None = None
        # The render job asks for the same script text slot after slot; normalising a
        # long bulletin costs more than the rest of a cache hit, so remember the last few.
        self._normalised = functools.lru_cache(maxsize=256)(self._normalise_uncached)
        self.mastering = Mastering(
            target_lufs=self.settings.loudness_lufs,
            true_peak_db=self.settings.true_peak_db,
            bitrate_kbps=self.settings.mp3_bitrate,
            chime=self._chime_id(),
        )

    @classmethod
    def for_previews(cls, audio_dir: Path, settings: AudioSettings | None = None) -> AudioRenderer:
        """A renderer for someone waiting at the page: gTTS gets a short timeout and no
        retry (the offline voice answers instead), and audio already made by any engine
        is served first (:meth:`render` with ``cached_first``)."""
        settings = settings or AudioSettings()
        gtts = build_engine("gtts", settings)
        gtts.timeout = min(gtts.timeout, PREVIEW_TIMEOUT_S)
        gtts.retries = 0
        return cls(audio_dir, settings, engines={"gtts": gtts})

    # -- the parts --------------------------------------------------------------

    def engine(self, name: str) -> TtsEngine:
        if name not in self._engines:
            self._engines[name] = build_engine(name, self.settings)
        return self._engines[name]

    def normalise(self, text: str) -> str:
        return self._normalised(text)

    def _normalise_uncached(self, text: str) -> str:
        return normalise_vi(text, self._normalise_options)

    def _chime_id(self) -> str:
        chime = self.settings.chime
        if chime in ("off", "generated"):
            return chime
        return hashlib.sha256(Path(chime).read_bytes()).hexdigest()

    def key(self, spoken: str, request: RenderRequest, engine: TtsEngine, voice: str, speed: float):
        return _sha(
            {
                "text": spoken,
                "engine": engine.describe(voice, speed),
                "mastering": asdict(self.mastering),
                "tags": [request.title, request.campaign, request.station_name],
            }
        )

    # -- the pipeline -------------------------------------------------------------

    def render(
        self,
        request: RenderRequest,
        engine: str | None = None,
        voice: str | None = None,
        speed: float | None = None,
        progress: Progress | None = None,
        cached_first: bool = False,
    ) -> RenderResult:
        """The asset for this request: from the cache, or rendered now.

        ``cached_first`` (auto only): audio any engine already made for this text is
        taken before an engine is tried — what a listener wants; the render job does
        not, so that a voice made offline is replaced by Google's once it answers.
        """
        name = engine or self.settings.engine
        speed = self.settings.speed if speed is None else speed
        voice = voice or self.settings.voice
        if not 0.5 <= speed <= 2.0:
            raise InvalidInput(
                "Tốc độ đọc {speed:g} ngoài khoảng 0,5–2,0.", field="speed", speed=speed
            )
        spoken = self._spoken(request.text)
        if name != "auto":
            eng = self.engine(name)
            return self._render_with(
                eng, name, spoken, request, eng.check_voice(voice), speed, progress
            )
        warnings: list[str] = []
        # auto's --voice is for the offline engine; gTTS has one Vietnamese voice
        candidates = [(c, self.engine(c), c == AUTO_ORDER[-1]) for c in AUTO_ORDER]
        if cached_first:
            for _c, eng, last in candidates:
                chosen = eng.check_voice(voice) if last else eng.default_voice
                sha = self.key(spoken, request, eng, chosen, speed)
                if (hit := self.store.get(sha)) is not None:
                    return RenderResult(hit, self.store.asset_path(sha), True)
        for candidate, eng, last in candidates:
            chosen = eng.check_voice(voice) if last else eng.default_voice
            sha = self.key(spoken, request, eng, chosen, speed)
            if (hit := self.store.get(sha)) is not None:
                return RenderResult(hit, self.store.asset_path(sha), True, tuple(warnings))
            if not last and time.monotonic() < self._down_until.get(candidate, 0):
                warnings.append(f"{candidate} vừa không kết nối được; dùng bộ máy ngoại tuyến.")
                continue
            if not last and not eng.availability().usable:
                warnings.append(f"{candidate} không dùng được: {eng.availability().detail}")
                continue
            try:
                result = self._render_with(eng, "auto", spoken, request, chosen, speed, progress)
            except EngineUnavailable as exc:
                if last:
                    raise
                self._down_until[candidate] = time.monotonic() + OFFLINE_AFTER_FAILURE_S
                warnings.append(f"{candidate} không trả lời ({exc}); chuyển sang đọc ngoại tuyến.")
                log.warning("auto: %s unavailable (%s), falling back", candidate, exc)
                continue
            return RenderResult(result.record, result.path, result.cached, tuple(warnings))
        raise AssertionError("AUTO_ORDER ends with an offline engine")  # pragma: no cover

    def _spoken(self, text: str) -> str:
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidInput(
                "Văn bản dài {length:,} ký tự, quá giới hạn {limit:,} "
                "(khoảng một giờ đọc). Hãy chia thành nhiều tin bài.",
                length=len(text),
                limit=MAX_TEXT_CHARS,
            )
        unfilled = sorted({m.group(0) for m in _UNFILLED.finditer(text)})
        if unfilled:
            raise InvalidInput(
                "Văn bản còn chỗ điền chưa thay: {unfilled}. Hãy tạo âm thanh cho "
                "một đài cụ thể để điền tên xã, tỉnh, đài.",
                field="station",
                unfilled=", ".join(unfilled),
            )
        spoken = self.normalise(nfc(text))
        if not any(ch.isalnum() for ch in spoken):
            raise InvalidInput("Văn bản không có chữ nào để đọc.")
        return spoken

    def _render_with(
        self,
        eng: TtsEngine,
        requested: str,
        spoken: str,
        request: RenderRequest,
        voice: str,
        speed: float,
        progress: Progress | None,
    ) -> RenderResult:
        sha = self.key(spoken, request, eng, voice, speed)
        if (hit := self.store.get(sha)) is not None:
            return RenderResult(hit, self.store.asset_path(sha), True)
        with self.store.lock(sha):
            if (hit := self.store.get(sha)) is not None:  # another worker just made it
                return RenderResult(hit, self.store.asset_path(sha), True)
            speech = self._speak(eng, spoken, voice, speed, progress)
            record = self._finish(sha, speech, eng, requested, voice, speed, spoken, request)
        return RenderResult(record, self.store.asset_path(sha), False)

    def _speak(
        self, eng: TtsEngine, spoken: str, voice: str, speed: float, progress: Progress | None
    ) -> AudioSegment:
        pieces = split_for_speech(spoken, eng.max_chars)
        parts: list[tuple[AudioSegment, int]] = []
        rate: int | None = None
        for done, piece in enumerate(pieces, start=1):
            audio = self._piece(eng, piece.text, voice, speed)
            # the working rate is the engine's own: no resampling until the encoder
            rate = rate or audio.pcm_rate or 24_000
            segment = steps.to_segment(audio, rate)
            segment = steps.trim_silence(segment, self.mastering.silence_threshold_db)
            parts.append((segment, self.mastering.pauses_ms[piece.pause_after.value]))
            if progress:
                progress(done, len(pieces))
        assert rate is not None  # _spoken guarantees at least one piece
        if parts:
            parts[-1] = (parts[-1][0], 0)
        speech = steps.join(parts, rate)
        speech = steps.pad(speech, self.mastering.lead_in_ms, self.mastering.tail_ms)
        if self.settings.chime != "off":
            speech = steps.with_chime(speech, self._chime(rate))
        return speech

    def _piece(self, eng: TtsEngine, text: str, voice: str, speed: float) -> EngineAudio:
        if not eng.cache_pieces:
            return eng.synthesise(text, voice, speed)
        sha = _sha({"engine": eng.describe(voice, speed), "text": text})
        for suffix in ("mp3", "wav"):
            path = self.store.piece_path(sha, suffix)
            if path.is_file():
                return _read_piece(path)
        audio = eng.synthesise(text, voice, speed)
        write_atomically(self.store.piece_path(sha, _piece_suffix(audio)), _piece_bytes(audio))
        return audio

    def _chime(self, rate: int) -> AudioSegment:
        if self._chime_cache is None or self._chime_cache.frame_rate != rate:
            if self.settings.chime == "generated":
                self._chime_cache = steps.generated_chime(rate)
            else:
                self._chime_cache = steps.load_chime(Path(self.settings.chime), rate)
        return self._chime_cache

    def _finish(
        self,
        sha: str,
        speech: AudioSegment,
        eng: TtsEngine,
        requested: str,
        voice: str,
        speed: float,
        spoken: str,
        request: RenderRequest,
    ) -> AssetRecord:
        m = self.mastering
        with self.store.temporary_mp3(sha) as tmp:
            mastered = steps.master(
                speech,
                tmp,
                out_rate=m.sample_rate,
                target_lufs=m.target_lufs,
                true_peak_db=m.true_peak_db,
                bitrate_kbps=m.bitrate_kbps,
            )
            steps.tag(
                tmp,
                steps.Tags(
                    title=request.title,
                    campaign=request.campaign,
                    station=request.station_name,
                    comment=f"broadcaster {sha[:16]} {eng.name}/{voice}",
                ),
            )
            size = tmp.stat().st_size
            final = self.store.publish(tmp, sha)
        record = AssetRecord(
            sha256=sha,
            engine=eng.name,
            requested_engine=requested,
            voice=voice,
            speed=speed,
            title=request.title,
            station_code=request.station_code,
            text=spoken,
            duration_ms=round(mastered.duration_s * 1000),
            loudness_lufs=mastered.loudness.integrated_lufs,
            true_peak_db=mastered.loudness.true_peak_db,
            size_bytes=size,
            bitrate_kbps=m.bitrate_kbps,
            sample_rate=m.sample_rate,
            settings=asdict(m),
            format_version=m.format_version,
        )
        self.store.put_record(record)
        log.info("rendered %s (%s, %.1f s)", final.name, eng.name, mastered.duration_s)
        return record


def _piece_suffix(audio: EngineAudio) -> str:
    return "wav" if audio.pcm_rate is not None else (audio.container or "bin")


def _piece_bytes(audio: EngineAudio) -> bytes:
    if audio.pcm_rate is None:
        return audio.data
    buffer = BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.pcm_rate)
        w.writeframes(audio.data)
    return buffer.getvalue()


def _read_piece(path: Path) -> EngineAudio:
    if path.suffix == ".wav":
        with wave.open(str(path), "rb") as w:
            return EngineAudio(data=w.readframes(w.getnframes()), pcm_rate=w.getframerate())
    return EngineAudio(data=path.read_bytes(), container=path.suffix.lstrip("."))


__all__ = ["AudioRenderer", "Mastering", "RenderRequest", "RenderResult"]
