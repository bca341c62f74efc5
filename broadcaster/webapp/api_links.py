"""Playlist links: a station's day for players that cannot send a header.

``GET /api/v1/links/<secret>/playlist.m3u8`` (or ``.xspf``) answers the
station's playlist with signed, expiring audio URLs
(``/api/v1/links/<id>/audio/<sha256>.mp3?exp=…&sig=…``, see
:mod:`broadcaster.services.signed_audio`). A wrong, revoked or malformed link,
an expired, altered or far-future signature, and a file that is not this
station's all answer 403; wrong secrets and signatures are counted per address
with the wrong tokens' limit (429 past it). Every use is counted on the link.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Response, request

from broadcaster import metrics
from broadcaster.clock import local_today
from broadcaster.days import DayError, read_day
from broadcaster.db import utcnow
from broadcaster.services import playlist, signed_audio, tokens
from broadcaster.webapp.api import (
    FORMATS,
    ApiError,
    api_db,
    api_settings,
    bp,
    count_wrong,
    no_such_day,
    public_base,
    send_audio,
)

_SHA = re.compile(r"^[0-9a-f]{64}$")
_SIG = re.compile(r"^[0-9a-f]{64}$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
DAYS_BEHIND, DAYS_AHEAD = 1, 7  # a player wants today; a week ahead at most


def _refused(message: str, kind: str) -> ApiError:
    count_wrong(kind)  # raises 429 past the limit
    return ApiError(403, "link_refused", message)


def _day(tz) -> date:
    raw = request.args.get("date") or ""
    today = local_today(tz)
    if not raw:
        return today
    try:
        day = read_day(raw, vietnamese=False)
    except DayError as error:
        if error.reason == "missing":
            raise ApiError(400, "bad_date", no_such_day(raw)) from None
        raise ApiError(400, "bad_date", "Tham số date phải có dạng YYYY-MM-DD.") from None
    if not today - timedelta(days=DAYS_BEHIND) <= day <= today + timedelta(days=DAYS_AHEAD):
        raise ApiError(
            400,
            "bad_date",
            f"Liên kết chỉ cho danh sách phát từ hôm qua đến {DAYS_AHEAD} ngày tới.",
        )
    return day


@bp.get("/links/<secret>/playlist.<fmt>")
def link_playlist(secret: str, fmt: str):
    if fmt not in ("m3u8", "xspf"):
        raise ApiError(404, "bad_format", "Liên kết danh sách phát có dạng .m3u8 hoặc .xspf.")
    session = api_db()
    auth = tokens.use_link(session, secret)
    if auth is None:
        session.rollback()
        raise _refused("Liên kết danh sách phát không đúng hoặc đã bị thu hồi.", "bad-link")
    settings = api_settings()
    day = _day(settings.tz)
    now = utcnow()
    built = playlist.build(session, auth.station_id, day, settings.tz, settings.audio_dir, now=now)
    expires = signed_audio.expiry_for(day, settings.tz)
    base = f"{public_base()}/api/v1/links/{auth.token_id}/audio/"
    document = playlist.to_json(built, "{sha256}", now)

    def signed(sha: str) -> str:
        url = signed_audio.sign(settings.secret_key, auth.token_id, sha, expires)
        return f"{base}{url.sha256}.mp3?exp={url.expires}&sig={url.signature}"

    for item in document["items"]:
        if item["audio"] is not None:
            item["audio"]["url"] = signed(item["audio"]["sha256"])
        relay = item.get("relay")
        if relay is not None and relay["backup_audio_sha256"] is not None:
            relay["backup_audio_url"] = signed(relay["backup_audio_sha256"])
    playlist.mark_picked_up(session, playlist.emergency_slots(built), now)
    session.commit()  # the use counted, emergencies picked up
    metrics.playlist_pulled(not_modified=False, via="link")
    body = (
        playlist.to_m3u8(document).encode("utf-8") if fmt == "m3u8" else playlist.to_xspf(document)
    )
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    response.headers["Cache-Control"] = "private, no-store"  # signed URLs: keep out of caches
    return response


@bp.get("/links/<int:link_id>/audio/<name>")
def link_audio(link_id: int, name: str):
    sha = name.removesuffix(".mp3")
    expires, sig = request.args.get("exp", ""), request.args.get("sig", "")
    if not name.endswith(".mp3") or not _SHA.match(sha):
        raise ApiError(404, "no_audio", "Không có tệp âm thanh này.")
    if not _DIGITS.match(expires) or not _SIG.match(sig):
        raise _refused("Liên kết âm thanh thiếu hoặc sai hạn (exp) hay chữ ký (sig).", "bad-sig")
    settings = api_settings()
    url = signed_audio.SignedAudio(link_id, sha, int(expires), sig)
    problem = signed_audio.problem(settings.secret_key, url, utcnow())
    if problem is not None:
        raise _refused(problem, "bad-sig")
    session = api_db()
    auth = tokens.link_station(session, link_id)
    if auth is None:
        raise ApiError(403, "link_refused", "Liên kết danh sách phát này đã bị thu hồi.")
    path = playlist.audio_path_for(session, auth.station_id, sha, settings.audio_dir)
    if path is None:
        raise ApiError(403, "link_refused", "Tệp này không thuộc danh sách phát của đài.")
    if not path.is_file():
        raise ApiError(404, "audio_missing", "Tệp âm thanh chưa có trên máy chủ; thử lại sau.")
    tokens.count_link_use(session, auth.token_id)
    session.commit()
    return send_audio(path, sha, 86400, "private, max-age=86400")
