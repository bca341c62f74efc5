"""Every request the station front hands to Flask starts with a context of its own.

Found by the schemathesis run (bench/api_contract.py): a request's Flask application
context leaked into the next requests on the same connection.
Flask reused it, never tore it down, and one database session stayed open across
requests and threads — on SQLite a write lock held until a later commit, so other
writers waited 10 s and answered 503. It took a body over uvicorn's 64 KiB
high-water mark: the app's thread asked the event loop to resume reading, and the
connection's reader was registered again in that thread's context.
"""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urlsplit

from flask import g

from tests.agent.live import FrontServer


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    """One HTTP/1.1 answer with a Content-Length, read from a kept-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split()[1]), rest[:length]


def test_each_request_gets_a_fresh_application_context_after_requests_with_bodies(world):
    app = world.app

    @app.get("/_probe")
    def _probe():
        g.requests_seen = g.get("requests_seen", 0) + 1  # 1 unless the context is shared
        return str(g.requests_seen)

    front = FrontServer(app)
    try:
        parts = urlsplit(front.url)
        # over uvicorn's 64 KiB high-water mark: reading pauses, and the app's thread has
        # the event loop resume it (a newer agent's extra fields are ignored, not refused)
        padding = "x" * 100_000
        body = json.dumps({"player_state": "idle", "from_a_newer_agent": padding}).encode()
        head = (
            f"POST /api/v1/stations/{world.station}/heartbeat HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nAuthorization: {world.auth()['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        probe = f"GET /_probe HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
        seen = []
        # one kept-alive connection, as an agent keeps it
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
            for _ in range(8):
                sock.sendall(head + body)
                assert _answer(sock)[0] == 200
                sock.sendall(probe)
                seen.append(_answer(sock)[1].decode())
    finally:
        front.stop()
    assert seen == ["1"] * len(seen)


def test_the_fresh_context_hides_an_active_one():
    from flask import Flask, has_app_context

    from broadcaster.webapp.asgi import in_a_fresh_context

    outer = Flask("outer")
    answers = []

    def inner(environ, start_response):
        answers.append(has_app_context())
        return [b""]

    with outer.app_context():
        in_a_fresh_context(inner)({}, lambda *a: None)
        assert has_app_context()  # the caller's own context is left as it was
    assert answers == [False]
