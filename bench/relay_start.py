"""Benchmark: how late a relay's first sample plays, with the stream pre-opened and without.

A live MP3 stream is served on loopback by ffmpeg's own HTTP server (``-listen 1``,
a sine tone encoded at the pace of real time, as an Icecast mount sends a programme;
one server per round, since it serves one listener). The agent's relay code
(:func:`broadcaster.agent.relay.relay`) plays a short slot of it into the file-sink
player, in two ways, alternating, ``--rounds`` times each:

* pre-opened (the agent's way): the stream is opened ``--lead`` seconds before the
  slot's start and what arrives before the start is thrown away;
* baseline: the stream is opened at the slot's start.

Measured: the time from the slot's start to the moment the first PCM of the stream
reached the player (the relay's ``first_sample_at``: when the first bytes were written
to the player's sink). Printed: median and worst of each, and baseline / pre-opened.
Target: pre-opened ≤ 1 s late. Nothing here asserts; the exit status is 0.

Run it from the repository root::

    .venv/bin/python bench/relay_start.py
    .venv/bin/python bench/relay_start.py --rounds 9 --lead 5 --slot 3
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broadcaster.agent.players import FileSinkPlayer
from broadcaster.agent.relay import RelayPlan, RelaySettings, relay
from broadcaster.audio._ffmpeg import ffmpeg_exe

TARGET_S = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return any(r[1].endswith(f":{port:04X}") and r[3] == "0A" for r in rows)


def start_stream() -> tuple[subprocess.Popen, str]:
    """A one-listener live MP3 stream on loopback, listening when this returns."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen(
        [
            ffmpeg_exe(),
            *("-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi"),
            *("-i", "sine=frequency=440:sample_rate=44100", "-ac", "1"),
            *("-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "-listen", "1", url),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the loopback stream did not start")
        time.sleep(0.02)
    return process, url


def one_round(lead_s: float, slot_s: float, folder: Path) -> float | None:
    """Seconds from the slot's start to the first sample played (None: nothing played)."""
    process, url = start_stream()
    try:
        now = time.monotonic()
        start = now + lead_s + 0.5 if lead_s > 0 else now
        if lead_s > 0:
            # the agent takes the relay up ``lead_s`` before its start
            time.sleep(max(0.0, start - lead_s - time.monotonic()))
        settings = RelaySettings(lead_s=lead_s, backup_after_s=60, stall_s=5)
        plan = RelayPlan(url, None, None, start, start + slot_s, "bench")
        outcome = relay(FileSinkPlayer(folder), plan, threading.Event(), settings)
        if outcome.first_sample_at is None:
            return None
        return outcome.first_sample_at - start
    finally:
        process.kill()
        process.wait(10)


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms   worst {max(values) * 1000:7.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each way (5)")
    parser.add_argument("--lead", type=float, default=5.0, help="pre-open lead, seconds (5)")
    parser.add_argument("--slot", type=float, default=3.0, help="slot length, seconds (3)")
    args = parser.parse_args(argv)

    results: dict[str, list[float]] = {"pre-opened": [], "baseline": []}
    failures = {"pre-opened": 0, "baseline": 0}
    with tempfile.TemporaryDirectory(prefix="relay-start-") as tmp:
        for n in range(args.rounds):
            for way, lead in (("pre-opened", args.lead), ("baseline", 0.0)):
                late = one_round(lead, args.slot, Path(tmp) / f"{way}-{n}")
                if late is None:
                    failures[way] += 1
                else:
                    results[way].append(late)
    print(
        f"Relay start: first sample after the slot's start "
        f"({args.rounds} rounds, slot {args.slot:g} s, loopback MP3 stream)"
    )
    for way, values in results.items():
        label = f"  {way:<11}" + (f" (lead {args.lead:g} s)" if way == "pre-opened" else "")
        print(f"{label:<28} {_fmt(values) if values else 'no sample played'}")
        if failures[way]:
            print(f"  {way}: {failures[way]} round(s) played nothing")
    if results["pre-opened"] and results["baseline"]:
        pre = statistics.median(results["pre-opened"])
        base = statistics.median(results["baseline"])
        ratio = base / pre if pre > 0 else float("inf")
        print(f"  baseline / pre-opened (medians): {ratio:.1f}x")
        worst = max(results["pre-opened"])
        verdict = "met" if worst <= TARGET_S else "NOT met"
        print(f"  target: pre-opened at most {TARGET_S:g} s late — {verdict} (worst {worst:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
