"""A lossy link for reliability tests: a TCP proxy that drops connections and adds delays.

It sits between the agent and the server and reads the HTTP/1.1 messages passing
through (keep-alive connections carry several), so it can decide, request by
request, where to cut the connection:

- ``before``: the request never reaches the server (sometimes a prefix of it does,
  which the server must discard);
- ``after``: the server answered, the answer is thrown away: the server has done
  the work and the agent never hears of it (what idempotency is for);
- ``mid``: part of the answer reaches the agent, then the connection drops.

Everything else is passed on after a small random delay. One seeded
:class:`random.Random` draws every decision, in the order requests arrive, so a
run is reproducible as far as thread timing allows. ``events`` records each
request's fate with its method, path and the server's status (when it answered);
``watched`` is set each time a request whose path ends with ``watch`` goes out to the
server, so a test can time a crash to land while the server works on one.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass

BEFORE, AFTER, MID, PASSED = "before", "after", "mid", "passed"
UPSTREAM_DOWN = "upstream_down"  # nothing listens: the server is down
UPSTREAM_LOST = "upstream_lost"  # the request went out, the connection died before an answer
AGENT_LOST = "agent_lost"  # the agent hung up before its answer could be passed on
UPSTREAM_TIMEOUT = 60.0  # a server that neither answers nor dies: not expected, not forever


class _Closed(Exception):
    """The other side closed (or reset) the connection before a whole message came."""


class _Reader:
    """Buffered reads of whole HTTP messages from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            raise _Closed(str(exc)) from exc
        if not data:
            raise _Closed("closed")
        self.buf += data

    def until(self, marker: bytes) -> bytes:
        while (end := self.buf.find(marker)) < 0:
            self._more()
        end += len(marker)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        """Everything until the peer closes (a response framed by closing)."""
        try:
            while True:
                self._more()
        except _Closed:
            pass
        out, self.buf = self.buf, b""
        return out


@dataclass(frozen=True)
class Head:
    start_line: str
    headers: dict[str, str]  # lower-case names

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        return cls(lines[0], headers)

    @property
    def method(self) -> str:
        return self.start_line.split(" ")[0]

    @property
    def path(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1].split("?", 1)[0] if len(parts) > 1 else ""

    @property
    def closes(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


def _body(reader: _Reader, head: Head, *, bodiless: bool = False) -> tuple[bytes, bool]:
    """The message body as it came on the wire; True when the peer framed it by closing."""
    if bodiless:
        return b"", False
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = reader.until(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (trailer := reader.until(b"\r\n")) != b"\r\n":
                    parts.append(trailer)
                parts.append(b"\r\n")
                return b"".join(parts), False
            parts.append(reader.exactly(size + 2))
    if "content-length" in head.headers:
        return reader.exactly(int(head.headers["content-length"])), False
    return reader.rest(), True


@dataclass(frozen=True)
class Event:
    fate: str
    method: str
    path: str
    status: int | None  # the server's answer, when it gave one
    at: float  # time.monotonic() when the fate was sealed
    server_s: float | None  # how long the server took to answer, when it did


class LossyProxy:
    """Listens on a free local port and forwards to ``127.0.0.1:upstream_port``, lossily.

    ``before``, ``after`` and ``mid`` are each one's probability per request;
    ``delay`` is the longest random pause added on the way in and on the way out.
    """

    def __init__(
        self,
        upstream_port: int,
        *,
        seed: int,
        before: float = 0.08,
        after: float = 0.12,
        mid: float = 0.06,
        delay: float = 0.02,
        watch: str = "",
    ) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.rates = (before, after, mid)
        self.delay = delay
        self.watch = watch
        self.watched = threading.Event()
        self.random = random.Random(seed)
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._closing = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        # a socket closed under another thread's accept() does not wake it (Linux): the
        # accepting thread looks at _closing between short waits instead
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, name="lossy-proxy", daemon=True)
        self._thread.start()

    # -- the link ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closing = True
            socks = list(self._socks)
        self._thread.join(5)
        self.listener.close()
        for sock in socks:
            _shut(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                if self._closing:
                    return
                continue
            except OSError:
                return  # closed
            client.settimeout(None)
            if not self._track(client):
                _shut(client)
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._socks.add(sock)
            return True

    def _fate(self) -> tuple[str, float, float, float]:
        """A request's fate, where to cut, and its two delays: drawn together, in order."""
        with self._lock:
            r = self.random.random()
            before, after, mid = self.rates
            if r < before:
                fate = BEFORE
            elif r < before + after:
                fate = AFTER
            elif r < before + after + mid:
                fate = MID
            else:
                fate = PASSED
            return (
                fate,
                self.random.random(),
                self.random.uniform(0, self.delay),
                self.random.uniform(0, self.delay),
            )

    def _note(self, fate: str, head: Head, status: int | None = None, server_s=None) -> None:
        event = Event(fate, head.method, head.path, status, time.monotonic(), server_s)
        with self._lock:
            self.events.append(event)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            reader = _Reader(client)
            up_reader: _Reader | None = None
            while True:
                try:
                    raw_head = reader.until(b"\r\n\r\n")
                    head = Head.parse(raw_head)
                    framed = "content-length" in head.headers or "transfer-encoding" in head.headers
                    body, _ = _body(reader, head, bodiless=not framed)
                except _Closed:
                    return  # the agent closed its keep-alive connection
                request = raw_head + body
                fate, cut, delay_in, delay_out = self._fate()
                time.sleep(delay_in)
                if fate == BEFORE:
                    if cut < 0.5:  # a prefix reaches the server, which must throw it away
                        upstream = upstream or self._connect()
                        if upstream is not None:
                            _send(upstream, request[: max(1, int(len(request) * cut))])
                    self._note(BEFORE, head)
                    return
                if upstream is None:
                    upstream = self._connect()
                    if upstream is None:  # the server is down: the agent's connection drops
                        self._note(UPSTREAM_DOWN, head)
                        return
                    up_reader = _Reader(upstream)
                sent_at = time.monotonic()
                try:
                    upstream.sendall(request)
                    if self.watch and head.path.endswith(self.watch):
                        self.watched.set()
                    answer_head = up_reader.until(b"\r\n\r\n")
                    answer = Head.parse(answer_head)
                    status = int(answer.start_line.split(" ")[1])
                    bodiless = head.method == "HEAD" or status in (204, 304)
                    answer_body, framed_by_close = _body(up_reader, answer, bodiless=bodiless)
                except (_Closed, OSError):
                    # killed while it worked on it, or earlier on this kept-alive connection
                    self._note(UPSTREAM_LOST, head)
                    return
                response = answer_head + answer_body
                took = time.monotonic() - sent_at
                if fate == AFTER:
                    self._note(AFTER, head, status, took)
                    return
                if fate == MID:
                    _send(client, response[: max(1, int(len(response) * cut))])
                    self._note(MID, head, status, took)
                    return
                time.sleep(delay_out)
                if not _send(client, response):
                    self._note(AGENT_LOST, head, status, took)
                    return
                self._note(PASSED, head, status, took)
                if head.closes or answer.closes or framed_by_close:
                    return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _shut(sock)
                    with self._lock:
                        self._socks.discard(sock)

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        except OSError:
            return None
        if not self._track(sock):
            _shut(sock)
            return None
        return sock


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
