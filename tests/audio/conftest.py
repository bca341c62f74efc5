"""Audio fixtures: real speech from the offline engine, made once per session."""

from __future__ import annotations

import pytest

from broadcaster.audio import steps
from broadcaster.tts.espeak import EspeakEngine

SENTENCE = "Kính thưa toàn thể nhân dân xã Cẩm Xuyên, bà con hãy nộp hồ sơ trực tuyến."


@pytest.fixture(scope="session")
def espeak() -> EspeakEngine:
    engine = EspeakEngine()
    assert engine.availability().usable, engine.availability().detail
    return engine


@pytest.fixture(scope="session")
def speech(espeak):
    """About twenty seconds of real Vietnamese speech as a working-format segment."""
    audio = espeak.synthesise(" ".join([SENTENCE] * 4), "vi", 1.0)
    return steps.to_segment(audio, audio.pcm_rate)
