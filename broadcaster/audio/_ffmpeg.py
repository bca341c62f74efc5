"""Private ffmpeg wrapper: the binary from the imageio-ffmpeg wheel, run as a subprocess.

PCM crosses the pipe as signed 16-bit little-endian mono; ffmpeg does what it
does faster than Python (decoding, BS.1770 loudness, MP3 encoding)
and streams, so a long bulletin never has to fit in memory as floats.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from broadcaster.errors import BroadcasterError


class AudioError(BroadcasterError):
    """ffmpeg could not decode, measure or encode the audio."""


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float  # BS.1770 integrated loudness; -inf for silence
    true_peak_db: float  # dBTP


@functools.cache
def ffmpeg_exe() -> str:
    """``BROADCASTER_FFMPEG`` if set, else the binary shipped by imageio-ffmpeg."""
    override = os.environ.get("BROADCASTER_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], data: bytes | None, what: str) -> subprocess.CompletedProcess:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-y", *args]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(
            "Không chạy được ffmpeg ({program}): {error}", program=cmd[0], error=exc.strerror
        ) from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise AudioError(
            "ffmpeg lỗi khi {what}: {detail}", what=what, detail=" / ".join(tail) or done.returncode
        )
    return done


def _pcm_input(rate: int) -> list[str]:
    return ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0"]


_I = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf)\s+LUFS", re.M)


def decode(data: bytes, container: str, rate: int) -> np.ndarray:
    """An encoded file's bytes as mono int16 samples at ``rate``."""
    done = _run(
        ["-f", container, "-i", "pipe:0", "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1"],
        data,
        f"giải mã âm thanh {container}",
    )
    return np.frombuffer(done.stdout, dtype="<i2")


def _summary(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    return text[text.rfind("Summary:") :]


def _parse_integrated(stderr: bytes) -> float:
    found = _I.search(_summary(stderr))
    if not found:
        raise AudioError("ffmpeg không trả về số đo độ lớn (ebur128).")
    return float(found.group(1))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness (LUFS) of int16 samples; -inf for silence."""
    done = _run(
        [*_pcm_input(rate), "-af", "ebur128=framelog=quiet", "-f", "null", "-"],
        samples.astype("<i2", copy=False).tobytes(),
        "đo độ lớn âm thanh",
    )
    return _parse_integrated(done.stderr)


def encode_mp3(
    samples: np.ndarray, rate: int, out: Path, *, out_rate: int, bitrate_kbps: int
) -> float:
    """Encode finished int16 samples to a mono MP3 at ``out_rate``.

    Returns the integrated loudness (LUFS) of what goes into the encoder,
    measured in the same pass (ebur128 passes the audio through).
    """
    done = _run(
        [
            *_pcm_input(rate),
            "-af",
            # measured before resampling: the same loudness, half the samples to scan
            f"ebur128=framelog=quiet,aresample={out_rate}",
            *_mp3_output(out_rate, bitrate_kbps),
            str(out),
        ],
        samples.astype("<i2", copy=False).tobytes(),
        "mã hóa MP3",
    )
    return _parse_integrated(done.stderr)


def _mp3_output(rate: int, bitrate_kbps: int) -> list[str]:
    return [
        "-c:a",
        "libmp3lame",
        "-b:a",
        f"{bitrate_kbps}k",
        "-ar",
        str(rate),
        "-ac",
        "1",
        "-id3v2_version",
        "0",
        "-f",
        "mp3",
    ]


def encode_plain_mp3(
    samples: np.ndarray, rate: int, out: Path, *, out_rate: int, bitrate_kbps: int
) -> None:
    """One bare MP3 encode and nothing else (the benchmark's baseline)."""
    _run(
        [*_pcm_input(rate), *_mp3_output(out_rate, bitrate_kbps), str(out)],
        samples.astype("<i2", copy=False).tobytes(),
        "mã hóa MP3",
    )
