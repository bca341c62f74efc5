"""The online engine: Google Translate's Vietnamese voice, through gTTS (bộ máy trực tuyến).

gTTS does the talking to Google: it packs a piece into Google Translate's
``batchexecute`` RPC, sends it (with our timeout) and decodes the base64 MP3 out of
the answer. This module adds what a commune's flaky line needs around it: retries
with backoff, a polite pause between pieces, a check that the answer really is
audio, and errors that say whether to fall back to the offline engine.

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
* Any other 4xx → :class:`TtsError` at once: asking again gets the same answer.

Google has two speeds only, so ``speed < 0.85`` asks for its slow reading and
anything else for the normal one.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

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

try:
    import requests
    import urllib3
    from gtts import gTTS, gTTSError
except ImportError as exc:  # a declared dependency, but a broken install must not break imports
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

    class _GttsAt(gTTS):
        """gTTS sending its requests under ``base_url`` instead of translate.google.<tld>.

        ``_prepare_requests`` is where gTTS builds its URL; we keep its path and
        headers and put them under ``base_url``, so nothing global is patched.
        """

        def __init__(self, text: str, *, base_url: str | None, **kwargs) -> None:
            super().__init__(text, **kwargs)
            self._base_url = base_url

        def _prepare_requests(self):
            prepared = super()._prepare_requests()
            if self._base_url:
                for request in prepared:
                    path = urlsplit(request.url).path.lstrip("/")
                    request.prepare_url(urljoin(self._base_url, path), None)
            return prepared


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

    def availability(self) -> Availability:
        if _IMPORT_ERROR is not None:
            return Availability(False, f"chưa cài thư viện gTTS ({_IMPORT_ERROR})")
        return Availability(True, f"online: {self.url}")

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
                f"Đoạn văn dài {len(text)} ký tự, quá {self.max_chars} ký tự "
                "mà giọng Google nhận một lần; hãy chia câu ngắn hơn."
            )
        if not speed > 0:
            raise InvalidInput(f"Tốc độ đọc phải lớn hơn 0 (đang là {speed}).")
        if _IMPORT_ERROR is not None:
            raise EngineUnavailable(f"Chưa cài thư viện gTTS ({_IMPORT_ERROR}).")
        with self._lock:
            if self._last_success is not None:
                wait = self.pause - (time.monotonic() - self._last_success)
                if wait > 0:
                    self._sleep(wait)
            audio = self._fetch_with_retries(text, slow=speed < SLOW_BELOW)
            self._last_success = time.monotonic()
        return EngineAudio(data=audio, container="mp3")

    def _fetch_with_retries(self, text: str, *, slow: bool) -> bytes:
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return self._fetch(text, slow=slow)
            except _Retryable as problem:
                if attempt + 1 == attempts:
                    raise EngineUnavailable(
                        f"Máy chủ Google ({self.url}) không trả lời được sau {attempts} lần thử: "
                        f"{problem.reason}."
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
                f"Máy chủ Google ({self.url}) yêu cầu chờ {problem.retry_after:.0f} giây "
                "trước khi hỏi lại."
            ) from problem
        return problem.retry_after

    def _fetch(self, text: str, *, slow: bool) -> bytes:
        """One request. Returns MP3 bytes or raises _Retryable, TtsError or EngineUnavailable."""
        tts = _GttsAt(
            text,
            base_url=self.base_url,
            tld=self.tld,
            lang="vi",
            slow=slow,
            # Our text is already normalised Vietnamese: gTTS's English pre-processors
            # (abbreviations, spaces after "!") would only change it, and could push it
            # past 100 characters so that gTTS cuts it mid-phrase.
            pre_processor_funcs=[],
            timeout=self.timeout,
        )
        try:
            audio = b"".join(tts.stream())
        except gTTSError as error:
            raise self._classify(error) from error
        except requests.RequestException as error:  # raised while reading, outside gTTS's guard
            raise _Retryable(f"connection: {error}") from error
        except ValueError as error:  # the answer's base64 or UTF-8 is broken
            raise _Retryable(f"unreadable answer: {error}") from error
        except AssertionError as error:  # gTTS found nothing to speak
            raise InvalidInput(f"Đoạn văn không có chữ nào để đọc ({error}).") from error
        if not _looks_like_mp3(audio):
            raise _Retryable(f"HTTP 200 without MP3 audio ({len(audio)} bytes)")
        return audio

    def _classify(self, error: gTTSError) -> Exception:
        response = error.rsp
        if response is None:
            # gTTS raises from inside its handler, so the requests exception is the context.
            cause = error.__context__
            if _unreachable(cause):
                return EngineUnavailable(f"Không kết nối được tới {self.url}: {cause}")
            return _Retryable(f"connection: {cause or error}")
        status = response.status_code
        if status == 200:
            return _Retryable("HTTP 200 without audio in the answer")
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            return _Retryable("HTTP 429 Too Many Requests", retry_after=wait)
        if status >= 500:
            return _Retryable(f"HTTP {status} {response.reason}")
        return TtsError(f"Google từ chối đoạn văn này: HTTP {status} {response.reason} ({error}).")


def _unreachable(cause: BaseException | None) -> bool:
    """Connection refused, no route, or no DNS: the line is down, not just slow."""
    if not isinstance(cause, requests.ConnectionError) or isinstance(cause, requests.Timeout):
        return False
    inner = cause.args[0] if cause.args else None
    return isinstance(getattr(inner, "reason", inner), urllib3.exceptions.NewConnectionError)


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _looks_like_mp3(data: bytes) -> bool:
    """Starts with an MPEG audio frame header, after an optional ID3v2 tag."""
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:  # "syncsafe": 7 bits per byte
            size = size << 7 | byte & 0x7F
        footer = 10 if data[5] & 0x10 else 0
        data = data[10 + size + footer :]
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = data[1] >> 3 & 3, data[1] >> 1 & 3
    bitrate, rate = data[2] >> 4, data[2] >> 2 & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3
