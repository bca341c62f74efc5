"""The station protocol's shapes (pydantic), and the OpenAPI 3.1 document built from them.

The same models validate what stations send and describe it in
``/api/v1/openapi.json``, so the document cannot drift from the code; a test
validates real responses against it as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import models_json_schema

import broadcaster
from broadcaster.days import FIRST_DAY, LAST_DAY
from broadcaster.services.airings import (
    FUTURE_TOLERANCE,
    MAX_AGE,
    MAX_BATCH,
    MAX_LENGTH,
    RELAY_OVER,
    SLOT_SLACK,
)

SHA256 = r"^[0-9a-f]{64}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold U+0000
# Times a station may send: far enough apart for any real clock, near enough that
# converting them to UTC can never overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
INT32 = 2_147_483_647
PLAYLIST_DAYS = 400  # how far from today a station may ask for a day's playlist
INT64 = 2**63 - 1


def _when(description: str = "", **kwargs):
    """A time with its range, which JSON Schema cannot state for a date-time: said in words."""
    bounds = f"từ {EARLIEST:%Y-%m-%d} đến {LATEST:%Y-%m-%d} (UTC), kèm múi giờ; sai: 422"
    return Field(
        ge=EARLIEST,
        le=LATEST,
        description=f"{description}; {bounds}" if description else bounds,
        **kwargs,
    )


def _whole(value: Any) -> Any:
    """JSON Schema counts ``1924.0`` as an integer, so the API takes it as 1924 too.

    Only a float without a fraction: ``1924.5``, ``"1924"`` and ``true`` stay refused.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole(low: int, high: int) -> Any:
    """An integer from ``low`` to ``high`` as JSON Schema has it: 7 and 7.0 alike."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_whole)]


_MINUTES = int(FUTURE_TOLERANCE.total_seconds() // 60)
_AGE_DAYS = MAX_AGE.days
_HOURS = int(MAX_LENGTH.total_seconds() // 3600)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AiringIn(_In):
    """One airing report. ``id`` is the client's UUID: sending it again is harmless."""

    id: UUID
    slot_id: whole(1, INT32) = Field(description="một lượt phát của chính đài này")
    started_at: AwareDatetime = _when(
        description=(
            f"không muộn hơn giờ máy chủ quá {_MINUTES} phút, không cũ hơn {_AGE_DAYS} ngày, "
            f"cách giờ dự kiến của lượt phát không quá {SLOT_SLACK.days} ngày"
        )
    )
    ended_at: AwareDatetime = _when(description=f"không trước started_at, dài tối đa {_HOURS} giờ")
    status: Literal["aired", "partial", "failed", "skipped"]
    audio_sha256: str | None = Field(default=None, pattern=SHA256)
    source: Literal["agent", "manual"] = "agent"
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL)
    relayed_s: whole(0, INT32) | None = Field(
        default=None,
        description=(
            "chỉ cho lượt tiếp âm: số giây đã tiếp âm thật (kể cả nguồn dự phòng), "
            f"không quá độ dài lượt phát cộng {int(RELAY_OVER.total_seconds())} giây; "
            "lượt khác: 422"
        ),
    )
    relay_used: Literal["main", "backup", "file"] | None = Field(
        default=None,
        description=(
            "chỉ cho lượt tiếp âm: nguồn đã phát lâu nhất — main (luồng chính), "
            "backup (luồng dự phòng), file (bản ghi dự phòng); lượt khác: 422"
        ),
    )


class AiringBatchIn(_In):
    reports: list[AiringIn] = Field(min_length=1, max_length=MAX_BATCH)


class HeartbeatIn(BaseModel):
    """What an agent says of itself. Unknown fields are ignored (newer agents)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    agent_version: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    free_disk_bytes: whole(0, INT64) | None = None
    last_sync_at: AwareDatetime | None = _when(default=None)
    player_state: Literal["idle", "playing", "error"] | None = None
    clock_drift_s: float | None = Field(default=None, ge=-1e7, le=1e7)
    spool_pending: whole(0, INT32) | None = None
    sent_at: AwareDatetime | None = _when(default=None)


class Audio(BaseModel):
    url: str
    sha256: str = Field(pattern=SHA256)
    size: int


class RelayOut(BaseModel):
    """A relay item's stream (tiếp âm) and its backups, in the order a player tries them."""

    source_id: int
    name: str
    url: str = Field(description="luồng trực tiếp (http/https: Icecast/Shoutcast MP3, AAC, HLS)")
    backup_url: str | None = Field(description="luồng dự phòng, khi luồng chính không có")
    backup_audio_url: str | None = Field(
        description="tệp MP3 dự phòng (bản đã duyệt của tin bài dự phòng), tải bằng cùng mã "
        "truy cập; null khi không có hoặc chưa tạo"
    )
    backup_audio_sha256: str | None = Field(pattern=SHA256)


class PlaylistItemOut(BaseModel):
    slot_id: int
    kind: Literal["campaign", "emergency", "relay"]
    content: Literal["speech", "recording", "relay"] = Field(
        description="speech: đọc bằng giọng tổng hợp; recording: bản ghi âm của người đọc; "
        "relay: tiếp âm luồng trực tiếp (xem relay)"
    )
    priority: Literal["emergency", "priority", "normal"]
    priority_label: str
    title: str
    campaign_id: int | None
    campaign: str | None
    emergency_id: int | None
    repeat: int = Field(ge=1)
    planned_start: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: Literal["planned", "aired", "missed"]
    audio: Audio | None
    # why ``audio`` is null: made within 48 h of airing ("scheduled"), or being made now;
    # null for a relay, which has no audio of its own
    audio_state: Literal["ready", "rendering", "scheduled"] | None
    audio_note: str | None
    relay: RelayOut | None = Field(
        description="chỉ với mục tiếp âm: phát luồng từ planned_start trong duration_ms"
    )


class PlaylistOut(BaseModel):
    version: Literal[1]
    station: str
    station_name: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    timezone: str
    generated_at: datetime
    items: list[PlaylistItemOut]


class EmergenciesOut(BaseModel):
    latest: int = Field(description="newest emergency id the server knows; pass as ?after=")
    items: list[PlaylistItemOut]


class AiringResultOut(BaseModel):
    id: str
    result: Literal["stored", "duplicate"]
    seq: int
    status: str


class AiringBatchOut(BaseModel):
    stored: int
    duplicates: int
    results: list[AiringResultOut]


class HeartbeatOut(BaseModel):
    ok: bool
    server_time: datetime
    clock_drift_s: float | None


class ProblemOut(BaseModel):
    index: int | None = None
    id: str | None = None
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ProblemOut] = []


class ErrorOut(BaseModel):
    error: ErrorBody


_MODELS = [
    AiringBatchIn,
    HeartbeatIn,
    PlaylistOut,
    EmergenciesOut,
    AiringBatchOut,
    HeartbeatOut,
    ErrorOut,
]


_BINARY = {"contentMediaType": "audio/mpeg"}  # OpenAPI 3.1's way to say "raw bytes"
# a day as RFC 3339 writes it, or nothing (today)
_DAY = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_AUDIO_ANSWERS: dict[str, Any] = {  # what both audio routes answer when all is well
    "200": {"description": "tệp âm thanh", "content": {"audio/mpeg": {"schema": _BINARY}}},
    "206": {"description": "một đoạn của tệp", "content": {"audio/mpeg": {"schema": _BINARY}}},
    "304": {"description": "không đổi"},
}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "yêu cầu sai (JSON hỏng, tham số sai)",
        401: "thiếu hoặc sai mã truy cập",
        403: "mã truy cập của đài khác",
        404: "không tìm thấy",
        413: "thân yêu cầu quá lớn",
        422: "dữ liệu không hợp lệ; không có gì được lưu",
        429: "sai mã truy cập quá nhiều lần; thử lại sau Retry-After giây",
        503: "máy chủ bận (hết chỗ chờ, CSDL tạm ngừng); hỏi lại sau Retry-After giây",
    }
    return {str(c): _json("ErrorOut", text[c]) for c in codes}


def openapi_document() -> dict[str, Any]:
    _, top = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization") for m in _MODELS],
        ref_template="#/components/schemas/{model}",
    )
    schemas = top["$defs"]
    code = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
    auth = [{"stationToken": []}]
    common = (400, 401, 403, 404, 429)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "broadcaster station API",
            "version": broadcaster.__version__,
            "description": (
                "Giao thức giữa máy chủ và đài truyền thanh xã: lấy danh sách phát, tải âm "
                "thanh, báo cáo lượt phát, nhịp tim, tin khẩn cấp. Mọi lời gọi của đài mang "
                "`Authorization: Bearer <mã truy cập>`; một mã chỉ dùng được cho đài của nó."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"stationToken": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/stations/{code}/playlist": {
                "get": {
                    "operationId": "getPlaylist",
                    "summary": "Danh sách phát của một ngày (mặc định hôm nay, giờ địa phương)",
                    "security": auth,
                    "parameters": [
                        code,
                        {
                            "name": "date",
                            "in": "query",
                            "description": (
                                f"YYYY-MM-DD, từ {FIRST_DAY} đến {LAST_DAY} và cách hôm nay "
                                f"(giờ địa phương của máy chủ) không quá {PLAYLIST_DAYS} ngày; "
                                "ngoài khoảng đó: 400 bad_date; bỏ trống: hôm nay"
                            ),
                            "schema": _DAY,
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["json", "m3u8", "xspf"]},
                        },
                        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "danh sách phát",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {"schema": _ref("PlaylistOut")},
                                "audio/x-mpegurl": {"schema": {"type": "string"}},
                                "application/xspf+xml": {"schema": {"type": "string"}},
                            },
                        },
                        "304": {"description": "không đổi so với ETag đã có"},
                        **_errors(*common),
                    },
                }
            },
            "/api/v1/stations/{code}/emergencies": {
                "get": {
                    "operationId": "waitEmergencies",
                    "summary": "Tin khẩn cấp đang hiệu lực; chờ đến `wait` giây nếu chưa có",
                    "security": auth,
                    "parameters": [
                        code,
                        {"name": "after", "in": "query", "schema": {"type": "integer"}},
                        {
                            "name": "wait",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 55},
                        },
                    ],
                    "responses": {
                        "200": _json("EmergenciesOut", "tin khẩn cấp mới hơn `after`"),
                        **_errors(*common, 503),
                    },
                }
            },
            "/api/v1/audio/{sha256}.mp3": {
                "get": {
                    "operationId": "getAudio",
                    "summary": "Tệp MP3 (hỗ trợ Range để tải tiếp khi mạng chập chờn)",
                    "security": auth,
                    "parameters": [
                        {
                            "name": "sha256",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": SHA256},
                        },
                        {"name": "Range", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        **_AUDIO_ANSWERS,
                        "416": {"description": "đoạn yêu cầu nằm ngoài tệp"},
                        **_errors(401, 404, 429),
                    },
                }
            },
            "/api/v1/links/{secret}/playlist.{format}": {
                "get": {
                    "operationId": "getLinkedPlaylist",
                    "summary": "Danh sách phát qua liên kết (cho trình phát không gửi được "
                    "tiêu đề): URL âm thanh đã ký, có hạn",
                    "security": [],
                    "parameters": [
                        {
                            "name": "secret",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^bsl_[A-Za-z0-9_-]{43}$"},
                        },
                        {
                            "name": "format",
                            "in": "path",
                            "required": True,
                            "schema": {"enum": ["m3u8", "xspf"]},
                        },
                        {
                            "name": "date",
                            "in": "query",
                            "description": "YYYY-MM-DD, từ hôm qua đến 7 ngày tới; ngoài khoảng "
                            "đó: 400 bad_date; bỏ trống: hôm nay",
                            "schema": _DAY,
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "danh sách phát; Cache-Control: private, no-store",
                            "content": {
                                "audio/x-mpegurl": {"schema": {"type": "string"}},
                                "application/xspf+xml": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _json("ErrorOut", "ngày ngoài khoảng cho phép"),
                        "403": _json("ErrorOut", "liên kết sai hoặc đã bị thu hồi"),
                        "404": _json("ErrorOut", "dạng không phải m3u8 hay xspf"),
                        "429": _json("ErrorOut", "sai quá nhiều lần; thử lại sau Retry-After"),
                    },
                }
            },
            "/api/v1/links/{link}/audio/{sha256}.mp3": {
                "get": {
                    "operationId": "getLinkedAudio",
                    "summary": "Tệp MP3 của một mục trong danh sách phát qua liên kết",
                    "security": [],
                    "parameters": [
                        {
                            "name": "link",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        },
                        {
                            "name": "sha256",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": SHA256},
                        },
                        {
                            "name": "exp",
                            "in": "query",
                            "required": True,
                            "description": "hạn (giây Unix), tối đa 8,5 ngày tới",
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "sig",
                            "in": "query",
                            "required": True,
                            "description": "HMAC-SHA256 (hex) của liên kết, tệp và hạn",
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        },
                        {"name": "Range", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        **_AUDIO_ANSWERS,
                        "403": _json(
                            "ErrorOut",
                            "chữ ký sai, hết hạn, liên kết bị thu hồi, hay tệp không của đài",
                        ),
                        "404": _json("ErrorOut", "không có tệp này"),
                        "416": {"description": "đoạn yêu cầu nằm ngoài tệp"},
                        "429": _json("ErrorOut", "sai quá nhiều lần; thử lại sau Retry-After"),
                    },
                }
            },
            "/api/v1/stations/{code}/airings": {
                "post": {
                    "operationId": "reportAirings",
                    "summary": "Báo cáo các lượt đã phát (gửi lại cùng id không bị lưu hai lần)",
                    "security": auth,
                    "parameters": [code],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("AiringBatchIn")}},
                    },
                    "responses": {
                        "200": _json("AiringBatchOut", "kết quả từng báo cáo"),
                        **_errors(*common, 413, 422),
                    },
                }
            },
            "/api/v1/stations/{code}/heartbeat": {
                "post": {
                    "operationId": "heartbeat",
                    "summary": "Nhịp tim của đài: phiên bản, dung lượng trống, trạng thái",
                    "security": auth,
                    "parameters": [code],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("HeartbeatIn")}},
                    },
                    "responses": {
                        "200": _json("HeartbeatOut", "đã ghi nhận"),
                        **_errors(*common, 413, 422),
                    },
                }
            },
        },
    }
