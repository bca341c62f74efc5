"""Recordings for the tests, made with ffmpeg from real speech (the offline voice).

Every phone and chat-app format the issue lists is encoded here by the same ffmpeg
the product runs; an encoder the binary lacks skips its test with the reason,
unless ``BROADCASTER_REQUIRE_CODECS`` is set (``.ci/run``), where it fails.
"""

from __future__ import annotations

import functools
import os
import subprocess
import wave
from pathlib import Path

import pytest

from broadcaster.audio._ffmpeg import ffmpeg_exe

SENTENCE = "Kính thưa toàn thể nhân dân xã Cẩm Xuyên, bà con hãy nộp hồ sơ trực tuyến."
# 1.5 s of silence before the speech and 2 s after it, as a phone records it
FRAME = "adelay=1500,apad=pad_dur=2"

# name: (file suffix, ffmpeg output arguments, the encoder it needs)
FORMATS = {
    "mp3": (
        "mp3",
        ["-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"],
        "libmp3lame",
    ),
    "m4a": ("m4a", ["-ar", "44100", "-ac", "2", "-c:a", "aac", "-b:a", "96k"], "aac"),
    "aac": ("aac", ["-ar", "44100", "-ac", "1", "-c:a", "aac", "-f", "adts"], "aac"),
    "wav": ("wav", ["-ar", "48000", "-ac", "2", "-c:a", "pcm_s16le"], "pcm_s16le"),
    "ogg-opus": ("ogg", ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "32k"], "libopus"),
    "opus": ("opus", ["-ar", "48000", "-ac", "1", "-c:a", "libopus"], "libopus"),
    "ogg-vorbis": ("ogg", ["-ar", "44100", "-ac", "2", "-c:a", "libvorbis"], "libvorbis"),
    "amr": (
        "amr",
        ["-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"],
        "libopencore_amrnb",
    ),
    "3gp": (
        "3gp",
        ["-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"],
        "libopencore_amrnb",
    ),
    "webm": ("webm", ["-ar", "48000", "-ac", "1", "-c:a", "libopus"], "libopus"),
}


@functools.cache
def encoders() -> frozenset[str]:
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    return frozenset(line.split()[1] for line in out.splitlines() if line[:2] == " A")


def require_encoder(name: str) -> None:
    if name in encoders():
        return
    why = f"this ffmpeg ({ffmpeg_exe()}) has no {name} encoder"
    if os.environ.get("BROADCASTER_REQUIRE_CODECS"):
        pytest.fail(why + " (BROADCASTER_REQUIRE_CODECS is set)")
    pytest.skip(why)


def speech_wav(folder: Path, repeat: int = 1) -> Path:
    """Real Vietnamese speech (about 5 s per repeat) as a mono WAV, made once per folder."""
    path = folder / f"speech-{repeat}.wav"
    if path.exists():
        return path
    from broadcaster.tts.espeak import EspeakEngine

    audio = EspeakEngine().synthesise(" ".join([SENTENCE] * repeat), "vi", 1.0)
    folder.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.pcm_rate)
        w.writeframes(audio.data)
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def encode(src: Path, out: Path, fmt: str, audio_filter: str = FRAME + ",volume=-8dB") -> Path:
    """``src`` framed by silence (and a phone's level), in the format ``fmt`` of FORMATS."""
    suffix, args, encoder = FORMATS[fmt]
    require_encoder(encoder)
    out = out.with_suffix("." + suffix)
    ffmpeg("-i", str(src), "-af", audio_filter, *args, str(out))
    return out


def silent(out: Path, seconds: float = 6.0) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"anullsrc=r=44100:cl=mono:d={seconds}", "-c:a", "libmp3lame", str(out)
    )
    return out


def truncated(path: Path, out: Path, keep: float = 0.5) -> Path:
    """The first ``keep`` of a file's bytes: an upload cut off mid-way."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def files_under(folder: Path) -> list[Path]:
    """Every file under ``folder`` (locks aside): what a refused upload must not leave."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and "locks" not in p.parts)
