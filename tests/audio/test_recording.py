"""The core of recordings: every phone format mastered to broadcast MP3, warnings said,
bad files refused with a clear message.

Files are made by ffmpeg from real speech (the offline voice); what comes out is
checked by independent tools (ffprobe from another wheel, pyloudnorm).
"""

from __future__ import annotations

import pytest

from broadcaster.audio import recording
from broadcaster.audio.recording import Limits, Measured
from broadcaster.errors import InvalidInput
from tests import recordings as R
from tests.audio.probe import ffprobe, loudness


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return R.speech_wav(tmp_path_factory.mktemp("speech"))


def _master(path, tmp_path, analysis=None):
    analysis = analysis or recording.analyse(path, filename=path.name)
    out = tmp_path / "out.mp3"
    done = recording.master(
        path,
        Measured.from_info(analysis.info()),
        out,
        target_lufs=-16.0,
        true_peak_db=-1.0,
        sample_rate=44_100,
        bitrate_kbps=64,
    )
    return analysis, done, out


@pytest.mark.parametrize("fmt", list(R.FORMATS))
def test_every_phone_format_is_mastered_to_broadcast_mp3(fmt, speech, tmp_path):
    source = R.encode(speech, tmp_path / "ghi-am", fmt)
    analysis, _done, out = _master(source, tmp_path)
    # 1.5 s of silence before and 2 s after the speech: trimmed, a little room tone kept
    speech_s = ffprobe(speech).duration_s
    assert 1.0 < analysis.start_s < 1.5
    assert analysis.duration_s - analysis.end_s > 1.0
    probe = ffprobe(out)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("mp3", 44_100, 1)
    assert speech_s < probe.duration_s < speech_s + 1.2
    lufs, peak = loudness(out)
    assert abs(lufs + 16) <= 1.0, lufs
    assert peak <= -1.0, peak
    low_rate = analysis.probe.sample_rate < 16_000
    assert [w.code for w in analysis.warnings] == (["low_sample_rate"] if low_rate else [])


def test_the_mastering_streams_the_file_and_keeps_it_out_of_python(speech, tmp_path):
    """An hour is not needed to show it: the measured values alone reach the encoder."""
    source = R.encode(speech, tmp_path / "ghi-am", "wav")
    analysis = recording.analyse(source)
    info = analysis.info()
    assert set(info) >= {"duration_s", "sample_rate", "channels", "codec", "size_bytes", "trim"}
    assert info["size_bytes"] == source.stat().st_size
    # mastering needs only what was stored: no second measurement
    _, done, _out = _master(source, tmp_path, analysis)
    assert abs(done.duration_s - (analysis.end_s - analysis.start_s)) < 0.01


def test_a_clipped_recording_is_warned_about(speech, tmp_path):
    source = R.encode(speech, tmp_path / "vo-tieng", "wav", R.FRAME + ",volume=+24dB")
    analysis, _, out = _master(source, tmp_path)
    (warning,) = [w for w in analysis.warnings if w.code == "clipping"]
    assert "vỡ tiếng" in warning.text()
    lufs, peak = loudness(out)
    assert abs(lufs + 16) <= 1.0 and peak <= -1.0  # still mastered: a warning, not a refusal


def test_a_very_quiet_recording_is_warned_about_and_still_trimmed(speech, tmp_path):
    source = R.encode(speech, tmp_path / "nho", "wav", R.FRAME + ",volume=-32dB")
    analysis, _, out = _master(source, tmp_path)
    codes = [w.code for w in analysis.warnings]
    assert codes == ["low_level"], codes
    assert analysis.loudness_lufs < -36
    assert 1.0 < analysis.start_s < 1.5  # its words are not taken for silence
    lufs, _ = loudness(out)
    assert abs(lufs + 16) <= 1.0


def test_a_long_silence_inside_is_warned_about(speech, tmp_path):
    gap = tmp_path / "gap.wav"
    R.ffmpeg(
        "-i", str(speech), "-i", str(speech),
        "-filter_complex", "[0]apad=pad_dur=7[a];[a][1]concat=n=2:v=0:a=1",
        str(gap),
    )  # fmt: skip
    analysis = recording.analyse(gap)
    (warning,) = [w for w in analysis.warnings if w.code == "long_silence"]
    assert warning.params["count"] == 1 and warning.params["longest"] >= 6
    assert len(analysis.silences) == 1


def test_a_low_sample_rate_is_warned_about(speech, tmp_path):
    source = tmp_path / "8k.wav"
    R.ffmpeg("-i", str(speech), "-ar", "8000", str(source))
    analysis = recording.analyse(source)
    (warning,) = analysis.warnings
    assert warning.code == "low_sample_rate" and warning.params["rate"] == 8000
    assert "8000 Hz" in warning.text()


def test_longer_than_the_warning_threshold_is_warned_about(speech, tmp_path):
    source = R.encode(speech, tmp_path / "dai", "mp3")
    analysis = recording.analyse(source, Limits(warn_s=3))
    assert [w.code for w in analysis.warnings] == ["long"]


# -- refusals ---------------------------------------------------------------------


def _refused(path, limits: Limits | None = None) -> str:
    with pytest.raises(InvalidInput) as caught:
        recording.analyse(path, limits or Limits())
    assert caught.value.field == "recording"
    return caught.value.message


def test_a_text_file_named_mp3_is_not_audio(tmp_path):
    fake = tmp_path / "bai-doc.mp3"
    fake.write_text("Kính thưa bà con, đây là văn bản, không phải âm thanh.\n" * 50)
    assert "không phải âm thanh" in _refused(fake)


def test_an_image_is_not_audio(tmp_path):
    image = tmp_path / "anh.mp3"
    R.ffmpeg("-f", "lavfi", "-i", "color=c=red:s=32x32:d=1", "-frames:v", "1", "-f", "image2",
             "-c:v", "png", str(image))  # fmt: skip
    assert "không phải âm thanh" in _refused(image)


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "wav", "ogg-opus"])
def test_an_upload_cut_off_mid_way_is_refused(fmt, speech, tmp_path):
    whole = R.encode(speech, tmp_path / "day-du", fmt)
    recording.analyse(whole)  # the whole file is fine
    half = R.truncated(whole, tmp_path / f"mot-nua{whole.suffix}")
    message = _refused(half)
    assert "cắt cụt" in message or "không phải âm thanh" in message or "giải mã" in message


def test_a_truncated_mp3_says_so(speech, tmp_path):
    whole = R.encode(speech, tmp_path / "day-du", "mp3")
    half = R.truncated(whole, tmp_path / "mot-nua.mp3", keep=0.6)
    assert "cắt cụt" in _refused(half)


def test_an_mp3_without_a_length_header_cut_mid_frame_is_refused(speech, tmp_path):
    """A plain CBR stream (no Xing header) announces nothing: its last frame is checked."""
    whole = tmp_path / "cbr.mp3"
    R.ffmpeg("-i", str(speech), "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0",
             str(whole))  # fmt: skip
    recording.analyse(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cbr-cut.mp3"
    cut.write_bytes(data[: len(data) * 6 // 10 + 7])  # 64 kbit/s frames are 208 or 209 bytes
    assert "cắt cụt" in _refused(cut)


def test_an_empty_and_a_zero_second_file_are_refused(tmp_path):
    empty = tmp_path / "rong.mp3"
    empty.write_bytes(b"")
    assert "rỗng" in _refused(empty)
    zero = tmp_path / "khong-giay.wav"
    R.ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "0", str(zero))
    message = _refused(zero)
    assert "0 giây" in message or "không phải âm thanh" in message


def test_a_silent_file_is_refused(tmp_path):
    assert "im lặng" in _refused(R.silent(tmp_path / "im-lang.mp3"))


def test_too_big_and_too_long_are_refused(speech, tmp_path):
    source = R.encode(speech, tmp_path / "ghi-am", "wav")
    big = _refused(source, Limits(max_bytes=100_000))
    assert "quá giới hạn" in big and "MB" in big
    long = _refused(source, Limits(max_s=5))
    assert "quá giới hạn 0:05" in long


def test_the_limits_are_settings_checked_like_the_others(tmp_path):
    from broadcaster.config import ConfigError, load_settings
    from broadcaster.services.recordings import limits_of

    env = {"BROADCASTER_SECRET_KEY": "k", "BROADCASTER_RECORDING_MAX_MB": "50",
           "BROADCASTER_RECORDING_MAX_MINUTES": "120"}  # fmt: skip
    limits = limits_of(load_settings(env=env, cwd=tmp_path).audio)
    assert (limits.max_bytes, limits.max_s) == (50 * 1024 * 1024, 120 * 60)
    default = limits_of(load_settings(env={"BROADCASTER_SECRET_KEY": "k"}, cwd=tmp_path).audio)
    assert (default.max_bytes, default.max_s) == (200 * 1024 * 1024, 90 * 60)
    for key, value in [("MAX_MB", "0"), ("MAX_MB", "nhiều"), ("MAX_MINUTES", "1.5")]:
        with pytest.raises(ConfigError, match=f"BROADCASTER_RECORDING_{key}"):
            load_settings(env={**env, f"BROADCASTER_RECORDING_{key}": value}, cwd=tmp_path)
