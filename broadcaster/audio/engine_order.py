"""Which engines read an announcement, in which order, and with which voice.

The order (thứ tự bộ máy đọc) comes from ``BROADCASTER_TTS_ENGINES``
(``fptai,gtts,piper,espeak``); without it from ``BROADCASTER_TTS_ENGINE``, where
``auto`` is the shorthand for ``gtts,espeak`` — or ``gtts,piper,espeak`` once a
piper voice is installed — and a single name is that engine alone. The renderer
tries the engines in order and falls through to the next on
:class:`~broadcaster.tts.base.EngineUnavailable`; the last one's error is the
answer.

A voice choice (lựa chọn giọng) is ``engine:voice`` (``fptai:linhsan``,
``piper:vi_VN-vais1000-medium``), made for a campaign or a station: when that
engine's turn comes it reads with that voice, the others with their own
defaults. A station's choice wins over its campaign's — the station is where the
listeners are, and a southern commune should hear a southern voice whatever
campaign it airs. A bare voice (``--voice vi-vn-x-south``, ``BROADCASTER_TTS_VOICE``)
is used by the engines of the order that have it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts import AUTO_ORDER, ENGINES, build_engine, check_engine_name
from broadcaster.tts.base import TtsEngine

PIPER_AUTO_ORDER = ("gtts", "piper", "espeak")
OFFLINE = ("piper", "espeak")  # engines that need no network
MAX_CHOICE_CHARS = 100  # campaigns.voice, stations.voice
# what people call each engine (the Listen answer, the voice list)
ENGINE_LABELS = {"fptai": "FPT.AI", "gtts": "gTTS", "piper": "piper", "espeak": "espeak-ng"}


@dataclass(frozen=True)
class VoiceChoice:
    """A voice chosen for one engine of the order."""

    engine: str
    voice: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.voice}"


def parse_choice(raw: str | None) -> VoiceChoice | None:
    """``engine:voice`` as typed, or None for none ("Mặc định"). Only the form is checked
    here; :func:`check_choice` also asks the engine whether it has the voice."""
    text = (raw or "").strip()
    if not text:
        return None
    engine, sep, voice = text.partition(":")
    engine, voice = engine.strip().lower(), voice.strip()
    if not sep or engine not in ENGINES or not voice or len(text) > MAX_CHOICE_CHARS:
        raise InvalidInput(
            "Giọng '{choice}' không đúng dạng bộ-máy:giọng (vd. fptai:banmai, "
            "piper:vi_VN-vais1000-medium); bộ máy là một trong: {engines}.",
            field="voice",
            choice=text[:MAX_CHOICE_CHARS],
            engines=", ".join(ENGINES),
        )
    return VoiceChoice(engine, voice)


@dataclass(frozen=True)
class Order:
    """The engines to try, and the name the asset records as requested ("auto", the list)."""

    policy: str
    engines: tuple[str, ...]


def auto_order(piper_ready: Callable[[], bool]) -> tuple[str, ...]:
    return PIPER_AUTO_ORDER if piper_ready() else AUTO_ORDER


def resolve_order(
    settings: AudioSettings, engine: str | None, piper_ready: Callable[[], bool]
) -> Order:
    """The order for ``engine`` (None: the configured one). ``engine`` may be ``auto``,
    one engine's name, or a comma-separated order."""
    if engine is None:
        if settings.engines:
            return Order(",".join(settings.engines), tuple(settings.engines))
        engine = settings.engine
    engine = engine.strip().lower()
    if engine == "auto":
        return Order("auto", auto_order(piper_ready))
    names = tuple(n.strip() for n in engine.split(",") if n.strip())
    for name in names:
        check_engine_name(name)
    if not names or len(set(names)) != len(names):
        raise InvalidInput(
            "Thứ tự bộ máy đọc '{order}' trống hoặc có bộ máy lặp lại.",
            field="engine",
            order=engine,
        )
    return Order(",".join(names), names)


def piper_ready_with(build: Callable[[str], TtsEngine]) -> Callable[[], bool]:
    """Is a piper voice installed here? (False when the piper package is missing.)"""

    def ready() -> bool:
        try:
            return build("piper").availability().usable
        except ImportError:
            return False

    return ready


def voice_for(
    name: str, engine: TtsEngine, choice: VoiceChoice | None, bare: str | None, single: bool
) -> str:
    """The voice ``engine`` reads with: the choice when it is for this engine, a bare voice
    when the engine has it (always for a single engine: an unknown voice is an error),
    otherwise the engine's default."""
    if choice is not None and choice.engine == name:
        return engine.check_voice(choice.voice)
    if bare is not None and (single or bare in {v.id for v in engine.voices()}):
        return engine.check_voice(bare)
    return engine.check_voice(None)


def check_bare(order: Order, build: Callable[[str], TtsEngine | None], bare: str | None) -> None:
    """A bare voice that no engine of a longer order has is a mistake, said now."""
    if bare is None or len(order.engines) < 2:
        return
    known: list[str] = []
    for name in order.engines:
        engine = build(name)
        if engine is not None:
            known.extend(v.id for v in engine.voices())
    if bare not in known:
        raise InvalidInput(
            "Giọng '{voice}' không có trong bộ máy nào của thứ tự {order}. Các giọng: {voices}.",
            field="voice",
            voice=bare,
            order=order.policy,
            voices=", ".join(known),
        )


@dataclass(frozen=True)
class VoiceGroup:
    """One engine's voices for a voice select: ``(value, description)`` pairs."""

    engine: str
    label: str
    voices: tuple[tuple[str, str], ...]


def voice_groups(settings: AudioSettings) -> list[VoiceGroup]:
    """The voices of the configured engines, grouped by engine in the order's order (an
    engine whose package is missing offers none)."""
    built: dict[str, TtsEngine] = {}

    def build(name: str) -> TtsEngine:
        if name not in built:
            built[name] = build_engine(name, settings)
        return built[name]

    groups = []
    for name in resolve_order(settings, None, piper_ready_with(build)).engines:
        try:
            voices = build(name).voices()
        except (ImportError, OSError):
            continue
        pairs = tuple((f"{name}:{v.id}", v.description) for v in voices)
        if pairs:
            groups.append(VoiceGroup(name, ENGINE_LABELS.get(name, name), pairs))
    return groups


def check_choice(settings: AudioSettings, raw: str | None) -> str | None:
    """A voice choice to store: ``engine:voice`` of an engine of the configured order
    that has that voice, or None (the engines' defaults)."""
    choice = parse_choice(raw)
    if choice is None:
        return None
    groups = voice_groups(settings)
    if all(g.engine != choice.engine for g in groups):
        raise InvalidInput(
            "Bộ máy '{engine}' không có trong thứ tự đọc đã cấu hình ({order}) hoặc "
            "chưa có giọng nào; chọn giọng của: {engines}.",
            field="voice",
            engine=choice.engine,
            order=resolve_order(settings, None, lambda: False).policy,
            engines=", ".join(g.engine for g in groups) or "-",
        )
    group = next(g for g in groups if g.engine == choice.engine)
    if str(choice) not in {value for value, _ in group.voices}:
        raise InvalidInput(
            "Giọng '{voice}' không có trong bộ máy '{engine}'. Các giọng: {voices}.",
            field="voice",
            voice=choice.voice,
            engine=choice.engine,
            voices=", ".join(value.partition(":")[2] for value, _ in group.voices),
        )
    return str(choice)


def speaker(engine: TtsEngine | None, name: str, voice: str) -> str:
    """Who spoke, for people: "FPT.AI — Ban Mai (nữ miền Bắc)", "piper — <voice>",
    "gTTS", "espeak-ng" (with its voice when not the default one)."""
    label = ENGINE_LABELS.get(name, name)
    if name == "gtts" or (name == "espeak" and (engine is None or voice == engine.default_voice)):
        return label  # gTTS has one voice; espeak-ng's default needs no name
    if name == "piper":  # a piper voice's name says it (vi_VN-vais1000-medium)
        return f"{label} — {voice}"
    description = voice
    if engine is not None:
        with contextlib.suppress(ImportError, OSError):
            description = next((v.description for v in engine.voices() if v.id == voice), voice)
    return f"{label} — {description}" if description else label


__all__ = [
    "ENGINE_LABELS",
    "OFFLINE",
    "Order",
    "VoiceChoice",
    "VoiceGroup",
    "auto_order",
    "check_bare",
    "check_choice",
    "parse_choice",
    "resolve_order",
    "speaker",
    "voice_for",
    "voice_groups",
]
