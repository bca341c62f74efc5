"""Signed, expiring audio URLs for playlists fetched through a playlist link.

A player that cannot send a header gets its day from a playlist link
(:mod:`broadcaster.services.tokens`); each entry's URL names the link (by id,
never its secret), the file, an expiry and an HMAC-SHA256 of the three under a
key derived from the instance secret. So a URL copied into a log or a proxy's
cache opens one file, for one station, until a time shortly after the day it
was listed for, and stops when its link is revoked; it cannot be turned into
another file's URL or stretched in time without the instance secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A day's URLs stay good until noon of the next day (local): well past the day's last
# slot, and an emergency carried over midnight.
GRACE_AFTER_DAY = timedelta(hours=12)
# The furthest expiry a server ever signs (a playlist of up to a week ahead, plus grace):
# anything later was not signed here.
MAX_AHEAD = timedelta(days=8, hours=12)
_PURPOSE = b"broadcaster signed audio v1\0"


@dataclass(frozen=True)
class SignedAudio:
    link_id: int
    sha256: str
    expires: int  # Unix seconds
    signature: str


def _key(secret_key: str) -> bytes:
    """A key of its own, so no session signature can ever pass for an audio one."""
    return hashlib.sha256(_PURPOSE + secret_key.encode("utf-8")).digest()


def signature(secret_key: str, link_id: int, sha256: str, expires: int) -> str:
    message = f"{link_id}:{sha256}:{expires}".encode("ascii")
    return hmac.new(_key(secret_key), message, hashlib.sha256).hexdigest()


def expiry_for(day: date, tz: ZoneInfo) -> int:
    """When the URLs listed for ``day`` stop working (Unix seconds)."""
    end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return int((end_of_day + GRACE_AFTER_DAY).timestamp())


def sign(secret_key: str, link_id: int, sha256: str, expires: int) -> SignedAudio:
    return SignedAudio(link_id, sha256, expires, signature(secret_key, link_id, sha256, expires))


def problem(secret_key: str, url: SignedAudio, now: datetime) -> str | None:
    """Why this URL must be refused (a sentence), or None when it holds."""
    if url.expires < now.timestamp():
        return "Liên kết âm thanh đã hết hạn; hãy tải lại danh sách phát."
    if url.expires > (now + MAX_AHEAD).timestamp():
        return "Hạn của liên kết âm thanh không hợp lệ."
    wanted = signature(secret_key, url.link_id, url.sha256, url.expires)
    if not hmac.compare_digest(wanted, url.signature):
        return "Chữ ký của liên kết âm thanh không đúng."
    return None
