"""Relay slots (lượt tiếp âm) in the API tests' world, and live streams served on loopback.

The streams are real: ffmpeg's own HTTP server (``-listen 1``) encoding a sine tone as
MP3 at the pace of real time, as an Icecast mount sends a live programme. ``-listen 1``
serves one client and exits, so a :class:`ToneStream` is started again for a reconnect.
:class:`SilentSocket` accepts connections and never says a word (a hung stream server).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import select

from broadcaster.audio._ffmpeg import ffmpeg_exe
from broadcaster.db import transaction
from broadcaster.models import Campaign, CampaignKind, Priority, RelaySource, Slot, Station
from broadcaster.planning.calendar import week_label
from tests.agent.live import free_port


def add_relay(
    world,
    start: datetime,
    seconds: int,
    *,
    url: str,
    backup_url: str | None = None,
    backup_script_id: int | None = None,
    code: str | None = None,
) -> int:
    """A relay source, its relay campaign and one relay slot at ``start``; the slot's id."""
    with transaction(world.factory) as s:
        station_id = s.scalar(select(Station.id).where(Station.code == (code or world.station)))
        source = RelaySource(
            name=f"VOV1 thử {start.timestamp():.3f}",
            url=url,
            backup_url=backup_url,
            backup_script_id=backup_script_id,
        )
        s.add(source)
        s.flush()
        local = start.astimezone()
        campaign = Campaign(
            name=f"Tiếp âm {source.name}",
            kind=CampaignKind.RELAY,
            relay_source_id=source.id,
            relay_start=local.time().replace(microsecond=0),
            relay_minutes=max(1, seconds // 60),
            priority=Priority.NORMAL,
            weekdays=list(range(7)),
            starts_on=local.date(),
            ends_on=local.date(),
        )
        s.add(campaign)
        s.flush()
        slot = Slot(
            station_id=station_id,
            campaign_id=campaign.id,
            occurrence=f"R{start.timestamp():.0f}",
            script_version_id=None,
            relay_source_id=source.id,
            week=week_label(start.date()),
            planned_start=start,
            window_end=start + timedelta(seconds=seconds) + timedelta(minutes=30),
            position=0,
            duration_ms=seconds * 1000,
        )
        s.add(slot)
        s.flush()
        return slot.id


class ToneStream:
    """A live MP3 stream of a sine tone at ``http://127.0.0.1:PORT/`` (one listener)."""

    def __init__(self, freq: int = 440, port: int | None = None) -> None:
        self.freq = freq
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> ToneStream:
        self.stop()
        self.process = subprocess.Popen(
            [
                ffmpeg_exe(),
                *("-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi"),
                *("-i", f"sine=frequency={self.freq}:sample_rate=44100"),
                *("-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"),
                *("-listen", "1", self.url),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    @property
    def serving(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until something listens on ``port`` (without connecting: one client only), or has
    already taken its one client (a waiting agent can be quicker than this look)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        # 0A: listening; 01: a connection established with its local end on the port
        if any(r[1].endswith(f":{port:04X}") and r[3] in ("0A", "01") for r in rows):
            return
        assert process.poll() is None, "the stream's ffmpeg exited"
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class SilentSocket:
    """Accepts connections on loopback and never answers: a stream server that hangs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/live"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


def heard(wav_path, window_s: float = 0.5) -> list[int]:
    """What a WAV holds, window by window: the dominant frequency (Hz, to 10 Hz) or 0 for
    silence."""
    import wave

    import numpy as np

    with wave.open(str(wav_path), "rb") as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    size = int(rate * window_s)
    found = []
    for n in range(len(samples) // size):
        window = samples[n * size : (n + 1) * size]
        if np.sqrt(np.mean(window**2)) < 100:  # about -50 dBFS: silence
            found.append(0)
            continue
        spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
        found.append(int(round(np.argmax(spectrum) * rate / len(window), -1)))
    return found


def sounded_s(folder, pattern: str = "*.wav") -> float:
    """Seconds of sound (not silence) in the WAVs being written in ``folder``, so far."""
    import numpy as np

    total = 0.0
    for path in folder.glob(pattern) if folder.exists() else []:
        data = path.read_bytes()[44:]
        samples = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(float)
        size = 4410  # 0.1 s
        for n in range(len(samples) // size):
            if np.sqrt(np.mean(samples[n * size : (n + 1) * size] ** 2)) >= 100:
                total += 0.1
    return total


def tone_gap_tone(windows: list[int]) -> bool:
    """Sound, then silence, then sound again (what a drop and a reconnection leave)."""
    runs = [w > 0 for n, w in enumerate(windows) if n == 0 or (w > 0) != (windows[n - 1] > 0)]
    return any(runs[n : n + 3] == [True, False, True] for n in range(len(runs)))


class StallingStream:
    """A live MP3 stream that stalls: each listener gets ``flowing_s`` seconds of a tone at
    the pace of real time, then nothing more while the connection stays open (a stream
    server whose encoder hung). A listener that reconnects gets the tone again."""

    BITRATE = 64_000

    def __init__(self, flowing_s: float, freq: int = 440) -> None:
        done = subprocess.run(
            [
                ffmpeg_exe(),
                *("-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi"),
                *("-i", f"sine=frequency={freq}:sample_rate=44100:duration={flowing_s}"),
                *("-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"),
            ],
            capture_output=True,
            check=True,
        )
        self.mp3 = done.stdout
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/live.mp3"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.recv(4096)  # the request; whatever it asks, it gets the stream
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-name: stall\r\n\r\n")
            chunk = self.BITRATE // 8 // 10  # a tenth of a second of MP3
            for start in range(0, len(self.mp3), chunk):
                conn.sendall(self.mp3[start : start + chunk])
                time.sleep(0.1)
        except OSError:
            return
        # …and then nothing, the connection held open until the test ends

    def close(self) -> None:
        self.server.close()
        for conn in self._held:
            conn.close()
