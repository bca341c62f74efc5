"""Local neural voices with piper (piper-tts, ONNX on the CPU): natural and offline.

The ``piper-tts`` package is an optional extra (GPL-3.0, kept out of the MIT core:
``pip install 'broadcaster[piper]'``), so it is imported only when a voice speaks.
Voices are the ones installed in the voices folder (:mod:`broadcaster.tts.piper_voices`);
the setting ``BROADCASTER_PIPER_VOICE`` picks one by name, or names a model file
(``…/vi_VN-vais1000-medium.onnx`` with its ``.onnx.json`` beside it) used in place.

Text arrives normalised by our normaliser (numbers, abbreviations, dates spelled out);
piper then turns it into phonemes with the espeak-ng voice its configuration names
(``espeak.voice``, ``"vi"`` for the Vietnamese voices) and the model speaks them.

A model is loaded once per process and kept (keyed by its file, size and modification
time, so a replaced file is loaded again); onnxruntime sessions may be run from several
threads at once. Each voice's identity in the cache key is the sha256 of its two files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from broadcaster.errors import InvalidInput, Words
from broadcaster.tts import piper_voices
from broadcaster.tts.base import (
    Availability,
    EngineAudio,
    EngineUnavailable,
    TtsEngine,
    TtsError,
    Voice,
    check_piece,
)

_LOCK = threading.Lock()
_LOADED: dict[tuple[str, int, int], object] = {}  # (model path, size, mtime) -> PiperVoice
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (file, size, mtime) -> sha256


@dataclass(frozen=True)
class _VoiceFiles:
    id: str
    model: Path
    config: Path
    description: str
    vietnamese: bool


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _digest(path: Path) -> str:
    """sha256 of a file, computed once per version of it."""
    key = _stat_key(path)
    with _LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    with _LOCK:
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_TRIM = _malloc_trim()


def _give_memory_back() -> None:
    """Return the freed buffers of the last run to the system. onnxruntime's threads
    allocate from glibc's per-thread heaps, which keep what was freed, so without this the
    resident size creeps up piece after piece (measured: 220 MB to 630 MB over 38 pieces)."""
    if _TRIM is not None:
        _TRIM(0)


def _import_piper():
    try:
        import piper
    except ImportError as exc:
        raise EngineUnavailable(
            "Chưa cài gói piper-tts để đọc bằng giọng piper: {hint}.",
            hint=Words(piper_voices.INSTALL_HINT),
        ) from exc
    return piper


def _open_voice(piper, files: _VoiceFiles):
    """``PiperVoice.load`` with one change: onnxruntime's memory arena is off.

    The arena keeps the largest block a run ever needed and never gives it back, so the
    peak of the longest piece (about 30 MB per second of speech for a medium voice)
    would stay for the life of the process and add to the mastering's own peak."""
    import onnxruntime

    config = piper.PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    session = onnxruntime.InferenceSession(
        str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return piper.PiperVoice(session=session, config=config)


def _load(files: _VoiceFiles):
    """The loaded PiperVoice of these files, loaded once per process."""
    piper = _import_piper()
    for path in (files.model, files.config):
        if not path.is_file():
            raise EngineUnavailable(
                "Thiếu tệp {path} của giọng piper '{voice}'. Cài lại giọng: "
                "broadcaster tts voices add TỆP.onnx",
                path=str(path),
                voice=files.id,
            )
    key = _stat_key(files.model)
    with _LOCK:  # held while loading: two threads never load the same model twice
        voice = _LOADED.get(key)
        if voice is None:
            try:
                voice = _open_voice(piper, files)
            except Exception as exc:  # a file damaged after it was installed
                raise EngineUnavailable(
                    "Không nạp được giọng piper '{voice}' ({path}): {error}",
                    voice=files.id,
                    path=str(files.model),
                    error=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
                ) from exc
            _LOADED[key] = voice
    return voice


class PiperEngine(TtsEngine):
    """piper: natural neural voices, offline, on the CPU."""

    name = "piper"
    # A piece is spoken in one run of the model, whose memory grows with the length of
    # the speech: about 40 MB a second for a medium voice, on top of some 220 MB for the
    # loaded model and the pipeline (measured on a 10-minute bulletin). 80 characters of
    # normalised Vietnamese are about 5 seconds, so the peak stays under 500 MB however
    # long the bulletin; a long sentence is cut at its commas (at 100 characters the
    # peak measured 490-550 MB). A failure costs one piece.
    max_chars = 80

    def __init__(
        self,
        *,
        voices_dir: Path | None = None,
        voice: str | None = None,
        sentence_pause: float = 0.3,
    ) -> None:
        self.voices_dir = Path(voices_dir) if voices_dir is not None else None
        self.voice = voice
        self.sentence_pause = sentence_pause
        # the pipeline cuts at every sentence, so the pause between them is set there
        self.sentence_pause_ms = round(sentence_pause * 1000)

    # -- the voices ---------------------------------------------------------------

    def _voice_files(self) -> list[_VoiceFiles]:
        found = []
        if self.voice is not None and self.voice.endswith(".onnx"):
            model = Path(self.voice)  # a model given by path, used where it lies
            found.append(
                _VoiceFiles(
                    id=model.name.removesuffix(".onnx"),
                    model=model,
                    config=model.with_name(model.name + ".json"),
                    description=f"tệp {model}",
                    vietnamese=model.name.lower().startswith("vi"),
                )
            )
        for v in piper_voices.list_voices(self.voices_dir):
            assert self.voices_dir is not None
            quality = f", chất lượng {v.quality}" if v.quality else ""
            found.append(
                _VoiceFiles(
                    id=v.name,
                    model=v.model_path(self.voices_dir),
                    config=v.config_path(self.voices_dir),
                    description=f"{v.language}, {v.sample_rate} Hz{quality}",
                    vietnamese=v.is_vietnamese,
                )
            )
        return found

    @property
    def default_voice(self) -> str:  # type: ignore[override]
        files = self._voice_files()
        if self.voice is not None:
            return files[0].id if self.voice.endswith(".onnx") else self.voice
        for f in files:
            if f.vietnamese:
                return f.id
        return files[0].id if files else ""

    def voices(self) -> list[Voice]:
        return [Voice(f.id, f.description) for f in self._voice_files()]

    def _files(self, voice: str) -> _VoiceFiles:
        for f in self._voice_files():
            if f.id == voice:
                return f
        self.check_voice(voice)  # raises, naming the voices there are
        raise AssertionError("check_voice accepted an unknown voice")  # pragma: no cover

    def check_voice(self, voice: str | None) -> str:
        if not self._voice_files():
            raise EngineUnavailable(self._no_voice())
        return super().check_voice(voice)

    def _no_voice(self) -> str:
        if self.voices_dir is None:
            return (
                "Chưa có giọng piper nào: chưa đặt thư mục giọng "
                "(BROADCASTER_PIPER_VOICES_DIR) hay tệp giọng (BROADCASTER_PIPER_VOICE)."
            )
        return (
            f"Chưa cài giọng piper nào trong {self.voices_dir}. Cài một giọng: "
            "broadcaster tts voices add TỆP.onnx (kèm tệp TỆP.onnx.json)."
        )

    # -- the engine ---------------------------------------------------------------

    def availability(self) -> Availability:
        # the voices first: asked on every render under "auto", a folder without a voice
        # must not cost the import of piper and onnxruntime
        try:
            files = self._voice_files()
        except InvalidInput as exc:  # an unreadable manifest
            return Availability(usable=False, detail=str(exc))
        if not files:
            return Availability(usable=False, detail=self._no_voice())
        try:
            piper = _import_piper()
        except EngineUnavailable as exc:
            return Availability(usable=False, detail=str(exc))
        voice = self.default_voice
        chosen = next((f for f in files if f.id == voice), None)
        if chosen is None:
            return Availability(
                usable=False,
                detail=f"Giọng piper '{voice}' (BROADCASTER_PIPER_VOICE) chưa được cài; "
                f"các giọng: {', '.join(f.id for f in files)}.",
            )
        missing = [str(p) for p in (chosen.model, chosen.config) if not p.is_file()]
        if missing:
            return Availability(
                usable=False, detail=f"Thiếu tệp của giọng piper '{voice}': {', '.join(missing)}."
            )
        version = getattr(piper, "__version__", None) or _package_version()
        return Availability(
            usable=True,
            detail=f"piper-tts {version}, giọng {voice} ({chosen.description}), "
            f"{len(files)} giọng đã cài",
        )

    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        voice = self.check_voice(voice)
        check_piece(text, speed)
        piper = _import_piper()
        loaded = _load(self._files(voice))
        # the voice's own tempo (its config's length_scale) scaled: faster is shorter
        options = piper.SynthesisConfig(length_scale=loaded.config.length_scale / speed)
        rate = loaded.config.sample_rate
        gap = b"\x00\x00" * round(self.sentence_pause * rate)
        try:
            # one chunk per sentence piper finds in the piece
            sentences = [
                c.audio_int16_array.astype("<i2").tobytes()
                for c in loaded.synthesize(text, options)
            ]
        except Exception as exc:  # espeak-ng or onnxruntime failing on this piece
            raise TtsError(
                "piper không đọc được đoạn {text!r}: {error}",
                text=text[:60],
                error=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
            ) from exc
        finally:
            _give_memory_back()
        data = gap.join(s for s in sentences if s)
        if not data:
            raise TtsError("piper không tạo ra âm thanh cho đoạn: {text!r}.", text=text[:60])
        return EngineAudio(data=data, pcm_rate=rate)

    def describe(self, voice: str, speed: float) -> str:
        """Engine, voice, speed, pause and the voice files' sha256: replacing a voice's
        files (or editing its configuration) changes every cache key made with it."""
        identity = "?"
        try:
            files = self._files(voice)
            model, config = _digest(files.model), _digest(files.config)
            identity = f"{model[:16]}+{config[:8]}"
        except (OSError, InvalidInput, EngineUnavailable):
            pass  # synthesise will say what is wrong; the key needs no more
        return f"{self.name}:{voice}:{speed:g}:pause={self.sentence_pause:g}:model={identity}"


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("piper-tts")
    except PackageNotFoundError:
        return "?"


__all__ = ["PiperEngine"]
