"""``/api/v1/openapi.json`` is kept true: real requests and answers are checked against it.

The document is validated as OpenAPI 3.1 (openapi-spec-validator); then every
operation is called over real HTTP (waitress on loopback, requests as client)
and each exchange is checked by openapi-core: the answer's status, headers and
body must be ones the document describes, and what we send as a well-behaved
station must be a request the document allows. Hostile input (truncated JSON,
wrong types, huge numbers, NUL bytes, deep nesting, oversized bodies) must get a
documented 4xx, never a 5xx.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator import validate as validate_spec

from broadcaster.db import utcnow
from tests.api.test_real_clients import (
    TIMEOUT,
    Recorder,
    m3u8_entries,
    send_emergency,
    serve,
    slot_day,
)
from tests.api.world import World, aware

NO_TOKEN = ""


def _text(value: bytes, **parameters: str) -> str:
    """Playlists other than JSON are text in their charset (openapi-core assumes bytes)."""
    return value.decode(parameters.get("charset", "utf-8"))


@dataclass
class Api:
    """The station API over real HTTP, every exchange checked against its own document."""

    world: World
    base: str
    recorder: Recorder
    spec: OpenAPI
    session: requests.Session

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        payload: object = None,
        request_ok: bool | None = True,
    ) -> requests.Response:
        """Send, then validate the answer; ``request_ok`` says whether we send a valid request
        (None: do not judge it, e.g. semantically wrong but well-shaped reports)."""
        sent = {} if token == NO_TOKEN else self.world.auth(token)
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
        if body is not None:
            sent["Content-Type"] = "application/json"
        request = requests.Request(
            method, self.base + path, headers={**sent, **(headers or {})}, data=body
        ).prepare()
        response = self.session.send(request, timeout=TIMEOUT)
        assert response.status_code < 500, (path, response.status_code, response.text[:500])
        self.spec.validate_response(
            RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response)
        )
        if request_ok is True:
            self.spec.validate_request(RequestsOpenAPIRequest(request))
        elif request_ok is False:
            try:
                self.spec.validate_request(RequestsOpenAPIRequest(request))
            except Exception:  # any of openapi-core's refusals (or its parser's)
                pass
            else:
                raise AssertionError(f"the document allows {method} {path} {body!r:.200}")
        return response

    def playlist(self, fmt: str = "json") -> str:
        code = self.world.station
        return f"/api/v1/stations/{code}/playlist?format={fmt}&date={slot_day(self.world)}"


def load_spec(document: dict) -> OpenAPI:
    config = Config(
        extra_media_type_deserializers={"audio/x-mpegurl": _text, "application/xspf+xml": _text}
    )
    return OpenAPI.from_dict(document, config=config)


@pytest.fixture
def api(world) -> Iterator[Api]:
    send_emergency(world)
    with serve(world.app) as (base, recorder), requests.Session() as session:
        document = session.get(base + "/api/v1/openapi.json", timeout=TIMEOUT).json()
        yield Api(world, base, recorder, load_spec(document), session)


# -- the document itself --------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(world):
    response = world.client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1.")
    validate_spec(document)  # raises on any departure from the OpenAPI 3.1 schema
    load_spec(document)


def test_every_api_route_is_documented_and_every_documented_path_is_a_route(world):
    document = world.client().get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), re.sub(r"\{(\w+)\}", "<x>", path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    routes = {
        (method, re.sub(r"<(?:\w+:)?\w+>", "<x>", rule.rule))
        for rule in world.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    # the audio routes take any <name> and refuse what is not <sha256>.mp3
    routes = {(m, r + ".mp3" if r.endswith("/audio/<x>") else r) for m, r in routes}
    assert documented == routes


def test_the_check_can_fail(api):
    """A document that says otherwise makes openapi-core refuse the same real exchanges."""
    heartbeat = f"/api/v1/stations/{api.world.station}/heartbeat"
    document = api.session.get(api.base + "/api/v1/openapi.json", timeout=TIMEOUT).json()
    document["components"]["schemas"]["PlaylistOut"]["properties"]["version"] = {"const": 2}
    document["components"]["schemas"]["HeartbeatOut"]["required"].append("battery")
    real, api.spec = api.spec, load_spec(document)
    with pytest.raises(InvalidData, match="2 was expected"):
        api.call("GET", api.playlist())
    with pytest.raises(InvalidData, match="battery"):
        api.call("POST", heartbeat, payload={})
    api.spec = real
    # and a request the document allows is not taken for a refused one
    with pytest.raises(AssertionError, match="the document allows"):
        api.call("POST", heartbeat, payload={"player_state": "idle"}, request_ok=False)


# -- every operation, real exchanges --------------------------------------------------------


def test_playlist_exchanges_match_the_document(api):
    for fmt in ("json", "m3u8", "xspf"):
        first = api.call("GET", api.playlist(fmt))
        assert first.status_code == 200
        again = api.call("GET", api.playlist(fmt), headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
    items = api.call("GET", api.playlist()).json()["items"]
    assert items[0]["kind"] == "emergency" and {i["kind"] for i in items[1:]} == {"campaign"}

    code = api.world.station
    for query in ("format=pdf", "date=2026-02-30", "date=1999-01-01"):
        bad = api.call("GET", f"/api/v1/stations/{code}/playlist?{query}", request_ok=None)
        assert bad.status_code == 400, query
    assert api.call("GET", api.playlist(), token=NO_TOKEN, request_ok=False).status_code == 401
    assert api.call("GET", api.playlist(), token="not-a-token").status_code == 401
    other = api.call("GET", api.playlist(), token=api.world.other_token)
    assert other.status_code == 403


def test_emergency_exchanges_match_the_document(api):
    path = f"/api/v1/stations/{api.world.station}/emergencies"
    now = api.call("GET", f"{path}?wait=0")
    assert now.status_code == 200
    body = now.json()
    assert [i["kind"] for i in body["items"]] == ["emergency"] and body["latest"] >= 1
    seen = api.call("GET", f"{path}?after={body['latest']}&wait=0")
    assert seen.status_code == 200 and seen.json()["items"] == []
    assert api.call("GET", f"{path}?wait=99", request_ok=False).status_code == 400
    assert api.call("GET", f"{path}?after=abc", request_ok=False).status_code == 400
    assert api.call("GET", path, token=api.world.other_token).status_code == 403
    assert api.call("GET", path, token=NO_TOKEN, request_ok=False).status_code == 401


def audio_path(api: Api) -> str:
    url = m3u8_entries(
        api.session.get(
            api.base + api.playlist("m3u8"), headers=api.world.auth(), timeout=TIMEOUT
        ).text
    )[0].url
    return url.removeprefix(api.base)


def test_audio_bodies_match_the_document(api):
    path = audio_path(api)
    assert api.call("GET", path).status_code == 200
    assert api.call("GET", path, headers={"Range": "bytes=0-99"}).status_code == 206


def test_audio_refusals_and_validators_match_the_document(api):
    path = audio_path(api)
    full = api.session.get(api.base + path, headers=api.world.auth(), timeout=TIMEOUT)
    etag = full.headers["ETag"]
    assert api.call("GET", path, headers={"If-None-Match": etag}).status_code == 304
    size = len(full.content)
    assert api.call("GET", path, headers={"Range": f"bytes={size}-"}).status_code == 416
    assert api.call("GET", path, token=NO_TOKEN, request_ok=False).status_code == 401
    assert api.call("GET", path, token=api.world.other_token).status_code == 404
    missing = "/api/v1/audio/" + "0" * 64 + ".mp3"
    assert api.call("GET", missing).status_code == 404


def report(world: World, **changes) -> dict:
    start = utcnow() - timedelta(minutes=1)
    item = {
        "id": str(uuid.uuid4()),
        "slot_id": world.slots[0],
        "started_at": aware(start),
        "ended_at": aware(start + timedelta(seconds=6)),
        "status": "aired",
    }
    return {**item, **changes}


def test_airing_exchanges_match_the_document(api):
    path = f"/api/v1/stations/{api.world.station}/airings"
    first = report(api.world, note="phát đủ, loa cụm 3 rè", source="manual")
    stored = api.call("POST", path, payload={"reports": [first]})
    assert stored.status_code == 200 and stored.json()["stored"] == 1
    again = api.call("POST", path, payload={"reports": [first, report(api.world)]})
    assert again.status_code == 200 and again.json()["duplicates"] == 1

    wrong = api.call(
        "POST", path, payload={"reports": [report(api.world, status="ok")]}, request_ok=False
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["index"] == 0
    late = report(api.world, ended_at=aware(utcnow() - timedelta(hours=2)))
    assert api.call("POST", path, payload={"reports": [late]}, request_ok=None).status_code == 422
    assert api.call("POST", path, body=b'{"reports": [', request_ok=False).status_code == 400
    assert api.call("POST", path, body=b"", request_ok=False).status_code == 400
    other = api.call(
        "POST",
        f"/api/v1/stations/{api.world.other}/airings",
        payload={"reports": [report(api.world)]},
    )
    assert other.status_code == 403


def test_heartbeat_exchanges_match_the_document(api):
    path = f"/api/v1/stations/{api.world.station}/heartbeat"
    beat = {
        "agent_version": "0.1.0",
        "free_disk_bytes": 12_000_000_000,
        "last_sync_at": aware(utcnow()),
        "player_state": "idle",
        "spool_pending": 0,
        "sent_at": aware(utcnow()),
        "from_a_newer_agent": True,
    }
    ok = api.call("POST", path, payload=beat)
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert api.call("POST", path, payload={}).status_code == 200
    bad = api.call("POST", path, payload={"player_state": "dancing"}, request_ok=False)
    assert bad.status_code == 422
    assert api.call("POST", path, body=b"{", request_ok=False).status_code == 400


def test_integers_written_with_a_zero_fraction_are_integers_as_json_schema_says(api):
    """``1924.0`` is an integer to JSON Schema, so the document's ``integer`` takes it."""
    beat = f"/api/v1/stations/{api.world.station}/heartbeat"
    assert api.call("POST", beat, payload={"spool_pending": 3.0}).status_code == 200
    assert api.call("POST", beat, body=b'{"free_disk_bytes": 1924.0}').status_code == 200
    for wrong in (b'{"spool_pending": 3.5}', b'{"spool_pending": "3"}', b'{"spool_pending": true}'):
        assert api.call("POST", beat, body=wrong, request_ok=False).status_code == 422, wrong
    airings = f"/api/v1/stations/{api.world.station}/airings"
    item = report(api.world, slot_id=float(api.world.slots[0]))
    stored = api.call("POST", airings, payload={"reports": [item]})
    assert stored.status_code == 200 and stored.json()["stored"] == 1


def test_the_document_states_the_rules_the_server_keeps(world):
    """What is refused must be findable in the document: the playlist's reach in days,
    how old and how far from its slot a report may be, a batch's size."""
    document = world.client().get("/api/v1/openapi.json").get_json()
    playlist = document["paths"]["/api/v1/stations/{code}/playlist"]["get"]
    date_rule = next(p for p in playlist["parameters"] if p["name"] == "date")["description"]
    assert "400 ngày" in date_rule and "2000-01-01" in date_rule and "2099-12-31" in date_rule
    airing = document["components"]["schemas"]["AiringIn"]["properties"]
    assert "60 ngày" in airing["started_at"]["description"]
    assert "7 ngày" in airing["started_at"]["description"]
    assert "10 phút" in airing["started_at"]["description"]
    assert "6 giờ" in airing["ended_at"]["description"]
    batch = document["components"]["schemas"]["AiringBatchIn"]["properties"]["reports"]
    assert batch["maxItems"] == 500


def test_too_many_bad_tokens_get_429_as_documented(api):
    statuses = [api.call("GET", api.playlist(), token=f"wrong-{n}").status_code for n in range(25)]
    assert statuses[0] == 401 and statuses[-1] == 429
    limited = api.call("GET", api.playlist(), token="wrong-again")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


# -- hostile input: a documented 4xx, never a 5xx ---------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """One malformed request. ``body`` may name the world's slot as ``SLOT``."""

    method: str
    operation: str  # airings | heartbeat | playlist | emergencies | audio
    status: int  # the refusal expected
    body: bytes | None = None
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    documented: bool | None = False  # does the document allow it? (None: not judged)


def airing_body(**changes) -> bytes:
    start = utcnow() - timedelta(minutes=1)
    item = {
        "id": str(uuid.uuid4()),
        "slot_id": "SLOT",
        "started_at": aware(start),
        "ended_at": aware(start + timedelta(seconds=6)),
        "status": "aired",
        **changes,
    }
    return json.dumps({"reports": [item]}).encode("utf-8")


def nested(depth: int) -> bytes:
    return b'{"reports": ' + b"[" * depth + b"]" * depth + b"}"


OVER_1_MIB = b'{"reports": "' + b"a" * (1024 * 1024) + b'"}'

HOSTILE = {
    # airing reports
    "truncated JSON": Hostile("POST", "airings", 400, b'{"reports": [{"id": "'),
    "only whitespace": Hostile("POST", "airings", 400, b"  \n\t "),
    "JSON null": Hostile("POST", "airings", 422, b"null"),
    "an array, not an object": Hostile("POST", "airings", 422, b"[]"),
    "reports not a list": Hostile("POST", "airings", 422, b'{"reports": {}}'),
    "no reports": Hostile("POST", "airings", 422, b'{"reports": []}'),
    "501 reports": Hostile(
        "POST",
        "airings",
        422,
        json.dumps({"reports": [json.loads(airing_body())["reports"][0]] * 501}).encode(),
    ),
    "slot_id as text": Hostile("POST", "airings", 422, airing_body(slot_id="1")),
    "slot_id 10**30": Hostile("POST", "airings", 422, airing_body(slot_id=10**30)),
    "slot_id 1.5": Hostile("POST", "airings", 422, airing_body(slot_id=1.5)),
    "slot_id with 5000 digits": Hostile(
        "POST", "airings", 400, b'{"reports": [{"slot_id": 1' + b"0" * 5000 + b"}]}"
    ),
    "slot_id 1e999": Hostile("POST", "airings", 422, b'{"reports": [{"slot_id": 1e999}]}'),
    "id not a UUID": Hostile("POST", "airings", 422, airing_body(id="airing-1")),
    "time without zone": Hostile(
        "POST", "airings", 422, airing_body(started_at="2026-11-23T06:00:00")
    ),
    "time as garbage": Hostile("POST", "airings", 422, airing_body(ended_at="hôm qua")),
    "status unknown": Hostile("POST", "airings", 422, airing_body(status="played")),
    "status a number": Hostile("POST", "airings", 422, airing_body(status=1)),
    "note too long": Hostile("POST", "airings", 422, airing_body(note="x" * 501)),
    "unknown field": Hostile("POST", "airings", 422, airing_body(volume=11)),
    "raw NUL byte": Hostile("POST", "airings", 400, b'{"reports": \x00}'),
    "invalid UTF-8": Hostile("POST", "airings", 400, b'{"reports": "\xff\xfe"}'),
    "arrays nested 100000 deep": Hostile("POST", "airings", 400, nested(100_000)),
    "over 1 MiB": Hostile("POST", "airings", 413, OVER_1_MIB),
    # heartbeats
    "heartbeat truncated": Hostile("POST", "heartbeat", 400, b'{"agent_version": "0.'),
    "heartbeat a list": Hostile("POST", "heartbeat", 422, b"[1, 2]"),
    "heartbeat state unknown": Hostile("POST", "heartbeat", 422, b'{"player_state": "on"}'),
    "heartbeat disk negative": Hostile("POST", "heartbeat", 422, b'{"free_disk_bytes": -1}'),
    "heartbeat disk as text": Hostile("POST", "heartbeat", 422, b'{"free_disk_bytes": "12 GB"}'),
    # NaN is not JSON; the server's parser reads it (then refuses the value), and so does
    # Python's json under openapi-core, so the document cannot be said to refuse it
    "heartbeat drift NaN": Hostile(
        "POST", "heartbeat", 422, b'{"clock_drift_s": NaN}', documented=None
    ),
    "heartbeat drift 1e400": Hostile("POST", "heartbeat", 422, b'{"clock_drift_s": 1e400}'),
    "heartbeat version too long": Hostile(
        "POST", "heartbeat", 422, b'{"agent_version": "' + b"9" * 65 + b'"}'
    ),
    "heartbeat nested 100000 deep": Hostile(
        "POST", "heartbeat", 400, b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    ),
    "heartbeat over 1 MiB": Hostile("POST", "heartbeat", 413, OVER_1_MIB, documented=True),
    # query strings and headers
    "playlist format NUL": Hostile("GET", "playlist", 400, query="format=%00"),
    "playlist date NUL": Hostile("GET", "playlist", 400, query="date=%00"),
    "playlist date 10 kB": Hostile("GET", "playlist", 400, query="date=" + "2" * 10_000),
    "emergencies wait=-1": Hostile("GET", "emergencies", 400, query="wait=-1"),
    "emergencies wait=1e3": Hostile("GET", "emergencies", 400, query="wait=1e3"),
    "emergencies after NUL": Hostile("GET", "emergencies", 400, query="after=%00"),
    "audio name NUL": Hostile("GET", "audio", 404, query="%00.mp3", documented=None),
    "audio name upper-case": Hostile("GET", "audio", 404, query="A" * 64 + ".mp3"),
    "audio name 65 digits": Hostile("GET", "audio", 404, query="a" * 65 + ".mp3"),
    "token of 10 kB": Hostile(
        "GET",
        "playlist",
        401,
        headers=(("Authorization", "Bearer " + "x" * 10_000),),
        documented=True,
    ),
    "token not latin-1 text": Hostile(
        "GET", "playlist", 401, headers=(("Authorization", "Bearer \xff\xfe"),), documented=True
    ),
}


@dataclass(frozen=True)
class Unstorable:
    """Requests whose values no column can hold (they once got a 500 on ``backends``)."""

    why: str
    backends: tuple[str, ...]
    cases: tuple[Hostile, ...]


# the document is not judged here
def heartbeat(body: bytes) -> Hostile:
    return Hostile("POST", "heartbeat", 422, body, documented=None)


def airing(**changes) -> Hostile:
    return Hostile("POST", "airings", 422, airing_body(**changes), documented=None)


# Values a database column cannot hold: once 500s, now refused by the request shapes.
UNSTORABLE = {
    "times that overflow UTC": Unstorable(
        "AiringIn/HeartbeatIn accept any aware datetime; converting year 1 at +14:00 or "
        "9999-12-31 at -12:00 to UTC raises OverflowError (api.py post_airings, "
        "db.py UTCDateTime.process_bind_param)",
        ("sqlite", "postgresql"),
        (
            airing(started_at="0001-01-01T00:00:00+14:00", ended_at="0001-01-01T00:01:00+14:00"),
            airing(started_at="9999-12-31T23:00:00-12:00", ended_at="9999-12-31T23:59:00-12:00"),
            heartbeat(b'{"last_sync_at": "0001-01-01T00:00:00+14:00"}'),
        ),
    ),
    "integers past their column": Unstorable(
        "HeartbeatIn.free_disk_bytes (BIGINT column) and spool_pending (INTEGER column) have "
        "no upper bound",
        ("sqlite", "postgresql"),
        (
            heartbeat(b'{"free_disk_bytes": 9223372036854775808}'),
            heartbeat(b'{"spool_pending": 2147483648}'),  # SQLite stores it; PostgreSQL fails
        ),
    ),
    "NUL in text": Unstorable(
        "AiringIn.note and HeartbeatIn.agent_version accept U+0000, which PostgreSQL text "
        "cannot hold (SQLite stores it)",
        ("postgresql",),
        (airing(note="loa rè\u0000"), heartbeat(b'{"agent_version": "0.1\\u0000"}')),
    ),
}


def send_hostile(api: Api, case: Hostile) -> requests.Response:
    code = api.world.station
    paths = {
        "airings": f"/api/v1/stations/{code}/airings",
        "heartbeat": f"/api/v1/stations/{code}/heartbeat",
        "playlist": f"/api/v1/stations/{code}/playlist?{case.query}",
        "emergencies": f"/api/v1/stations/{code}/emergencies?{case.query}",
        "audio": f"/api/v1/audio/{case.query}",
    }
    body = case.body.replace(b'"SLOT"', str(api.world.slots[0]).encode()) if case.body else None
    return api.call(
        case.method,
        paths[case.operation],
        headers=dict(case.headers),
        body=body,
        token=NO_TOKEN if case.headers else None,
        request_ok=case.documented,
    )


@pytest.mark.parametrize("operations", ["airings", "heartbeat", "playlist emergencies audio"])
def test_hostile_input_gets_a_documented_4xx_never_a_5xx(api, operations):
    problems = []
    for name, case in HOSTILE.items():
        if case.operation not in operations.split():
            continue
        try:
            response = send_hostile(api, case)
            if response.status_code != case.status:
                problems.append(f"{name}: {response.status_code} {response.text[:200]}")
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", UNSTORABLE)
def test_values_no_column_can_hold_are_refused(api, name):
    for case in UNSTORABLE[name].cases:
        response = send_hostile(api, case)
        assert response.status_code == case.status == 422, (name, response.text[:300])
