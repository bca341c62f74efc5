"""The online engine: Google Translate's Vietnamese voice (bộ máy trực tuyến).

gTTS builds the request: it packs a piece into Google Translate's ``batchexecute``
RPC (:mod:`broadcaster.tts._gtts_wire`). We send it ourselves and read the base64
MP3 out of the answer, because gTTS's own ``stream()`` sends with ``verify=False``
and silences urllib3's InsecureRequestWarning for the whole process: on a line
anyone can tap, that lets them put their own audio on the commune's loudspeakers.
Around that, what a commune's flaky line needs: retries with backoff, a pause
between pieces, a check that the answer is audio, and errors that say whether
to fall back to the offline engine.

Transport: one :class:`requests.Session` per engine (one kept-alive connection
carries piece after piece), certificates always checked (``verify=True``: certifi's
bundle, or the file ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` names, as requests
does), and the environment's proxies as requests reads them (``HTTPS_PROXY``,
``ALL_PROXY``, ``NO_PROXY``...). An HTTPS proxy only tunnels: the certificate
checked is still Google's, so a proxy that intercepts TLS works only once its CA
is in ``REQUESTS_CA_BUNDLE``.

Error policy, and why:

* HTTP 429, 5xx, a 200 answer without audio, a timeout or a dropped connection
  are retried ``retries`` times, sleeping ``uniform(0, backoff * 2**attempt)``
  ("full jitter") or what a 429's ``Retry-After`` asks (at most 30 s; asked for
  longer, we stop at once). A slow or lossy line usually gets through on a
  later try; jitter keeps several stations from retrying in step.
* Retries used up → :class:`EngineUnavailable`: the service is not answering
  usefully right now, and ``auto`` should speak the announcement offline rather
  than fail it. A 200 without audio counts here too: in gTTS's history that
  means Google changed its API, not that this one piece is at fault.
* Connection refused or name lookup failed → :class:`EngineUnavailable` at
  once, without retrying: the line is down rather than lossy, and waiting
  tens of seconds per piece helps no one when the offline engine is right here.
* A certificate that does not verify (or a CA bundle that cannot be read) →
  :class:`EngineUnavailable` at once, logged as an error: someone may be posing as
  Google, so nothing of theirs is played and ``auto`` speaks offline instead.
* Any other 4xx → :class:`TtsError` at once: asking again gets the same answer.

Google has two speeds only, so ``speed < 0.85`` asks for its slow reading and
anything else for the normal one.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from typing import ClassVar
from urllib.parse import urljoin

from broadcaster.errors import InvalidInput
from broadcaster.tts.base import (
    Availability,
    EngineAudio,
    EngineUnavailable,
    TtsEngine,
    TtsError,
    Voice,
)

log = logging.getLogger(__name__)

SLOW_BELOW = 0.85  # speed factors under this get Google's slow reading
MAX_RETRY_AFTER = 30.0  # seconds; a 429 asking for longer makes us give up instead
MAX_ANSWER = 4 * 1024 * 1024  # bytes; 100 characters of speech is well under 100 kB

try:
    import requests

    from broadcaster.tts import _gtts_wire as wire
    from broadcaster.tts._http import retry_after, unreachable
except ImportError as exc:  # a declared dependency, but a broken install must not break imports
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None


class _Retryable(Exception):
    """One attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class GttsEngine(TtsEngine):
    """Google Translate's Vietnamese voice over the internet (giọng Google, cần mạng)."""

    name: ClassVar[str] = "gtts"
    default_voice: ClassVar[str] = "vi"
    max_chars: ClassVar[int] = 100  # what Google takes in one request
    cache_pieces: ClassVar[bool] = True  # each piece costs a round trip: keep it

    def __init__(
        self,
        *,
        tld: str = "com",
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 1.0,
        pause: float = 0.3,
        base_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0 or pause < 0:
            raise ValueError("timeout must be positive; retries, backoff and pause not negative")
        self.tld = tld
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.pause = pause
        self.base_url = base_url.rstrip("/") + "/" if base_url else None
        self.url = self.base_url or f"https://translate.google.{tld}/"
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # one request at a time per engine: the pause needs it
        self._last_success: float | None = None
        self._session: requests.Session | None = None
        if _IMPORT_ERROR is None:
            self._session = requests.Session()  # kept-alive connections, reused piece after piece
            self._session.headers.update(wire.HEADERS)

    def close(self) -> None:
        """Close the kept-alive connections (the engine opens new ones if used again)."""
        if self._session is not None:
            self._session.close()

    def availability(self) -> Availability:
        if _IMPORT_ERROR is not None:
            return Availability(False, f"chưa cài thư viện gTTS ({_IMPORT_ERROR})")
        return Availability(True, f"online: {self.url}")

    def reachable(self) -> Availability:
        installed = self.availability()
        if not installed.usable:
            return installed
        assert self._session is not None
        try:  # any HTTP answer means the server is there; speaking is another matter
            with self._session.get(self.url, timeout=(3, 3), stream=True) as answer:
                status = answer.status_code
        except requests.Timeout:
            return Availability(False, f"{self.url} không trả lời trong 3 giây")
        except OSError as error:
            log.info("gTTS probe of %s: %s", self.url, error)
            return Availability(False, f"không kết nối được {self.url} (không có mạng?)")
        return Availability(True, f"online: {self.url} trả lời (HTTP {status})")

    def voices(self) -> list[Voice]:
        return [Voice("vi", "giọng Google tiếng Việt")]

    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        self.check_voice(voice)
        # NFC: a letter with its tone marks counts once (decomposed, "ệ" would count three).
        text = unicodedata.normalize("NFC", text).strip()
        if not any(ch.isalnum() for ch in text):
            raise InvalidInput("Đoạn văn không có chữ nào để đọc.")
        if len(text) > self.max_chars:
            raise InvalidInput(
                "Đoạn văn dài {length} ký tự, quá {limit} ký tự "
                "mà giọng Google nhận một lần; hãy chia câu ngắn hơn.",
                length=len(text),
                limit=self.max_chars,
            )
        if not speed > 0:
            raise InvalidInput(
                "Tốc độ đọc phải lớn hơn 0 (đang là {speed}).", field="speed", speed=speed
            )
        if _IMPORT_ERROR is not None:
            raise EngineUnavailable("Chưa cài thư viện gTTS ({error}).", error=str(_IMPORT_ERROR))
        try:
            body = wire.request_body(text, tld=self.tld, slow=speed < SLOW_BELOW)
        except ValueError as error:
            raise TtsError(
                "Không tạo được yêu cầu gửi Google: {error}.", error=str(error)
            ) from error
        if body is None:
            raise InvalidInput("Đoạn văn không có chữ nào để đọc ({text!r}).", text=text)
        with self._lock:
            if self._last_success is not None:
                wait = self.pause - (time.monotonic() - self._last_success)
                if wait > 0:
                    self._sleep(wait)
            audio = self._fetch_with_retries(body)
            self._last_success = time.monotonic()
        return EngineAudio(data=audio, container="mp3")

    def _fetch_with_retries(self, body: str | bytes) -> bytes:
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return self._fetch(body)
            except _Retryable as problem:
                if attempt + 1 == attempts:
                    raise EngineUnavailable(
                        "Máy chủ Google ({url}) không trả lời được sau {attempts} lần thử: "
                        "{reason}.",
                        url=self.url,
                        attempts=attempts,
                        reason=problem.reason,
                    ) from problem
                delay = self._delay(problem, attempt)
                log.warning(
                    "gTTS attempt %d/%d failed (%s); retrying in %.2f s",
                    attempt + 1,
                    attempts,
                    problem.reason,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, problem: _Retryable, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if problem.retry_after is None:
            return self._rng.uniform(0, self.backoff * 2**attempt)  # full jitter
        if problem.retry_after > MAX_RETRY_AFTER:
            raise EngineUnavailable(
                "Máy chủ Google ({url}) yêu cầu chờ {seconds:.0f} giây trước khi hỏi lại.",
                url=self.url,
                seconds=problem.retry_after,
            ) from problem
        return problem.retry_after

    def _fetch(self, body: str | bytes) -> bytes:
        """One request. Returns MP3 bytes or raises _Retryable, TtsError or EngineUnavailable."""
        assert self._session is not None  # synthesise checked _IMPORT_ERROR
        try:
            # Session.post (not .send) so that requests applies the environment:
            # proxies, NO_PROXY and REQUESTS_CA_BUNDLE. verify=True: never turned off.
            with self._session.post(
                urljoin(self.url, wire.RPC_PATH),
                data=body,
                timeout=self.timeout,
                verify=True,
                stream=True,
            ) as response:
                answer = b"".join(_capped(response.iter_content(64 * 1024)))
        except OSError as error:  # requests' exceptions are OSErrors too
            raise self._classify(error) from error
        status = response.status_code
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"))
            raise _Retryable("HTTP 429 Too Many Requests", retry_after=wait)
        if status >= 500:
            raise _Retryable(f"HTTP {status} {response.reason}")
        if status != 200:
            raise TtsError(
                "Google từ chối đoạn văn này: HTTP {status} {reason}.",
                status=status,
                reason=response.reason,
            )
        audio = wire.audio_from_answer(answer)
        if audio is None:
            raise _Retryable(f"HTTP 200 without audio in the answer ({len(answer)} bytes)")
        if not wire.looks_like_mp3(audio):
            raise _Retryable(f"HTTP 200 without MP3 audio ({len(audio)} bytes)")
        return audio

    def _classify(self, error: OSError) -> Exception:
        if not isinstance(error, requests.RequestException):  # e.g. no file at REQUESTS_CA_BUNDLE
            return EngineUnavailable(
                "Không nạp được chứng chỉ (certificate) CA: {error}", error=str(error)
            )
        if _certificate_refused(error):
            log.error("TLS certificate of %s did not verify; not using it: %s", self.url, error)
            return EngineUnavailable(
                "Chứng chỉ TLS (certificate) của {url} không xác thực được, "
                "nên không dùng máy chủ này: {error}",
                url=self.url,
                error=str(error),
            )
        if unreachable(error):
            return EngineUnavailable(
                "Không kết nối được tới {url}: {error}", url=self.url, error=str(error)
            )
        return _Retryable(f"connection: {error}")


def _capped(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` until they add up to more than MAX_ANSWER bytes (then _Retryable)."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_ANSWER:
            raise _Retryable(f"answer longer than {MAX_ANSWER} bytes")
        yield chunk


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it wraps (requests → urllib3 → ssl/socket)."""
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]


def _certificate_refused(error: BaseException) -> bool:
    """The server's certificate did not verify (unknown CA, expired, wrong host name)."""
    return any(isinstance(cause, ssl.SSLCertVerificationError) for cause in _causes(error))
