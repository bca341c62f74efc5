"""Checking a relay stream (nguồn tiếp âm): a short read that says whether it plays.

:func:`check_source` opens the address with a timeout on connecting and on every read,
follows redirects itself (at most :data:`MAX_REDIRECTS`), each hop checked by
:func:`broadcaster.relays.urls.check_url` and connected to the very addresses that rule
checked, reads the first bytes, and decides:

* an Icecast/Shoutcast stream: ``audio/mpeg`` or ``audio/aac``/``aacp``, or bytes that
  hold two consecutive MP3 or ADTS (AAC) frames, an ID3 tag, or an ``ICY 200`` answer;
* an HLS playlist (``#EXTM3U``): its media playlist (the first variant of a master one)
  must list segments, and the newest segment's first bytes must be audio (MPEG-TS, ADTS,
  MP3, ID3 or fragmented MP4);
* anything else — a web page, JSON, a file that ends at once, a server that does not
  answer or stops sending — is a failed check with the reason, as a message id and its
  parameters (:class:`CheckResult`), which the pages translate.

No database here (the station agent may use it too); :mod:`broadcaster.services.relays`
stores the result on the source.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from broadcaster.errors import BroadcasterError, InvalidInput, Words
from broadcaster.relays.urls import NO_PRIVATE, PrivatePolicy, check_url, redact

MAX_REDIRECTS = 5
SAMPLE_BYTES = 16 * 1024  # about two seconds of a 64 kbit/s stream
PLAYLIST_BYTES = 256 * 1024
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "broadcaster-relay-check/1"

AUDIO_TYPES = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
}
HLS_TYPES = {
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
}


@dataclass(frozen=True)
class CheckResult:
    """One check: whether the stream plays, and why not, as a message id with params."""

    ok: bool
    template: str
    params: dict = field(default_factory=dict)
    kind: str | None = None  # "mp3" | "aac" | "hls" | "icy" when ok
    which: str = "main"  # the stream the reason is about: "main" or "backup"

    def message(self, translate=None) -> str:
        """The reason in Vietnamese (or through ``translate``, a Babel gettext)."""
        error = BroadcasterError(self.template, **self.params)
        text = error.render(translate) if translate else error.render()
        if self.which == "backup":
            outer = BroadcasterError("Luồng dự phòng: {reason}", reason=text)
            return outer.render(translate) if translate else outer.render()
        return text

    def stored(self, limit: int = 300) -> str:
        """The form kept in ``relay_sources.check_detail``: JSON of the id and params,
        or the Vietnamese text when that would not fit."""
        data = {"m": self.template, "p": self.params}
        if self.which != "main":
            data["w"] = self.which
        text = json.dumps(data, ensure_ascii=False)
        if len(text) <= limit:
            return text
        return self.message()[:limit]


def stored_message(detail: str | None, translate=None) -> str:
    """The reason kept by :meth:`CheckResult.stored`, in the reader's language."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
        result = CheckResult(
            ok=False,
            template=str(data["m"]),
            params=dict(data.get("p") or {}),
            which=str(data.get("w") or "main"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return detail
    return result.message(translate)


# --- connecting to the checked addresses only -------------------------------------------


def _pinned_classes(addresses: dict[tuple[str, int], tuple[str, ...]]):
    """Connection pools whose connections go to the addresses :func:`check_url` checked
    for their host, never to a second DNS answer (TLS still names the host)."""

    def new_conn(self):
        found = addresses.get((self.host.lower(), self.port))
        if not found:
            raise NewConnectionError(self, "address not checked")
        last: OSError | None = None
        for address in found:
            try:
                sock = socket.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"timed out ({self.timeout})") from exc
            except OSError as exc:
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise NewConnectionError(self, f"cannot connect: {last}")

    http_conn = type("PinnedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    https_conn = type("PinnedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn})
    http_pool = type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    return {"http": http_pool, "https": https_pool}


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, addresses: dict[tuple[str, int], tuple[str, ...]]) -> None:
        self._addresses = addresses
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pinned_classes(self._addresses)


class _Reader:
    """One check's HTTP session: every hop checked and pinned, a deadline over all."""

    def __init__(self, policy: PrivatePolicy, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self.deadline = time.monotonic() + 3 * timeout
        self.addresses: dict[tuple[str, int], tuple[str, ...]] = {}
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: we check the hosts
        adapter = _PinnedAdapter(self.addresses)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def open(self, url: str) -> requests.Response:
        """The answer to GET ``url`` after redirects (each hop checked), body unread."""
        for _hop in range(MAX_REDIRECTS + 1):
            safe = check_url(url, policy=self.policy, field="url")
            if not safe.addresses:
                raise InvalidInput(
                    "Không tìm thấy máy chủ '{host}' (tên máy không phân giải được).",
                    host=safe.host[:100],
                )
            self.addresses[(safe.host.lower(), safe.port)] = safe.addresses
            response = self._get(url)
            if response.is_redirect:
                location = response.headers.get("location", "")
                response.close()
                if not location:
                    raise InvalidInput("Máy chủ chuyển hướng mà không cho địa chỉ mới.")
                url = urljoin(url, location)
                continue
            return response
        raise InvalidInput("Chuyển hướng quá nhiều lần (hơn {n} lần).", n=MAX_REDIRECTS)

    def _get(self, url: str) -> requests.Response:
        try:
            return self.session.get(
                url,
                stream=True,
                allow_redirects=False,
                timeout=(self.timeout, self.timeout),
                headers={"User-Agent": USER_AGENT, "Icy-MetaData": "0"},
            )
        except (requests.ConnectTimeout, requests.ReadTimeout):
            raise InvalidInput(
                "Máy chủ không trả lời sau {seconds} giây.", seconds=_seconds(self.timeout)
            ) from None
        except requests.ConnectionError as exc:
            if "ICY 200" in str(exc):  # a Shoutcast v1 server answers ICY, not HTTP
                raise _Icy() from None
            raise InvalidInput("Không kết nối được tới máy chủ luồng.") from None
        except requests.RequestException:
            raise InvalidInput("Không kết nối được tới máy chủ luồng.") from None

    def read(self, response: requests.Response, wanted: int) -> tuple[bytes, str | None]:
        """Up to ``wanted`` bytes of the body, and why it stopped early (None: it did not)."""
        data = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=4096):
                data += chunk
                if len(data) >= wanted:
                    return bytes(data[:wanted]), None
                if time.monotonic() > self.deadline:
                    return bytes(data), "slow"
        except (requests.ConnectionError, requests.Timeout) as exc:
            if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
                return bytes(data), "stalled"
            return bytes(data), "broken"
        except requests.RequestException:
            return bytes(data), "broken"
        finally:
            response.close()
        return bytes(data), "ended"


class _Icy(Exception):
    pass


def _seconds(value: float) -> str:
    return f"{value:g}"


# --- what the bytes are ---------------------------------------------------------------

_MP3_BITRATES = {  # (version 1?, layer) -> kbit/s by index
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame(data: bytes, i: int) -> int:
    """The length of the MP3 frame whose header starts at ``i``, 0 when none does."""
    if i + 4 > len(data) or data[i] != 0xFF or data[i + 1] & 0xE0 != 0xE0:
        return 0
    version = (data[i + 1] >> 3) & 3
    layer = 4 - ((data[i + 1] >> 1) & 3)
    bitrate_index = data[i + 2] >> 4
    rate_index = (data[i + 2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return 0
    v1 = version == 3
    bitrate = _MP3_BITRATES[(True, layer) if v1 else (False, 1 if layer == 1 else 2)]
    rate = _MP3_RATES[version][rate_index]
    padding = (data[i + 2] >> 1) & 1
    kbps = bitrate[bitrate_index]
    if layer == 1:
        return (12 * kbps * 1000 // rate + padding) * 4
    factor = 144 if (layer == 2 or v1) else 72
    return factor * kbps * 1000 // rate + padding


def _adts_frame(data: bytes, i: int) -> int:
    """The length of the ADTS (AAC) frame whose header starts at ``i``, 0 when none does."""
    if i + 7 > len(data) or data[i] != 0xFF or data[i + 1] & 0xF6 != 0xF0:
        return 0
    if (data[i + 2] >> 2) & 0xF > 12:  # sampling frequency index
        return 0
    length = ((data[i + 3] & 3) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
    return length if length >= 7 else 0


def audio_kind(data: bytes) -> str | None:
    """ "mp3" or "aac" when the bytes hold two consecutive frames of one (a stream joined
    mid-frame starts anywhere), else None."""
    limit = min(len(data), 8192)
    for i in range(limit):
        if data[i] != 0xFF:
            continue
        for kind, frame in (("aac", _adts_frame), ("mp3", _mp3_frame)):
            n = frame(data, i)
            if n and frame(data, i + n):
                return kind
    return None


def _skip_id3(data: bytes) -> bytes:
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        return data[10 + size :]
    return data


def _looks_textual(data: bytes) -> str | None:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "html"
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith(b"<"):
        return "html"
    return None


def _segment_is_audio(data: bytes) -> bool:
    if len(data) >= 377 and data[0] == 0x47 and data[188] == 0x47:  # MPEG-TS packets
        return True
    if data[4:8] in (b"ftyp", b"styp", b"moof", b"sidx"):  # fragmented MP4
        return True
    if data[:3] == b"ID3":  # packed audio (an ID3 tag with the timestamp, then ADTS)
        return True
    return audio_kind(data) is not None


# --- the check --------------------------------------------------------------------------


def check_source(
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    policy: PrivatePolicy | bool = NO_PRIVATE,
) -> CheckResult:
    """Whether ``url`` is a relay stream that plays now (see the module's docstring)."""
    if isinstance(policy, bool):
        policy = PrivatePolicy(everything=policy)
    reader = _Reader(policy, timeout)
    try:
        return _check(reader, url)
    except InvalidInput as failed:
        return CheckResult(False, failed.template, failed.params)
    except _Icy:
        return CheckResult(True, Words("Luồng Shoutcast đang phát."), kind="icy")
    finally:
        reader.close()


def _check(reader: _Reader, url: str) -> CheckResult:
    response = reader.open(url)
    if response.status_code >= 400:
        response.close()
        raise InvalidInput("Máy chủ luồng trả lời lỗi HTTP {status}.", status=response.status_code)
    if response.status_code != 200:
        response.close()
        raise InvalidInput(
            "Máy chủ luồng trả lời mã HTTP {status}, không phải luồng.", status=response.status_code
        )
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in HLS_TYPES or url.split("?", 1)[0].lower().endswith(".m3u8"):
        data, _why = reader.read(response, PLAYLIST_BYTES)
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
            return _check_hls(reader, response.url, data)
    else:
        data, why = reader.read(response, SAMPLE_BYTES)
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
            return _check_hls(reader, response.url, data)
        textual = _looks_textual(data) or _textual_type(ctype)
        if textual == "html":
            raise InvalidInput("Địa chỉ này là một trang web (HTML), không phải luồng âm thanh.")
        if textual == "json":
            raise InvalidInput("Địa chỉ này trả về dữ liệu JSON, không phải luồng âm thanh.")
        if why in ("stalled", "slow") and len(data) < 1024:
            raise InvalidInput(
                "Máy chủ nhận kết nối nhưng không gửi âm thanh sau {seconds} giây.",
                seconds=_seconds(reader.timeout),
            )
        kind = audio_kind(_skip_id3(data)) or audio_kind(data)
        if kind is None:
            if ctype in AUDIO_TYPES and why is None:
                raise InvalidInput(
                    "Máy chủ báo là âm thanh ({type}) nhưng dữ liệu không phải MP3 hay AAC.",
                    type=ctype[:60],
                )
            if ctype.startswith(("audio/", "video/")) and ctype not in AUDIO_TYPES:
                raise InvalidInput(
                    "Định dạng {type} không được hỗ trợ: cần luồng MP3, AAC hoặc HLS.",
                    type=ctype[:60],
                )
            if why == "ended":
                raise InvalidInput(
                    "Địa chỉ trả về {n} byte rồi dừng, không phải luồng âm thanh.", n=len(data)
                )
            raise InvalidInput("Dữ liệu nhận được không phải luồng âm thanh (MP3, AAC hoặc HLS).")
        if why == "ended":
            raise InvalidInput(
                "Địa chỉ trả về một tệp âm thanh ngắn ({n} byte) rồi dừng, không phải luồng "
                "phát liên tục.",
                n=len(data),
            )
        if why in ("stalled", "slow", "broken"):
            raise InvalidInput(
                "Luồng ngừng gửi dữ liệu sau {n} byte (chờ {seconds} giây không thấy thêm).",
                n=len(data),
                seconds=_seconds(reader.timeout),
            )
        label = "MP3" if kind == "mp3" else "AAC"
        return CheckResult(True, Words("Luồng {format} đang phát."), {"format": label}, kind=kind)
    textual = _looks_textual(data)
    if textual == "html":
        raise InvalidInput("Địa chỉ này là một trang web (HTML), không phải luồng âm thanh.")
    raise InvalidInput("Danh sách HLS không hợp lệ (thiếu dòng #EXTM3U).")


def _textual_type(ctype: str) -> str | None:
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype == "application/json" or ctype.endswith("+json"):
        return "json"
    return None


def _entries(text: str) -> list[tuple[str, str]]:
    """(the tag line before it, URI) for each URI line of a playlist."""
    out = []
    tag = ""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith(("#EXT-X-STREAM-INF", "#EXTINF")):
                tag = line
            continue
        out.append((tag, line))
        tag = ""
    return out


def _check_hls(reader: _Reader, base: str, data: bytes, depth: int = 0) -> CheckResult:
    text = data.decode("utf-8", "replace")
    entries = _entries(text)
    if "#EXT-X-STREAM-INF" in text:
        variants = [uri for tag, uri in entries if tag.startswith("#EXT-X-STREAM-INF")]
        if not variants or depth:
            raise InvalidInput("Danh sách HLS không có luồng con nào.")
        variant = urljoin(base, variants[0])
        response = reader.open(variant)
        if response.status_code != 200:
            response.close()
            raise InvalidInput(
                "Danh sách con của HLS trả lời lỗi HTTP {status}.", status=response.status_code
            )
        body, _why = reader.read(response, PLAYLIST_BYTES)
        if not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
            raise InvalidInput("Danh sách HLS không hợp lệ (thiếu dòng #EXTM3U).")
        return _check_hls(reader, response.url, body, depth + 1)
    segments = [uri for _tag, uri in entries]
    if not segments:
        raise InvalidInput("Danh sách HLS không có đoạn âm thanh nào.")
    segment = urljoin(base, segments[-1])  # the newest: what a player joining now plays
    response = reader.open(segment)
    if response.status_code != 200:
        response.close()
        raise InvalidInput(
            "Đoạn âm thanh của HLS trả lời lỗi HTTP {status}.", status=response.status_code
        )
    head, why = reader.read(response, 4096)
    if why in ("stalled", "slow") and not head:
        raise InvalidInput(
            "Đoạn âm thanh của HLS không tải được sau {seconds} giây.",
            seconds=_seconds(reader.timeout),
        )
    if not _segment_is_audio(head):
        raise InvalidInput("Đoạn của danh sách HLS không phải âm thanh.")
    return CheckResult(
        True, Words("Luồng HLS đang phát ({n} đoạn)."), {"n": len(segments)}, kind="hls"
    )


__all__ = ["CheckResult", "audio_kind", "check_source", "redact", "stored_message"]
