"""Benchmark: mastering a person's recording, and the relay start (both figures of issue 17).

Prints, for a phone recording made here by ffmpeg (real speech from the offline voice,
looped to length over a little background noise, AAC 44.1 kHz stereo in M4A):

* the time to master a ``--minutes`` (30) minute recording the product's way
  (:mod:`broadcaster.audio.recording`: probe, one measuring pass — loudness, silences,
  peaks —, one pass trimming, normalising, limiting true peaks on 4x-oversampled
  audio, resampling and encoding mono MP3 —, ID3 tags), against a bare two-pass ffmpeg
  loudness normalisation to the same MP3 in the same run (``loudnorm`` pass 1 printing
  JSON, pass 2 with the measured values, ``linear``). Target: at most 1.5x;
* the peak memory of mastering a ``--memory-minutes`` (60) minute recording in a fresh
  process: Python's own (``RUSAGE_SELF``) and the largest ffmpeg it ran
  (``RUSAGE_CHILDREN``). Target: under 300 MB;
* then, when ``bench/relay_start.py`` is there, its figures: how late a relay's first
  sample plays with the stream pre-opened (target ≤ 1 s).

Run from the repository root::

    .venv/bin/python bench/recordings.py [--minutes 30] [--memory-minutes 60] [--repeat 1]

Nothing is asserted: the figures are printed, with the targets beside them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from broadcaster.audio import recording, steps  # noqa: E402
from broadcaster.audio._ffmpeg import ffmpeg_exe  # noqa: E402
from broadcaster.tts.espeak import EspeakEngine  # noqa: E402

TARGET_LUFS, TRUE_PEAK, RATE, BITRATE = -16.0, -1.0, 44_100, 64
SENTENCES = (
    "Kính thưa toàn thể nhân dân trong xã. Ủy ban nhân dân xã thông báo lịch tiêm chủng "
    "mở rộng cho trẻ em dưới năm tuổi vào sáng thứ bảy tuần này tại trạm y tế xã. "
    "Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng."
)


def ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-y", *args],
        capture_output=True,
        check=True,
    )


def phone_recording(folder: Path, minutes: float) -> Path:
    """Real speech looped to ``minutes``, over faint noise, as a phone's AAC stereo M4A."""
    speech = folder / "speech.wav"
    audio = EspeakEngine().synthesise(SENTENCES, "vi", 1.0)
    with wave.open(str(speech), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.pcm_rate)
        w.writeframes(audio.data)
    out = folder / f"phone-{minutes:g}min.m4a"
    seconds = minutes * 60
    ffmpeg(
        "-stream_loop", "-1", "-i", str(speech),
        "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude=0.003:sample_rate=44100:d={seconds}",
        "-filter_complex",
        "[0]aresample=44100,apad,volume=-9dB[v];[v][1]amix=inputs=2:duration=shortest:normalize=0",
        "-t", f"{seconds}", "-ac", "2", "-ar", "44100", "-c:a", "aac", "-b:a", "96k", str(out),
    )  # fmt: skip
    return out


def baseline(source: Path, out: Path) -> float:
    """Bare two-pass loudnorm: measure, then normalise with the measurement, to the MP3."""
    started = time.perf_counter()
    first = ffmpeg(
        "-i", str(source), "-vn",
        "-af", f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA=11:print_format=json",
        "-f", "null", "-",
    )  # fmt: skip
    text = first.stderr.decode("utf-8", "replace")
    m = json.loads(text[text.rfind("{") : text.rfind("}") + 1])
    ffmpeg(
        "-i", str(source), "-vn",
        "-af",
        f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK}:LRA=11:measured_I={m['input_i']}"
        f":measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
        f":measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true",
        "-ar", str(RATE), "-ac", "1", "-c:a", "libmp3lame", "-b:a", f"{BITRATE}k", str(out),
    )  # fmt: skip
    return time.perf_counter() - started


def product(source: Path, out: Path) -> tuple[float, recording.Analysis, recording.Mastered]:
    started = time.perf_counter()
    analysis = recording.analyse(source, recording.Limits(warn_s=24 * 3600))
    done = recording.master(
        source,
        recording.Measured.from_info(analysis.info()),
        out,
        target_lufs=TARGET_LUFS,
        true_peak_db=TRUE_PEAK,
        sample_rate=RATE,
        bitrate_kbps=BITRATE,
    )
    steps.tag(out, steps.Tags(title="Chương trình thử", comment="bench"))
    return time.perf_counter() - started, analysis, done


_MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from bench.recordings import product
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
elapsed, analysis, done = product(Path({source!r}), Path({out!r}))
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"RESULT {{done.duration_s:.1f}} {{before / 1024:.1f}} {{me / 1024:.1f}} "
      f"{{children / 1024:.1f}} {{elapsed:.1f}}")
"""


def peak_memory(source: Path, folder: Path) -> tuple[float, ...]:
    code = _MEMORY_CHILD.format(repo=str(REPO), source=str(source), out=str(folder / "m.mp3"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+) (\S+)", out)
    assert match, out
    return tuple(float(g) for g in match.groups())


def longer(source: Path, folder: Path, times: int) -> Path:
    """The same recording ``times`` over, without re-encoding (a long programme, fast)."""
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{source}'\n" for _ in range(times)))
    out = folder / f"long-{times}x.m4a"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--memory-minutes", type=float, default=60)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-relay", action="store_true", help="skip bench/relay_start.py")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        source = phone_recording(folder, args.minutes)
        made = time.perf_counter() - started
        print(
            f"Recording: {args.minutes:g} min of speech over faint noise, AAC 44.1 kHz stereo "
            f"M4A, {source.stat().st_size / 1e6:.1f} MB (made in {made:.0f} s)."
            f" Output: mono MP3 {RATE} Hz {BITRATE} kbit/s, {TARGET_LUFS:g} LUFS, "
            f"true peak <= {TRUE_PEAK:g} dBTP."
        )
        base_times, prod_times = [], []
        for i in range(args.repeat):
            base_times.append(baseline(source, folder / f"base{i}.mp3"))
            elapsed, analysis, done = product(source, folder / f"prod{i}.mp3")
            prod_times.append(elapsed)
        base, prod = statistics.median(base_times), statistics.median(prod_times)
        ratio = prod / base
        print(f"\nMastering, median of {args.repeat} run(s):")
        print(
            f"  bare two-pass loudnorm       {base:8.1f} s   runs: "
            + ", ".join(f"{t:.1f}" for t in base_times)
        )
        print(
            f"  the product's mastering      {prod:8.1f} s   runs: "
            + ", ".join(f"{t:.1f}" for t in prod_times)
        )
        print(
            f"  product / bare               {ratio:8.2f}x  target <= 1.5x: "
            + ("met" if ratio <= 1.5 else "NOT met")
        )
        print(
            f"  result: {done.duration_s / 60:.1f} min aired (trimmed from "
            f"{analysis.duration_s / 60:.1f}), {done.loudness_lufs:g} LUFS, true peak "
            f"{done.true_peak_db:g} dBTP, gain {done.gain_db:+.1f} dB, warnings: "
            + (", ".join(w.code for w in analysis.warnings) or "none")
        )
        print(f"  real-time factor             {prod / done.duration_s:8.4f}")

        times = max(1, round(args.memory_minutes / args.minutes))
        long = longer(source, folder, times) if times > 1 else source
        duration, before, python, child, elapsed = peak_memory(long, folder)
        print(f"\nPeak memory mastering a {duration / 60:.0f}-minute recording in a fresh process:")
        print(f"  Python after imports         {before:8.1f} MB")
        print(
            f"  Python peak                  {python:8.1f} MB  target < 300 MB: "
            + ("met" if python < 300 else "NOT met")
        )
        print(
            f"  largest ffmpeg               {child:8.1f} MB  target < 300 MB: "
            + ("met" if child < 300 else "NOT met")
        )
        print(f"  (mastered in {elapsed:.0f} s)")

    relay = REPO / "bench" / "relay_start.py"
    if relay.exists() and not args.no_relay:
        print("\n--- bench/relay_start.py ---")
        spec = importlib.util.spec_from_file_location("bench_relay_start", relay)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main([])


if __name__ == "__main__":
    main()
