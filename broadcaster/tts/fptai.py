"""FPT.AI text-to-speech v5: commercial Vietnamese voices over the internet (giọng FPT.AI).

The service, as documented (docs.fpt.ai, Speech → Text to Speech):
``POST https://api.fpt.ai/hmi/tts/v5`` with the text (3 to 5,000 characters) as the
UTF-8 body and the headers ``api-key``, ``voice`` and ``speed`` (an integer from -3,
slowest, to 3, fastest; 0 normal). It answers JSON at once — ``{"async": URL,
"error": 0, "message": ..., "request_id": ...}`` — and makes the MP3 at ``async`` a few
seconds to two minutes later; until then that URL answers 404 (S3 may say 403).

Our side, per piece: one POST, then the file polled until it is there, downloaded and
checked to be an MP3. Every request has a timeout. The key is sent only in the POST's
header — never to the file's host, never into a log line, an error, a repr or a cache key.

Error policy, and why:

* 429, 5xx, a timeout, a dropped connection or an answer that is not the documented
  JSON: retried ``retries`` times, sleeping what a 429's ``Retry-After`` asks or
  ``uniform(0, backoff * 2**attempt)`` (full jitter), at most ``MAX_WAIT`` seconds.
  A ``Retry-After`` longer than that (a spent per-day limit) stops at once.
  Retries used up → :class:`EngineUnavailable`, so the next engine in the order speaks.
  (A POST that timed out may still have been made, and billed: the retry is the price of
  speaking at all on a slow line; the piece cache keeps it from happening twice per piece.)
* Connection refused or no DNS → :class:`EngineUnavailable` at once: the line is
  down, not lossy, and waiting per piece helps no one when another engine is here.
* 401/403 (a wrong or disabled key), 402, or a refusal whose message speaks of the key
  or the quota → :class:`EngineUnavailable`: the engine cannot speak anything now.
* Any other 4xx, or a 200 with a non-zero ``error`` (bad input for this piece) →
  :class:`TtsError` at once: asking again gets the same answer.
* The file not ready within ``poll_deadline`` seconds → :class:`EngineUnavailable`;
  a file that is not an MP3 → :class:`TtsError`.

Speed: the factor (0.5–2.0) becomes FPT's level ``round(3 * log2(factor))``, clamped
to -3..3 — each level about 1.26× (2^(1/3)) the one below, so 0.5 → -3, 0.8 → -1,
1.0 → 0, 1.25 → 1, 1.6 → 2, 2.0 → 3.
"""

from __future__ import annotations

import logging
import math
import random
import time
import unicodedata
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

import requests
import urllib3

from broadcaster.errors import InvalidInput
from broadcaster.tts._http import retry_after, unreachable
from broadcaster.tts.base import (
    Availability,
    EngineAudio,
    EngineUnavailable,
    TtsEngine,
    TtsError,
    Voice,
)

log = logging.getLogger(__name__)

# id -> description (giọng, miền); FPT.AI's voices for Vietnamese
VOICES = {
    "banmai": "Ban Mai — nữ, miền Bắc (mặc định)",
    "thuminh": "Thu Minh — nữ, miền Bắc",
    "leminh": "Lê Minh — nam, miền Bắc",
    "myan": "Mỹ An — nữ, miền Trung",
    "ngoclam": "Ngọc Lam — nữ, miền Trung (Huế)",
    "giahuy": "Gia Huy — nam, miền Trung",
    "lannhi": "Lan Nhi — nữ, miền Nam",
    "linhsan": "Linh San — nữ, miền Nam",
    "minhquang": "Minh Quang — nam, miền Nam",
}
MIN_CHARS = 3  # the service refuses a shorter body
SERVICE_MAX_CHARS = 5000  # the service's limit per request
MAX_WAIT = 30.0  # seconds: the longest back-off; a Retry-After asking more makes us stop
POLL_FIRST, POLL_GROWTH, POLL_MAX = 2.0, 1.5, 8.0  # seconds between looks at the file
MAX_FILE = 32 * 1024 * 1024  # bytes; 1,500 characters of speech is well under 2 MB
# words in a refusal that mean the account, not the piece, is at fault
_ACCOUNT_WORDS = ("key", "auth", "quota", "credit", "balance", "expired", "exceed", "limit")


class _Retryable(Exception):
    """One attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def speed_level(factor: float) -> int:
    """FPT.AI's speed level (-3..3) for a speed factor (1.0 normal)."""
    return max(-3, min(3, round(3 * math.log2(factor))))


def looks_like_mp3(data: bytes) -> bool:
    """An MP3: an ID3v2 tag followed by a frame, or a frame sync at the start."""
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:  # a "synchsafe" integer: 7 bits per byte
            size = size << 7 | (byte & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        data = data[10 + size + footer :]
    return len(data) >= 4 and data[0] == 0xFF and _mpeg_header_ok(data[1], data[2])


def _mpeg_header_ok(second: int, third: int) -> bool:
    version, layer = (second >> 3) & 0b11, (second >> 1) & 0b11
    bitrate, rate = third >> 4, (third >> 2) & 0b11
    return second & 0xE0 == 0xE0 and version != 0b01 and layer != 0 and bitrate != 0xF and rate != 3


class FptAiEngine(TtsEngine):
    """FPT.AI's Vietnamese voices over the internet (giọng FPT.AI, cần mạng và khóa API)."""

    name: ClassVar[str] = "fptai"
    default_voice: ClassVar[str] = "banmai"
    # Under the service's 5,000: a shorter piece is ready sooner and cheaper to retry.
    max_chars: ClassVar[int] = 1500
    cache_pieces: ClassVar[bool] = True  # each piece costs a round trip and quota: keep it

    def __init__(
        self,
        *,
        api_key: str | None = None,
        url: str = "https://api.fpt.ai/hmi/tts/v5",
        voice: str = "banmai",
        timeout: float = 15.0,
        retries: int = 4,
        backoff: float = 1.0,
        poll_deadline: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0 or poll_deadline <= 0:
            raise ValueError(
                "timeout and poll_deadline must be positive; retries, backoff not negative"
            )
        if voice not in VOICES:
            raise InvalidInput(
                "Giọng FPT.AI '{voice}' không có. Các giọng: {voices}.",
                field="fptai_voice",
                voice=voice,
                voices=", ".join(VOICES),
            )
        self.__key = api_key or None  # private: repr, describe and messages never show it
        self.url = url
        self.default_voice = voice  # type: ignore[misc]  # the configured one, per instance
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.poll_deadline = poll_deadline
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session = requests.Session()  # one kept-alive connection for piece after piece
        parts = urlsplit(url)
        self._host = parts.hostname or url  # for messages: never any user:password@ part
        if parts.port:
            self._host += f":{parts.port}"

    def __repr__(self) -> str:
        key = "set" if self.__key else "not set"
        return f"FptAiEngine(host={self._host!r}, voice={self.default_voice!r}, key {key})"

    def close(self) -> None:
        self._session.close()

    # -- what it can do ------------------------------------------------------------

    def availability(self) -> Availability:
        if not self.__key:
            return Availability(False, "chưa có khóa API: đặt BROADCASTER_FPTAI_API_KEY")
        return Availability(True, f"online: {self._host}")

    def reachable(self) -> Availability:
        """A HEAD request to the service's URL, without the key, 3 s at most: any HTTP
        answer means the service is there (the key itself is checked by the first
        synthesis; checking it here would spend quota)."""
        installed = self.availability()
        if not installed.usable:
            return installed
        try:
            answer = self._session.head(self.url, timeout=(3, 3), allow_redirects=False)
        except requests.Timeout:
            return Availability(False, f"{self._host} không trả lời trong 3 giây")
        except OSError as error:
            log.info("FPT.AI probe of %s: %s", self._host, type(error).__name__)
            return Availability(False, f"không kết nối được {self._host} (không có mạng?)")
        return Availability(True, f"online: {self._host} trả lời (HTTP {answer.status_code})")

    def voices(self) -> list[Voice]:
        return [Voice(voice, description) for voice, description in VOICES.items()]

    # -- speaking --------------------------------------------------------------------

    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        voice = self.check_voice(voice)
        text = unicodedata.normalize("NFC", text).strip()  # "ệ" counts once, as FPT counts
        if not any(ch.isalnum() for ch in text):
            raise InvalidInput("Đoạn văn không có chữ nào để đọc.")
        if len(text) > self.max_chars:
            raise InvalidInput(
                "Đoạn văn dài {length} ký tự, quá {limit} ký tự mà FPT.AI nhận một lần.",
                length=len(text),
                limit=self.max_chars,
            )
        if not 0.5 <= speed <= 2.0:
            raise InvalidInput(
                "Tốc độ đọc {speed:g} ngoài khoảng 0,5–2,0.", field="speed", speed=speed
            )
        if not self.__key:
            raise EngineUnavailable(
                "FPT.AI chưa có khóa API: đặt BROADCASTER_FPTAI_API_KEY.", field="engine"
            )
        text = text.ljust(MIN_CHARS, ".")  # "Ừ." is a piece too; the dots are not read
        headers = {
            "api-key": self.__key,
            "voice": voice,
            "speed": str(speed_level(speed)),
            "format": "mp3",
            "Content-Type": "text/plain; charset=utf-8",
        }
        location = self._with_retries(lambda: self._request_speech(text, headers))
        data = self._download(location)
        if not looks_like_mp3(data):
            raise TtsError(
                "FPT.AI trả về một tệp không phải âm thanh MP3 ({size} byte).", size=len(data)
            )
        return EngineAudio(data=data, container="mp3")

    def _with_retries(self, attempt_once: Callable[[], str]) -> str:
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return attempt_once()
            except _Retryable as problem:
                if attempt + 1 == attempts:
                    raise EngineUnavailable(
                        "FPT.AI ({host}) không trả lời được sau {attempts} lần thử: {reason}.",
                        host=self._host,
                        attempts=attempts,
                        reason=problem.reason,
                    ) from None
                delay = self._delay(problem, attempt)
                log.warning(
                    "FPT.AI attempt %d/%d failed (%s); retrying in %.2f s",
                    *(attempt + 1, attempts, problem.reason, delay),
                )
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, problem: _Retryable, attempt: int) -> float:
        if problem.retry_after is None:
            return min(MAX_WAIT, self._rng.uniform(0, self.backoff * 2**attempt))
        if problem.retry_after > MAX_WAIT:
            raise EngineUnavailable(
                "FPT.AI ({host}) yêu cầu chờ {seconds:.0f} giây trước khi gửi tiếp "
                "(đã hết lượt cho phép?).",
                host=self._host,
                seconds=problem.retry_after,
            )
        return problem.retry_after

    def _request_speech(self, text: str, headers: dict[str, str]) -> str:
        """One POST; the URL where the file will be, or an error saying what to do."""
        try:
            answer = self._session.post(
                self.url, data=text.encode("utf-8"), headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise _Retryable(f"không trả lời trong {self.timeout:g} giây") from None
        except requests.ConnectionError as error:
            if unreachable(error):
                raise EngineUnavailable(
                    "Không kết nối được FPT.AI ({host}): không có mạng hoặc sai địa chỉ.",
                    host=self._host,
                ) from None
            raise _Retryable("mất kết nối giữa chừng") from None
        status = answer.status_code
        if status == 429:
            raise _Retryable(
                "HTTP 429, quá nhiều yêu cầu", retry_after(answer.headers.get("Retry-After"))
            )
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        message = self._scrub(_message(answer))
        if status in (401, 402, 403):
            raise EngineUnavailable(
                "FPT.AI từ chối khóa API (HTTP {status}: {detail}); kiểm tra "
                "BROADCASTER_FPTAI_API_KEY và hạn mức của tài khoản.",
                field="engine",
                status=status,
                detail=message,
            )
        if status != 200:
            raise TtsError(
                "FPT.AI từ chối đoạn văn (HTTP {status}: {detail}).",
                status=status,
                detail=message,
            )
        try:
            body = answer.json()
        except ValueError:
            raise _Retryable("câu trả lời không phải JSON") from None
        if not isinstance(body, dict) or "error" not in body:
            raise _Retryable("câu trả lời thiếu mã lỗi")
        if body["error"] != 0:
            if any(word in message.lower() for word in _ACCOUNT_WORDS):
                raise EngineUnavailable(
                    "FPT.AI không nhận yêu cầu (mã {code}: {detail}); kiểm tra khóa API "
                    "và hạn mức của tài khoản.",
                    field="engine",
                    code=body["error"],
                    detail=message,
                )
            raise TtsError(
                "FPT.AI không đọc được đoạn văn này (mã {code}: {detail}).",
                code=body["error"],
                detail=message,
            )
        location = body.get("async")
        if not isinstance(location, str) or urlsplit(location).scheme not in ("http", "https"):
            raise _Retryable("câu trả lời thiếu địa chỉ tệp âm thanh")
        return location

    def _download(self, location: str) -> bytes:
        """The file at ``location`` once it is there (404/403 until then), within the
        deadline. Polled without the key: that host is a file store, not FPT.AI's API."""
        started, waited, pause = time.monotonic(), 0.0, POLL_FIRST
        while True:
            reason = self._poll(location)
            if isinstance(reason, bytes):
                return reason
            elapsed = waited + (time.monotonic() - started)  # the sleep may be a stand-in
            if elapsed + pause > self.poll_deadline:
                raise EngineUnavailable(
                    "FPT.AI chưa làm xong tệp âm thanh sau {seconds:.0f} giây ({reason}).",
                    seconds=self.poll_deadline,
                    reason=reason,
                )
            log.info("FPT.AI file not ready (%s); looking again in %.1f s", reason, pause)
            self._sleep(pause)
            waited += pause
            pause = min(POLL_MAX, pause * POLL_GROWTH)

    def _poll(self, location: str) -> bytes | str:
        """The file's bytes, or why not yet."""
        try:
            with self._session.get(location, timeout=self.timeout, stream=True) as answer:
                if answer.status_code != 200:
                    return f"HTTP {answer.status_code}"
                data = b""
                for chunk in answer.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_FILE:
                        break
        except requests.Timeout:
            return f"không trả lời trong {self.timeout:g} giây"
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            return f"lỗi kết nối ({type(error).__name__})"
        if len(data) > MAX_FILE:
            raise TtsError("Tệp âm thanh FPT.AI trả về lớn quá {limit} byte.", limit=MAX_FILE)
        return data

    def _scrub(self, text: str) -> str:
        """``text`` (from the service) without the key, should it be echoed back."""
        if self.__key:
            text = text.replace(self.__key, "***")
        return text[:200]


def _message(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.reason or ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "")
    return ""
