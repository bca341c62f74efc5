"""A loopback fake of FPT.AI's text-to-speech v5 service, built from its public docs.

What the documentation (docs.fpt.ai, Speech → Text to Speech) describes, and the fake does:

* ``POST /hmi/tts/v5`` with the text as the UTF-8 body and headers ``api-key`` (the docs'
  table spells it ``api_key``; their code samples, and most clients, send ``api-key``; the
  fake takes either), ``voice`` (banmai, lannhi, ...), ``speed`` (-3..3, empty or absent
  for 0) and an optional ``format`` (mp3 or wav). The body must hold 3 to 5,000 characters.
* The answer is JSON: ``{"async": "<URL of the file>", "error": 0, "message": "...",
  "request_id": "..."}``. The file is not there at once ("from 5 seconds to 2 minutes"):
  until it is, its URL answers 404 (an S3 ``NoSuchKey`` XML page, as the real bucket does).
  Here the file lives on the same server, under ``/text2speech-v5/``.
* Refusals: a missing or wrong key gets 401 with a JSON message (the API gateway's
  answer); a bad header or body gets a 200 with a non-zero ``error`` and a ``message``
  (what the docs say an error looks like). The fake's choice of codes: 1 for a bad voice,
  speed or format, 2 for text outside 3..5,000 characters.

Scripting: :meth:`FakeFptAi.enqueue` sets how the next POSTs are answered (:func:`error`
for 429 with ``Retry-After`` or 5xx, :func:`refusal` for a 200 with an error code,
:func:`hang` for an answer slower than the client's timeout, :func:`not_audio` for a
synthesis whose file is not audio); with the queue empty, POSTs are synthesised
normally. ``pending_polls`` is how many GETs of a new file answer 404 before it is ready.
Read what the engine sent in :attr:`FakeFptAi.requests` (``.posts`` and ``.polls`` split
them). The audio is a real MP3 (a 0.6 s tone) made once per process by the project's
ffmpeg, so nothing binary is committed.

Use the ``fptai_server`` fixture with ``from tests.tts.fptai_server import
fptai_server_fixture  # noqa: F401``; the key it expects is :data:`API_KEY`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import subprocess
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import imageio_ffmpeg
import pytest

API_PATH = "/hmi/tts/v5"
FILES_PATH = "/text2speech-v5/"
# what the fake accepts; distinctive, so a test can check it leaks nowhere
API_KEY = "fpt-test-key-0123456789abcdef"
VOICES = (
    *("banmai", "thuminh", "leminh", "myan", "giahuy", "ngoclam"),
    *("lannhi", "linhsan", "minhquang"),
)
SPEEDS = ("-3", "-2", "-1", "0", "1", "2", "3", "")
MIN_CHARS, MAX_CHARS = 3, 5000
WAITING_MESSAGE = "The content will be returned after a few seconds under the async link."
NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@functools.cache
def tone_mp3() -> bytes:
    """0.6 s of a 440 Hz tone as an MP3 (MPEG-2 layer III, 22,050 Hz mono, with an ID3 tag)."""
    done = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.6"),
            *("-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3", "-"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one POST (``status`` None: synthesise as the service would)."""

    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (cut short when the server stops)
    file: bytes | None = None  # with status None: the file's content instead of the tone


def error(status: int, retry_after: str | None = None) -> Behaviour:
    """An HTTP error, e.g. ``error(429, retry_after="2")`` or ``error(503)``."""
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    message = "API rate limit exceeded" if status == 429 else f"HTTP {status}"
    return Behaviour(status, json.dumps({"message": message}).encode(), headers)


def refusal(code: int, message: str) -> Behaviour:
    """A 200 whose JSON carries a non-zero ``error`` and a ``message``, and no file."""
    body = {"async": "", "error": code, "message": message, "request_id": str(uuid.uuid4())}
    return Behaviour(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def hang(seconds: float = 10.0) -> Behaviour:
    """Say nothing for ``seconds`` (longer than the client's timeout), then synthesise."""
    return Behaviour(hang=seconds)


def not_audio(content: bytes = b"<html><body>Service maintenance</body></html>") -> Behaviour:
    """A normal answer, but the file at the async URL is not audio."""
    return Behaviour(file=content)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    text: str | None  # a POST's body, decoded as UTF-8

    @property
    def api_key(self) -> str | None:
        return self.headers.get("api-key", self.headers.get("api_key"))


class FakeFptAi:
    """A threaded HTTP server on 127.0.0.1 playing FPT.AI's TTS v5. Also a context manager."""

    def __init__(self, pending_polls: int = 2, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.pending_polls = pending_polls  # GETs of a new file answered 404 before it is ready
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Behaviour] = deque()
        self._files: dict[str, list] = {}  # name -> [polls still to refuse, content]
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """What to pass as the engine's ``url`` (``BROADCASTER_FPTAI_URL``)."""
        return self.base + API_PATH

    @property
    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def polls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith(FILES_PATH)]

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Answer the next POSTs this way, in order; then synthesise normally again."""
        with self._lock:
            self._queue.extend(behaviours)

    # -- answers ---------------------------------------------------------------

    def _post(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes, float]:
        with self._lock:
            self.requests.append(request)
            if urlsplit(request.path).path != API_PATH:
                return _json(404, {"message": "no Route matched with those values"})
            behaviour = self._queue.popleft() if self._queue else Behaviour()
        if behaviour.status is not None:
            return behaviour.status, behaviour.headers, behaviour.body, behaviour.hang
        status, headers, body = self._synthesise(request, behaviour.file)
        return status, headers, body, behaviour.hang

    def _synthesise(self, request: RecordedRequest, content: bytes | None):
        if request.api_key != self.api_key:
            return _json(401, {"message": "Invalid authentication credentials"})
        headers = request.headers
        voice = headers.get("voice", "banmai")
        if voice not in VOICES:
            return _refuse(1, f"Invalid voice: {voice}")
        if headers.get("speed", "").strip() not in SPEEDS:
            return _refuse(1, "Invalid speed, must be an integer from -3 to 3")
        fmt = headers.get("format", "mp3")
        if fmt not in ("mp3", "wav"):
            return _refuse(1, f"Invalid format: {fmt}")
        if not MIN_CHARS <= len(request.text or "") <= MAX_CHARS:
            return _refuse(2, "Text length must be between 3 and 5000 characters")
        name = f"{voice}.{headers.get('speed') or 0}.{uuid.uuid4().hex}.{fmt}"
        with self._lock:
            self._files[name] = [self.pending_polls, tone_mp3() if content is None else content]
        return _json(
            200,
            {
                "async": f"{self.base}{FILES_PATH}{name}",
                "error": 0,
                "message": WAITING_MESSAGE,
                "request_id": str(uuid.uuid4()),
            },
        )

    def _get(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            path = urlsplit(request.path).path
            if path == API_PATH:  # what a probe without a key gets from the gateway
                return _json(401, {"message": "No API key found in request"})
            entry = self._files.get(path.removeprefix(FILES_PATH))
            if not path.startswith(FILES_PATH) or entry is None:
                return 404, {"Content-Type": "application/xml"}, NO_SUCH_KEY
            if entry[0] > 0:
                entry[0] -= 1
                return 404, {"Content-Type": "application/xml"}, NO_SUCH_KEY
            return 200, {"Content-Type": "audio/mpeg"}, entry[1]

    # -- running ----------------------------------------------------------------

    def start(self) -> FakeFptAi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeFptAi:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _json(status: int, body: dict) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return status, {"Content-Type": "application/json; charset=utf-8"}, data


def _refuse(code: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return _json(200, {"async": "", "error": code, "message": message, "request_id": "r-1"})


def _make_handler(fake: FakeFptAi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with fake._lock:
                fake._connections.add(self.connection)

        def finish(self) -> None:
            with fake._lock:
                fake._connections.discard(self.connection)
            super().finish()

        def _recorded(self, body: bytes | None) -> RecordedRequest:
            headers = {name.lower(): value for name, value in self.headers.items()}
            text = body.decode("utf-8", errors="replace") if body is not None else None
            return RecordedRequest(self.command, self.path, headers, text)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, data, wait = fake._post(self._recorded(body))
            if wait:
                self.close_connection = True
                fake._stopping.wait(wait)
            self._send(status, headers, data)

        def do_GET(self) -> None:
            self._send(*fake._get(self._recorded(None)))

        def do_HEAD(self) -> None:
            status, headers, data = fake._get(self._recorded(None))
            self._send(status, headers, data, head=True)

        def _send(self, status: int, headers: dict[str, str], data: bytes, head=False) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


@pytest.fixture(name="fptai_server")
def fptai_server_fixture(monkeypatch) -> Iterator[FakeFptAi]:
    """A running :class:`FakeFptAi`, stopped after the test; proxies cleared for loopback."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with FakeFptAi() as server:
        yield server
