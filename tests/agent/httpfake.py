"""A tiny scripted HTTP server on loopback, for the client's network edge cases."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    """Answers each request with ``handler(request, seen_so_far)``."""

    handler: Callable[[BaseHTTPRequestHandler, list[Seen]], None]
    seen: list[Seen] = field(default_factory=list)

    def __enter__(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                fake.handler(self, fake.seen)

            do_GET = do_POST = _any

            def log_message(self, *args) -> None:  # quiet tests
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def _head(h: BaseHTTPRequestHandler, status: int, length: int, headers: dict[str, str]) -> None:
    h.send_response_only(status)
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    headers.setdefault("Date", h.date_time_string())
    for name, value in headers.items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(length))
    h.end_headers()


def reply(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    _head(h, status, len(body), headers)
    h.wfile.write(body)


def cut_after(h: BaseHTTPRequestHandler, status: int, body: bytes, sent: int, **headers) -> None:
    """Promise ``len(body)`` bytes, send ``sent`` of them, and hang up."""
    _head(h, status, len(body), headers)
    h.wfile.write(body[:sent])
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True
