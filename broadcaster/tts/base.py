"""The text-to-speech engine interface (one small base class, one module per engine).

An engine turns one short piece of already-normalised Vietnamese text into
audio. Splitting text into pieces, caching, joining and mastering are the
pipeline's job (:mod:`broadcaster.audio`), so an engine stays small: it says
whether it can run here, which voices it has, and synthesises a piece.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from broadcaster.errors import BroadcasterError, InvalidInput


class TtsError(BroadcasterError):
    """Synthesis failed for this piece (bad answer, no audio, engine crash)."""


class EngineUnavailable(TtsError):
    """The engine cannot be reached or run at all right now (no network, no library).

    ``auto`` falls back to the next engine on this error, never on bad input.
    """


@dataclass(frozen=True)
class Voice:
    id: str  # what --voice takes, e.g. "vi", "vi-vn-x-south"
    description: str  # for people, e.g. "giọng miền Bắc (mặc định)"


@dataclass(frozen=True)
class Availability:
    usable: bool
    detail: str  # why not, or what will be used (library path, service URL)


@dataclass(frozen=True)
class EngineAudio:
    """Audio of one piece as the engine produced it.

    Either raw signed 16-bit little-endian mono PCM (``pcm_rate`` set) or the
    bytes of an encoded file (``container`` such as ``"mp3"``) that ffmpeg decodes.
    """

    data: bytes
    pcm_rate: int | None = None
    container: str | None = None

    def __post_init__(self) -> None:
        if (self.pcm_rate is None) == (self.container is None):
            raise ValueError("EngineAudio needs exactly one of pcm_rate or container")


MIN_SPEED, MAX_SPEED = 0.5, 2.0


def check_piece(text: str, speed: float) -> None:
    """What every engine refuses before speaking: nothing to read, or a speed out of range."""
    if not text or not text.strip():
        raise InvalidInput("Văn bản cần đọc đang trống.")
    if not (isinstance(speed, int | float) and MIN_SPEED <= speed <= MAX_SPEED):
        raise InvalidInput(
            "Tốc độ đọc {speed!r} không hợp lệ: phải từ {low:g} đến {high:g} (1 là bình thường).",
            field="speed",
            speed=speed,
            low=MIN_SPEED,
            high=MAX_SPEED,
        )


class TtsEngine(ABC):
    """A speech synthesiser for Vietnamese.

    Must implement: :meth:`availability`, :meth:`voices`, :meth:`synthesise`.
    ``max_chars`` is the longest piece the engine takes (the pipeline splits at
    phrase boundaries to stay under it); ``None`` means no limit.
    ``cache_pieces`` asks the pipeline to keep each piece's audio, so a long
    text interrupted half-way resumes where it stopped.
    """

    name: ClassVar[str]
    default_voice: ClassVar[str]
    max_chars: ClassVar[int | None] = None
    # Keep each piece's audio (worth it when a piece costs a network round trip).
    cache_pieces: ClassVar[bool] = False
    # The silence between two sentences, when the engine is configured with its own
    # (piper's BROADCASTER_PIPER_SENTENCE_PAUSE); None: the mastering's. Part of describe().
    sentence_pause_ms: int | None = None

    @abstractmethod
    def availability(self) -> Availability:
        """Can this engine run here now? Cheap: no synthesis, no network round trip."""

    def reachable(self) -> Availability:
        """Can it speak right now? An online engine asks its server (a few seconds at
        most); an offline one is as available as it is installed."""
        return self.availability()

    @abstractmethod
    def voices(self) -> list[Voice]:
        """The voices this engine offers for Vietnamese."""

    @abstractmethod
    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        """Speak one piece of text (already normalised, at most ``max_chars``).

        ``speed`` is a factor (1.0 normal). Raises :class:`EngineUnavailable`
        when the engine cannot run or cannot be reached, :class:`TtsError` when
        this piece failed, :class:`InvalidInput` for an unknown voice.
        """

    def check_voice(self, voice: str | None) -> str:
        """The voice to use, or a clear error naming the voices there are."""
        if voice is None:
            return self.default_voice
        known = [v.id for v in self.voices()]
        if voice not in known:
            raise InvalidInput(
                "Giọng '{voice}' không có trong bộ máy '{engine}'. Các giọng: {voices}.",
                field="voice",
                voice=voice,
                engine=self.name,
                voices=", ".join(known),
            )
        return voice

    def describe(self, voice: str, speed: float) -> str:
        """What identifies this engine's output, for the cache key."""
        return f"{self.name}:{voice}:{speed:g}"
