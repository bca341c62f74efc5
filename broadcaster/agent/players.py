"""Players (trình phát): how the agent turns an MP3 into sound on the station's loudspeakers.

One small interface, :class:`Player`: ``play(path, stop)`` blocks until the file has
played, ``stop`` was set (an emergency, or the agent stopping) or the player
failed, and says which in a :class:`PlayOutcome` with real start and end times.
``open_stream(label, rate)`` gives a :class:`StreamSink` that takes a relay's raw PCM
as :mod:`broadcaster.agent.relay` decodes it from the live stream.

- :class:`CommandPlayer` runs a command per file (``{file}`` is replaced by the
  path), e.g. the default: ffmpeg to the sound card, ``mpg123 -q {file}``, VLC.
- :class:`FileSinkPlayer` (``file:DIR``) decodes to a WAV file in ``DIR`` at the
  pace of real time (or ``speed`` times faster), for tests and for recording
  what the station would have sent to the amplifier.

:func:`make_player` turns the ``--player`` option into one of them.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from broadcaster.errors import BroadcasterError

COMPLETED, INTERRUPTED, ERROR = "completed", "interrupted", "error"
STOP_GRACE = 3.0  # seconds a player gets to close cleanly before it is killed


class PlayerError(BroadcasterError):
    """The player cannot be used on this machine (missing program, bad --player)."""


@dataclass(frozen=True)
class PlayOutcome:
    """What happened when a file was played (times from the station's clock, UTC)."""

    started_at: datetime
    ended_at: datetime
    result: str  # completed | interrupted | error
    detail: str | None = None

    @property
    def completed(self) -> bool:
        return self.result == COMPLETED


def _now() -> datetime:
    return datetime.now(UTC)


class Player:
    """Plays one audio file to the loudspeakers.

    Must implement :meth:`play`. It must return soon after ``stop`` is set (the
    agent interrupts for an emergency that way) and never raise for a bad file
    or a broken sound card: that is an outcome (``error``), not an exception.
    """

    name = "player"

    def play(self, path: Path, stop: threading.Event) -> PlayOutcome:
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the log: what this player does."""
        return self.name

    def open_stream(self, label: str, rate: int) -> StreamSink:
        """A sink for a relay's sound (raw 16-bit mono PCM at ``rate``), written by the
        caller at the pace of real time; raises :class:`PlayerError` when this player
        cannot play a stream."""
        raise PlayerError("Trình phát {player} không tiếp âm được.", player=self.name)


class StreamSink:
    """Where a relay's PCM goes (see :meth:`Player.open_stream`).

    :meth:`write` raises :class:`PlayerError` when the output has failed; :meth:`close`
    ends it and returns the player's error, if any.
    """

    def write(self, pcm: bytes) -> None:
        raise NotImplementedError

    def close(self) -> str | None:
        raise NotImplementedError


class _ProcessSink(StreamSink):
    """PCM into a player process's standard input."""

    def __init__(self, command: list[str]) -> None:
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._errors
            )
        except OSError as exc:
            self._errors.close()
            raise PlayerError(
                "Không chạy được {program}: {reason}", program=command[0], reason=exc.strerror
            ) from None

    def write(self, pcm: bytes) -> None:
        try:
            self.process.stdin.write(pcm)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            detail = _tail(self._errors) or f"mã thoát {self.process.poll()}"
            raise PlayerError("Trình phát dừng khi đang tiếp âm: {detail}", detail=detail) from None

    def close(self) -> str | None:
        try:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self.process.returncode not in (0, -15):
                return _tail(self._errors) or f"mã thoát {self.process.returncode}"
            return None
        finally:
            self._errors.close()


class _WavSink(StreamSink):
    """PCM into a WAV file (the file-sink player's relays)."""

    def __init__(self, target: Path, rate: int) -> None:
        self.target = target
        self._out = wave.open(str(target), "wb")  # noqa: SIM115 (closed in close())
        self._out.setnchannels(1)
        self._out.setsampwidth(2)
        self._out.setframerate(rate)

    def write(self, pcm: bytes) -> None:
        self._out.writeframes(pcm)

    def close(self) -> str | None:
        self._out.close()
        return None


def ffmpeg_exe() -> str:
    """``BROADCASTER_FFMPEG`` if set, else the binary shipped in the imageio-ffmpeg wheel."""
    override = os.environ.get("BROADCASTER_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _tail(stream) -> str:
    stream.seek(0)
    lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    return " / ".join(lines[-3:])


def _finish(process: subprocess.Popen, stop: threading.Event, poll: float = 0.1) -> bool:
    """Wait for a process, ending it when ``stop`` is set; True if it was stopped."""
    while True:
        try:
            process.wait(timeout=poll)
            return False
        except subprocess.TimeoutExpired:
            if stop.is_set():
                break
    process.terminate()  # ffmpeg and most players close their output cleanly on SIGTERM
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return True


class CommandPlayer(Player):
    """Runs a command for each file; ``{file}`` in it becomes the file's path."""

    name = "command"

    def __init__(self, command: str | Sequence[str]) -> None:
        args = _split(command) if isinstance(command, str) else list(command)
        if not args:
            raise PlayerError("Lệnh trình phát rỗng (--player).")
        if not any("{file}" in a for a in args):
            args.append("{file}")
        self.args = args

    def describe(self) -> str:
        return "lệnh: " + " ".join(shlex.quote(a) for a in self.args)

    def command_for(self, path: Path) -> list[str]:
        return [a.replace("{file}", str(path)) for a in self.args]

    def stream_command(self, rate: int, fallback: Sequence[str] | None = None) -> list[str]:
        """The command fed raw PCM on its standard input, for a relay.

        A command that reads ``-i {file}`` (ffmpeg, ffplay) takes ``-f s16le … -i pipe:0``;
        for any other (mpg123, VLC, afplay) the ``fallback`` — this system's default
        command — is used the same way, when it reads ``-i {file}`` too.
        """
        for args in (self.args, default_command() if fallback is None else list(fallback)):
            at = next((n for n, a in enumerate(args) if "{file}" in a), None)
            if at is not None and at > 0 and args[at - 1] == "-i":
                raw = ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0"]
                return [*args[: at - 1], *raw, *args[at + 1 :]]
        raise PlayerError(
            "Lệnh trình phát không nhận được luồng âm thanh để tiếp âm; "
            "dùng ffmpeg hoặc ffplay (xem docs/agent.md)."
        )

    def open_stream(self, label: str, rate: int) -> StreamSink:
        return _ProcessSink(self.stream_command(rate))

    def play(self, path: Path, stop: threading.Event) -> PlayOutcome:
        started = _now()
        with tempfile.TemporaryFile() as errors:
            try:
                process = subprocess.Popen(
                    self.command_for(path),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
            except OSError as exc:
                return PlayOutcome(
                    started, _now(), ERROR, f"không chạy được {self.args[0]}: {exc.strerror}"
                )
            stopped = _finish(process, stop)
            if stopped:
                return PlayOutcome(started, _now(), INTERRUPTED)
            if process.returncode != 0:
                detail = _tail(errors) or f"mã thoát {process.returncode}"
                return PlayOutcome(started, _now(), ERROR, detail)
        return PlayOutcome(started, _now(), COMPLETED)


class FileSinkPlayer(Player):
    """Decodes each file to ``folder/<time>-<name>.wav``, paced like real playback.

    ``speed`` > 1 plays faster than real time (tests). The WAV stays valid when
    playback is interrupted: it then holds what had played until the stop.
    """

    name = "file"
    CHUNK_S = 0.05

    def __init__(self, folder: Path, speed: float = 1.0, rate: int = 44_100) -> None:
        if speed <= 0:
            raise PlayerError("Tốc độ của trình phát file: phải lớn hơn 0.")
        self.folder = Path(folder)
        self.speed = speed
        self.rate = rate

    def describe(self) -> str:
        pace = "thời gian thực" if self.speed == 1 else f"nhanh gấp {self.speed:g} lần"
        return f"ghi tệp WAV vào {self.folder} ({pace})"

    def open_stream(self, label: str, rate: int) -> StreamSink:
        """Relays are written as they come: the relay paces them (``speed`` is for files)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return _WavSink(self.folder / f"{_now():%Y%m%dT%H%M%S%f}-{label[:16]}.wav", rate)

    def play(self, path: Path, stop: threading.Event) -> PlayOutcome:
        started = _now()
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{started:%Y%m%dT%H%M%S%f}-{path.stem[:16]}.wav"
        command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i"]
        command += [str(path), "-f", "s16le", "-ac", "1", "-ar", str(self.rate), "pipe:1"]
        chunk = int(self.rate * self.CHUNK_S) * 2
        frames = 0
        with tempfile.TemporaryFile() as errors:
            try:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
                )
            except OSError as exc:
                return PlayOutcome(started, _now(), ERROR, f"không chạy được ffmpeg: {exc}")
            clock = time.monotonic()
            interrupted = False
            with process, wave.open(str(target), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(self.rate)
                while True:
                    # this chunk starts sounding when everything before it has played
                    due = clock + frames / self.rate / self.speed - time.monotonic()
                    if stop.wait(due) if due > 0 else stop.is_set():
                        interrupted = True
                        break
                    data = process.stdout.read(chunk)
                    if not data:
                        break
                    out.writeframes(data)
                    frames += len(data) // 2
                if interrupted:
                    process.kill()
                process.wait()
            if interrupted:
                return PlayOutcome(started, _now(), INTERRUPTED)
            if process.returncode != 0 or frames == 0:
                target.unlink(missing_ok=True)
                detail = _tail(errors) or f"ffmpeg mã thoát {process.returncode}"
                return PlayOutcome(started, _now(), ERROR, detail)
        return PlayOutcome(started, _now(), COMPLETED)


def _split(command: str) -> list[str]:
    if os.name != "nt":
        return shlex.split(command)
    # Windows paths keep their backslashes; quotes only group words
    return [
        a[1:-1] if len(a) > 1 and a[0] == a[-1] == '"' else a
        for a in shlex.split(command, posix=False)
    ]


def _pulse_running(env: Mapping[str, str]) -> bool:
    if env.get("PULSE_SERVER"):
        return True
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return (Path(runtime) / "pulse" / "native").exists()


WINDOWS_VLC = (
    r"C:\Program Files\VideoLAN\VLC\vlc.exe",
    r"C:\Program Files (x86)\VideoLAN\VLC\vlc.exe",
)


def default_command(
    system: str | None = None,
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """The player command used without ``--player``, for this operating system.

    Linux: the bundled ffmpeg to PulseAudio/PipeWire (a desktop session), or, when no
    sound server runs, the system's ffmpeg to ALSA (the bundled build has no ALSA).
    macOS: ``afplay``, which every Mac has. Windows: ``ffplay`` or VLC if installed —
    ffmpeg itself cannot write to a Windows sound card.
    """
    system = system or platform.system()
    env = os.environ if env is None else env
    quiet = ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", "{file}"]
    if system == "Darwin":
        return ["afplay", "{file}"]
    if system == "Windows":
        ffplay = which("ffplay")
        if ffplay:
            return [ffplay, "-nodisp", "-autoexit", "-loglevel", "error", "{file}"]
        for vlc in WINDOWS_VLC:
            if Path(vlc).is_file():
                return [vlc, "-I", "dummy", "--play-and-exit", "{file}"]
        raise PlayerError(
            "Trên Windows cần chỉ định trình phát: cài VLC hoặc ffplay, hoặc dùng "
            '--player "<lệnh> {file}" (xem docs/agent.md).'
        )
    if not _pulse_running(env):
        system_ffmpeg = which("ffmpeg")
        if system_ffmpeg:
            return [system_ffmpeg, *quiet, "-f", "alsa", "default"]
    return [ffmpeg_exe(), *quiet, "-f", "pulse", "broadcaster"]


def make_player(spec: str | None) -> Player:
    """``--player``: empty or ``default``; ``file:DIR`` (``file:DIR?speed=N``); or a command."""
    spec = (spec or "").strip()
    if spec in ("", "default"):
        return CommandPlayer(default_command())
    if spec.startswith("file:"):
        target, _, options = spec[len("file:") :].partition("?")
        if not target:
            raise PlayerError("--player file:THƯ_MỤC cần một thư mục.")
        speed = 1.0
        for option in filter(None, options.split("&")):
            key, _, value = option.partition("=")
            if key != "speed":
                raise PlayerError(f"--player file: tùy chọn '{key}' không có (chỉ có speed).")
            try:
                speed = float(value)
            except ValueError:
                raise PlayerError(f"--player file: speed '{value}' phải là số.") from None
        return FileSinkPlayer(Path(target), speed=speed)
    return CommandPlayer(spec)
