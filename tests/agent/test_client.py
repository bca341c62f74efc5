"""The API client at the network's edge: resumed downloads, refused bytes, errors, Date."""

from __future__ import annotations

import hashlib
import json
import os
import time
from email.utils import formatdate

import pytest

from broadcaster.agent.client import (
    ApiClient,
    AudioMismatch,
    AuthRefused,
    Refused,
    Unavailable,
)
from broadcaster.agent.clock import ClockDrift
from tests.agent.httpfake import FakeServer, cut_after, reply

AUDIO = os.urandom(300_000)
SHA = hashlib.sha256(AUDIO).hexdigest()


def client(url: str, **kw) -> ApiClient:
    return ApiClient(url, "bst_test", "18073", timeout=(2, 5), **kw)


def resumable(h, seen) -> None:
    """The first answer is cut in half; later ones honour Range."""
    wanted = h.headers.get("Range")
    if wanted is None and len(seen) == 1:
        cut_after(h, 200, AUDIO, len(AUDIO) // 2, Content_Type="audio/mpeg")
        return
    start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
    rest = AUDIO[start:]
    reply(
        h,
        206 if wanted else 200,
        rest,
        Content_Type="audio/mpeg",
        Content_Range=f"bytes {start}-{len(AUDIO) - 1}/{len(AUDIO)}",
    )


def test_a_download_cut_in_half_resumes_where_it_stopped(tmp_path):
    with FakeServer(resumable) as server:
        path = client(server.url).download(SHA, tmp_path / "audio", len(AUDIO))
    assert path == tmp_path / "audio" / f"{SHA}.mp3"
    assert path.read_bytes() == AUDIO
    assert not (tmp_path / "audio" / f"{SHA}.mp3.part").exists()
    first, second = server.seen
    assert first.path == f"/api/v1/audio/{SHA}.mp3"
    assert first.headers["Authorization"] == "Bearer bst_test"
    assert "Range" not in first.headers
    have = int(second.headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < have < len(AUDIO)  # asked only for the rest


def test_a_partial_file_from_an_earlier_run_is_resumed(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    (folder / f"{SHA}.mp3.part").write_bytes(AUDIO[:1000])
    with FakeServer(resumable) as server:
        client(server.url).download(SHA, folder, len(AUDIO))
    assert (folder / f"{SHA}.mp3").read_bytes() == AUDIO
    assert server.seen[0].headers["Range"] == "bytes=1000-"


def test_a_server_that_ignores_range_sends_the_whole_file_again(tmp_path):
    folder = tmp_path / "audio"
    folder.mkdir()
    (folder / f"{SHA}.mp3.part").write_bytes(b"junk")
    with FakeServer(lambda h, seen: reply(h, 200, AUDIO)) as server:
        client(server.url).download(SHA, folder)
    assert (folder / f"{SHA}.mp3").read_bytes() == AUDIO


def test_bytes_with_another_sha256_are_refused_and_thrown_away(tmp_path):
    wrong = AUDIO[:-1] + bytes([AUDIO[-1] ^ 1])
    with (
        FakeServer(lambda h, seen: reply(h, 200, wrong)) as server,
        pytest.raises(AudioMismatch, match="không khớp"),
    ):
        client(server.url).download(SHA, tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


def test_a_file_already_there_is_not_fetched(tmp_path):
    (tmp_path / f"{SHA}.mp3").write_bytes(AUDIO)
    with FakeServer(lambda h, seen: reply(h, 500)) as server:
        assert client(server.url).download(SHA, tmp_path).read_bytes() == AUDIO
    assert server.seen == []


def test_a_network_that_keeps_failing_leaves_the_part_for_next_time(tmp_path, monkeypatch):
    monkeypatch.setattr("broadcaster.agent.client.DOWNLOAD_BACKOFF", 0)
    with (
        FakeServer(lambda h, seen: cut_after(h, 200, AUDIO, 1000)) as server,
        pytest.raises(Unavailable),
    ):
        client(server.url).download(SHA, tmp_path, len(AUDIO))
    assert (tmp_path / f"{SHA}.mp3.part").exists()
    assert not (tmp_path / f"{SHA}.mp3").exists()


def error(status: int, code: str, message: str, details=None, **headers):
    body = json.dumps({"error": {"code": code, "message": message, "details": details or []}})
    return lambda h, seen: reply(
        h, status, body.encode(), Content_Type="application/json", **headers
    )


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_an_auth_error(status):
    with (
        FakeServer(error(status, "bad_token", "Mã truy cập không đúng")) as server,
        pytest.raises(AuthRefused, match="Mã truy cập không đúng"),
    ):
        client(server.url).playlist()


def test_busy_and_broken_servers_are_worth_retrying():
    with (
        FakeServer(error(429, "too_many_attempts", "chờ", Retry_After="7")) as server,
        pytest.raises(Unavailable) as busy,
    ):
        client(server.url).heartbeat({})
    assert busy.value.retry_after == 7
    with (
        FakeServer(lambda h, seen: reply(h, 502, b"<html>Bad gateway</html>")) as server,
        pytest.raises(Unavailable, match="502"),
    ):
        client(server.url).post_airings([])
    with pytest.raises(Unavailable, match="không kết nối được"):
        client("http://127.0.0.1:9").playlist()


def test_an_invalid_batch_is_refused_with_its_details():
    details = [{"index": 1, "id": "x", "field": "started_at", "message": "quá cũ"}]
    with (
        FakeServer(error(422, "invalidreports", "Báo cáo thứ 2", details)) as server,
        pytest.raises(Refused) as refused,
    ):
        client(server.url).post_airings([{}, {}])
    assert refused.value.status == 422
    assert refused.value.details == details


def test_the_playlist_is_asked_with_its_etag_and_a_304_keeps_the_cached_copy():
    def answer(h, seen):
        if h.headers.get("If-None-Match") == '"v1"':
            reply(h, 304, ETag='"v1"')
        else:
            reply(h, 200, b'{"version": 1, "items": []}', ETag='"v1"')

    with FakeServer(answer) as server:
        api = client(server.url)
        fresh = api.playlist()
        again = api.playlist(fresh.etag)
    assert fresh.document == {"version": 1, "items": []}
    assert (again.document, again.etag) == (None, '"v1"')
    assert server.seen[0].path == "/api/v1/stations/18073/playlist"


def test_the_date_header_tells_how_far_the_station_clock_is_off():
    def two_minutes_behind(h, seen):
        reply(h, 200, b"{}", Date=formatdate(time.time() - 120, usegmt=True))

    clock = ClockDrift()
    with FakeServer(two_minutes_behind) as server:
        api = client(server.url, clock=clock)
        for _ in range(3):
            api.heartbeat({})
    assert clock.drift_s == pytest.approx(120, abs=1.5)  # the station is two minutes ahead
    assert clock.correction.total_seconds() == pytest.approx(120, abs=1.5)


@pytest.mark.parametrize("call", ["playlist", "post_airings", "heartbeat", "emergencies"])
def test_a_200_that_is_not_json_is_the_server_out_of_reach(call):
    """A captive portal or a proxy's page answering 200 must not stop the agent."""
    portal = b"<html><body>Dang nhap Wi-Fi xa</body></html>"
    args = {"playlist": (), "post_airings": ([],), "heartbeat": ({},), "emergencies": (0, 0)}
    with (
        FakeServer(lambda h, seen: reply(h, 200, portal, Content_Type="text/html")) as server,
        pytest.raises(Unavailable, match="không phải JSON"),
    ):
        getattr(client(server.url), call)(*args[call])
