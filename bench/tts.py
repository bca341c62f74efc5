"""Benchmark: the audio pipeline on the offline engine.

Prints, for a 1,000-word announcement built from the script library:

* the real-time factor of the full pipeline (seconds of work per second of audio);
* the ratio of the full pipeline (normalise + synthesise piece by piece + trim,
  join, loudness, limit + MP3 encode + tag) to a baseline measured in the same
  run: the bare engine speaking the same (normalised) text in one call plus one
  plain ffmpeg MP3 encode at the same rate and bitrate. Target: at most 1.5x;
* the time of a cache hit (target: under 10 ms);
* the peak memory of rendering a 10-minute bulletin, in a fresh process, for
  Python and for the ffmpeg it starts (target: under 300 MB).

The same figures for piper (bench/_tts_piper.py) follow: its real-time factor alone,
the pipeline on piper against bare piper plus one encode (target 1.5x), and the peak
memory of a 10-minute bulletin on piper (target under 500 MB).

Run from the repository root::

    .venv/bin/python bench/tts.py [--repeat N] [--words N] [--engines espeak,piper]

Nothing is asserted: the figures are printed, with the targets beside them.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from broadcaster.audio import _ffmpeg, steps  # noqa: E402
from broadcaster.audio.render import AudioRenderer, RenderRequest  # noqa: E402
from broadcaster.config import AudioSettings  # noqa: E402
from broadcaster.library import read_library  # noqa: E402
from broadcaster.tts.espeak import EspeakEngine  # noqa: E402

PLACEHOLDER_VALUES = {
    "{ten_xa}": "xã Cẩm Xuyên",
    "{ten_tinh}": "tỉnh Hà Tĩnh",
    "{ten_dai}": "Đài truyền thanh xã Cẩm Xuyên",
}


def announcement(words: int) -> str:
    """Real announcement text from the library, repeated until it has ``words`` words."""
    bodies = []
    for script in read_library(REPO / "scripts"):
        body = script.body
        for key, value in PLACEHOLDER_VALUES.items():
            body = body.replace(key, value)
        bodies.append(body)
    text, count, i = [], 0, 0
    while count < words:
        paragraph = bodies[i % len(bodies)]
        text.append(paragraph)
        count += len(paragraph.split())
        i += 1
    joined = "\n\n".join(text)
    # cut at the first sentence end after the word count, so it ends like speech does
    cut = len(" ".join(joined.split(" ")[:words]))
    end = joined.find(".", cut)
    return joined if end < 0 else joined[: end + 1]


def baseline(engine: EspeakEngine, spoken: str, out: Path, bitrate: int) -> float:
    """The bare engine on the whole text, then one plain MP3 encode."""
    started = time.perf_counter()
    audio = engine.synthesise(spoken.replace("\n", " "), "vi", 1.0)
    samples = steps.samples_of(steps.to_segment(audio, audio.pcm_rate))
    _ffmpeg.encode_plain_mp3(samples, audio.pcm_rate, out, out_rate=44_100, bitrate_kbps=bitrate)
    return time.perf_counter() - started


def pipeline(text: str, audio_dir: Path, engine: EspeakEngine) -> tuple[float, float]:
    renderer = AudioRenderer(audio_dir, AudioSettings(engine="espeak"), {"espeak": engine})
    started = time.perf_counter()
    result = renderer.render(RenderRequest(text, title="Bản tin thử"))
    elapsed = time.perf_counter() - started
    assert not result.cached
    return elapsed, result.record.duration_ms / 1000


def cache_hit_ms(
    text: str, audio_dir: Path, engine: EspeakEngine, runs: int = 20
) -> tuple[float, float]:
    """Median cache hit: asked again of the same renderer, and of a new renderer each time
    (which must normalise the text again before it can look the file up)."""
    renderer = AudioRenderer(audio_dir, AudioSettings(engine="espeak"), {"espeak": engine})
    renderer.render(RenderRequest(text, title="Bản tin thử"))  # make sure it exists
    warm, cold = [], []
    for _ in range(runs):
        started = time.perf_counter()
        assert renderer.render(RenderRequest(text, title="Bản tin thử")).cached
        warm.append((time.perf_counter() - started) * 1000)
        fresh = AudioRenderer(audio_dir, AudioSettings(engine="espeak"), {"espeak": engine})
        started = time.perf_counter()
        assert fresh.render(RenderRequest(text, title="Bản tin thử")).cached
        cold.append((time.perf_counter() - started) * 1000)
    return statistics.median(warm), statistics.median(cold)


_MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from bench.tts import announcement
from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
text = announcement({words})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = AudioRenderer(Path({audio!r}), AudioSettings(engine="espeak")).render(
    RenderRequest(text, title="Bản tin 10 phút"))
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"RESULT {{result.record.duration_ms / 1000:.1f}} {{before / 1024:.1f}} {{me / 1024:.1f}}")
"""


def peak_memory(words: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        code = _MEMORY_CHILD.format(repo=str(REPO), words=words, audio=tmp)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    match = re.search(r"RESULT (\S+) (\S+) (\S+)", out)
    assert match, out
    duration, before, python = (float(g) for g in match.groups())
    return duration, before, python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument(
        "--bulletin-words",
        type=int,
        default=2200,
        help="words for the 10-minute memory run (about 10 min of espeak)",
    )
    parser.add_argument(
        "--engines",
        default="espeak,piper",
        help="which engines to measure, comma-separated (espeak, piper)",
    )
    parser.add_argument(
        "--piper-repeat", type=int, default=2, help="runs of the piper figures (slower)"
    )
    parser.add_argument(
        "--piper-bulletin-seconds",
        type=float,
        default=600,
        help="length of the bulletin for piper's memory run (default: 10 minutes)",
    )
    parser.add_argument(
        "--piper-voices-dir",
        type=Path,
        default=None,
        help="installed piper voices to use (default: $BROADCASTER_PIPER_VOICES_DIR); "
        "a Vietnamese one is used if there is one, else the joe test voice",
    )
    args = parser.parse_args()
    engines = {e.strip() for e in args.engines.split(",") if e.strip()}
    if "espeak" in engines:
        espeak_figures(args)
    if "piper" in engines:
        from bench._tts_piper import piper_figures

        piper_figures(args)


def espeak_figures(args: argparse.Namespace) -> None:
    engine = EspeakEngine()
    text = announcement(args.words)
    renderer = AudioRenderer(
        Path(tempfile.mkdtemp()), AudioSettings(engine="espeak"), {"espeak": engine}
    )
    spoken = renderer.normalise(text)
    bitrate = renderer.mastering.bitrate_kbps
    print(
        f"Announcement: {len(text.split())} words written, {len(spoken.split())} spoken words "
        f"after normalisation; offline engine espeak-ng (voice vi), MP3 {bitrate} kbit/s."
    )

    base_times, pipe_times, durations = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            base_times.append(baseline(engine, spoken, Path(tmp) / f"base{i}.mp3", bitrate))
            elapsed, duration = pipeline(text, Path(tmp) / f"run{i}", engine)
            pipe_times.append(elapsed)
            durations.append(duration)
        hit, hit_cold = cache_hit_ms(text, Path(tmp) / "run0", engine)
    base, pipe, duration = (statistics.median(v) for v in (base_times, pipe_times, durations))
    ratio = pipe / base
    print(f"\nMedian of {args.repeat} runs (each on an empty cache):")
    print(f"  audio produced                 {duration:8.1f} s")
    print(
        f"  baseline (engine + 1 encode)   {base:8.3f} s   runs: "
        + ", ".join(f"{t:.3f}" for t in base_times)
    )
    print(
        f"  full pipeline                  {pipe:8.3f} s   runs: "
        + ", ".join(f"{t:.3f}" for t in pipe_times)
    )
    print(
        f"  real-time factor               {pipe / duration:8.4f}   "
        f"({duration / pipe:.0f}x faster than real time)"
    )
    print(
        f"  pipeline / baseline            {ratio:8.2f}x  target <= 1.5x: "
        + ("met" if ratio <= 1.5 else "NOT met")
    )
    print(
        f"  cache hit (median of 20)       {hit:8.2f} ms  target < 10 ms: "
        + ("met" if hit < 10 else "NOT met")
    )
    print(
        f"  cache hit, new renderer        {hit_cold:8.2f} ms  target < 10 ms: "
        + ("met" if hit_cold < 10 else "NOT met")
        + " (it normalises the 1,000 words again first)"
    )

    duration, before, python = peak_memory(args.bulletin_words)
    print(f"\nPeak memory rendering a {duration / 60:.1f}-minute bulletin in a fresh process:")
    print(f"  Python after imports           {before:8.1f} MB")
    print(
        f"  Python peak                    {python:8.1f} MB  target < 300 MB: "
        + ("met" if python < 300 else "NOT met")
    )
    # ffmpeg runs as a child; Linux's ru_maxrss for children also counts the forked
    # copy of Python before exec, so that figure says nothing about ffmpeg itself.


if __name__ == "__main__":
    main()
