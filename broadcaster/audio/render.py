"""Text in, broadcast-ready MP3 out: the audio pipeline.

normalise → split → synthesise (piece by piece) → trim → join → chime →
loudness/limit/encode → tag, with the result stored once under the sha256 of
everything that shaped it. The engines are tried in the configured order
(:mod:`broadcaster.audio.engine_order`; ``auto`` is gTTS, then piper when a
voice is installed, then espeak-ng), the next one taking over when one cannot be
reached; the asset records which engine and voice spoke.
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

from broadcaster import metrics
from broadcaster.audio import steps
from broadcaster.audio.engine_order import (
    OFFLINE,
    VoiceChoice,
    check_bare,
    parse_choice,
    piper_ready_with,
    resolve_order,
    voice_for,
)
from broadcaster.audio.locks import RenderLock
from broadcaster.audio.stores import AssetRecord, AudioStore, Piece, open_store
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.library import PLACEHOLDERS
from broadcaster.text import NormaliseOptions, load_abbreviations, normalise_vi
from broadcaster.text.split import split_for_speech
from broadcaster.tts import build_engine
from broadcaster.tts.base import EngineAudio, EngineUnavailable, TtsEngine
from broadcaster.vntext import nfc

log = logging.getLogger(__name__)
# a placeholder read out as "ten xa" on the loudspeakers would be an embarrassment
_UNFILLED = re.compile(r"\{\s*(?:" + "|".join(PLACEHOLDERS) + r")\s*\}")

FORMAT_VERSION = 1  # bump when a change in the pipeline changes the sound of a file
MAX_TEXT_CHARS = 60_000  # about an hour of speech; longer is a mistake, not a bulletin
OUT_RATE = 44_100
OFFLINE_AFTER_FAILURE_S = 300  # after an engine fails, skip it for a while instead of waiting again
PREVIEW_TIMEOUT_S = 4.0  # Listen: a person waits; a dead line falls back after this, once
PREVIEW_FILE_WAIT_S = 30.0  # Listen: FPT.AI's file "from 5 seconds to 2 minutes"; not longer
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
    voice: str | None = None  # the campaign's or station's choice, "engine:voice"


@dataclass(frozen=True)
class RenderResult:
    record: AssetRecord
    path: Path
    cached: bool
    warnings: tuple[str, ...] = ()


def _sha(payload: dict) -> str:
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def local_store(audio_dir: Path) -> AudioStore:
    """A folder store for one host, its locks in ``<audio_dir>/locks`` (tests, benches,
    tools). An installation's renderer comes from
    :func:`broadcaster.services.audio.renderer_for`, which takes the configured lock
    folder and the database's lock."""
    return open_store(Path(audio_dir), RenderLock(Path(audio_dir) / "locks"))


class AudioRenderer:
    """Renders and caches announcement audio. Engines are built lazily by name.

    ``store``: where the audio is kept and under which lock it is made (a folder path
    is :func:`local_store`)."""

    def __init__(
        self,
        store: AudioStore | Path,
        settings: AudioSettings | None = None,
        engines: dict[str, TtsEngine] | None = None,
    ) -> None:
        self.settings = settings or AudioSettings()
        self.store = store if isinstance(store, AudioStore) else local_store(store)
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
    def for_previews(
        cls, store: AudioStore | Path, settings: AudioSettings | None = None
    ) -> AudioRenderer:
        """A renderer for someone waiting at the page: gTTS gets a short timeout and no
        retry (the offline voice answers instead), FPT.AI one retry and half a minute for
        its file, and audio already made by any engine is served first (:meth:`render`
        with ``cached_first``)."""
        settings = settings or AudioSettings()
        gtts = build_engine("gtts", settings)
        gtts.timeout = min(gtts.timeout, PREVIEW_TIMEOUT_S)
        gtts.retries = 0
        fptai = build_engine("fptai", settings)
        fptai.retries = min(fptai.retries, 1)
        fptai.poll_deadline = min(fptai.poll_deadline, PREVIEW_FILE_WAIT_S)
        return cls(store, settings, engines={"gtts": gtts, "fptai": fptai})

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

    def key(
        self,
        spoken: str,
        request: RenderRequest,
        engine: TtsEngine,
        voice: str,
        speed: float,
        choice: VoiceChoice | None = None,
    ) -> str:
        payload = {
            "text": spoken,
            "engine": engine.describe(voice, speed),
            "mastering": asdict(self.mastering),
            "tags": [request.title, request.campaign, request.station_name],
        }
        if choice is not None:  # a chosen voice is its own audio, whichever engine answers
            payload["choice"] = str(choice)
        return _sha(payload)

    # -- the pipeline -------------------------------------------------------------

    @metrics.counts_render_failures
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

        ``engine`` is ``auto``, one engine or an order (None: the configured order, see
        :mod:`broadcaster.audio.engine_order`); ``voice`` is a bare voice or an
        ``engine:voice`` choice, and wins over the request's own choice.
        ``cached_first``: audio any engine of the order already made for this text is
        taken before an engine is tried — what a listener wants; the render job does
        not, so that a voice made offline is replaced by a better one once it answers.
        """
        speed = self.settings.speed if speed is None else speed
        if not 0.5 <= speed <= 2.0:
            raise InvalidInput(
                "Tốc độ đọc {speed:g} ngoài khoảng 0,5–2,0.", field="speed", speed=speed
            )
        order = resolve_order(self.settings, engine, piper_ready_with(self.engine))
        raw = voice or request.voice or self.settings.voice
        choice = parse_choice(raw) if raw and ":" in raw else None
        bare = None if choice is not None or not raw else raw
        spoken = self._spoken(request.text)
        check_bare(order, self._built, bare)
        single = len(order.engines) == 1
        warnings: list[str] = []
        if cached_first:
            for name in order.engines:
                eng = self._built(name)
                chosen = self._voice(name, eng, choice, bare, single, []) if eng else None
                if chosen is None:
                    continue
                sha = self.key(spoken, request, eng, chosen, speed, choice)
                if (hit := self.store.get(sha)) is not None:
                    return RenderResult(hit, self.store.asset_path(sha), True)
        for i, name in enumerate(order.engines):
            last = i == len(order.engines) - 1
            eng = self._built(name)
            if eng is None:
                if last:
                    raise EngineUnavailable(
                        "Bộ máy đọc '{engine}' chưa được cài trên máy này.", engine=name
                    )
                warnings.append(f"{name} không dùng được: chưa cài thư viện.")
                continue
            if not last and time.monotonic() < self._down_until.get(name, 0):
                warnings.append(f"{name} vừa không kết nối được; thử bộ máy tiếp theo.")
                continue
            if not last and not (availability := eng.availability()).usable:
                warnings.append(f"{name} không dùng được: {availability.detail}")
                continue
            chosen = self._voice(name, eng, choice, bare, single, warnings)
            assert chosen is not None
            try:
                result = self._render_with(
                    eng, order.policy, spoken, request, chosen, speed, progress, choice
                )
            except EngineUnavailable as exc:
                if last:
                    raise
                self._down_until[name] = time.monotonic() + OFFLINE_AFTER_FAILURE_S
                following = order.engines[i + 1]
                then = f"đọc ngoại tuyến ({following})" if following in OFFLINE else following
                warnings.append(f"{name} không trả lời ({exc}); chuyển sang {then}.")
                log.warning("%s: %s unavailable (%s), next %s", order.policy, name, exc, following)
                continue
            return RenderResult(result.record, result.path, result.cached, tuple(warnings))
        raise AssertionError("the last engine answers or raises")  # pragma: no cover

    def _built(self, name: str) -> TtsEngine | None:
        """The engine, or None when its package is not installed here."""
        try:
            return self.engine(name)
        except ImportError as exc:
            log.warning("engine %s cannot be loaded: %s", name, exc)
            return None

    def _voice(self, name, eng, choice, bare, single, warnings: list[str]) -> str | None:
        """The voice ``eng`` reads with. A stored choice whose voice is gone (a piper voice
        removed) reads with the default and says so; a voice asked for now must exist."""
        try:
            return voice_for(name, eng, choice, bare, single)
        except InvalidInput:
            if choice is None or choice.engine != name or warnings is None:
                raise
            warnings.append(f"{name} không còn giọng '{choice.voice}'; đọc bằng giọng mặc định.")
            return eng.check_voice(None)

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
        choice: VoiceChoice | None = None,
    ) -> RenderResult:
        sha = self.key(spoken, request, eng, voice, speed, choice)
        if (hit := self.store.get(sha)) is not None:
            return RenderResult(hit, self.store.asset_path(sha), True)
        with self.store.lock(sha):
            # another worker, here or on another host, may have made it while we waited
            if (hit := self.store.get(sha, fresh=True)) is not None:
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
            pause = self.mastering.pauses_ms[piece.pause_after.value]
            if piece.pause_after.value == "sentence" and eng.sentence_pause_ms is not None:
                pause = eng.sentence_pause_ms
            parts.append((segment, pause))
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
        if (kept := self.store.read_piece(sha)) is not None:
            return _read_piece(kept)
        audio = eng.synthesise(text, voice, speed)
        self.store.write_piece(sha, _piece_suffix(audio), _piece_bytes(audio))
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


def _read_piece(piece: Piece) -> EngineAudio:
    if piece.suffix == "wav":
        with wave.open(BytesIO(piece.data), "rb") as w:
            return EngineAudio(data=w.readframes(w.getnframes()), pcm_rate=w.getframerate())
    return EngineAudio(data=piece.data, container=piece.suffix)


__all__ = ["AudioRenderer", "Mastering", "RenderRequest", "RenderResult", "local_store"]
