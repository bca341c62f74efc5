"""The embedded server's front: stations wait for emergencies on an event loop, not in threads.

``broadcaster serve`` runs this under uvicorn. Every request goes to the Flask app
through a2wsgi's thread pool, as any WSGI server would run it, except the part of
the stations' emergency long-poll that is only waiting: the app answers such a
request at once with the newest emergency id it knows (``api.DEFER_KEY``), this
module parks the station on the event loop until the process's
:class:`~broadcaster.webapp.emergency_watch.EmergencyWatch` hears of a newer one
or the station's wait is over, and then asks the app again with ``wait=0`` (or,
when nothing newer came, answers "nothing new" itself, as the app would).

A station asks again the moment its wait ends (every 50 s or so), and after each
emergency. When the app accepted its token lately and it already knows the
newest emergency, asking the app again would only re-check the token: the
station waits again at once (:meth:`EmergencyBook.vouched`, which forgets a
token as soon as the process hears it was revoked). So at national scale the
stations' re-asks never queue for the app's threads, and a wake-up is answered
from the event loop alone.

A waiting station costs a socket and a few objects: no thread, no query. Why not
more threads: a waitress thread per waiting station means hundreds of threads for
one province, and every thread beyond the few that answer pulls is memory and a
lock round each wake-up; measured in ``bench/fanout.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import parse_qsl, urlencode

from a2wsgi import WSGIMiddleware

from broadcaster.webapp.api import (
    DEFER_KEY,
    MAX_WAIT_S,
    RETRY_WAITING_S,
    WAIT_BEYOND,
    WAITING_REFUSED,
)
from broadcaster.webapp.emergency_watch import EmergencyWatch
from broadcaster.webapp.fanout import EmergencyBook, send_audio, send_json
from broadcaster.webapp.presence import Presence

_LONG_POLL = re.compile(r"^/api/v1/stations/([^/]+)/emergencies$")
_AUDIO = re.compile(r"^/api/v1/audio/([0-9a-f]{64})\.mp3$")
_CONDITIONAL = (b"range", b"if-none-match", b"if-range", b"if-modified-since")
_WAIT_BEYOND = WAIT_BEYOND.lower().encode("latin1")
DEFAULT_CAPACITY = 10_000  # waiting stations one process holds (3,321 communes fit)


class WaitingRoom:
    """The stations waiting on this process's event loop."""

    def __init__(
        self,
        watch: EmergencyWatch,
        presence: Presence,
        capacity: int = DEFAULT_CAPACITY,
        forget: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.watch = watch
        self.presence = presence
        self.capacity = capacity
        self.waiting = 0
        self._forget = forget  # told, on the loop, of stations whose tokens were revoked
        self._loop: asyncio.AbstractEventLoop | None = None
        self._moved: asyncio.Event | None = None

    def bind(self) -> None:
        """Attach to the running event loop (once) and to the watch's news."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._moved = asyncio.Event()
            self.watch.subscribe(self._heard_in_thread)
            self.watch.subscribe_revoked(self._revoked_in_thread)

    def _heard_in_thread(self, latest: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._heard)

    def _revoked_in_thread(self, codes: set[str]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._revoked, codes)

    def _revoked(self, codes: set[str]) -> None:
        if self._forget is not None:
            self._forget(codes)
        self._heard()  # waiters whose token is no longer trusted stop waiting

    def _heard(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()  # every waiter looks at the watch's newest id again

    def has_room(self) -> bool:
        return self.waiting < self.capacity

    async def wait_beyond(
        self, station: str, known: int, timeout: float, trusted: Callable[[], bool]
    ) -> None:
        """Return when an emergency newer than ``known`` exists, after ``timeout``, or
        when ``trusted()`` turns false (the station's token was revoked)."""
        self.bind()
        deadline = time.monotonic() + timeout
        self.waiting += 1
        self.presence.arrive(station)
        self.watch.hold()
        try:
            while self.watch.latest <= known and trusted():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    await asyncio.wait_for(self._moved.wait(), remaining)
                except TimeoutError:
                    return
        finally:
            self.watch.release()
            self.presence.leave(station)
            self.waiting -= 1


class _Captured:
    """A whole answer of the inner app, held back until we know what to do with it."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def send(self, message: dict) -> None:
        self.messages.append(message)

    def header(self, name: bytes) -> bytes | None:
        start = self.messages[0] if self.messages else {}
        for key, value in start.get("headers", ()):
            if key == name:
                return value
        return None

    async def replay(self, send) -> None:
        for message in self.messages:
            await send(message)


async def _no_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def in_a_fresh_context(wsgi_app):
    """``wsgi_app`` run in an empty :mod:`contextvars` context on every call.

    a2wsgi runs each call in a copy of the asyncio task's context. A body over
    uvicorn's 64 KiB high-water mark pauses reading, and the app's thread, reading
    the rest, has the event loop resume it: the connection's reader is registered
    again in a copy of that thread's context, Flask's application context included,
    and every later request on the connection starts inside it. Flask then reuses
    that stale context instead of pushing its own and never tears it down, so one
    database session stays open across requests and threads (on SQLite a write lock
    held until some later commit: other writers wait, then fail). Each request
    starts clean here.
    """

    def call(environ, start_response):
        return contextvars.Context().run(wsgi_app, environ, start_response)

    return call


class StationFront:
    """The ASGI app: ``wsgi_app`` for everything, long-poll waiting done here."""

    def __init__(self, wsgi_app, *, workers: int = 8, capacity: int = DEFAULT_CAPACITY) -> None:
        watch = wsgi_app.extensions["broadcaster.emergency_watch"]
        presence = wsgi_app.extensions["broadcaster.presence"]
        self.inner = WSGIMiddleware(in_a_fresh_context(wsgi_app), workers=workers)
        self.book = EmergencyBook(wsgi_app, self.inner.executor)
        self.room = WaitingRoom(watch, presence, capacity, forget=self.book.forget)
        wsgi_app.extensions["broadcaster.waiting_room"] = self.room

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.inner(scope, receive, send)
        audio = _AUDIO.match(scope["path"])
        if audio is not None and not any(k in _CONDITIONAL for k, _ in scope["headers"]):
            found = await self.book.audio(scope, audio.group(1))
            if found is not None:
                return await send_audio(send, *found)
            return await self.inner(scope, receive, send)
        match = _LONG_POLL.match(scope["path"])
        wait = _query_int(scope, "wait", 55) if match else None
        if not wait:
            return await self.inner(scope, receive, send)
        started = time.monotonic()
        station = match.group(1)
        self.room.bind()
        known = self._wait_again(scope, station)
        if known is None:  # the app checks the token and what the station lacks
            epoch = self.book.epoch
            first = _Captured()
            await self.inner({**scope, DEFER_KEY: True}, _no_body, first.send)
            beyond = first.header(_WAIT_BEYOND)
            if beyond is None:  # an answer (items, a refusal): send it as it is
                return await first.replay(send)
            known = int(beyond)
            self.book.vouch(scope, station, epoch)
        if not self.room.has_room():
            return await _refuse(send)
        remaining = wait - (time.monotonic() - started)
        trusted = partial(self.book.vouched, scope, station)
        waiting = asyncio.ensure_future(self.room.wait_beyond(station, known, remaining, trusted))
        gone = asyncio.ensure_future(_disconnected(receive))
        done, _ = await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiting, gone):
            if task not in done:
                task.cancel()
        if gone in done:
            return  # the station hung up: nobody to answer
        again = {**scope, "query_string": _with_wait(scope, 0)}
        if not trusted():  # its token was revoked meanwhile: the app answers (a 401)
            return await self.inner(again, _no_body, send)
        latest = self.room.watch.latest
        if latest <= known:
            # the wait is over and nothing newer exists: the app's answer would be this
            return await send_json(send, {"latest": known, "items": []})
        after = _query_int(scope, "after", None)
        document = await self.book.answer(scope, station, after or 0, known, latest)
        if document is not None:  # every woken station answered from one load
            return await send_json(send, document)
        await self.inner(again, _no_body, send)

    def _wait_again(self, scope, station: str) -> int | None:
        """The id to wait beyond without asking the app, or None to ask it.

        Only for a well-formed question from a token the app accepted for this station
        lately, from a station that knows the newest emergency already: the app would
        check the token and defer the wait with that same id.
        """
        wait, after = _query_int(scope, "wait", None), _query_int(scope, "after", None)
        if wait is None or not 0 < wait <= MAX_WAIT_S or after is None:
            return None
        if after != self.room.watch.latest or not self.book.vouched(scope, station):
            return None
        return after


def _query_int(scope, name: str, high: int | None) -> int | None:
    """A non-negative integer query parameter: 0 when absent, None when malformed (the
    app answers that with a 400 itself)."""
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin1")):
        if key == name:
            if not value.isascii() or not value.isdigit() or len(value) > 18:
                return None
            return min(int(value), high) if high is not None else int(value)
    return 0


def _with_wait(scope, wait: int) -> bytes:
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin1"), keep_blank_values=True)
    pairs = [(k, v) for k, v in pairs if k != "wait"] + [("wait", str(wait))]
    return urlencode(pairs).encode("latin1")


async def _disconnected(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _refuse(send) -> None:
    error = {"code": "too_many_waiting", "message": WAITING_REFUSED, "details": []}
    retry = [(b"retry-after", str(RETRY_WAITING_S).encode())]
    await send_json(send, {"error": error}, 503, retry)
