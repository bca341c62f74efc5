"""Relays (tiếp âm): a live stream played at its fixed start for the slot's length.

:func:`relay` opens the main stream :attr:`RelaySettings.lead_s` seconds before the start
and throws away what arrives before it, so that at the start the connection, the
server's answer and the decoder's probing are behind it and the first sample reaches the
player at once. From the start to the slot's end it forwards the stream's sound to a
:class:`~broadcaster.agent.players.StreamSink`, at the pace of real time:

- a source that stops (the connection drops, the decoder ends, or no sound comes for
  :attr:`~RelaySettings.stall_s` seconds) is opened again, every second or so;
- when a source has been silent for :attr:`~RelaySettings.backup_after_s` seconds, the
  next one takes over: main → backup stream → the backup recording (a file downloaded
  ahead, played from its start and again if it is shorter than what is left); without a
  backup recording the streams are tried in turn until the end;
- silence fills the gaps, so what the player writes stays in step with the clock;
- it stops at the slot's end, or at once when ``stop`` is set (an emergency).

Each source is decoded by its own ffmpeg (``-rw_timeout`` so a hung socket ends) into
16-bit mono PCM at :data:`RATE`; a thread per decoder hands chunks over through a small
queue. The outcome counts the seconds of sound each source gave.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.agent.players import (
    COMPLETED,
    ERROR,
    INTERRUPTED,
    Player,
    PlayerError,
    StreamSink,
    ffmpeg_exe,
)
from broadcaster.agent.spool import Report

if TYPE_CHECKING:
    from broadcaster.agent.schedule import Item

MAIN, BACKUP, FILE = "main", "backup", "file"
RATE = 44_100
CHUNK = int(RATE * 0.05) * 2  # bytes: 50 ms of 16-bit mono
MAX_AHEAD = 1.5  # seconds a live source may run ahead of the clock before its sound is dropped
FILE_AHEAD = 0.3  # seconds of a file written ahead of the clock (a player's buffer)
FILL_AFTER = 0.5  # seconds behind the clock before a gap is filled with silence (jitter)
AIRED_SHARE = 0.98  # of the slot's length relayed: the relay aired
SOURCE_NAMES = {MAIN: "luồng chính", BACKUP: "luồng dự phòng", FILE: "bản ghi dự phòng"}


@dataclass(frozen=True)
class RelaySettings:
    """How a relay is run (``broadcaster agent --relay-…``)."""

    lead_s: float = 5.0  # the stream is opened this long before the start
    backup_after_s: float = 20.0  # a source silent this long gives way to the next
    stall_s: float = 5.0  # a connected source that gives no sound this long is reopened
    retry_s: float = 1.0  # the wait before a source is opened again


@dataclass(frozen=True)
class RelayPlan:
    """One relay: its sources and when (``time.monotonic()`` seconds) it starts and ends."""

    url: str
    backup_url: str | None
    backup_file: Path | None
    start_at: float
    end_at: float
    label: str = "relay"

    def sources(self) -> list[tuple[str, str]]:
        found = [(MAIN, self.url)]
        if self.backup_url:
            found.append((BACKUP, self.backup_url))
        if self.backup_file is not None:
            found.append((FILE, str(self.backup_file)))
        return found


@dataclass
class RelayOutcome:
    """What a relay did (times from the station's clock, UTC)."""

    started_at: datetime  # the first sample played, or when the attempt began
    ended_at: datetime
    result: str  # completed | interrupted | error (the player itself failed)
    seconds: dict[str, float] = field(default_factory=dict)  # of sound, by source
    problems: list[str] = field(default_factory=list)  # what went wrong, in order, once each
    first_sample_at: float | None = None  # monotonic: when the first sound reached the player
    detail: str | None = None  # the player's error

    @property
    def relayed_s(self) -> int:
        return round(sum(self.seconds.values()))

    @property
    def used(self) -> str | None:
        """The source that played longest (a tie goes to the one lower in the chain)."""
        played = [(s, source) for source, s in self.seconds.items() if s > 0]
        order = [MAIN, BACKUP, FILE]
        return max(played, key=lambda p: (p[0], order.index(p[1])))[1] if played else None

    def status(self, slot_s: float) -> str:
        """``aired`` (at least 98 % of the slot), ``partial`` (some), ``failed`` (none)."""
        if self.relayed_s <= 0:
            return "failed"
        return "aired" if self.relayed_s >= AIRED_SHARE * slot_s else "partial"

    def note(self) -> str:
        """Seconds by source, then what went wrong (for the report's note)."""
        parts = [
            f"{SOURCE_NAMES[s]} {self.seconds[s]:.0f} giây"
            for s in (MAIN, BACKUP, FILE)
            if self.seconds.get(s, 0) > 0
        ]
        return "; ".join(parts + self.problems)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


class Decoder:
    """One ffmpeg decoding a source (a stream URL or a file) to PCM, read by a thread."""

    def __init__(self, source: str, *, timeout_s: float, is_file: bool = False) -> None:
        self.opened_at = time.monotonic()
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=40)  # 2 s of sound
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
        if not is_file:
            # a socket that says nothing ends the decoder; a short probe starts it sooner
            command += ["-rw_timeout", str(int(timeout_s * 1_000_000))]
            command += ["-probesize", "32768", "-analyzeduration", "0", "-fflags", "nobuffer"]
        command += ["-i", source, "-vn", "-f", "s16le", "-ac", "1", "-ar", str(RATE), "pipe:1"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._errors
        )
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True, name="tiep-am")
        self._thread.start()

    def _read(self) -> None:
        fd = self.process.stdout.fileno()
        carry = b""
        try:
            while not self._closed.is_set():
                data = os.read(fd, CHUNK)
                if not data:
                    break
                data = carry + data
                cut = len(data) - len(data) % 2  # whole 16-bit samples only
                carry = data[cut:]
                if cut:
                    self._put(data[:cut])
        except OSError:
            pass
        self._put(None)

    def _put(self, item: bytes | None) -> None:
        while not self._closed.is_set():
            try:
                self.chunks.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> bytes | None:
        """The next chunk; None when the decoder has ended; ``queue.Empty`` if none yet."""
        return self.chunks.get(timeout=timeout)

    def error(self) -> str | None:
        """Why the decoder ended: None when it reached the end of its input cleanly."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        if self.process.returncode == 0:
            return None
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        text = lines[-1] if lines else ""
        return text[:200] or f"ffmpeg mã thoát {self.process.returncode}"

    def close(self) -> None:
        self._closed.set()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process.stdout.close()
        self._errors.close()


def _now() -> datetime:
    return datetime.now(UTC)


class _Relay:
    """The state of one relay while it runs (see :func:`relay`)."""

    def __init__(
        self, plan: RelayPlan, settings: RelaySettings, sink: StreamSink, stop: threading.Event
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.sink = sink
        self.stop = stop
        self.sources = plan.sources()
        self.index = 0
        self.decoder: Decoder | None = None
        self.retry_at = 0.0
        self.silent_since = time.monotonic()  # the current source's last sound (or opening)
        self.last_sound = 0.0
        self.written = 0  # frames given to the player since the start (sound and silence)
        self.base = max(plan.start_at, time.monotonic())  # when frame 0 sounds
        self.outcome = RelayOutcome(_now(), _now(), COMPLETED)

    @property
    def source(self) -> tuple[str, str]:
        return self.sources[self.index]

    def open(self) -> None:
        kind, where = self.source
        self.decoder = Decoder(where, timeout_s=self.settings.stall_s, is_file=kind == FILE)
        self.last_sound = 0.0

    def dropped(self, why: str) -> None:
        """The current source stopped giving sound: close it, reopen it later."""
        if self.decoder is not None:
            self.decoder.close()
            self.decoder = None
        kind = self.source[0]
        self.outcome.problem(f"{SOURCE_NAMES[kind]}: {why}")
        self.retry_at = time.monotonic() + self.settings.retry_s

    def switch(self) -> None:
        """The source was silent too long: the next in the chain (the file stays last)."""
        if self.decoder is not None:
            self.decoder.close()
            self.decoder = None
        kind = self.source[0]
        if kind == FILE or len(self.sources) == 1:
            self.silent_since = time.monotonic()
            return
        self.index = (self.index + 1) % len(self.sources)  # streams only: back to the main
        self.outcome.problem(
            f"chuyển sang {SOURCE_NAMES[self.source[0]]} sau "
            f"{self.settings.backup_after_s:g} giây mất tín hiệu"
        )
        self.retry_at = 0.0
        self.silent_since = time.monotonic()

    def run(self) -> RelayOutcome:
        plan, settings = self.plan, self.settings
        try:
            while True:
                now = time.monotonic()
                if self.stop.is_set():
                    self.outcome.result = INTERRUPTED
                    break
                if now >= plan.end_at:
                    break
                if self.decoder is None:
                    if now - self.silent_since >= settings.backup_after_s:
                        self.switch()
                    if now >= self.retry_at:
                        self.open()
                self._step(time.monotonic())
        except PlayerError as exc:
            self.outcome.result = ERROR
            self.outcome.detail = exc.message
        finally:
            if self.decoder is not None:
                self.decoder.close()
        self.outcome.ended_at = _now()
        return self.outcome

    def _step(self, now: float) -> None:
        decoder = self.decoder
        data = b""
        if decoder is not None:
            try:
                chunk = decoder.get(timeout=0.05)
            except queue.Empty:
                chunk = b""
            if chunk is None:
                error = decoder.error()
                if self.source[0] == FILE and error is None and self.last_sound:
                    decoder.close()  # the recording ended: again from its start
                    self.decoder = None
                    self.retry_at = 0.0
                else:
                    if error and "timed out" in error.lower():  # -rw_timeout: said in our words
                        stall = self.settings.stall_s
                        error = f"không có âm thanh {stall:g} giây ({error.split(': ')[-1]})"
                    self.dropped(error or "luồng bị ngắt")
            else:
                data = chunk
        else:
            self.stop.wait(0.05)
        now = time.monotonic()
        if data:
            self.last_sound = now
            self.silent_since = now
            if now >= self.plan.start_at:
                self._play(data, now)
            return
        if self.decoder is not None:
            # a new connection gets twice as long: the decoder probes the stream first
            # (a socket sending nothing at all is ended sooner, by ffmpeg's -rw_timeout)
            if self.last_sound:
                quiet, allowed = now - self.last_sound, self.settings.stall_s
            else:
                quiet, allowed = now - self.decoder.opened_at, 2 * self.settings.stall_s
            if quiet >= allowed:
                self.dropped(f"không có âm thanh {self.settings.stall_s:g} giây")
        if self.decoder is not None and now - self.silent_since >= self.settings.backup_after_s:
            self.switch()
        self._fill(now)

    def _due(self) -> float:
        return self.base + self.written / RATE

    def _play(self, data: bytes, now: float) -> None:
        kind = self.source[0]
        self._fill(now)
        due = self._due()
        if kind == FILE:
            while due - time.monotonic() > FILE_AHEAD:  # a file decodes faster than it plays
                if self.stop.wait(min(0.05, due - FILE_AHEAD - time.monotonic())):
                    return
            if time.monotonic() >= self.plan.end_at:
                return
        elif due - now > MAX_AHEAD:
            return  # a live stream's burst beyond the clock: old sound, not played
        frames = len(data) // 2
        if self.outcome.first_sample_at is None:
            self.outcome.first_sample_at = time.monotonic()
            self.outcome.started_at = _now()
        self.sink.write(data)
        self.written += frames
        self.outcome.seconds[kind] = self.outcome.seconds.get(kind, 0.0) + frames / RATE

    def _fill(self, now: float) -> None:
        """Silence for a gap, so that the player's sound keeps to the clock."""
        if now < self.base:
            return
        behind = now - self._due()
        if behind > FILL_AFTER:
            frames = int((behind - 0.05) * RATE)
            self.sink.write(b"\x00\x00" * frames)
            self.written += frames


def relay(
    player: Player,
    plan: RelayPlan,
    stop: threading.Event,
    settings: RelaySettings | None = None,
) -> RelayOutcome:
    """Relay ``plan`` through ``player`` until its end or ``stop``; never raises for a
    stream's or the player's trouble: that is in the outcome."""
    settings = settings or RelaySettings()
    began = _now()
    try:
        sink = player.open_stream(plan.label, RATE)
    except PlayerError as exc:
        return RelayOutcome(began, _now(), ERROR, detail=exc.message)
    try:
        outcome = _Relay(plan, settings, sink, stop).run()
    finally:
        problem = sink.close()
    if problem and outcome.detail is None:
        outcome.detail = problem
        outcome.result = ERROR
    if outcome.first_sample_at is None:
        outcome.started_at = began
    return outcome


def plan_for(item: Item, now: datetime, mono: float, backup_file: Path | None) -> RelayPlan:
    """A relay item's plan: its times (server time ``now`` is ``mono`` on the monotonic
    clock) and its sources."""
    return RelayPlan(
        url=item.relay.url,
        backup_url=item.relay.backup_url,
        backup_file=backup_file,
        start_at=mono + (item.planned_start - now).total_seconds(),
        end_at=mono + (item.ends_at - now).total_seconds(),
        label=f"relay-{item.slot_id}",
    )


def report_for(
    item: Item,
    outcome: RelayOutcome,
    reason: str | None,
    to_server: Callable[[datetime], datetime],
) -> Report:
    """The airing report of a relay: status by the seconds relayed of the slot's length,
    ``relayed_s`` from every source, ``relay_used`` the one that played longest, and a
    note of the seconds by source and what went wrong (``reason``: why it was stopped)."""
    notes = [outcome.note()] if outcome.note() else []
    if outcome.result == INTERRUPTED and reason:
        notes.append(reason)
    if outcome.detail:
        notes.append(f"trình phát lỗi: {outcome.detail}")
    return Report.new(
        item.slot_id,
        to_server(outcome.started_at),
        to_server(max(outcome.ended_at, outcome.started_at)),
        outcome.status(item.duration_ms / 1000),
        note="; ".join(notes) or None,
        relayed_s=outcome.relayed_s,
        relay_used=outcome.used,
    )
