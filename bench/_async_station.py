"""A station's emergency long-poll on asyncio, for simulating thousands of them in one process.

``bench/fanout.py`` can run its simulated stations as threads with the agent's
own :class:`~broadcaster.agent.client.ApiClient` (``--clients threads``) or as
these asyncio stations (``--clients asyncio``, the default). At 3,321 stations
on two cores the thread simulation spends ~2.5 ms of CPU per station per
emergency in ``requests`` and thread switches, as much as the server itself,
so it measures the simulation more than the server; these stations spend far
less.

They behave as the agent does, on the wire and in their pauses:

* the same question (``GET …/emergencies?after=N&wait=W`` with the bearer
  token, the agent's ``User-Agent`` and ``Accept``), on one kept-alive
  connection per station, with the agent's connect and read time-outs;
* the same reading of answers (:func:`broadcaster.agent.client.refusal`: 401/403,
  429/5xx with ``Retry-After``, other 4xx) and the same pacing
  (:class:`broadcaster.agent.listen.Pacing`: back-off with floors and jitter,
  no quick re-ask after an early empty answer);
* the same download of the emergency's audio: into ``<sha256>.mp3.part``,
  resumed with ``Range`` after a cut, up to the agent's attempts with its
  back-off, checked against the sha256, fsynced and renamed into place.

What they leave out does not reach the server: the clock-drift estimate from
the ``Date`` header and the player.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

import broadcaster
from broadcaster.agent.client import (
    CHUNK,
    CONNECT_TIMEOUT,
    DOWNLOAD_ATTEMPTS,
    DOWNLOAD_BACKOFF,
    READ_TIMEOUT,
    AgentError,
    AudioMismatch,
    Unavailable,
    _range_start,
    _sha256_of,
    _sync_folder,
    refusal,
)
from broadcaster.agent.listen import RETRIED, Pacing


class AsyncStation:
    def __init__(
        self,
        base: str,
        code: str,
        token: str,
        folder: Path,
        heard: Callable[[tuple], None],
        count: Callable[[], None],
    ) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.code = code
        self.token = token
        self.folder = folder
        self.heard = heard  # (emergency id, station, (asked, answered), held at, problem)
        self.count = count  # one more question asked
        self.polled_at = 0.0

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {self.token}",
                "User-Agent": f"broadcaster-agent/{broadcaster.__version__}",
                "Accept": "application/json",
            },
            connector=aiohttp.TCPConnector(limit=1),  # one connection, as requests keeps one
        )

    async def run(self, stopping: asyncio.Event, wait: int = 50, ceiling: float = 60.0) -> None:
        """The agent's ``listen`` loop."""
        async with self._session() as http:
            after, pacing = 0, Pacing(ceiling)
            while not stopping.is_set():
                asked = time.monotonic()
                try:
                    answer = await self._emergencies(http, after, wait)
                except RETRIED as exc:
                    await _pause(stopping, pacing.failed(exc))
                    continue
                after = await self._heard(http, answer, after)
                pause = pacing.answered(answer, asked, time.monotonic())
                if pause:
                    await _pause(stopping, pause)

    async def _emergencies(self, http: aiohttp.ClientSession, after: int, wait: int) -> dict:
        self.count()
        self.polled_at = time.time()
        timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=wait + READ_TIMEOUT)
        url = f"{self.base}/stations/{self.code}/emergencies"
        try:
            async with http.get(
                url, params={"after": after, "wait": wait}, timeout=timeout
            ) as response:
                body = await response.text()
                _check(response, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"không kết nối được máy chủ: {type(exc).__name__}") from exc
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise Unavailable("máy chủ trả lời không phải JSON") from exc
        if not isinstance(document, dict):
            raise Unavailable("máy chủ trả lời JSON không đúng dạng")
        return document

    async def _heard(self, http: aiohttp.ClientSession, answer: dict, after: int) -> int:
        answered, asked = time.time(), self.polled_at
        for item in answer.get("items", []):
            try:
                if item.get("audio"):
                    await self._download(http, item["audio"]["sha256"])
            except AgentError as exc:  # as the agent: noted, and the loop goes on
                self.heard((item["emergency_id"], self.code, answered, None, str(exc)))
                continue
            self.heard((item["emergency_id"], self.code, (asked, answered), time.time(), None))
        ids = [i["emergency_id"] for i in answer.get("items", [])]
        return max([after, int(answer.get("latest") or 0), *ids])

    # -- the agent's download ------------------------------------------------------------

    async def _download(self, http: aiohttp.ClientSession, sha256: str) -> Path:
        final = self.folder / f"{sha256}.mp3"
        if final.is_file():
            return final
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"{sha256}.mp3.part"
        failure: Exception | None = None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if attempt:
                await asyncio.sleep(DOWNLOAD_BACKOFF * 2 ** (attempt - 1))
            try:
                if await self._fetch_into(http, part, sha256):
                    break
            except Unavailable as exc:
                failure = exc
        else:
            raise failure or Unavailable(f"không tải được tệp {sha256[:12]}…")
        digest = _sha256_of(part)
        if digest != sha256:
            part.unlink(missing_ok=True)
            raise AudioMismatch(f"tệp {sha256[:12]}… tải về có mã băm {digest[:12]}…")
        os.replace(part, final)
        _sync_folder(self.folder)
        return final

    async def _fetch_into(self, http: aiohttp.ClientSession, part: Path, sha256: str) -> bool:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-", "Accept": "audio/mpeg"} if have else {}
        self.count()
        timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
        try:
            async with http.get(
                f"{self.base}/audio/{sha256}.mp3", headers=headers, timeout=timeout
            ) as response:
                if response.status == 416:  # nothing after what we have: it is all here
                    return True
                if response.status >= 400:
                    _check(response, await response.text())
                if response.status == 206 and _range_start(response) != have:
                    part.unlink(missing_ok=True)
                    raise Unavailable(f"máy chủ trả sai đoạn của {sha256[:12]}…")
                with open(part, "ab" if response.status == 206 else "wb") as out:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(f"tải {sha256[:12]}… bị ngắt: {type(exc).__name__}") from exc
        return True


def _check(response: aiohttp.ClientResponse, body: str) -> None:
    problem = refusal(
        response.status, response.headers.get("Retry-After"), body, response.reason or ""
    )
    if problem is not None:
        raise problem


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


def run_stations(
    url: str,
    stations: list[tuple[str, str]],
    folder: Path,
    heard: Callable[[tuple], None],
    count: Callable[[], None],
    stop_event,
) -> None:
    """Run ``stations`` (code, token) on one event loop until ``stop_event`` (a
    multiprocessing event) is set."""

    async def main() -> None:
        stopping = asyncio.Event()
        sims = [
            AsyncStation(url, code, token, folder / code, heard, count) for code, token in stations
        ]
        tasks = [asyncio.ensure_future(sim.run(stopping)) for sim in sims]
        await asyncio.get_running_loop().run_in_executor(None, stop_event.wait)
        stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
