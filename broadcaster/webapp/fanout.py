"""Answering every waiting station at once when an emergency is sent.

When the event loop wakes thousands of waiting stations, asking the Flask app
again for each (token, playlist, JSON, a commit) costs milliseconds apiece: a
country's worth takes many seconds on two cores. Instead this process loads the
new emergency's items for every station it reaches in **one query**
(:func:`broadcaster.services.playlist.emergency_deliveries`, the same items the
app lists), answers each woken station from memory, marks the items picked up
in batches, and serves those stations the emergency's audio straight from the
file for a short while after it vouched for their token.

The same memory of vouched tokens lets a station wait again without asking the
app: a token the app accepted for a station stays vouched for
:data:`TOKEN_VOUCHED_S`, unless a revocation of that station's tokens is heard
first (the process's watch hears them by notification on PostgreSQL, by a look
at the database each second otherwise), and a revocation that lands while the
app is still answering cancels the vouch that answer would have made.

The Flask app stays the reference: anything not covered here — another
emergency range, a station the load does not know, a Range request, a token not
seen waiting — goes to it, and a test checks that both answer alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from concurrent.futures import Executor
from pathlib import Path

from broadcaster.db import transaction, utcnow
from broadcaster.services import playlist

log = logging.getLogger(__name__)

LOAD_KEPT_S = 60.0  # a loaded emergency answers woken stations this long, then is read again
# A token the app accepted for a waiting station is trusted this long after (unless its
# station's tokens are revoked first): to wait again, and to fetch the emergency's audio
# from memory. The limit only bounds a revocation notice that was lost.
TOKEN_VOUCHED_S = 600.0
MAX_NEW = 20  # more new emergencies than this in one wake: ask the app
MARK_EVERY_S = 0.2  # picked-up marks are written in batches
MAX_VOUCHED = 50_000  # tokens remembered (a country's stations, several times over)
MAX_FILES = 16  # emergency files kept in memory (a common reading is fetched by thousands)


def token_key(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return hashlib.sha256(token.strip().encode()).hexdigest()
    return None


class EmergencyBook:
    def __init__(self, flask_app, executor: Executor) -> None:
        self._app = flask_app
        self._executor = executor
        settings = flask_app.config["BROADCASTER_SETTINGS"]
        self._tz = settings.tz
        self._audio_root = Path(settings.audio_dir)
        self._public_url = settings.public_url
        self._loads: dict[int, tuple[float, asyncio.Future]] = {}
        self._vouched: dict[str, tuple[str, float]] = {}  # token digest → (station, when)
        self._to_mark: list[int] = []
        self._files: dict[Path, bytes] = {}  # the few emergency files being fetched now
        self._marking: asyncio.Task | None = None
        self.epoch = 0  # revocations heard so far: a vouch begun before one is void

    # -- loading -------------------------------------------------------------------------

    def _factory(self):
        return self._app.extensions["broadcaster.sessionmaker"]

    def _load_now(self, emergency_id: int) -> dict:
        with self._factory()() as session:
            return playlist.emergency_deliveries(session, [emergency_id], self._audio_root)

    async def _deliveries(self, emergency_id: int) -> dict:
        now = time.monotonic()
        held = self._loads.get(emergency_id)
        if held is None or now - held[0] > LOAD_KEPT_S:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._executor, self._load_now, emergency_id)
            held = (now, asyncio.ensure_future(future))
            self._loads[emergency_id] = held
            for old in [k for k, (at, _) in self._loads.items() if now - at > LOAD_KEPT_S]:
                self._loads.pop(old, None)
        return await asyncio.shield(held[1])

    # -- answering -----------------------------------------------------------------------

    def vouch(self, scope, station: str, epoch: int) -> None:
        """The app accepted this request's token for ``station`` (it deferred the wait);
        ``epoch`` is :attr:`epoch` from before the app was asked."""
        key = token_key(scope)
        if key is not None and epoch == self.epoch:
            if len(self._vouched) > MAX_VOUCHED:
                now = time.monotonic()
                for old in [
                    k for k, (_, at) in self._vouched.items() if now - at > TOKEN_VOUCHED_S
                ]:
                    del self._vouched[old]
            self._vouched[key] = (station, time.monotonic())

    def vouched(self, scope, station: str) -> bool:
        """Whether the app accepted this request's token for ``station`` lately, and no
        revocation of the station's tokens was heard since."""
        key = token_key(scope)
        held = self._vouched.get(key) if key else None
        return (
            held is not None
            and held[0] == station
            and time.monotonic() - held[1] <= TOKEN_VOUCHED_S
        )

    def forget(self, codes: set[str]) -> None:
        """These stations lost a token: vouch for none of their tokens any more."""
        self.epoch += 1
        for key in [k for k, (station, _) in self._vouched.items() if station in codes]:
            del self._vouched[key]

    async def answer(self, scope, station: str, after: int, known: int, latest: int):
        """The woken station's answer ``{"latest", "items"}``, or None to ask the app."""
        if latest - known > MAX_NEW or latest <= known:
            return None
        items = []
        for emergency_id in range(known + 1, latest + 1):
            if emergency_id <= after:
                continue
            try:
                deliveries = await self._deliveries(emergency_id)
            except Exception:
                log.exception("loading emergency %s for the waiting stations", emergency_id)
                return None
            delivery = deliveries.get(station)
            if delivery is not None:
                items.extend(delivery.items)
        if not items:
            return {"latest": latest, "items": []}
        url = self._base(scope) + "/api/v1/audio/{sha256}.mp3"
        self._mark([i.slot_id for i in items])
        return {
            "latest": latest,
            "items": [playlist.item_document(i, url, self._tz) for i in items],
        }

    def _base(self, scope) -> str:
        if self._public_url:
            return self._public_url.rstrip("/")
        host = next((v.decode("latin1") for k, v in scope["headers"] if k == b"host"), None)
        if host is None:
            server = scope.get("server") or ("localhost", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")

    # -- picked up -----------------------------------------------------------------------

    def _mark(self, slot_ids: list[int]) -> None:
        self._to_mark.extend(slot_ids)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.ensure_future(self._flush_marks())

    async def _flush_marks(self) -> None:
        await asyncio.sleep(MARK_EVERY_S)
        ids, self._to_mark = self._to_mark, []
        if not ids:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._write_marks, ids)
        except Exception:  # the next playlist pull marks them too
            log.exception("marking %s emergency items picked up", len(ids))
        if self._to_mark:
            self._marking = asyncio.ensure_future(self._flush_marks())

    def _write_marks(self, ids: list[int]) -> None:
        with transaction(self._factory()) as session:
            playlist.mark_picked_up(session, ids, utcnow())

    # -- the emergency's audio -----------------------------------------------------------

    async def audio(self, scope, sha: str) -> tuple[bytes, str] | None:
        """The file's bytes for a station vouched for lately, or None to ask the app."""
        key = token_key(scope)
        vouched = self._vouched.get(key) if key else None
        if vouched is None or not self.vouched(scope, vouched[0]):
            return None
        station = vouched[0]
        path = None
        for _, future in list(self._loads.values()):
            if future.done() and not future.cancelled() and future.exception() is None:
                delivery = future.result().get(station)
                if delivery is not None and sha in delivery.audio_paths:
                    path = delivery.audio_paths[sha]
                    break
        if path is None:
            return None
        data = self._files.get(path)
        if data is None:
            loop = asyncio.get_running_loop()
            try:
                data = await loop.run_in_executor(self._executor, path.read_bytes)
            except OSError:
                return None
            if len(self._files) >= MAX_FILES:
                self._files.clear()
            self._files[path] = data
        return data, sha


async def send_body(send, status: int, content_type: bytes, body: bytes, headers=()) -> None:
    """One whole ASGI answer."""
    start = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*start, *headers]})
    await send({"type": "http.response.body", "body": body})


async def send_json(send, document: dict, status: int = 200, headers=()) -> None:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send_body(send, status, b"application/json", body, headers)


async def send_audio(send, data: bytes, sha: str) -> None:
    cached = [
        (b"etag", f'"{sha}"'.encode()),
        (b"accept-ranges", b"bytes"),
        (b"cache-control", b"private, max-age=31536000, immutable"),
    ]
    await send_body(send, 200, b"audio/mpeg", data, cached)
