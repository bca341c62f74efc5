"""Text-to-speech engines, chosen by name from configuration.

Each engine is one module implementing :class:`broadcaster.tts.base.TtsEngine`;
this is the one place that knows them all and how to build each from settings.
Adding an engine (piper voices, a commercial Vietnamese API) means one module
and one line here.
"""

from __future__ import annotations

import importlib

from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts.base import Availability, EngineUnavailable, TtsEngine, TtsError, Voice

# name -> "module:Class"; "auto" is not an engine but a policy (see broadcaster.audio).
ENGINES = {
    "gtts": "broadcaster.tts.gtts_engine:GttsEngine",
    "espeak": "broadcaster.tts.espeak:EspeakEngine",
    "piper": "broadcaster.tts.piper_engine:PiperEngine",
    "fptai": "broadcaster.tts.fptai:FptAiEngine",
}
AUTO_ORDER = ("gtts", "espeak")

__all__ = [
    "AUTO_ORDER",
    "ENGINES",
    "Availability",
    "EngineUnavailable",
    "TtsEngine",
    "TtsError",
    "Voice",
    "build_engine",
    "check_engine_name",
]


def _options(name: str, settings: AudioSettings) -> dict:
    if name == "gtts":
        return {
            "tld": settings.gtts_tld,
            "timeout": settings.gtts_timeout,
            "base_url": settings.gtts_url,
        }
    if name == "piper":
        return {
            "voices_dir": settings.piper_voices_dir,
            "voice": settings.piper_voice,
            "sentence_pause": settings.piper_sentence_pause,
        }
    if name == "fptai":
        return {
            "api_key": settings.fptai_api_key,
            "url": settings.fptai_url,
            "voice": settings.fptai_voice,
            "timeout": settings.fptai_timeout,
        }
    return {}


def check_engine_name(name: str) -> None:
    """Refuse a name that is no engine, naming the ones there are."""
    if name not in ENGINES:
        raise InvalidInput(
            "Không có bộ máy đọc '{name}'. Chọn một trong: auto, {engines}.",
            field="engine",
            name=name,
            engines=", ".join(ENGINES),
        )


def build_engine(name: str, settings: AudioSettings | None = None) -> TtsEngine:
    """The engine called ``name``, configured from ``settings``."""
    check_engine_name(name)
    module_name, class_name = ENGINES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**_options(name, settings or AudioSettings()))
