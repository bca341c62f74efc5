"""Real players play a station's day from its playlist link, with no header at all.

liquidsoap reads the M3U8 link and VLC (``cvlc``, as a non-root user) the XSPF
link from the server as ``broadcaster serve`` runs it (uvicorn and the station
front); each renders every entry to a file, whose length must equal the sum of
the entries' own lengths. The players come from Debian's packages
(``tests/debian.py``): installed when missing and root, skipped with a message
elsewhere, a failure with ``BROADCASTER_REQUIRE_PLAYERS=1`` (``.ci/run`` sets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import imageio_ffmpeg
import pytest

from broadcaster.db import transaction
from broadcaster.models import Slot
from broadcaster.services import tokens
from broadcaster.services.audit import system_actor
from tests.agent.live import FrontServer
from tests.debian import require_program

REQUIRE = "BROADCASTER_REQUIRE_PLAYERS"
RATE = 44100
# Each entry's decoded length may differ by the MP3 decoder's priming and padding.
TOLERANCE_PER_ENTRY_S = 0.08


@pytest.fixture
def served(world):
    """The world's station with a third slot, a playlist link, and the server."""
    world.add_slots(world.station, [world.soon(15)])
    with transaction(world.factory) as s:
        secret = tokens.issue(s, system_actor(), world.station, link=True).token
        start = s.get(Slot, world.slots[0]).planned_start
    day = start.astimezone(world.settings.tz).date().isoformat()
    server = FrontServer(world.app)
    yield server, f"{server.url}/api/v1/links/{secret}/playlist", day
    server.stop()


def _pcm_seconds(data_or_path) -> float:
    """Seconds of mono 16-bit PCM at 44.1 kHz (raw bytes or a file of them)."""
    size = len(data_or_path) if isinstance(data_or_path, bytes) else data_or_path.stat().st_size
    return size / (RATE * 2)


def _decoded_seconds(url: str) -> float:
    """An entry's own length: its MP3 fetched and decoded by our ffmpeg."""
    with urlopen(url, timeout=30) as answer:
        mp3 = answer.read()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    to_pcm = ["-f", "s16le", "-ac", "1", "-ar", str(RATE), "pipe:1"]
    pcm = subprocess.run(
        [ffmpeg, "-loglevel", "error", "-i", "pipe:0", *to_pcm],
        input=mp3,
        capture_output=True,
        check=True,
    ).stdout
    return _pcm_seconds(pcm)


def _entries(playlist_url: str) -> list[str]:
    with urlopen(playlist_url, timeout=30) as answer:
        body = answer.read().decode("utf-8")
    return [line for line in body.splitlines() if line and not line.startswith("#")]


def test_liquidsoap_plays_every_entry_of_the_m3u8_link(served, tmp_path):
    liquidsoap = require_program(["liquidsoap"], ["liquidsoap"], REQUIRE)
    server, link, day = served
    url = f"{link}.m3u8?date={day}"
    entries = _entries(url)
    assert len(entries) == 3
    expected = sum(_decoded_seconds(e) for e in entries)
    out = tmp_path / "liquidsoap.raw"
    script = tmp_path / "play.liq"
    script.write_text(
        "settings.init.allow_root.set(true)\n"
        f"settings.frame.audio.samplerate.set({RATE})\n"
        # played in real time, as on air: rendered faster, the clock outran the next
        # download on a loaded machine and the source ended early
        f's = playlist(mode="normal", reload_mode="never", loop=false, '
        f'prefetch={len(entries) + 1}, "{url}")\n'
        f'output.file(%wav(mono, header=false), "{out}", fallible=true, on_stop=shutdown, '
        "mean(s))\n"
    )
    done = subprocess.run(
        [liquidsoap, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    played = _pcm_seconds(out)
    assert abs(played - expected) <= TOLERANCE_PER_ENTRY_S * len(entries), done.stdout[-3000:]
    audio_gets = server.count(".mp3")
    assert audio_gets >= len(entries)  # fetched from the server, through the signed URLs


def test_vlc_as_a_plain_user_plays_every_entry_of_the_xspf_link(served, tmp_path):
    cvlc = require_program(["cvlc"], ["vlc-bin", "vlc-plugin-base"], REQUIRE)
    _, link, day = served
    url = f"{link}.xspf?date={day}"
    with urlopen(url, timeout=30) as answer:
        xspf = answer.read().decode("utf-8")
    entries = [
        part.split("</location>")[0].replace("&amp;", "&") for part in xspf.split("<location>")[1:]
    ]
    assert len(entries) == 3 and all(urlsplit(e).query for e in entries)
    expected = sum(_decoded_seconds(e) for e in entries)
    # a folder the plain user can write to (pytest's own are the owner's alone)
    folder = Path(tempfile.mkdtemp(prefix="broadcaster-vlc-"))
    folder.chmod(0o777)
    out = folder / "vlc.raw"
    command = [
        cvlc,
        "-q",
        "--no-video",
        "--play-and-exit",
        "--sout-keep",
        "--sout",
        f"#transcode{{acodec=s16l,channels=1,samplerate={RATE}}}"
        f":std{{access=file,mux=raw,dst={out}}}",
        url,
    ]
    if os.geteuid() == 0:  # VLC refuses to run as root
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: VLC cannot be started as a user")
        command = [runuser, "-u", "nobody", "--", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder)
        assert out.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
        played = _pcm_seconds(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert abs(played - expected) <= TOLERANCE_PER_ENTRY_S * len(entries), (played, expected)


def test_a_revoked_link_stops_the_player_at_once(served, world):
    _, link, day = served
    with transaction(world.factory) as s:
        tokens.revoke(s, system_actor(), world.station, kind="link")
    try:
        urlopen(f"{link}.m3u8?date={day}", timeout=30)
    except Exception as exc:  # urllib raises for the 403
        assert getattr(exc, "code", None) == 403
    else:
        raise AssertionError("a revoked link still answered")
