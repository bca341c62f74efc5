"""Each mastering step alone, on real speech, checked by independent tools."""

from __future__ import annotations

import numpy as np
import pytest
from mutagen.id3 import ID3

from broadcaster.audio import limiter, steps
from broadcaster.audio._ffmpeg import AudioError
from broadcaster.tts.base import EngineAudio
from tests.audio.probe import ffprobe, loudness


def _silence(ms: int, rate: int):
    return steps.segment_of(np.zeros(rate * ms // 1000, dtype="<i2"), rate)


def test_trim_removes_silence_at_both_ends_and_keeps_the_speech(speech):
    rate = speech.frame_rate
    padded = steps.join([(_silence(700, rate), 0), (speech, 900)], rate)
    trimmed = steps.trim_silence(padded, threshold_db=-45, keep_ms=30)
    alone = steps.trim_silence(speech, threshold_db=-45, keep_ms=30)
    # the speech survives whole (within a few 10 ms frames at its faint edges) ...
    assert len(alone) - 20 <= len(trimmed) <= len(speech) + 60
    # ... and the 1.6 s of padding is gone
    assert len(padded) - len(trimmed) >= 1550


def test_trim_of_pure_silence_is_empty(speech):
    assert len(steps.trim_silence(_silence(500, speech.frame_rate), -45)) == 0


def test_join_puts_exact_pauses_and_never_crossfades(speech):
    rate = speech.frame_rate
    a, b = speech[:1000], speech[1000:2500]
    joined = steps.join([(a, 400), (b, 0)], rate)
    samples = steps.samples_of(joined)
    n_a, n_pause = len(steps.samples_of(a)), rate * 400 // 1000
    assert len(samples) == n_a + n_pause + len(steps.samples_of(b))
    assert np.array_equal(samples[:n_a], steps.samples_of(a))
    assert not samples[n_a : n_a + n_pause].any()
    assert np.array_equal(samples[n_a + n_pause :], steps.samples_of(b))


def test_generated_chime_is_short_and_audible():
    chime = steps.generated_chime(22_050)
    assert 500 <= len(chime) <= 900
    assert np.abs(steps.samples_of(chime)).max() > 3000


def test_mp3_from_an_engine_is_decoded_to_the_working_rate(tmp_path, speech):
    from broadcaster.audio import _ffmpeg

    path = tmp_path / "piece.mp3"
    _ffmpeg.encode_plain_mp3(
        steps.samples_of(speech), speech.frame_rate, path, out_rate=24_000, bitrate_kbps=32
    )
    segment = steps.to_segment(EngineAudio(data=path.read_bytes(), container="mp3"), 22_050)
    assert segment.frame_rate == 22_050 and segment.channels == 1
    assert abs(len(segment) - len(speech)) < 150


def test_undecodable_engine_output_is_a_clear_error():
    with pytest.raises(AudioError, match="giải mã"):
        steps.to_segment(EngineAudio(data=b"<html>quota</html>", container="mp3"), 22_050)


def test_limiter_never_lets_an_oversampled_peak_over_the_ceiling(speech):
    samples = steps.samples_of(speech)
    result = limiter.limit(samples, speech.frame_rate, gain_db=12.0, ceiling=0.5)
    assert result.true_peak <= 0.5 + 1e-6
    assert 0.05 < result.energy_ratio < 1.0  # +12 dB into a -6 dB ceiling costs energy
    up = np.abs(np.asarray(result.samples, dtype=np.float64) / 32767)
    assert up.max() <= 0.5 + 1e-3


def test_limiter_leaves_quiet_audio_alone(speech):
    samples = steps.samples_of(speech)
    result = limiter.limit(samples, speech.frame_rate, gain_db=-20.0, ceiling=0.9)
    assert result.energy_ratio == pytest.approx(1.0, abs=1e-4)
    expected = np.round(samples * 10 ** (-20 / 20) * (32767 / 32768))
    assert np.abs(result.samples.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("target", [-16.0, -20.0])
def test_master_hits_loudness_and_true_peak_measured_independently(tmp_path, speech, target):
    out = tmp_path / "out.mp3"
    mastered = steps.master(
        speech, out, out_rate=44_100, target_lufs=target, true_peak_db=-1.0, bitrate_kbps=64
    )
    probe = ffprobe(out)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("mp3", 44_100, 1)
    assert probe.duration_s == pytest.approx(len(speech) / 1000, abs=0.1)
    assert 60_000 <= probe.bit_rate <= 68_000
    lufs, true_peak = loudness(out)
    assert abs(lufs - target) <= 1.0
    assert true_peak <= -1.0
    assert abs(mastered.loudness.integrated_lufs - lufs) <= 1.0


def test_silence_is_refused(tmp_path):
    with pytest.raises(AudioError, match="im lặng"):
        steps.master(
            _silence(2000, 22_050),
            tmp_path / "x.mp3",
            out_rate=44_100,
            target_lufs=-16,
            true_peak_db=-1,
            bitrate_kbps=64,
        )


def test_tags_are_utf8_vietnamese(tmp_path, speech):
    out = tmp_path / "t.mp3"
    steps.master(speech, out, out_rate=44_100, target_lufs=-16, true_peak_db=-1, bitrate_kbps=64)
    steps.tag(out, steps.Tags("Dịch vụ công trực tuyến", "Tuyên truyền CCHC", "Đài xã Cẩm Xuyên"))
    id3 = ID3(out)
    assert str(id3["TIT2"]) == "Dịch vụ công trực tuyến"
    assert str(id3["TALB"]) == "Tuyên truyền CCHC"
    assert str(id3["TPE1"]) == "Đài xã Cẩm Xuyên"
    assert ffprobe(out).tags["title"] == "Dịch vụ công trực tuyến"
