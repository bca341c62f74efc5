"""The station API under ``/api/v1``: playlists, audio, airing reports, heartbeats, emergencies.

A thin shell over :mod:`broadcaster.services`. Every answer to a station is
JSON (or the playlist format asked for); every refusal is a 4xx with
``{"error": {"code", "message", "details"}}`` and a Vietnamese message.
"""

from __future__ import annotations

import logging
import re
import time as _time
from datetime import UTC, date, datetime

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_file
from limits import parse as parse_rate
from limits import storage as limit_storage
from limits import strategies
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_range_header

from broadcaster import metrics
from broadcaster.clock import local_today
from broadcaster.days import DayError, read_day
from broadcaster.db import transaction, utcnow
from broadcaster.errors import BroadcasterError, NotFound
from broadcaster.models import AiringStatus
from broadcaster.services import airings, health, playlist, tokens
from broadcaster.services.emergency import latest_id
from broadcaster.webapp.api_schema import (
    PLAYLIST_DAYS,
    AiringBatchIn,
    HeartbeatIn,
    openapi_document,
)
from broadcaster.webapp.emergency_watch import EmergencyWatch
from broadcaster.webapp.presence import Presence
from broadcaster.webapp.slot_notices import SlotNotices

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_BODY = 1024 * 1024  # 500 reports with notes fit in well under 1 MiB
BAD_TOKEN_RATE = parse_rate("20/minute")
MAX_DAYS_AWAY = PLAYLIST_DAYS
_SHA = re.compile(r"^[0-9a-f]{64}$")
_RETRIES = 5

_PYDANTIC_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "string_type": "phải là chuỗi",
    "float_type": "phải là số",
    "list_type": "phải là danh sách",
    "model_type": "phải là đối tượng JSON",
    "dict_type": "phải là đối tượng JSON",
    "uuid_type": "phải là UUID",
    "uuid_parsing": "phải là UUID (vd 2f1c…-…)",
    "datetime_type": "phải là thời điểm ISO 8601",
    "datetime_parsing": "phải là thời điểm ISO 8601 (vd 2026-11-23T06:00:00+07:00)",
    "datetime_from_date_parsing": "phải là thời điểm ISO 8601 (vd 2026-11-23T06:00:00+07:00)",
    "timezone_aware": "phải có múi giờ (vd +07:00 hoặc Z)",
    "literal_error": "giá trị không hợp lệ",
    "string_pattern_mismatch": "sai định dạng",
    "string_too_long": "quá dài",
    "too_short": "danh sách rỗng",
    "too_long": "quá nhiều phần tử (tối đa 500)",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "bool_type": "phải là true/false",
}


def _error(
    status: int,
    code: str,
    message: str,
    details: list | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify(error={"code": code, "message": message, "details": details or []})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="broadcaster"'
    response.headers.update(headers or {})
    return response


class ApiError(Exception):
    """A refusal, answered as JSON by the blueprint's handler."""

    def __init__(self, status: int, code: str, message: str, details=None, headers=None):
        super().__init__(message)
        self.args_ = (status, code, message, details, headers)


def _validation_details(exc: ValidationError) -> list[dict]:
    details = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        index = loc[1] if len(loc) > 1 and loc[0] == "reports" and isinstance(loc[1], int) else None
        field = ".".join(str(p) for p in loc) or "body"
        message = _PYDANTIC_VI.get(err["type"], err["msg"])
        if err["type"] == "literal_error":
            message += f" ({err['ctx'].get('expected', '')})"
        details.append({"index": index, "field": field, "message": message})
    return details


def _body() -> bytes:
    """The request body, refused with 413 past MAX_BODY (declared or streamed)."""
    too_big = ApiError(
        413,
        "http_413",
        f"Thân yêu cầu quá lớn (tối đa {MAX_BODY // 1024} KiB); gửi ít báo cáo hơn mỗi lần.",
    )
    if (request.content_length or 0) > MAX_BODY:
        raise too_big
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise too_big
    return raw


def _parse(model, raw: bytes):
    if not raw.strip():
        raise ApiError(400, "empty_body", "Thân yêu cầu rỗng: cần một đối tượng JSON.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise ApiError(400, "bad_json", "JSON không hợp lệ (hỏng hoặc bị cắt cụt).") from None
        details = _validation_details(exc)
        first = details[0]
        raise ApiError(422, "invalid", f"{first['field']}: {first['message']}", details) from None


# -- authentication -----------------------------------------------------------------------


def _limiter() -> tuple[strategies.RateLimiter, str]:
    return current_app.extensions["broadcaster.ratelimit"], request.remote_addr or "?"


def count_wrong(kind: str) -> None:
    """Count a wrong secret from this address; past the limit, refuse with 429."""
    limiter, who = _limiter()
    allowed = limiter.hit(BAD_TOKEN_RATE, kind, who)
    metrics.sign_in_failed(
        "station_token" if kind == "bad-token" else "station_link",
        "wrong" if allowed else "throttled",
    )
    if not allowed:
        reset, _ = limiter.get_window_stats(BAD_TOKEN_RATE, kind, who)
        raise ApiError(
            429,
            "too_many_attempts",
            "Sai mã truy cập quá nhiều lần; hãy chờ rồi thử lại.",
            headers={"Retry-After": str(max(1, int(reset - _time.time()) + 1))},
        )


def _authenticate(station_code: str | None) -> tokens.StationAuth:
    """The station a request's token speaks for.

    Wrong tokens are counted per address; past the limit that address's wrong tokens
    get 429 instead of 401. A right token still passes: stations behind one NAT
    address must not be locked out by a neighbour's misconfigured agent, and with
    256-bit random tokens the limit is about load, not about guessing.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "no_token", "Thiếu mã truy cập: gửi 'Authorization: Bearer <mã của đài>'."
        )
    token = token.strip()
    auth = tokens.remembered(token) or tokens.authenticate(api_db(), token)
    if auth is None:
        count_wrong("bad-token")
        raise ApiError(401, "bad_token", "Mã truy cập không đúng hoặc đã bị thu hồi.")
    if station_code is not None and auth.station_code != station_code:
        raise ApiError(
            403, "other_station", f"Mã truy cập này không dùng được cho đài {station_code}."
        )
    return auth


def api_db():
    return current_app.extensions["broadcaster.db"]()


def _factory():
    return current_app.extensions["broadcaster.sessionmaker"]


def api_settings():
    return current_app.config["BROADCASTER_SETTINGS"]


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _error(*exc.args_)


@bp.errorhandler(DBAPIError)
def _database_error(exc: DBAPIError):
    """The database is down, restarting or too busy: the station keeps its data and asks
    again later (agents treat 503 as "try again", never as a refusal)."""
    log.error("station API: database error: %s", exc)
    return _error(
        503,
        "database_unavailable",
        "Cơ sở dữ liệu của máy chủ tạm thời không sẵn sàng; dữ liệu của đài vẫn được giữ, "
        "hãy gửi lại sau.",
        headers={"Retry-After": "10"},
    )


@bp.errorhandler(BroadcasterError)
def _service_error(exc: BroadcasterError):
    status = 404 if isinstance(exc, NotFound) else 422
    details = [
        {"index": p.index, "id": p.id, "field": p.field, "message": p.message}
        for p in getattr(exc, "problems", [])
    ]
    return _error(status, type(exc).__name__.lower(), exc.message, details)


# -- routes -------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    return jsonify(current_app.extensions["broadcaster.openapi"])


def _day(tz) -> date:
    raw = request.args.get("date")
    today = local_today(tz)
    if raw is None or raw == "":
        return today
    try:
        day = read_day(raw, vietnamese=False)
    except DayError as error:
        if error.reason == "range":  # a real day, far beyond the playlist's reach
            raise ApiError(400, "bad_date", _too_far(raw[:40])) from None
        if error.reason == "missing":
            raise ApiError(400, "bad_date", no_such_day(raw)) from None
        raise ApiError(
            400, "bad_date", f"Tham số date '{raw[:40]}' phải có dạng YYYY-MM-DD."
        ) from None
    if abs((day - today).days) > MAX_DAYS_AWAY:
        raise ApiError(400, "bad_date", _too_far(raw))
    return day


def no_such_day(raw: str) -> str:
    return f"Tham số date: ngày {raw[:40]} không có trên lịch."


def _too_far(raw: str) -> str:
    return f"Ngày {raw} quá xa hôm nay (tối đa {MAX_DAYS_AWAY} ngày)."


FORMATS = {
    "json": "application/json",
    "m3u8": "audio/x-mpegurl; charset=utf-8",
    "xspf": "application/xspf+xml; charset=utf-8",
}


@bp.get("/stations/<code>/playlist")
def get_playlist(code: str):
    auth = _authenticate(code)
    settings = api_settings()
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(
            400, "bad_format", f"format '{fmt[:20]}' không hỗ trợ; dùng json, m3u8 hoặc xspf."
        )
    day = _day(settings.tz)
    now = utcnow()
    # The common case (nothing changed since this process last built the answer) costs no
    # query on PostgreSQL while the slot-change listener is connected, and elsewhere one
    # small query on a bare autocommit connection: no ORM session, no objects.
    notices = current_app.extensions.get("broadcaster.slot_notices")
    generation = notices.generation(auth.station_id) if notices is not None else None
    if generation is not None:
        fp: tuple = ("notices", *generation)
    else:
        fp = _fingerprint(auth.station_id, day, settings.tz)
    cache: playlist.AnswerCache = current_app.extensions["broadcaster.playlists"]
    key = (auth.station_id, day, fmt, request.scheme, request.host, request.script_root)
    answer = cache.get(key, fp, now)
    if answer is None:
        answer = _build_answer(api_db(), auth, day, fmt, now)
        cache.put(key, fp, answer)
    if answer.emergency_slots:
        session = api_db()
        if playlist.mark_picked_up(session, answer.emergency_slots, now):
            session.commit()
    etag = answer.etag
    held = etag in request.if_none_match or request.headers.get("If-None-Match") == etag
    metrics.playlist_pulled(not_modified=held)
    if held:
        response = Response(status=304)
    else:
        response = Response(answer.body, mimetype=answer.content_type.split(";")[0])
        response.headers["Content-Type"] = answer.content_type
    response.headers["ETag"] = answer.etag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _fingerprint(station_id: int, day: date, tz) -> tuple:
    engine = current_app.extensions["broadcaster.read_engine"]

    def look() -> tuple:
        with engine.connect() as conn:
            return playlist.fingerprint(conn, station_id, day, tz)

    try:
        return look()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # the database restarted since this pooled connection was opened: SQLAlchemy has
        # dropped it from the pool, and one more try takes a fresh one
        return look()


def _build_answer(session, auth, day: date, fmt: str, now: datetime) -> playlist.Answer:
    settings = api_settings()
    built = playlist.build(session, auth.station_id, day, settings.tz, settings.audio_dir, now=now)
    if session.dirty:  # file hashes filled in for audio recorded before they were kept
        session.commit()
    # generated_at is left out of what the ETag covers, so an unchanged playlist keeps it
    document = playlist.to_json(built, _audio_url(), datetime(2000, 1, 1, tzinfo=UTC))
    etag = playlist.body_etag(playlist.dumps(document) + fmt.encode())
    document["generated_at"] = now.isoformat().replace("+00:00", "Z")
    if fmt == "json":
        body = playlist.dumps(document)
    elif fmt == "m3u8":
        body = playlist.to_m3u8(document).encode("utf-8")
    else:
        body = playlist.to_xspf(document)
    expiries = [i.window_end for i in built.items if i.kind == "emergency"]
    return playlist.Answer(
        etag,
        body,
        FORMATS[fmt],
        playlist.emergency_slots(built),
        valid_until=min(expiries) if expiries else None,
    )


def public_base() -> str:
    """This server as stations reach it: BROADCASTER_PUBLIC_URL behind a proxy."""
    base = api_settings().public_url or (request.host_url.rstrip("/") + request.script_root)
    return base.rstrip("/")


def _audio_url() -> str:
    return public_base() + "/api/v1/audio/{sha256}.mp3"


@bp.get("/audio/<name>")
def get_audio(name: str):
    auth = _authenticate(None)
    sha = name.removesuffix(".mp3")
    if not name.endswith(".mp3") or not _SHA.match(sha):
        raise ApiError(404, "no_audio", "Không có tệp âm thanh này.")
    settings = api_settings()
    path = playlist.audio_path_for(api_db(), auth.station_id, sha, settings.audio_dir)
    if path is None:
        raise ApiError(
            404,
            "no_audio",
            f"Tệp {sha[:12]}… không có trong danh sách phát của đài {auth.station_code}.",
        )
    if not path.is_file():
        log.error("audio %s is recorded but its file %s is missing", sha, path)
        raise ApiError(404, "audio_missing", "Tệp âm thanh chưa có trên máy chủ; thử lại sau.")
    return send_audio(path, sha, 365 * 86400, "private, max-age=31536000, immutable")


def send_audio(path, sha: str, max_age: int, cache_control: str) -> Response:
    """An MP3 with conditional and range requests as RFC 9110 has them.

    One byte range is served (206), or refused when it lies wholly outside the
    file (416 with ``Content-Range: bytes */size``). A Range header that is not
    one valid byte range — malformed (``bytes=x``), another unit, several ranges
    (``bytes=-253,5381-``) — is ignored and the whole file sent (§14.2: a server
    may ignore Range, and must ignore a unit it does not know).
    """
    raw = request.environ.get("HTTP_RANGE")
    if raw is not None:
        ranges = parse_range_header(raw)
        if ranges is None or ranges.units != "bytes" or len(ranges.ranges) != 1:
            del request.environ["HTTP_RANGE"]
    response = send_file(
        path,
        mimetype="audio/mpeg",
        conditional=True,
        etag=sha,
        max_age=max_age,
        download_name=f"{sha}.mp3",
    )
    response.headers["Cache-Control"] = cache_control
    return response


@bp.post("/stations/<code>/airings")
def post_airings(code: str):
    auth = _authenticate(code)
    batch = None
    try:
        batch = _parse(AiringBatchIn, _body())
        results = _ingest(auth, batch)
    except (ApiError, BroadcasterError):  # the batch is refused: nothing of it is stored
        metrics.airing_reports(refused=len(batch.reports) if batch is not None else 1)
        raise
    stored = sum(r.result == "stored" for r in results)
    metrics.airing_reports(accepted=stored, duplicate=len(results) - stored)
    return jsonify(
        stored=stored,
        duplicates=len(results) - stored,
        results=[vars(r) for r in results],
    )


def _ingest(auth: tokens.StationAuth, batch: AiringBatchIn) -> list[airings.ItemResult]:
    reports = [
        airings.AiringReport(
            id=str(r.id),
            slot_id=r.slot_id,
            started_at=r.started_at.astimezone(UTC),
            ended_at=r.ended_at.astimezone(UTC),
            status=AiringStatus(r.status),
            audio_sha256=r.audio_sha256,
            source=r.source,
            note=r.note,
            relayed_s=r.relayed_s,
            relay_used=r.relay_used,
        )
        for r in batch.reports
    ]
    confirmed = None
    if any(r.source == "manual" for r in reports):
        confirmed = (None, f"đài {auth.station_code} (mã {auth.token_id})")
    for attempt in range(_RETRIES):
        try:
            with transaction(_factory()) as session:
                results = airings.ingest(
                    session,
                    auth.station_id,
                    reports,
                    confirmed_by=confirmed,
                    station_code=auth.station_code,
                )
            break
        except (IntegrityError, OperationalError):
            # another writer took the same chain position (or SQLite was busy): the retry
            # sees their rows and either appends after them or answers "duplicate"
            if attempt == _RETRIES - 1:
                raise
            _time.sleep(0.05 * (attempt + 1))
    return results


@bp.post("/stations/<code>/heartbeat")
def post_heartbeat(code: str):
    auth = _authenticate(code)
    beat = _parse(HeartbeatIn, _body())
    now = utcnow()
    drift = beat.clock_drift_s
    if drift is None and beat.sent_at is not None:
        drift = round((beat.sent_at - now).total_seconds(), 3)
    with transaction(_factory()) as session:
        health.record_heartbeat(
            session,
            auth.station_id,
            auth.token_id,
            health.Heartbeat(
                agent_version=beat.agent_version,
                free_disk_bytes=beat.free_disk_bytes,
                last_sync_at=beat.last_sync_at,
                player_state=beat.player_state,
                clock_drift_s=drift,
                spool_pending=beat.spool_pending,
            ),
            request.remote_addr,
            now,
        )
    return jsonify(ok=True, server_time=now.isoformat().replace("+00:00", "Z"), clock_drift_s=drift)


# The embedded server's event loop (webapp/asgi.py) marks the requests whose waiting it
# does itself: they are answered at once with this header naming the newest id, and asked
# again with wait=0 once something newer exists or the wait is over.
DEFER_KEY = "broadcaster.defer_wait"
MAX_WAIT_S = 55  # the longest wait a station may ask for
WAIT_BEYOND = "X-Broadcaster-Wait-Beyond"
RETRY_WAITING_S = 30  # a station refused a waiting place asks again this much later
WAITING_REFUSED = "Máy chủ đang giữ quá nhiều đài chờ tin khẩn cấp; hãy hỏi lại sau."


def waiting_refused() -> Response:
    """Every waiting place is taken: come back later (the agent adds jitter)."""
    return _error(
        503,
        "too_many_waiting",
        WAITING_REFUSED,
        headers={"Retry-After": str(RETRY_WAITING_S)},
    )


@bp.get("/stations/<code>/emergencies")
def get_emergencies(code: str):
    auth = _authenticate(code)
    try:
        after = int(request.args.get("after", "0"))
        wait = int(request.args.get("wait", "0"))
    except ValueError:
        raise ApiError(400, "bad_param", "after và wait phải là số nguyên.") from None
    if not 0 <= wait <= MAX_WAIT_S:
        raise ApiError(400, "bad_param", f"wait phải từ 0 đến {MAX_WAIT_S} giây.")
    settings = api_settings()
    watch: EmergencyWatch = current_app.extensions["broadcaster.emergency_watch"]
    presence: Presence = current_app.extensions["broadcaster.presence"]
    notices = current_app.extensions.get("broadcaster.slot_notices")
    if notices is not None:
        notices.start()  # the LISTEN connection wakes waiters on PostgreSQL
    deferred = wait > 0 and bool(request.environ.get("asgi.scope", {}).get(DEFER_KEY))
    deadline = _time.monotonic() + wait
    while True:
        session = api_db()
        # while the LISTEN connection is up the watch knows the newest id as soon as the
        # database does (a notice in flight only wakes the waiter a moment later)
        known = watch.latest if watch.fresh else latest_id(session)
        built, items = None, []
        if known > after:  # nothing newer than `after` exists at all: no playlist to build
            built = playlist.build(
                session, auth.station_id, settings.today(), settings.tz, settings.audio_dir
            )
            items = [
                i for i in built.items if i.kind == "emergency" and (i.emergency_id or 0) > after
            ]
        remaining = deadline - _time.monotonic()
        if items or remaining <= 0:
            break
        session.rollback()  # let the next look see new rows
        if deferred:
            response = jsonify(latest=known, items=[])
            response.headers[WAIT_BEYOND] = str(known)
            return response
        presence.arrive(auth.station_code)
        try:
            woke = watch.wait_beyond(known, remaining)
        finally:
            presence.leave(auth.station_code)
        if woke is None:
            return waiting_refused()
    if built is None:
        return jsonify(latest=known, items=[])
    if playlist.mark_picked_up(session, playlist.emergency_slots(built)) or session.dirty:
        session.commit()
    document = playlist.to_json(built, _audio_url(), utcnow())
    ids = {i.slot_id for i in items}
    return jsonify(latest=known, items=[i for i in document["items"] if i["slot_id"] in ids])


def http_error(exc: HTTPException):
    """Werkzeug's own refusals (404, 405, 413) as JSON under /api."""
    if not request.path.startswith("/api/"):
        return exc
    messages = {
        404: "Không có đường dẫn này trong API v1 (xem /api/v1/openapi.json).",
        405: "Phương thức không được hỗ trợ cho đường dẫn này.",
        416: "Đoạn yêu cầu (Range) nằm ngoài tệp; Content-Range cho biết độ dài tệp.",
        413: f"Thân yêu cầu quá lớn (tối đa {MAX_BODY // 1024} KiB); gửi ít báo cáo hơn mỗi lần.",
    }
    # keep what the refusal's own headers say (a 405's Allow, which RFC 9110 requires)
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return _error(
        exc.code or 400, f"http_{exc.code}", messages.get(exc.code, exc.description), None, headers
    )


def init_app(app: Flask, factory) -> None:
    """Register the API on an app whose sessions come from ``factory``."""
    settings = app.config["BROADCASTER_SETTINGS"]
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_BODY)
    app.extensions["broadcaster.sessionmaker"] = factory
    app.extensions["broadcaster.openapi"] = openapi_document()
    app.extensions["broadcaster.ratelimit"] = strategies.MovingWindowRateLimiter(
        limit_storage.storage_from_string(settings.ratelimit_storage)
    )
    watch = EmergencyWatch(factory)
    app.extensions["broadcaster.emergency_watch"] = watch
    app.extensions["broadcaster.presence"] = Presence(factory)
    app.extensions["broadcaster.playlists"] = playlist.AnswerCache()
    if settings.database_url.startswith("postgresql"):
        app.extensions["broadcaster.slot_notices"] = SlotNotices(settings.database_url, watch=watch)
    from broadcaster.webapp import api_links  # noqa: F401 (its routes join this blueprint)

    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, http_error)
