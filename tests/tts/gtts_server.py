"""A loopback fake of Google Translate's speech endpoint, for testing the gTTS engine.

gTTS POSTs ``f.req=<rpc>`` to ``/_/TranslateWebserverUi/data/batchexecute`` and
expects a "batchexecute" answer. We cannot record one from Google here (no
internet), so :func:`batchexecute_answer` rebuilds the format from published
captures, down to the details gTTS does not need:

    )]}'                    anti-JSON-hijacking prefix, then a blank line
    <n>                     length of the next chunk plus 2 (for the newlines around it)
    [["wrb.fr","jQ1olc","[\\"<base64 MP3>\\"]\\n",null,null,null,"generic"]
    ]
    <n>
    [["di",42]
    ,["af.httprm",41,"<request id>",7]
    ]
    <n>
    [["e",4,null,null,<length of the whole answer>]
    ]

The RPC's result (third field) is itself JSON in a string: a one-element list
holding the base64 audio. gTTS finds the line with ``jQ1olc`` and cuts the base64
out with a regular expression; a refusal has ``null`` there and ``[3]`` in the sixth. The audio is
a real MP3 in Google's shape (MPEG-2 layer III, 24 kHz mono, 32 kbit/s, no ID3 or
Xing header): ``data/tone_440hz_500ms.mp3``, and ``data/batchexecute_tone.txt`` is
the whole answer for it. Regenerate both as ``data/README.md`` says.

Get the ``gtts_server`` fixture with ``from tests.tts.gtts_server import
gtts_server_fixture  # noqa: F401`` (named apart so test arguments do not shadow the
import), script answers with :meth:`FakeGoogleTts.enqueue`, and read what the engine
sent in :attr:`FakeGoogleTts.requests`. With the queue empty, every request gets the tone.
Like Google, the fake keeps connections alive; each request records the client's port,
so a test can count connections. ``https_gtts_server_fixture`` serves the same over
TLS with a self-signed certificate made at test time by the ``openssl`` command
(skipped where there is none), to check that certificates are checked.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

DATA = Path(__file__).parent / "data"
TONE_MP3 = DATA / "tone_440hz_500ms.mp3"
RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def batchexecute_answer(audio: bytes | None) -> bytes:
    """Google's answer carrying ``audio`` (an MP3), or its refusal when ``audio`` is None."""
    if audio is None:
        result = "null"
        tail = "[3]"  # an error code where the audio-bearing answer has null
    else:
        payload = json.dumps([base64.b64encode(audio).decode("ascii")]) + "\n"
        result = json.dumps(payload)
        tail = "null"
    chunks = [
        f'[["wrb.fr","jQ1olc",{result},null,null,{tail},"generic"]\n]',
        '[["di",42]\n,["af.httprm",41,"-3141592653589793238",7]\n]',
    ]
    head = ")]}'\n\n" + "".join(f"{len(chunk) + 2}\n{chunk}\n" for chunk in chunks)
    total = len(head)
    while True:  # the last chunk states the whole answer's length, its own digits included
        last = f'[["e",4,null,null,{total}]\n]'
        text = head + f"{len(last) + 2}\n{last}\n"
        if len(text) == total:
            return text.encode("ascii")
        total = len(text)


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    drop: bool = False  # close the connection without answering


def ok(audio: bytes | None = None) -> Behaviour:
    """A normal answer with ``audio`` (default: the 440 Hz tone)."""
    return Behaviour(body=batchexecute_answer(audio or TONE_MP3.read_bytes()))


def error(status: int, retry_after: str | None = None) -> Behaviour:
    """An HTTP error page, e.g. ``error(429, retry_after="2")``, ``error(500)``."""
    headers = {"Content-Type": "text/html; charset=UTF-8"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Behaviour(status, f"<html><title>Error {status}</title></html>".encode(), headers)


def empty() -> Behaviour:
    """200 with an empty body."""
    return Behaviour(body=b"")


def no_audio() -> Behaviour:
    """200 with a well-formed answer that carries no audio (what Google says when it refuses)."""
    return Behaviour(body=batchexecute_answer(None))


def hang(seconds: float = 10.0) -> Behaviour:
    """Say nothing for ``seconds`` (longer than the client's timeout), then answer normally."""
    return Behaviour(body=ok().body, hang=seconds)


def drop() -> Behaviour:
    """Read the request, then close the connection without a word."""
    return Behaviour(drop=True)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, with the RPC's arguments decoded."""

    client: str  # the peer's IP address
    port: int  # the peer's port: one per connection
    method: str
    path: str
    headers: dict[str, str]
    rpc_id: str | None  # "jQ1olc" for speech
    text: str | None
    lang: str | None
    slow: bool | None  # gTTS sends true for slow, null for normal


def _decode(client: tuple, method: str, path: str, headers: dict[str, str], body: bytes):
    rpc_id = text = lang = slow = None
    form = parse_qs(body.decode("utf-8"))
    if "f.req" in form:
        rpc_id, arguments, *_ = json.loads(form["f.req"][0])[0][0]
        text, lang, speed, *_ = json.loads(arguments)
        slow = bool(speed)
    return RecordedRequest(*client[:2], method, path, headers, rpc_id, text, lang, slow)


class FakeGoogleTts:
    """A threaded HTTP server on 127.0.0.1 answering as scripted. Also a context manager.

    With ``tls`` (a server-side :class:`ssl.SSLContext`) it speaks HTTPS; a client
    that refuses the certificate hangs up during the handshake, before any request.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()  # open ones, shut down by stop()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._scheme = "https" if tls else "http"
        self.certificate: Path | None = None  # the self-signed one, for https_gtts_server
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """What to pass as the engine's ``base_url``."""
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host}:{port}/"

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Answer the next requests this way, in order; then :func:`ok` again."""
        with self._lock:
            self._queue.extend(behaviours)

    def _answer(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            if urlsplit(request.path).path != RPC_PATH:
                return error(404)  # a wrong path must not use up the script
            return self._queue.popleft() if self._queue else ok()

    def start(self) -> FakeGoogleTts:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:  # kept-alive connections would wait for the client's next request
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed
                    connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeGoogleTts:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _make_handler(fake: FakeGoogleTts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection alive unless told to close

        def setup(self) -> None:
            super().setup()
            with fake._lock:
                fake._connections.add(self.connection)

        def finish(self) -> None:
            with fake._lock:
                fake._connections.discard(self.connection)
            super().finish()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorded = _decode(self.client_address, "POST", self.path, dict(self.headers), body)
            behaviour = fake._answer(recorded)
            self.close_connection = behaviour.drop or behaviour.hang > 0
            if behaviour.hang:
                fake._stopping.wait(behaviour.hang)
            if behaviour.drop:
                return
            try:
                self.send_response(behaviour.status)
                headers = {"Content-Type": "application/json; charset=utf-8"}
                headers |= behaviour.headers
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(behaviour.body)))
                self.end_headers()
                self.wfile.write(behaviour.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the "hang" behaviour)

        def log_message(self, format: str, *args) -> None:
            pass  # keep pytest's output clean

    return Handler


def self_signed_tls(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 signed by itself, and a server context using it.

    Made by the ``openssl`` command: the ``cryptography`` package is not installed.
    """
    config = directory / "req.cnf"
    config.write_text(
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n"
        "[dn]\nCN = 127.0.0.1\n"
        "[ext]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, digitalSignature, keyCertSign\n"
        "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\nsubjectAltName = IP:127.0.0.1\n"
    )
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-days", "2", "-nodes", "-config", config),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", key, "-out", cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def _clean_environment(monkeypatch) -> None:
    """No proxies (loopback traffic must go straight to the fake), requests' own CA bundle."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in CA_BUNDLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(name="gtts_server")
def gtts_server_fixture(monkeypatch) -> Iterator[FakeGoogleTts]:
    """A running :class:`FakeGoogleTts`, stopped after the test.

    The environment's proxies are cleared: a developer's ``no_proxy`` need not list
    127.0.0.1, and loopback traffic must go straight to the fake. So are
    ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE``, for requests' default certificates.
    """
    _clean_environment(monkeypatch)
    with FakeGoogleTts() as server:
        yield server


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory) -> tuple[Path, ssl.SSLContext]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    return self_signed_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(name="https_gtts_server")
def https_gtts_server_fixture(monkeypatch, self_signed) -> Iterator[FakeGoogleTts]:
    """:func:`gtts_server_fixture` over HTTPS; its certificate is ``server.certificate``."""
    _clean_environment(monkeypatch)
    with FakeGoogleTts(tls=self_signed[1]) as server:
        server.certificate = self_signed[0]
        yield server
