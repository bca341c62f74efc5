"""The station API over the Flask test client: tokens, playlists, reports, heartbeats, refusals."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, AuditEvent, Slot, SlotStatus, StationStatus
from broadcaster.services import emergency, tokens
from broadcaster.services.audit import system_actor
from broadcaster.services.health import station_health
from tests.api.world import stop_listening


def report(slot_id: int, *, status: str = "aired", start=None, seconds: int = 20, **extra):
    start = start or utcnow() - timedelta(minutes=1)
    return {
        "id": str(uuid.uuid4()),
        "slot_id": slot_id,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=seconds)).isoformat(),
        "status": status,
        **extra,
    }


def post(world, body, token=None, code=None):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return world.client().post(
        f"/api/v1/stations/{code or world.station}/airings",
        data=data,
        headers={**world.auth(token), "Content-Type": "application/json"},
    )


def airing_count(world) -> int:
    with world.factory() as s:
        return s.scalar(select(func.count()).select_from(Airing))


# -- tokens --------------------------------------------------------------------------------


def test_no_token_bad_token_and_foreign_station(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    missing = c.get(url)
    assert missing.status_code == 401
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert "Authorization: Bearer" in missing.get_json()["error"]["message"]
    assert c.get(url, headers={"Authorization": "Bearer bst_nope"}).status_code == 401
    foreign = c.get(url, headers=world.auth(world.other_token))
    assert foreign.status_code == 403
    assert world.station in foreign.get_json()["error"]["message"]
    assert c.get(url, headers=world.auth()).status_code == 200


def test_tokens_are_stored_hashed_shown_once_and_rotate(world):
    with world.factory() as s:
        stored = s.execute(select(tokens.StationToken.token_sha256, tokens.StationToken.prefix))
        rows = stored.all()
    assert all(world.token not in h and len(h) == 64 for h, _ in rows)
    assert {p for _, p in rows} >= {world.token[:10]}
    with transaction(world.factory) as s:
        rotated = tokens.issue(s, system_actor(), world.station)
    assert rotated.revoked == 1 and rotated.token != world.token
    url = f"/api/v1/stations/{world.station}/playlist"
    assert world.client().get(url, headers=world.auth()).status_code == 401
    assert world.client().get(url, headers=world.auth(rotated.token)).status_code == 200
    with transaction(world.factory) as s:
        assert tokens.revoke(s, system_actor(), world.station) == 1
    revoked = world.client().get(url, headers=world.auth(rotated.token))
    assert revoked.status_code == 401
    assert "thu hồi" in revoked.get_json()["error"]["message"]
    with world.factory() as s:
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "station.token.issue" in actions and "station.token.revoke" in actions


def test_rotation_with_overlap_keeps_the_old_token_working(world):
    with transaction(world.factory) as s:
        new = tokens.issue(s, system_actor(), world.station, keep_old=True)
    url = f"/api/v1/stations/{world.station}/playlist"
    for token in (world.token, new.token):
        assert world.client().get(url, headers=world.auth(token)).status_code == 200


def test_repeated_bad_tokens_are_rate_limited(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    codes = [
        c.get(url, headers={"Authorization": f"Bearer bst_guess{n}"}).status_code for n in range(25)
    ]
    assert codes[:20] == [401] * 20
    assert set(codes[20:]) == {429}
    limited = c.get(url, headers={"Authorization": "Bearer bst_again"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "quá nhiều lần" in limited.get_json()["error"]["message"]
    # a right token from the same address (a neighbour behind the same NAT) still passes
    assert c.get(url, headers=world.auth()).status_code == 200


# -- playlists -----------------------------------------------------------------------------


def test_playlist_lists_slots_in_order_with_audio_and_etag(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    first = c.get(url, headers=world.auth())
    doc = first.get_json()
    assert [i["slot_id"] for i in doc["items"]] == world.slots
    item = doc["items"][0]
    assert item["priority"] == "normal" and item["priority_label"] == "thông thường"
    assert item["campaign"] == "DVCTT" and item["audio"]["url"].endswith(".mp3")
    assert len(item["audio"]["sha256"]) == 64 and item["audio"]["size"] > 1000
    assert item["planned_start"].endswith("+07:00")
    again = c.get(url, headers={**world.auth(), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    world.add_slots(world.station, [world.soon(20)])
    changed = c.get(url, headers={**world.auth(), "If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and len(changed.get_json()["items"]) == 3


def test_an_item_without_audio_says_why(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    soon, later = utcnow() + timedelta(minutes=30), utcnow() + timedelta(days=3)
    world.add_slots(world.station, [soon], audio=False)
    today = soon.astimezone(world.settings.tz).date().isoformat()  # 23:45 + 30 min: tomorrow
    items = c.get(f"{url}?date={today}", headers=world.auth()).get_json()["items"]
    waiting = [i for i in items if i["audio"] is None]
    assert [i["audio_state"] for i in waiting] == ["rendering"]
    assert "tải lại danh sách phát sau ít phút" in waiting[0]["audio_note"]
    assert all(i["audio_state"] == "ready" and i["audio_note"] is None for i in items if i["audio"])
    world.add_slots(world.station, [later], audio=False)
    day = later.astimezone(world.settings.tz).date().isoformat()
    ahead = c.get(f"{url}?date={day}", headers=world.auth()).get_json()["items"]
    assert [i["audio_state"] for i in ahead] == ["scheduled"]
    assert "48 giờ trước giờ phát" in ahead[0]["audio_note"]


def test_playlist_of_another_day_and_bad_parameters(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    tomorrow = (utcnow() + timedelta(days=3)).date().isoformat()
    assert c.get(f"{url}?date={tomorrow}", headers=world.auth()).get_json()["items"] == []
    bad_days = ("2026-13-01", "hôm nay", "2026-11-23T00:00", "9999-01-01", "9999-12-31")
    for bad in (*bad_days, "0001-01-01", "20261206", "2026-W49-1", "2026-1-5"):
        r = c.get(url, query_string={"date": bad}, headers=world.auth())
        assert r.status_code == 400, bad
        assert (
            "date" in r.get_json()["error"]["message"] or "xa" in r.get_json()["error"]["message"]
        )
    # a real-looking day the calendar does not have is named so, not called malformed
    for missing in ("2026-02-31", "2026-04-31", "2027-02-29"):
        r = c.get(url, query_string={"date": missing}, headers=world.auth())
        assert r.status_code == 400 and "không có trên lịch" in r.get_json()["error"]["message"]
    r = c.get(f"{url}?format=pls", headers=world.auth())
    assert r.status_code == 400 and "m3u8" in r.get_json()["error"]["message"]
    assert c.get(f"/api/v1/stations/{world.station}/nope", headers=world.auth()).status_code == 404
    refused = c.delete(url, headers=world.auth())
    assert refused.status_code == 405  # RFC 9110: a 405 says which methods the route takes
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert "DELETE" not in refused.headers["Allow"]
    assert refused.get_json()["error"]["code"] == "http_405"
    posted = c.get(f"/api/v1/stations/{world.station}/airings", headers=world.auth())
    assert posted.status_code == 405 and "POST" in posted.headers["Allow"]


def test_audio_downloads_with_ranges_only_for_the_station(world):
    c = world.client()
    doc = c.get(f"/api/v1/stations/{world.station}/playlist", headers=world.auth()).get_json()
    url = doc["items"][0]["audio"]["url"].replace("http://localhost", "")
    full = c.get(url, headers=world.auth())
    assert full.status_code == 200 and full.headers["Content-Type"] == "audio/mpeg"
    assert int(full.headers["Content-Length"]) == len(full.data) == doc["items"][0]["audio"]["size"]
    part = c.get(url, headers={**world.auth(), "Range": "bytes=100-"})
    assert part.status_code == 206 and part.data == full.data[100:]
    assert part.headers["Content-Range"] == f"bytes 100-{len(full.data) - 1}/{len(full.data)}"
    assert (
        c.get(url, headers={**world.auth(), "If-None-Match": full.headers["ETag"]}).status_code
        == 304
    )
    # the other station has no slot using this file
    assert c.get(url, headers=world.auth(world.other_token)).status_code == 404
    assert c.get("/api/v1/audio/not-a-hash.mp3", headers=world.auth()).status_code == 404


# -- airing reports ------------------------------------------------------------------------


def test_reports_are_idempotent_and_mark_slots_aired(world):
    body = {"reports": [report(world.slots[0]), report(world.slots[1], status="partial")]}
    first = post(world, body)
    assert first.status_code == 200
    assert first.get_json()["stored"] == 2
    again = post(world, body)
    assert again.get_json()["duplicates"] == 2
    assert [r["seq"] for r in again.get_json()["results"]] == [1, 2]
    assert airing_count(world) == 2
    with world.factory() as s:
        statuses = [s.get(Slot, i).status for i in world.slots]
    assert statuses == [SlotStatus.AIRED, SlotStatus.PLANNED]  # partial is not aired


def test_a_late_report_turns_a_missed_slot_aired(world):
    with transaction(world.factory) as s:
        s.get(Slot, world.slots[0]).status = SlotStatus.MISSED
    assert post(world, {"reports": [report(world.slots[0])]}).status_code == 200
    with world.factory() as s:
        assert s.get(Slot, world.slots[0]).status is SlotStatus.AIRED


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "JSON"),
        (b"", 400, "rỗng"),
        (b"[]", 422, "đối tượng"),
        ({"reports": []}, 422, "rỗng"),
        ({"reports": [{"id": "x"}]}, 422, "UUID"),
        ({"reports": "nope"}, 422, "danh sách"),
        ({"items": []}, 422, "thiếu"),
    ],
)
def test_malformed_batches_are_refused_whole(world, body, status, words):
    r = post(world, body)
    assert r.status_code == status
    assert words in json.dumps(r.get_json(), ensure_ascii=False)
    assert airing_count(world) == 0


def test_wrong_values_refuse_the_whole_batch_and_name_each_problem(world):
    good = report(world.slots[0])
    now = utcnow()
    foreign = world.add_slots(world.other, [now + timedelta(minutes=3)], audio=False)[0]
    cases = {
        "slot_id": ("không có lượt phát", report(999_999)),
        "foreign": ("không thuộc đài", report(foreign)),
        "future": ("tương lai", report(world.slots[1], start=now + timedelta(days=2))),
        "past": ("60 ngày", report(world.slots[1], start=now - timedelta(days=400))),
        "order": ("trước giờ bắt đầu", report(world.slots[1], seconds=-30)),
        "type": ("số nguyên", {**report(world.slots[1]), "slot_id": "5"}),
        "naive": ("múi giờ", {**report(world.slots[1]), "started_at": "2026-11-23T06:00:00"}),
        "status": ("giá trị", report(world.slots[1], status="played")),
        "extra": ("không được phép", report(world.slots[1], colour="red")),
    }
    for name, (words, bad) in cases.items():
        r = post(world, {"reports": [good, bad]})
        assert r.status_code == 422, name
        error = r.get_json()["error"]
        assert words in json.dumps(error, ensure_ascii=False), (name, error)
        assert any(d["index"] == 1 for d in error["details"]), name
    assert airing_count(world) == 0


def test_duplicate_ids_in_one_batch_and_a_reused_id(world):
    one = report(world.slots[0])
    r = post(world, {"reports": [one, dict(one)]})
    assert r.status_code == 422 and "trùng" in r.get_json()["error"]["message"]
    assert post(world, {"reports": [one]}).status_code == 200
    reused = {**one, "status": "failed"}
    r = post(world, {"reports": [reused]})
    assert r.status_code == 422 and "khác nội dung" in r.get_json()["error"]["message"]
    other = post(world, {"reports": [one]}, token=world.other_token, code=world.other)
    assert other.status_code == 422  # another station cannot claim this report id
    assert airing_count(world) == 1


def test_oversized_body_is_413(world):
    r = post(world, b'{"reports": [' + b" " * (2 * 1024 * 1024) + b"]}")
    assert r.status_code == 413
    assert "quá lớn" in r.get_json()["error"]["message"]


def test_manual_reports_through_the_api_name_the_station(world):
    assert post(world, {"reports": [report(world.slots[0], source="manual")]}).status_code == 200
    with world.factory() as s:
        row = s.scalars(select(Airing)).one()
    assert row.source == "manual" and world.station in row.confirmed_by


# -- heartbeats and emergencies -------------------------------------------------------------


def test_heartbeat_records_last_seen_and_drift(world):
    c = world.client()
    url = f"/api/v1/stations/{world.station}/heartbeat"
    sent = utcnow() + timedelta(seconds=90)  # a station clock 90 s fast
    r = c.post(
        url,
        json={
            "agent_version": "0.1.0",
            "free_disk_bytes": 5_000_000_000,
            "player_state": "idle",
            "sent_at": sent.isoformat(),
            "spool_pending": 3,
            "from_a_newer_agent": True,
        },
        headers=world.auth(),
    )
    assert r.status_code == 200
    assert 85 < r.get_json()["clock_drift_s"] < 95
    bad = c.post(url, json={"free_disk_bytes": -1}, headers=world.auth())
    assert bad.status_code == 422
    with world.factory() as s:
        st = s.scalars(select(StationStatus)).one()
        assert st.agent_version == "0.1.0" and st.spool_pending == 3
        health = {h.station_code: h for h in station_health(s)}
    assert health[world.station].online and not health[world.other].online


def test_emergency_tops_the_playlist_and_is_marked_picked_up(world):
    with transaction(world.factory) as s:
        info = emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Bão số 5",
            body="Bão số 5 sắp đổ bộ. Đề nghị bà con chằng chống nhà cửa.",
            unit_codes=[world.station],
            repeat=2,
        )
    assert info.stations == 1
    c = world.client()
    doc = c.get(f"/api/v1/stations/{world.station}/playlist", headers=world.auth()).get_json()
    top = doc["items"][0]
    assert top["kind"] == "emergency" and top["priority_label"] == "khẩn cấp"
    assert top["repeat"] == 2 and top["audio"] is not None
    other = c.get(f"/api/v1/stations/{world.other}/playlist", headers=world.auth(world.other_token))
    assert all(i["kind"] != "emergency" for i in other.get_json()["items"])
    with world.factory() as s:
        _, rows = emergency.deliveries(s, info.id)
    assert [d.status for d in rows] == ["picked_up"]
    waited = c.get(
        f"/api/v1/stations/{world.station}/emergencies?after=0&wait=0", headers=world.auth()
    ).get_json()
    assert [i["emergency_id"] for i in waited["items"]] == [info.id]
    none_newer = c.get(
        f"/api/v1/stations/{world.station}/emergencies?after={info.id}&wait=1",
        headers=world.auth(),
    ).get_json()
    assert none_newer["items"] == [] and none_newer["latest"] == info.id
    assert post(world, {"reports": [report(top["slot_id"])]}).status_code == 200
    with world.factory() as s:
        _, rows = emergency.deliveries(s, info.id)
    assert [d.status for d in rows] == ["aired"]


def test_public_url_sets_the_audio_urls_behind_a_proxy(world):
    from dataclasses import replace

    from broadcaster.webapp import create_app

    app = create_app(replace(world.settings, public_url="https://loa.hatinh.gov.vn/"))
    try:
        doc = (
            app.test_client()
            .get(f"/api/v1/stations/{world.station}/playlist", headers=world.auth())
            .get_json()
        )
    finally:
        stop_listening(app)
    assert doc["items"][0]["audio"]["url"].startswith("https://loa.hatinh.gov.vn/api/v1/audio/")


def test_long_poll_wakes_on_a_new_emergency_and_sheds_load_when_full(world):
    watch = world.app.extensions["broadcaster.emergency_watch"]
    woke = []
    waiter = threading.Thread(target=lambda: woke.append(watch.wait_beyond(0, 60)))
    waiter.start()
    with transaction(world.factory) as s:
        info = emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Cháy rừng",
            body="Cháy rừng ở thôn 3, bà con tránh xa khu vực.",
            unit_codes=[world.station],
        )
    waiter.join(60)
    assert woke == [info.id]
    watch.max_waiters = 0  # every waiting place taken: not held, and told when to come back
    assert watch.wait_beyond(info.id, 60) is None
    r = world.client().get(
        f"/api/v1/stations/{world.station}/emergencies?after={info.id}&wait=55",
        headers=world.auth(),
    )
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "too_many_waiting"
    assert int(r.headers["Retry-After"]) >= 10  # an empty 200 here made agents ask in a loop
    quick = world.client().get(
        f"/api/v1/stations/{world.station}/emergencies?after={info.id}&wait=0",
        headers=world.auth(),
    )  # wait=0 waits for nothing: still answered
    assert quick.status_code == 200 and quick.get_json() == {"latest": info.id, "items": []}


def test_cached_playlist_answers_follow_every_change(world):
    """Each change reaches the cached answer (on PostgreSQL by a notice the listener thread
    takes a moment to read: the test waits for it, as a station's next pull would)."""
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"

    def items():
        return c.get(url, headers=world.auth()).get_json()["items"]

    assert [i["status"] for i in items()] == ["planned", "planned"]
    assert post(world, {"reports": [report(world.slots[0])]}).status_code == 200
    wait_until(lambda: [i["status"] for i in items()] == ["aired", "planned"], "the report")
    with transaction(world.factory) as s:
        sent = emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Lũ",
            body="Nước sông lên nhanh.",
            unit_codes=[world.station],
        )
    wait_until(lambda: items()[0]["emergency_id"] == sent.id, "the emergency")
    with transaction(world.factory) as s:
        emergency.cancel(s, system_actor(), sent.id)
    wait_until(lambda: [i["kind"] for i in items()] == ["campaign", "campaign"], "the cancel")


def test_an_answer_holding_an_emergency_expires_with_it():
    from datetime import UTC, datetime

    from broadcaster.services.playlist import Answer, AnswerCache

    cache = AnswerCache()
    expires = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    cache.put(("k",), (1,), Answer('"e"', b"{}", "application/json", (7,), valid_until=expires))
    assert cache.get(("k",), (1,), expires - timedelta(seconds=1)) is not None
    assert cache.get(("k",), (1,), expires) is None
    assert cache.get(("k",), (2,), expires - timedelta(seconds=1)) is None  # data changed


def test_a_database_outage_is_a_503_the_agent_retries(world):
    from broadcaster.db import make_engine, make_sessionmaker

    # a real connection failure: the writes go to a database server that is not there
    dead = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/gone", connect_args={"connect_timeout": 2}
    )
    world.app.extensions["broadcaster.sessionmaker"] = make_sessionmaker(dead)
    r = post(world, {"reports": [report(world.slots[0])]})
    assert r.status_code == 503 and r.headers["Retry-After"] == "10"
    assert "gửi lại sau" in r.get_json()["error"]["message"]
    assert airing_count(world) == 0


# slot-change notices are a PostgreSQL feature: this test runs on that backend only
@pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_on_postgresql_unchanged_pulls_cost_no_query_and_changes_still_show(world):
    from sqlalchemy import event

    notices = world.app.extensions["broadcaster.slot_notices"]
    c = world.client()
    url = f"/api/v1/stations/{world.station}/playlist"
    seen: list[str] = []
    event.listen(
        world.app.extensions["broadcaster.read_engine"],
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: seen.append(statement),
    )

    def pull() -> list[int]:
        return [i["slot_id"] for i in c.get(url, headers=world.auth()).get_json()["items"]]

    assert pull() == world.slots  # starts the listener
    wait_until(lambda: notices.generation(1) is not None, "the listener connects")
    pull()
    seen.clear()
    assert pull() == world.slots
    assert seen == []  # answered from the cache: the listener vouches nothing changed
    before = notices.generation(_station_id(world))
    added = world.add_slots(world.station, [world.soon(30)], audio=False)
    wait_until(lambda: notices.generation(_station_id(world)) != before, "the change notice")
    assert pull() == world.slots + added

    # the listener's connection dies: pulls check the database until it is back
    with world.factory() as s:
        s.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name"
                " = 'broadcaster-slot-notices' AND datname = current_database()"
            )
        )
    wait_until(lambda: notices.generation(1) is None, "the listener notices it lost the line")
    seen.clear()
    assert pull() == world.slots + added
    assert len(seen) == 1  # the fingerprint query


def _station_id(world) -> int:
    from broadcaster.models import Station

    with world.factory() as s:
        return s.scalar(select(Station.id).where(Station.code == world.station))


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
