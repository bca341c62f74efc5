"""The eSpeak NG engine, on the real libespeak-ng shipped by espeakng-loader (no mocks)."""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
import sys
import threading
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import espeakng_loader
import imageio_ffmpeg
import numpy as np
import pytest

from broadcaster.errors import InvalidInput
from broadcaster.tts.base import EngineAudio, EngineUnavailable
from broadcaster.tts.espeak import EspeakEngine

SENTENCE = "Kính thưa toàn thể nhân dân xã Cẩm Xuyên."
VOICES = ["vi", "vi-vn-x-central", "vi-vn-x-south"]
RATE = 22050


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    return EspeakEngine()


def seconds(audio: EngineAudio) -> float:
    assert audio.pcm_rate is not None
    return len(audio.data) / 2 / audio.pcm_rate


def samples(audio: EngineAudio) -> np.ndarray:
    return np.frombuffer(audio.data, dtype="<i2").astype(np.float64)


def envelope(audio: EngineAudio) -> np.ndarray:
    """RMS per 50 ms frame: the shape of the speech, blind to sample-level noise."""
    x = samples(audio)
    frame = RATE // 20
    n = len(x) // frame
    return np.sqrt((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1))


def test_availability_names_the_library(engine):
    availability = engine.availability()
    assert availability.usable, availability.detail
    assert espeakng_loader.get_library_path() in availability.detail
    assert "22050 Hz" in availability.detail


def test_voices_are_the_three_vietnamese_regions(engine):
    assert [v.id for v in engine.voices()] == VOICES
    assert engine.default_voice == "vi"
    assert engine.max_chars is None


@pytest.mark.parametrize("voice", VOICES)
def test_each_voice_speaks_a_sentence(engine, voice):
    audio = engine.synthesise(SENTENCE, voice, 1.0)
    assert audio.pcm_rate == RATE
    assert audio.container is None
    assert len(audio.data) % 2 == 0
    assert 1.0 < seconds(audio) < 10.0


@pytest.mark.parametrize("voice", VOICES)
def test_audio_is_not_silence(engine, voice):
    x = samples(engine.synthesise(SENTENCE, voice, 1.0))
    assert np.sqrt(np.mean(x**2)) > 1000  # about -30 dBFS; speech here measures ~4000


def test_faster_speed_gives_shorter_audio(engine):
    fast = seconds(engine.synthesise(SENTENCE, "vi", 1.5))
    slow = seconds(engine.synthesise(SENTENCE, "vi", 0.75))
    assert fast < 0.75 * slow


def test_speed_limits_are_accepted(engine):
    assert seconds(engine.synthesise(SENTENCE, "vi", 0.5)) > seconds(
        engine.synthesise(SENTENCE, "vi", 2.0)
    )


def test_unknown_voice_lists_the_voices(engine):
    with pytest.raises(InvalidInput, match="vi-vn-x-south"):
        engine.synthesise(SENTENCE, "en", 1.0)


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_refused(engine, text):
    with pytest.raises(InvalidInput, match="trống"):
        engine.synthesise(text, "vi", 1.0)


def test_nul_in_text_is_refused(engine):
    with pytest.raises(InvalidInput, match="NUL"):
        engine.synthesise("Xin chào\x00bà con", "vi", 1.0)


@pytest.mark.parametrize("speed", [0.49, 2.01, 0.0, -1.0, float("nan"), float("inf")])
def test_speed_out_of_range_is_refused(engine, speed):
    with pytest.raises(InvalidInput, match=r"từ 0.5 đến 2"):
        engine.synthesise(SENTENCE, "vi", speed)


def test_threads_get_their_own_audio(engine):
    # Different lengths, so a mix-up between threads would show.
    texts = [
        "Xin chào bà con.",
        SENTENCE,
        "Sáng mai, thứ bảy, sẽ cắt điện từ bảy giờ đến mười một giờ trên toàn xã.",
        "Đề nghị các hộ gia đình chủ động phòng chống bão số ba, chằng chống nhà cửa, "
        "thu hoạch lúa sớm và không ra khơi khi có lệnh cấm biển.",
    ]
    serial = [engine.synthesise(text, "vi", 1.0) for text in texts]
    start = threading.Barrier(len(texts))

    def speak(text: str) -> list[EngineAudio]:
        start.wait()
        return [engine.synthesise(text, "vi", 1.0) for _ in range(3)]

    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        results = list(pool.map(speak, texts))

    for expected, runs in zip(serial, results, strict=True):
        for got in runs:
            # Not byte-identical even serially: pitch flutter, gain control and noise
            # state carry over between calls. Length stays within a few ms, and the
            # loudness envelope matches.
            assert abs(len(got.data) - len(expected.data)) / 2 < 0.05 * RATE
            a, b = envelope(expected), envelope(got)
            n = min(len(a), len(b))
            assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.95


def test_a_thousand_words_in_one_call(engine):
    # speed is measured by bench/tts.py, not asserted here
    text = " ".join([SENTENCE] * 112)  # 9 words each
    assert len(text.split()) >= 1000
    audio = engine.synthesise(text, "vi-vn-x-south", 1.0)
    assert seconds(audio) > 120


def test_pcm_makes_a_valid_wav(engine, tmp_path):
    audio = engine.synthesise(SENTENCE, "vi", 1.0)
    path = tmp_path / "sentence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.pcm_rate)
        out.writeframes(audio.data)
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_wrong_library_path_is_unavailable(tmp_path):
    missing = str(tmp_path / "libespeak-ng.so")
    broken = EspeakEngine(library=missing)
    availability = broken.availability()
    assert not availability.usable
    assert missing in availability.detail
    assert "Không nạp được" in availability.detail
    with pytest.raises(EngineUnavailable, match="libespeak-ng"):
        broken.synthesise(SENTENCE, "vi", 1.0)


def test_data_folder_without_phontab_is_unavailable(tmp_path):
    library = espeakng_loader.get_library_path()
    availability = EspeakEngine(library=library, data_path=str(tmp_path)).availability()
    assert not availability.usable
    assert "phontab" in availability.detail


def test_data_without_vietnamese_is_unavailable(tmp_path):
    # A fresh copy of the library has its own global state, so it can take other data.
    library = tmp_path / "libespeak-ng.so"
    shutil.copy(espeakng_loader.get_library_path(), library)
    data = tmp_path / "espeak-ng-data"
    data.mkdir()
    real = Path(espeakng_loader.get_data_path())
    for entry in real.iterdir():
        if entry.name not in ("lang", "vi_dict"):
            (data / entry.name).symlink_to(entry)
    shutil.copytree(real / "lang", data / "lang", ignore=shutil.ignore_patterns("vi*"))

    availability = EspeakEngine(library=str(library), data_path=str(data)).availability()
    assert not availability.usable
    assert "thiếu giọng tiếng Việt" in availability.detail
    assert "vi-VN-x-south" in availability.detail


def test_library_keeps_the_data_it_started_with(engine, tmp_path):
    assert engine.availability().usable  # initialises the shared library first
    data = tmp_path / "espeak-ng-data"
    data.mkdir()
    (data / "phontab").write_bytes(b"")
    other = EspeakEngine(library=espeakng_loader.get_library_path(), data_path=str(data))
    availability = other.availability()
    assert not availability.usable
    assert "đã được khởi tạo" in availability.detail


def test_without_espeakng_loader_falls_back_to_the_system():
    """In a process of its own: a system libespeak-ng (Debian's, pulled in by VLC or
    liquidsoap) loaded here would share its global state with the wheel's library
    under the same soname, and every later test's voice would be looked up in the
    system's data."""
    probe = (
        "import sys; sys.modules['espeakng_loader'] = None\n"  # makes the import fail
        "from broadcaster.tts.espeak import EspeakEngine\n"
        "a = EspeakEngine().availability(); print(a.usable); print(a.detail)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    usable, detail = run.stdout.split("\n", 1)
    if ctypes.util.find_library("espeak-ng") is None:
        assert usable == "False"
        assert "espeakng-loader" in detail and "find_library" in detail
    else:
        assert espeakng_loader.get_library_path() not in detail
