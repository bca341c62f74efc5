"""Players: the file sink writes WAVs ffprobe reads; commands run, fail and stop on demand."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from pathlib import Path

import pytest

from broadcaster.agent import players
from broadcaster.agent.players import (
    CommandPlayer,
    FileSinkPlayer,
    PlayerError,
    default_command,
    make_player,
)
from tests.agent.sound import tone
from tests.audio.probe import ffprobe

PY = shlex.quote(sys.executable)


def wait_for(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_the_file_sink_writes_a_wav_as_long_as_the_audio(tmp_path):
    source = tone(tmp_path / "tone.mp3", 2.0)
    sink = tmp_path / "sink"
    outcome = FileSinkPlayer(sink, speed=40).play(source, threading.Event())
    assert outcome.completed
    assert outcome.started_at <= outcome.ended_at
    (wav,) = sink.glob("*.wav")
    assert wav.name.endswith("-tone.wav")
    probe = ffprobe(wav)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("pcm_s16le", 44_100, 1)
    assert probe.duration_s == pytest.approx(ffprobe(source).duration_s, abs=0.08)


def test_an_interrupted_file_sink_leaves_a_valid_shorter_wav(tmp_path):
    source = tone(tmp_path / "long.mp3", 30.0)
    sink = tmp_path / "sink"
    stop = threading.Event()
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(outcome=FileSinkPlayer(sink).play(source, stop))
    )
    worker.start()
    wait_for(lambda: any(p.stat().st_size > 20_000 for p in sink.glob("*.wav")))
    stop.set()
    worker.join(10)
    assert result["outcome"].result == "interrupted"
    (wav,) = sink.glob("*.wav")
    assert 0.1 < ffprobe(wav).duration_s < 29


def test_a_file_that_does_not_decode_is_an_error_not_an_exception(tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio at all")
    outcome = FileSinkPlayer(tmp_path / "sink", speed=10).play(broken, threading.Event())
    assert outcome.result == "error"
    assert outcome.detail
    assert list((tmp_path / "sink").glob("*.wav")) == []


def test_a_command_player_runs_the_command_with_the_file(tmp_path):
    marker = tmp_path / "played.txt"
    player = CommandPlayer(
        f"{PY} -c \"import sys; open(sys.argv[2], 'w').write(sys.argv[1])\" {{file}} {marker}"
    )
    outcome = player.play(Path("/audio/x.mp3"), threading.Event())
    assert outcome.completed
    assert marker.read_text() == "/audio/x.mp3"


def test_a_command_without_a_file_placeholder_gets_the_file_last():
    assert CommandPlayer("mpg123 -q").command_for(Path("/a/b.mp3")) == ["mpg123", "-q", "/a/b.mp3"]


def test_a_failing_command_is_an_error_with_its_message():
    player = CommandPlayer(
        [sys.executable, "-c", "import sys; sys.stderr.write('no sound card'); sys.exit(3)"]
    )
    outcome = player.play(Path("x.mp3"), threading.Event())
    assert (outcome.result, outcome.detail) == ("error", "no sound card")
    missing = CommandPlayer(["/nonexistent/player", "{file}"]).play(Path("x"), threading.Event())
    assert missing.result == "error"
    assert "/nonexistent/player" in missing.detail


def test_a_command_is_stopped_when_asked():
    stop = threading.Event()
    result = {}
    player = CommandPlayer([sys.executable, "-c", "import time; time.sleep(120)", "{file}"])
    worker = threading.Thread(target=lambda: result.update(o=player.play(Path("x"), stop)))
    worker.start()
    stop.set()
    worker.join(10)
    assert result["o"].result == "interrupted"


def test_player_specs(tmp_path):
    sink = make_player(f"file:{tmp_path}?speed=4")
    assert isinstance(sink, FileSinkPlayer)
    assert (sink.folder, sink.speed) == (tmp_path, 4.0)
    assert isinstance(make_player(f"file:{tmp_path}"), FileSinkPlayer)
    assert make_player("vlc -I dummy --play-and-exit {file}").args[0] == "vlc"
    assert isinstance(make_player(None), CommandPlayer)
    for bad in ("file:", f"file:{tmp_path}?rate=8", f"file:{tmp_path}?speed=x", "file:d?speed=0"):
        with pytest.raises(PlayerError):
            make_player(bad)


def test_default_commands_per_system(monkeypatch):
    none = lambda name: None  # noqa: E731
    assert default_command("Darwin", {}, none) == ["afplay", "{file}"]

    pulse = default_command("Linux", {"PULSE_SERVER": "unix:/x"}, lambda n: "/usr/bin/ffmpeg")
    assert pulse[0] == players.ffmpeg_exe()
    assert pulse[-3:] == ["-f", "pulse", "broadcaster"]
    alsa = default_command("Linux", {"XDG_RUNTIME_DIR": "/nonexistent"}, {"ffmpeg": "/f"}.get)
    assert alsa[0] == "/f"
    assert alsa[-3:] == ["-f", "alsa", "default"]

    ffplay = default_command("Windows", {}, {"ffplay": r"C:\ff\ffplay.exe"}.get)
    assert ffplay[0] == r"C:\ff\ffplay.exe"
    monkeypatch.setattr(players, "WINDOWS_VLC", ())
    with pytest.raises(PlayerError, match="--player"):
        default_command("Windows", {}, none)
