"""The mastering steps, each a small function on pydub ``AudioSegment``s.

to_segment → trim_silence → join (with pauses) → with_chime → master (loudness,
true-peak limit, MP3) → tag. Sample work is done with numpy on whole arrays
(never per millisecond or per frame in Python), and joining builds one array
instead of appending segment after segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydub import AudioSegment  # imported quietly by broadcaster.audio

from broadcaster.audio import _ffmpeg, limiter
from broadcaster.audio._ffmpeg import AudioError, Loudness
from broadcaster.tts.base import EngineAudio

SAMPLE_WIDTH = 2  # 16-bit
# Speech quieter than this (dBFS, 10 ms frames) counts as silence at the edges.
FRAME_MS = 10


@dataclass(frozen=True)
class Tags:
    title: str
    campaign: str | None = None
    station: str | None = None
    comment: str | None = None


def samples_of(segment: AudioSegment) -> np.ndarray:
    return np.frombuffer(segment.raw_data, dtype="<i2")


def segment_of(samples: np.ndarray, rate: int) -> AudioSegment:
    return AudioSegment(
        data=samples.astype("<i2", copy=False).tobytes(),
        sample_width=SAMPLE_WIDTH,
        frame_rate=rate,
        channels=1,
    )


def to_segment(audio: EngineAudio, rate: int) -> AudioSegment:
    """An engine's output as mono 16-bit audio at the working ``rate``."""
    if audio.pcm_rate is None:
        # decoding straight to the working rate and format is one ffmpeg call;
        # pydub's from_file would also need ffprobe, which the wheel lacks
        assert audio.container is not None
        return segment_of(_ffmpeg.decode(audio.data, audio.container, rate), rate)
    segment = AudioSegment(
        data=audio.data, sample_width=SAMPLE_WIDTH, frame_rate=audio.pcm_rate, channels=1
    )
    if segment.frame_rate != rate:
        segment = segment.set_frame_rate(rate)
    return segment


def trim_silence(segment: AudioSegment, threshold_db: float, keep_ms: int = 30) -> AudioSegment:
    """Cut leading and trailing silence, keeping ``keep_ms`` so a word's onset is not clipped."""
    samples = samples_of(segment).astype(np.float32)
    frame = max(1, segment.frame_rate * FRAME_MS // 1000)
    n = len(samples) // frame
    if n == 0:
        return segment[:0]
    frames = samples[: n * frame].reshape(n, frame)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loud = np.nonzero(rms >= 32768 * 10 ** (threshold_db / 20))[0]
    if len(loud) == 0:
        return segment[:0]
    start = max(0, loud[0] * FRAME_MS - keep_ms)
    end = min(len(segment), (loud[-1] + 1) * FRAME_MS + keep_ms)
    return segment[start:end]


def join(parts: Sequence[tuple[AudioSegment, int]], rate: int) -> AudioSegment:
    """Concatenate pieces, each followed by its pause in ms (silence, no crossfade)."""
    arrays: list[np.ndarray] = []
    for segment, pause_ms in parts:
        arrays.append(samples_of(segment))
        if pause_ms > 0:
            arrays.append(np.zeros(rate * pause_ms // 1000, dtype="<i2"))
    if not arrays:
        return AudioSegment.silent(duration=0, frame_rate=rate)
    return segment_of(np.concatenate(arrays), rate)


def generated_chime(rate: int) -> AudioSegment:
    """A soft two-note chime (G5 then E5), so an announcement has a start and an end."""
    notes = []
    for freq, ms in ((783.99, 260), (659.25, 420)):
        t = np.arange(rate * ms // 1000) / rate
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * 5.0)  # quick attack, bell decay
        tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
        notes.append(0.3 * envelope * tone)
    wave = np.concatenate(notes)
    return segment_of(np.round(wave * 32767 / 1.3).astype("<i2"), rate)


def load_chime(path: Path, rate: int) -> AudioSegment:
    data = path.read_bytes()
    suffix = path.suffix.lstrip(".").lower() or "wav"
    return to_segment(EngineAudio(data=data, container=suffix), rate)


def with_chime(speech: AudioSegment, chime: AudioSegment, gap_ms: int = 400) -> AudioSegment:
    rate = speech.frame_rate
    if chime.frame_rate != rate:
        chime = chime.set_frame_rate(rate)
    return join([(chime, gap_ms), (speech, gap_ms), (chime, 0)], rate)


def pad(segment: AudioSegment, lead_ms: int, tail_ms: int) -> AudioSegment:
    rate = segment.frame_rate
    return join(
        [(segment_of(np.zeros(rate * lead_ms // 1000, "<i2"), rate), 0), (segment, tail_ms)], rate
    )


@dataclass(frozen=True)
class Mastered:
    loudness: Loudness  # integrated: measured on what the encoder got; true peak: oversampled
    duration_s: float


MP3_MARGIN_DB = 0.5  # MP3 encoding adds a little overshoot to the peaks


def master(
    segment: AudioSegment,
    out: Path,
    *,
    out_rate: int,
    target_lufs: float,
    true_peak_db: float,
    bitrate_kbps: int,
) -> Mastered:
    """Loudness-normalise to ``target_lufs``, keep true peaks under ``true_peak_db``, encode.

    The gain comes from a BS.1770 measurement of the speech. The limiter then
    shaves the peaks the gain pushed over the ceiling, which costs a little
    loudness; its energy ratio predicts how much, and the gain is raised to
    make up for it before anything is encoded. The encoder's own pass measures
    the result; if the prediction was off, one corrected pass follows.
    """
    samples = samples_of(segment)
    rate = segment.frame_rate
    measured = _ffmpeg.integrated_loudness(samples, rate)
    if not np.isfinite(measured) or measured <= -70:
        raise AudioError("Âm thanh gần như im lặng: bộ máy đọc không tạo ra tiếng nói.")
    ceiling = 10 ** ((true_peak_db - MP3_MARGIN_DB) / 20)
    gain = target_lufs - measured
    envelope = limiter.peak_envelope(samples)
    for _attempt in range(2):
        for _ in range(4):
            limited = limiter.limit(samples, rate, gain_db=gain, ceiling=ceiling, envelope=envelope)
            predicted = measured + gain + 10 * np.log10(max(limited.energy_ratio, 1e-12))
            if abs(predicted - target_lufs) <= 0.3:
                break
            gain += target_lufs - predicted
        final = _ffmpeg.encode_mp3(
            limited.samples, rate, out, out_rate=out_rate, bitrate_kbps=bitrate_kbps
        )
        if abs(final - target_lufs) <= 0.5:
            break
        measured += target_lufs - final  # the prediction was off by this much
        gain += target_lufs - final
    peak_db = 20 * np.log10(max(limited.true_peak, 1e-9))
    return Mastered(Loudness(final, round(float(peak_db), 2)), len(samples) / rate)


def tag(path: Path, tags: Tags) -> None:
    """Write ID3v2.4 tags (UTF-8, so Vietnamese shows correctly in players)."""
    from mutagen.id3 import COMM, ID3, TALB, TIT2, TPE1, TXXX

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    if tags.campaign:
        id3.add(TALB(encoding=3, text=tags.campaign))
    if tags.station:
        id3.add(TPE1(encoding=3, text=tags.station))
    if tags.comment:
        id3.add(COMM(encoding=3, lang="vie", desc="", text=tags.comment))
    id3.add(TXXX(encoding=3, desc="broadcaster", text="1"))
    id3.save(path, v2_version=4)
