"""The agent's client for the station API (``/api/v1``): the only way it reaches the server.

One :class:`requests.Session` with the station's bearer token and timeouts. Refusals
come back as typed errors the runner can act on: :class:`AuthRefused` (401/403: a
person must fix the token), :class:`Refused` (another 4xx: this request is wrong,
retrying it will not help) and :class:`Unavailable` (network, time-out, 429, 5xx:
try again later). Every answer's ``Date`` header feeds the clock-drift estimate.

Audio downloads resume with ``Range`` into ``<sha256>.mp3.part``, are checked
against their sha256 and only then renamed into place, so a file that exists
is a file that is whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

import broadcaster
from broadcaster.agent.clock import ClockDrift
from broadcaster.errors import BroadcasterError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
CHUNK = 64 * 1024
DOWNLOAD_ATTEMPTS = 4  # each attempt resumes where the last one was cut
DOWNLOAD_BACKOFF = 0.5  # seconds before the second attempt, doubling after
JITTER = 0.25  # waits are stretched by up to this much, so refused stations do not return together


class AgentError(Exception):
    """Something the agent could not do with the server."""


class AuthRefused(BroadcasterError):
    """The server refused the token (401) or the station (403): only a person can fix it."""


class Refused(AgentError):
    """A 4xx other than 401/403: the request itself is wrong."""

    def __init__(self, status: int, code: str, message: str, details: list | None = None):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class Unavailable(AgentError):
    """The server cannot be reached or is busy; ``retry_after`` seconds if it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AudioMismatch(AgentError):
    """A downloaded file's sha256 is not the one the playlist promised; it was thrown away."""


@dataclass(frozen=True)
class PlaylistAnswer:
    """``document`` is None when the server said 304 (the cached copy still holds)."""

    document: dict[str, Any] | None
    etag: str | None


def _error_body(status: int, reason: str, body: str) -> tuple[str, str, list]:
    """The API's ``{"error": {code, message, details}}``, or what stands in for it when the
    body is something else (a proxy's page): its first line."""
    try:
        error = json.loads(body)["error"]
        return str(error["code"]), str(error["message"]), list(error.get("details") or [])
    except (ValueError, KeyError, TypeError):
        text = body.strip().splitlines()
        return f"http_{status}", (text[0][:200] if text else reason), []


def jittered(seconds: float) -> float:
    """``seconds``, plus up to a quarter more at random."""
    return seconds * (1.0 + random.uniform(0.0, JITTER))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def refusal(status: int, retry_after: str | None, body: str, reason: str = "") -> Exception | None:
    """What an answer with this status means to a station: None (it is an answer),
    :class:`AuthRefused` (401/403), :class:`Unavailable` (429, 5xx: try again later,
    after ``Retry-After`` if given) or :class:`Refused` (another 4xx). Any HTTP client
    (the agent's, or the bench's asyncio stations) decides with this."""
    if status < 400:
        return None
    code, message, details = _error_body(status, reason, body)
    if status in (401, 403):
        return AuthRefused(f"Máy chủ từ chối mã truy cập (HTTP {status}): {message}")
    if status == 429 or status >= 500:
        return Unavailable(
            f"máy chủ bận hoặc lỗi (HTTP {status}): {message}", _retry_after(retry_after)
        )
    return Refused(status, code, message, details)


class ApiClient:
    """The station API, as one station (``station``) holding ``token`` sees it."""

    def __init__(
        self,
        server: str,
        token: str,
        station: str,
        *,
        clock: ClockDrift | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        session: requests.Session | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.base = server.rstrip("/")
        self.station = station
        self.clock = clock or ClockDrift()
        self.timeout = timeout
        self.http = session or requests.Session()
        if ca_file is not None:
            self.http.verify = str(ca_file)  # a province's own certificate or authority
        self.http.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "User-Agent": f"broadcaster-agent/{broadcaster.__version__}",
                "Accept": "application/json",
            }
        )

    def _url(self, path: str) -> str:
        return f"{self.base}/api/v1{path}"

    def _request(self, method: str, path: str, *, timeout=None, **kwargs) -> requests.Response:
        sent = time.time()
        try:
            response = self.http.request(
                method, self._url(path), timeout=timeout or self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise Unavailable(f"không kết nối được máy chủ {self.base}: {_reason(exc)}") from exc
        self.clock.observe(sent, time.time(), response.headers.get("Date"))
        self._check(response)
        return response

    def _check(self, response: requests.Response) -> None:
        if response.status_code < 400:
            return
        problem = refusal(
            response.status_code,
            response.headers.get("Retry-After"),
            response.text,
            response.reason or "",
        )
        if problem is not None:
            raise problem

    # -- the station's calls -------------------------------------------------------------

    def playlist(self, etag: str | None = None) -> PlaylistAnswer:
        """Today's playlist (the server's day); None document when ``etag`` still holds."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", f"/stations/{self.station}/playlist", headers=headers)
        if response.status_code == 304:
            return PlaylistAnswer(None, response.headers.get("ETag", etag))
        return PlaylistAnswer(_json(response), response.headers.get("ETag"))

    def emergencies(self, after: int, wait: int) -> dict[str, Any]:
        """Emergencies newer than ``after``, waiting up to ``wait`` seconds for one."""
        response = self._request(
            "GET",
            f"/stations/{self.station}/emergencies",
            params={"after": after, "wait": wait},
            timeout=(self.timeout[0], wait + self.timeout[1]),
        )
        return _json(response)

    def post_airings(self, reports: list[dict[str, Any]]) -> dict[str, Any]:
        response = self._request(
            "POST", f"/stations/{self.station}/airings", json={"reports": reports}
        )
        return _json(response)

    def heartbeat(self, beat: dict[str, Any]) -> dict[str, Any]:
        response = self._request("POST", f"/stations/{self.station}/heartbeat", json=beat)
        return _json(response)

    # -- audio ---------------------------------------------------------------------------

    def audio_url(self, sha256: str) -> str:
        # Built from --server, never taken from the playlist: the token goes only where the
        # operator pointed the agent, and a proxy's idea of the host name does not matter.
        return self._url(f"/audio/{sha256}.mp3")

    def download(self, sha256: str, folder: Path, size: int | None = None) -> Path:
        """``folder/<sha256>.mp3``, fetched (resuming a partial file) and verified.

        Raises :class:`Unavailable` when the network keeps cutting out (the partial file
        stays for next time) and :class:`AudioMismatch` when the bytes are wrong.
        """
        final = folder / f"{sha256}.mp3"
        if final.is_file():
            return final
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"{sha256}.mp3.part"
        failure: Exception | None = None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if attempt:
                time.sleep(DOWNLOAD_BACKOFF * 2 ** (attempt - 1))
            try:
                if self._fetch_into(part, sha256, size):
                    break
            except Unavailable as exc:
                failure = exc
                log.debug("tải %s bị ngắt (%s), sẽ tải tiếp", sha256[:12], exc)
        else:
            raise failure or Unavailable(f"không tải được tệp {sha256[:12]}…")
        digest = _sha256_of(part)
        if digest != sha256:
            part.unlink(missing_ok=True)
            raise AudioMismatch(
                f"tệp {sha256[:12]}… tải về có mã băm {digest[:12]}…, không khớp: đã bỏ"
            )
        os.replace(part, final)
        _sync_folder(folder)
        return final

    def _fetch_into(self, part: Path, sha256: str, size: int | None) -> bool:
        """One request appending to ``part``; True when the file is complete."""
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            part.unlink()  # longer than the real file: not a prefix of it
            have = 0
        if size is not None and have == size:
            return True
        headers = {"Range": f"bytes={have}-", "Accept": "audio/mpeg"} if have else {}
        sent = time.time()
        try:
            response = self.http.get(
                self.audio_url(sha256), headers=headers, stream=True, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise Unavailable(f"không tải được {sha256[:12]}…: {_reason(exc)}") from exc
        with response:
            self.clock.observe(sent, time.time(), response.headers.get("Date"))
            if response.status_code == 416:  # nothing after what we have: it is all here
                return True
            self._check(response)
            if response.status_code == 206 and _range_start(response) != have:
                part.unlink(missing_ok=True)  # not the part we asked for: start over
                raise Unavailable(f"máy chủ trả sai đoạn của {sha256[:12]}…")
            mode = "ab" if response.status_code == 206 else "wb"  # 200: the whole file
            try:
                with open(part, mode) as out:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except requests.RequestException as exc:
                raise Unavailable(f"tải {sha256[:12]}… bị ngắt: {_reason(exc)}") from exc
        return True


def _json(response: requests.Response) -> dict[str, Any]:
    """A 200's JSON object; anything else (a captive portal's page, a proxy's error page)
    is the server being out of reach, retried later, never a crash."""
    try:
        document = response.json()
    except ValueError as exc:
        raise Unavailable(f"máy chủ trả lời không phải JSON ({response.url})") from exc
    if not isinstance(document, dict):
        raise Unavailable(f"máy chủ trả lời JSON không đúng dạng ({response.url})")
    return document


def _range_start(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    """Make a rename survive a power cut (POSIX; Windows has no directory fsync)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "quá thời gian chờ"
    if isinstance(exc, requests.ConnectionError):
        return "lỗi kết nối"
    return type(exc).__name__
