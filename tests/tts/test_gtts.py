"""The online gTTS engine against a loopback fake of Google's endpoint (no internet)."""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import time
import unicodedata
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import imageio_ffmpeg
import pytest
import requests
import urllib3

from broadcaster.errors import InvalidInput
from broadcaster.tts import gtts_engine
from broadcaster.tts._gtts_wire import audio_from_answer
from broadcaster.tts._http import retry_after
from broadcaster.tts.base import EngineUnavailable, TtsError
from broadcaster.tts.gtts_engine import GttsEngine
from tests.tts.gtts_server import (
    DATA,
    RPC_PATH,
    TONE_MP3,
    Behaviour,
    batchexecute_answer,
    drop,
    empty,
    error,
    gtts_server_fixture,  # noqa: F401  (provides the gtts_server fixture)
    hang,
    https_gtts_server_fixture,  # noqa: F401  (provides the https_gtts_server fixture)
    no_audio,
    ok,
    self_signed,  # noqa: F401  (the certificate https_gtts_server uses)
)

PIECE = "Thông báo! Ngày mai, xã cắt điện từ 7 giờ đến 11 giờ."
LOOPBACK = {"127.0.0.1", "::1"}
NOWHERE = "translate.invalid"  # a name that never resolves (RFC 6761); looked up on purpose


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuse, and fail the test on, any connection or name lookup beyond this machine."""
    reached: list[str] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            reached.append(address[0])
            if address[0] not in LOOPBACK:
                raise ConnectionRefusedError(f"the test tried to reach {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            if host != NOWHERE:
                reached.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"the test tried to look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield
    assert set(reached) <= LOOPBACK, f"left the machine: {reached}"


class Sleeps(list):
    """A stand-in for time.sleep that only writes down what it was asked."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def engine(gtts_server, sleeps) -> GttsEngine:
    engine = GttsEngine(base_url=gtts_server.url, sleep=sleeps, rng=random.Random(7), timeout=2.0)
    yield engine
    engine.close()


def decodes_as_mp3(data: bytes) -> bool:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    done = subprocess.run(
        [ffmpeg, "-v", "error", "-f", "mp3", "-i", "-", "-f", "null", "-"],
        input=data,
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0 and not done.stderr


def test_a_piece_comes_back_as_mp3_and_google_gets_it_verbatim(engine, gtts_server):
    audio = engine.synthesise(PIECE, "vi", 1.0)

    assert audio.container == "mp3" and audio.pcm_rate is None
    assert audio.data == TONE_MP3.read_bytes()
    assert decodes_as_mp3(audio.data)
    [sent] = gtts_server.requests
    assert (sent.client, sent.method, sent.path) == ("127.0.0.1", "POST", RPC_PATH)
    assert (sent.rpc_id, sent.lang, sent.slow) == ("jQ1olc", "vi", False)
    assert sent.text == PIECE  # gTTS's English pre-processors would have added spaces after "!"


def test_the_fake_serves_the_stored_recorded_format_answer():
    stored = (DATA / "batchexecute_tone.txt").read_bytes()
    assert batchexecute_answer(TONE_MP3.read_bytes()) == stored
    assert stored.startswith(b")]}'\n\n") and b'"jQ1olc","[\\"//NExA' in stored
    assert TONE_MP3.read_bytes()[:4] == bytes.fromhex("FFF344C4")  # MPEG-2 L3 24 kHz mono


@pytest.mark.parametrize(
    ("speed", "slow"), [(0.75, True), (0.84, True), (0.85, False), (1.2, False)]
)
def test_google_has_two_speeds(engine, gtts_server, speed, slow):
    engine.synthesise(PIECE, "vi", speed)
    assert gtts_server.requests[0].slow is slow


def test_429_is_retried_after_a_jittered_delay(engine, gtts_server, sleeps, caplog):
    gtts_server.enqueue(error(429))
    with caplog.at_level(logging.WARNING, logger="broadcaster.tts.gtts_engine"):
        assert decodes_as_mp3(engine.synthesise(PIECE, "vi", 1.0).data)

    assert len(gtts_server.requests) == 2
    assert sleeps == [random.Random(7).uniform(0, 1.0)]  # full jitter: uniform(0, backoff * 2**0)
    assert "attempt 1/5" in caplog.text and "429" in caplog.text


def test_retry_after_is_honoured(engine, gtts_server, sleeps):
    gtts_server.enqueue(error(429, retry_after="3"))
    engine.synthesise(PIECE, "vi", 1.0)
    assert sleeps == [3.0] and len(gtts_server.requests) == 2


def test_a_retry_after_beyond_the_cap_gives_up_at_once(engine, gtts_server, sleeps):
    gtts_server.enqueue(error(429, retry_after="120"))
    with pytest.raises(EngineUnavailable, match="120"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert sleeps == [] and len(gtts_server.requests) == 1


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("", None), ("soon", None)]
)
def test_retry_after_values(header, seconds):
    assert retry_after(header) == seconds


def test_retry_after_as_a_date():
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 < retry_after(later) <= 20


def test_server_errors_back_off_exponentially(engine, gtts_server, sleeps):
    gtts_server.enqueue(error(500), error(503))
    assert decodes_as_mp3(engine.synthesise(PIECE, "vi", 1.0).data)
    assert len(gtts_server.requests) == 3
    rng = random.Random(7)
    assert sleeps == [rng.uniform(0, 1.0), rng.uniform(0, 2.0)]


def test_an_id3_tagged_mp3_is_audio_too(engine, gtts_server, sleeps):
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x14" + b"\x00" * 20  # an empty 20-byte ID3v2.4 tag
    gtts_server.enqueue(ok(tag + TONE_MP3.read_bytes()))
    assert engine.synthesise(PIECE, "vi", 1.0).data.startswith(tag)
    assert len(gtts_server.requests) == 1 and sleeps == []


@pytest.mark.parametrize("answer", [empty, no_audio, lambda: ok(b"<html>not audio</html>")])
def test_an_answer_without_audio_is_retried(engine, gtts_server, sleeps, answer):
    gtts_server.enqueue(answer())
    assert decodes_as_mp3(engine.synthesise(PIECE, "vi", 1.0).data)
    assert len(gtts_server.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("answer", [empty, no_audio])
def test_an_answer_without_audio_for_good_makes_the_engine_unavailable(
    gtts_server,
    sleeps,
    answer,
):
    engine = GttsEngine(base_url=gtts_server.url, retries=2, sleep=sleeps)
    gtts_server.enqueue(answer(), answer(), answer())
    with pytest.raises(EngineUnavailable, match=r"3 lần thử.*HTTP 200 without"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert len(gtts_server.requests) == 3 and len(sleeps) == 2


def test_a_hang_times_out_quickly_then_the_engine_is_unavailable(gtts_server, sleeps):
    engine = GttsEngine(base_url=gtts_server.url, timeout=0.5, retries=2, sleep=sleeps)
    gtts_server.enqueue(hang(10), hang(10), hang(10))
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match="timed out"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert time.monotonic() - started < 5
    assert len(gtts_server.requests) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("trouble", [lambda: hang(10), drop])
def test_a_hang_or_dropped_connection_is_retried(gtts_server, sleeps, trouble):
    engine = GttsEngine(base_url=gtts_server.url, timeout=0.5, sleep=sleeps)
    gtts_server.enqueue(trouble())
    assert decodes_as_mp3(engine.synthesise(PIECE, "vi", 1.0).data)
    assert len(gtts_server.requests) == 2 and len(sleeps) == 1


def test_connection_refused_makes_the_engine_unavailable_at_once(sleeps):
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = GttsEngine(base_url=f"http://127.0.0.1:{port}/", sleep=sleeps)
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match="Không kết nối được"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert time.monotonic() - started < 2 and sleeps == []


def test_an_unknown_host_makes_the_engine_unavailable_at_once(sleeps):
    engine = GttsEngine(base_url=f"http://{NOWHERE}/", sleep=sleeps)
    with pytest.raises(EngineUnavailable):
        engine.synthesise(PIECE, "vi", 1.0)
    assert sleeps == []


def test_a_refusal_is_a_tts_error_without_retry(engine, gtts_server, sleeps):
    gtts_server.enqueue(error(403))
    with pytest.raises(TtsError, match="403") as raised:
        engine.synthesise(PIECE, "vi", 1.0)
    assert not isinstance(raised.value, EngineUnavailable)
    assert len(gtts_server.requests) == 1 and sleeps == []


def test_consecutive_pieces_are_paced(gtts_server, sleeps):
    engine = GttsEngine(base_url=gtts_server.url, pause=5.0, sleep=sleeps)
    engine.synthesise(PIECE, "vi", 1.0)
    assert sleeps == []
    engine.synthesise("Đề nghị bà con chủ động.", "vi", 1.0)
    assert len(sleeps) == 1 and 4 < sleeps[0] <= 5.0  # the pause, less the time since
    assert [r.text for r in gtts_server.requests] == [PIECE, "Đề nghị bà con chủ động."]


def test_a_piece_of_100_characters_is_sent_whole(engine, gtts_server):
    piece = ("Bà con chú ý. " * 8)[:100]
    decomposed = unicodedata.normalize("NFD", piece)  # longer in code points, not in letters
    assert len(decomposed) > 100
    engine.synthesise(decomposed, "vi", 1.0)
    assert [r.text for r in gtts_server.requests] == [piece.strip()]


@pytest.mark.parametrize("text", ["a" * 101, "", " .,!? "])
def test_text_gtts_would_cut_or_cannot_speak_is_refused(engine, gtts_server, text):
    with pytest.raises(InvalidInput):
        engine.synthesise(text, "vi", 1.0)
    assert gtts_server.requests == []


def test_unknown_voice_is_refused(engine):
    with pytest.raises(InvalidInput, match="vi"):
        engine.synthesise(PIECE, "en", 1.0)


def test_availability_is_cheap_and_names_the_service(engine, gtts_server):
    assert engine.availability().usable
    assert engine.availability().detail == f"online: {gtts_server.url}"
    assert (
        GttsEngine(tld="com.vn").availability().detail == "online: https://translate.google.com.vn/"
    )
    assert gtts_server.requests == []
    assert [v.id for v in engine.voices()] == ["vi"] and engine.max_chars == 100


# --- Transport: certificates, connections, proxies, warnings ---------------------------


class RecordingAdapter(requests.adapters.HTTPAdapter):
    """requests' own transport, writing down the settings each request is sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append({"url": request.url, "verify": verify, "timeout": timeout})
        return super().send(request, stream, timeout, verify, cert, proxies)


def test_requests_go_out_with_certificate_checks_and_our_timeout(engine, gtts_server):
    adapter = RecordingAdapter()
    engine._session.mount("http://", adapter)
    gtts_server.enqueue(error(503))
    engine.synthesise(PIECE, "vi", 1.0)

    assert [sent["verify"] for sent in adapter.sent] == [True, True]  # retries too
    assert {sent["timeout"] for sent in adapter.sent} == {2.0}
    assert adapter.sent[0]["url"] == gtts_server.url + RPC_PATH.lstrip("/")


def test_a_self_signed_certificate_is_refused_at_once(https_gtts_server, sleeps, caplog):
    engine = GttsEngine(base_url=https_gtts_server.url, sleep=sleeps)
    with (
        caplog.at_level(logging.ERROR, logger="broadcaster.tts.gtts_engine"),
        pytest.raises(EngineUnavailable, match="Chứng chỉ TLS") as raised,
    ):
        engine.synthesise(PIECE, "vi", 1.0)

    assert "certificate verify failed" in str(raised.value)
    assert https_gtts_server.requests == []  # the text never left over the untrusted line
    assert sleeps == []  # a forged certificate does not get better by asking again
    assert "did not verify" in caplog.text


def test_a_certificate_trusted_through_requests_ca_bundle_is_used(
    https_gtts_server, sleeps, monkeypatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_gtts_server.certificate))
    engine = GttsEngine(base_url=https_gtts_server.url, sleep=sleeps, pause=0)
    assert engine.synthesise(PIECE, "vi", 1.0).data == TONE_MP3.read_bytes()
    engine.synthesise("Đề nghị bà con chủ động.", "vi", 1.0)
    assert len({r.port for r in https_gtts_server.requests}) == 1  # one TLS handshake
    engine.close()


def test_a_ca_bundle_that_cannot_be_read_makes_the_engine_unavailable(
    https_gtts_server, sleeps, monkeypatch, tmp_path
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    engine = GttsEngine(base_url=https_gtts_server.url, sleep=sleeps)
    with pytest.raises(EngineUnavailable, match=r"chứng chỉ.*missing\.pem"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert https_gtts_server.requests == [] and sleeps == []


def test_one_connection_carries_every_piece(engine, gtts_server):
    gtts_server.enqueue(ok(), error(500))  # an error page does not end the connection
    for piece in (PIECE, "Đề nghị bà con chủ động.", "Xin cảm ơn."):
        engine.synthesise(piece, "vi", 1.0)
    assert len(gtts_server.requests) == 4
    assert len({(r.client, r.port) for r in gtts_server.requests}) == 1


def test_a_dropped_connection_is_replaced(engine, gtts_server):
    gtts_server.enqueue(drop())
    engine.synthesise(PIECE, "vi", 1.0)
    engine.synthesise("Xin cảm ơn.", "vi", 1.0)
    ports = [r.port for r in gtts_server.requests]
    assert len(ports) == 3 and ports[0] != ports[1] == ports[2]


def test_the_environment_proxy_is_used(gtts_server, sleeps, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", gtts_server.url)  # the fake answers as a proxy would
    engine = GttsEngine(base_url=f"http://{NOWHERE}/", sleep=sleeps)
    engine.synthesise(PIECE, "vi", 1.0)
    [sent] = gtts_server.requests
    assert sent.path == f"http://{NOWHERE}/{RPC_PATH.lstrip('/')}"  # absolute: via the proxy


def test_no_proxy_is_honoured(gtts_server, sleeps, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    engine = GttsEngine(base_url=gtts_server.url, sleep=sleeps)
    engine.synthesise(PIECE, "vi", 1.0)
    assert [r.path for r in gtts_server.requests] == [RPC_PATH]


def insecure_request_warnings_shown() -> bool:
    """Whether a warning about an unverified HTTPS request would reach anyone now."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn("probe", urllib3.exceptions.InsecureRequestWarning, stacklevel=1)
    return bool(caught)


def test_the_probe_notices_silenced_insecure_request_warnings():
    with warnings.catch_warnings():
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # what gTTS does
        assert not insecure_request_warnings_shown()
    assert insecure_request_warnings_shown()


def test_using_the_engine_leaves_insecure_request_warnings_on(engine, gtts_server):
    engine.synthesise(PIECE, "vi", 1.0)
    assert insecure_request_warnings_shown()


def test_importing_the_engine_and_gtts_leaves_insecure_request_warnings_on():
    probe = (
        "import warnings, urllib3, gtts, gtts.tts, gtts.lang, gtts.tokenizer\n"
        "import broadcaster.tts.gtts_engine\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.warn('probe', urllib3.exceptions.InsecureRequestWarning)\n"
        "raise SystemExit(0 if caught else 1)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    done = subprocess.run([sys.executable, "-c", probe], env=environment, timeout=60)
    assert done.returncode == 0


# --- Reading the answer -----------------------------------------------------------------

ENTRY = '[["wrb.fr","jQ1olc",{},null,null,null,"generic"]\n]'


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"\xff\xfe not UTF-8",
        b"<html>Service temporarily unavailable</html>",
        b')]}\'\n\n12\n[["wrb.fr","jQ1olc"',  # cut short
        ENTRY.format("null").encode(),  # Google's refusal
        ENTRY.format('"not json"').encode(),
        ENTRY.format('"{\\"a\\": 1}"').encode(),  # an object, not a list
        ENTRY.format('"[1]"').encode(),  # a number, not base64
        ENTRY.format('"[\\"@@@\\"]"').encode(),  # broken base64
        ENTRY.format('"[\\"\\"]"').encode(),  # empty audio
        ENTRY.format("[" * 100_000).encode(),  # nested deeper than json can go
        ENTRY.replace("jQ1olc", "MkEWBc").format('"[\\"//NExA\\"]"').encode(),  # other RPC
    ],
)
def test_an_unreadable_answer_is_no_audio_not_a_crash(answer):
    assert audio_from_answer(answer) is None


def test_the_audio_is_read_out_of_the_answer():
    tone = TONE_MP3.read_bytes()
    assert audio_from_answer(batchexecute_answer(tone)) == tone
    assert audio_from_answer(b"\r\n".join(batchexecute_answer(tone).split(b"\n"))) == tone


def test_a_malformed_answer_for_good_is_a_tts_error_saying_no_audio(gtts_server, sleeps):
    engine = GttsEngine(base_url=gtts_server.url, retries=1, sleep=sleeps)
    garbage = Behaviour(body=ENTRY.format('"[\\"@@@\\"]"').encode())
    gtts_server.enqueue(garbage, garbage)
    with pytest.raises(TtsError, match="without audio"):
        engine.synthesise(PIECE, "vi", 1.0)
    assert len(gtts_server.requests) == 2


def test_an_endless_answer_is_cut_off(gtts_server, sleeps, monkeypatch):
    monkeypatch.setattr(gtts_engine, "MAX_ANSWER", 1000)  # the tone's answer is ~3 kB
    engine = GttsEngine(base_url=gtts_server.url, retries=0, sleep=sleeps)
    with pytest.raises(EngineUnavailable, match="longer than 1000 bytes"):
        engine.synthesise(PIECE, "vi", 1.0)
