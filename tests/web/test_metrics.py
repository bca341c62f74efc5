"""``GET /metrics`` over the Flask test client: who may read it, and every series moving
after the real action (a pull, a report, a sign-in, an emergency picked up, a render
that fails), and the series read from the database on both backends."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from broadcaster.audio.render import AudioRenderer
from broadcaster.db import make_engine, transaction, utcnow
from broadcaster.models import JobRun, Station
from broadcaster.services import emergency
from broadcaster.services.audio import render_pending
from broadcaster.services.audit import system_actor
from broadcaster.webapp import create_app
from tests.agent.live import wait_for
from tests.api.world import stop_listening
from tests.web.conftest import csrf_of


def scrape(client, **kwargs) -> dict[tuple, float]:
    """Every sample of one scrape: (name, sorted labels) → value."""
    r = client.get("/metrics", **kwargs)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def fresh(world, cache_s: float = 0.0):
    """The world's client, with the database's series read at every scrape."""
    world.app.extensions["broadcaster.metrics_database"].cache_s = cache_s
    return world.client()


def report(slot_id: int) -> dict:
    start = utcnow() - timedelta(minutes=1)
    return {
        "id": str(uuid.uuid4()),
        "slot_id": slot_id,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=20)).isoformat(),
        "status": "aired",
    }


def post_reports(world, body) -> int:
    return (
        world.client()
        .post(
            f"/api/v1/stations/{world.station}/airings",
            data=body if isinstance(body, bytes) else json.dumps(body),
            headers={**world.auth(), "Content-Type": "application/json"},
        )
        .status_code
    )


# -- who may read it --------------------------------------------------------------------------


@pytest.fixture
def guarded(world):
    """An app that lets 10.0.0.0/8 in, and anyone with the token."""
    settings = replace(world.settings, metrics_allow=("10.0.0.0/8",), metrics_token="bi-mat-123")
    app = create_app(settings)
    yield app
    stop_listening(app)


def test_allowed_addresses_and_the_token_read_it_others_get_a_short_403(guarded):
    c = guarded.test_client()
    inside = {"REMOTE_ADDR": "10.20.30.40"}
    outside = {"REMOTE_ADDR": "192.0.2.7"}
    assert value(scrape(c, environ_base=inside), "broadcaster_database_up") == 1
    refused = c.get("/metrics", environ_base=outside)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert "BROADCASTER_METRICS_ALLOW" in refused.get_data(as_text=True)
    assert "broadcaster_" not in refused.get_data(as_text=True)
    # loopback is not in this allow-list (the default's 127.0.0.1 was replaced)
    assert c.get("/metrics").status_code == 403
    token = {"Authorization": "Bearer bi-mat-123"}
    assert value(scrape(c, environ_base=outside, headers=token), "broadcaster_database_up") == 1
    for wrong in ("Bearer bi-mat-12", "Bearer bi-mat-1234", "bi-mat-123", "Basic bi-mat-123"):
        r = c.get("/metrics", environ_base=outside, headers={"Authorization": wrong})
        assert r.status_code == 403, wrong
    # only in the header: never in the address, where logs would keep it
    assert c.get("/metrics?token=bi-mat-123", environ_base=outside).status_code == 403
    # IPv4 seen through a dual-stack socket
    assert c.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:10.1.2.3"}).status_code == 200


def test_no_session_no_csrf_no_sign_in(guarded):
    c = guarded.test_client()
    r = c.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert r.status_code == 200
    assert "Set-Cookie" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"
    # scraped often: no throttle of the admin's ever answers 429 here
    for _ in range(30):
        assert c.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_behind_a_trusted_proxy_the_clients_own_address_counts(world):
    for hops, status in ((1, 200), (0, 403)):
        settings = replace(
            world.settings, metrics_allow=("10.0.0.0/8",), metrics_token=None, trusted_proxies=hops
        )
        app = create_app(settings)
        try:
            r = app.test_client().get(
                "/metrics",
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
                headers={"X-Forwarded-For": "10.9.8.7"},
            )
        finally:
            stop_listening(app)
        assert r.status_code == status, hops


def test_no_token_configured_means_no_token_opens_it(world):
    settings = replace(world.settings, metrics_allow=(), metrics_token=None)
    app = create_app(settings)
    try:
        r = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    finally:
        stop_listening(app)
    assert r.status_code == 403


# -- what the stations do ---------------------------------------------------------------------


def test_playlist_pulls_count_full_answers_and_304s(world):
    c = fresh(world)
    before = scrape(c)
    url = f"/api/v1/stations/{world.station}/playlist"
    first = c.get(url, headers=world.auth())
    assert first.status_code == 200
    again = c.get(url, headers={**world.auth(), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    after = scrape(c)
    name = "broadcaster_playlist_pulls_total"
    for result in ("full", "not_modified"):
        moved = value(after, name, result=result, via="token") - value(
            before, name, result=result, via="token"
        )
        assert moved == 1, result


def test_airing_reports_accepted_duplicate_refused(world):
    c = fresh(world)
    name = "broadcaster_airing_reports_total"

    def counts():
        samples = scrape(c)
        return {r: value(samples, name, result=r) for r in ("accepted", "duplicate", "refused")}

    start = counts()
    body = {"reports": [report(world.slots[0]), report(world.slots[1])]}
    assert post_reports(world, body) == 200
    assert post_reports(world, body) == 200  # the agent sent them again: duplicates
    # a batch naming a slot that does not exist: refused whole, its two reports counted
    assert post_reports(world, {"reports": [report(world.slots[0]), report(999_999)]}) == 422
    assert post_reports(world, b"{not json") == 400  # unreadable: one refusal
    end = counts()
    assert {k: end[k] - start[k] for k in end} == {"accepted": 2, "duplicate": 2, "refused": 3}


def test_station_token_and_link_failures(world):
    c = fresh(world)
    name = "broadcaster_sign_in_failures_total"
    before = scrape(c)
    bad = {"Authorization": "Bearer not-a-token"}
    assert c.get(f"/api/v1/stations/{world.station}/playlist", headers=bad).status_code == 401
    assert c.get("/api/v1/links/not-a-link/playlist.m3u8").status_code == 403
    assert c.get(f"/api/v1/stations/{world.station}/playlist").status_code == 401  # no token
    after = scrape(c)
    for kind in ("station_token", "station_link"):
        moved = value(after, name, kind=kind, outcome="wrong") - value(
            before, name, kind=kind, outcome="wrong"
        )
        assert moved == 1, kind  # a missing token is not a wrong one


def test_throttled_station_tokens_are_counted_apart(world):
    c = fresh(world)
    name = "broadcaster_sign_in_failures_total"
    before = scrape(c)
    bad = {"Authorization": "Bearer not-a-token"}
    codes = [
        c.get(f"/api/v1/stations/{world.station}/playlist", headers=bad).status_code
        for _ in range(22)
    ]
    assert codes.count(401) == 20 and codes.count(429) == 2
    after = scrape(c)
    moved = {
        o: value(after, name, kind="station_token", outcome=o)
        - value(before, name, kind="station_token", outcome=o)
        for o in ("wrong", "throttled")
    }
    assert moved == {"wrong": 20, "throttled": 2}


def test_admin_sign_in_failures(web):
    c = web.app.test_client()
    web.app.extensions["broadcaster.metrics_database"].cache_s = 0
    name = "broadcaster_sign_in_failures_total"
    before = scrape(c)
    page = c.get("/login").get_data(as_text=True)
    wrong = c.post(
        "/login", data={"username": "duyet", "password": "sai-roi", "csrf_token": csrf_of(page)}
    )
    assert wrong.status_code == 401
    right = web.client("duyet")  # a right password moves nothing
    assert right is not None
    after = scrape(c)
    moved = value(after, name, kind="admin", outcome="wrong") - value(
        before, name, kind="admin", outcome="wrong"
    )
    assert moved == 1


def test_an_emergency_picked_up_is_observed_once_in_the_fanout_histogram(world):
    c = fresh(world)
    name = "broadcaster_emergency_fanout_seconds"
    before = scrape(c)
    with transaction(world.factory) as s:
        emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Bão số 5",
            body="Bão số 5 sắp đổ bộ. Đề nghị bà con chằng chống nhà cửa.",
            unit_codes=[world.station],
        )
    url = f"/api/v1/stations/{world.station}/playlist"
    assert c.get(url, headers=world.auth()).status_code == 200
    assert c.get(url, headers=world.auth()).status_code == 200  # picked up already
    after = scrape(c)
    assert value(after, f"{name}_count") - value(before, f"{name}_count") == 1
    seconds = value(after, f"{name}_sum") - value(before, f"{name}_sum")
    assert seconds >= 0
    # the observation sits in the buckets at and above its value, and not below
    assert value(after, f"{name}_bucket", le="+Inf") - value(before, f"{name}_bucket", le="+Inf")
    assert value(after, f"{name}_bucket", le="300.0") - value(
        before, f"{name}_bucket", le="300.0"
    ) == (1 if seconds <= 300 else 0)


def test_a_station_waiting_on_a_long_poll_is_connected_while_it_waits(world):
    c = fresh(world)
    name = "broadcaster_stations_connected"
    base = value(scrape(c), name)
    latest = c.get(
        f"/api/v1/stations/{world.station}/emergencies?after=0&wait=0", headers=world.auth()
    ).get_json()["latest"]
    answers = []

    def wait():
        answers.append(
            world.client()
            .get(
                f"/api/v1/stations/{world.station}/emergencies?after={latest}&wait=55",
                headers=world.auth(),
            )
            .get_json()
        )

    waiter = threading.Thread(target=wait)
    waiter.start()
    wait_for(lambda: value(scrape(c), name) == base + 1, timeout=30, what="the waiting station")
    with transaction(world.factory) as s:
        emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Cháy rừng",
            body="Cháy rừng ở thôn 3, bà con tránh xa khu vực.",
            unit_codes=[world.station],
        )
    waiter.join(60)
    assert answers and answers[0]["items"], answers
    assert value(scrape(c), name) == base


def test_a_render_that_fails_is_counted(world):
    """The render job's path (render_pending) with the only engine unreachable."""
    c = fresh(world)
    name = "broadcaster_render_failures_total"
    before = scrape(c)
    world.add_slots(world.station, [utcnow() + timedelta(hours=2)], audio=False)
    unreachable = replace(
        world.settings.audio,
        engine="gtts",
        engines=("gtts",),
        gtts_url="http://127.0.0.1:9/",
        gtts_timeout=2,
    )
    done = render_pending(world.factory, AudioRenderer(world.settings.audio_dir, unreachable))
    assert len(done.failed) == 1 and done.attached == 0
    after = scrape(c)
    assert value(after, name, reason="engine") - value(before, name, reason="engine") == 1
    assert value(after, name, reason="error") == value(before, name, reason="error")


# -- read from the database -------------------------------------------------------------------


def test_stations_online_and_offline_and_the_render_queue(world):
    c = fresh(world)
    with world.factory() as s:
        active = len(s.scalars(select(Station.id).where(Station.active.is_(True))).all())
    first = scrape(c)
    assert value(first, "broadcaster_stations", state="online") == 0
    assert value(first, "broadcaster_stations", state="offline") == active
    queue = value(first, "broadcaster_render_queue_slots")
    beat = c.post(
        f"/api/v1/stations/{world.station}/heartbeat",
        json={"agent_version": "test"},
        headers=world.auth(),
    )
    assert beat.status_code == 200
    soon = utcnow() + timedelta(hours=3)
    world.add_slots(world.other, [soon, soon + timedelta(minutes=5)], audio=False)
    world.add_slots(world.other, [utcnow() + timedelta(days=4)], audio=False)  # beyond 48 h
    second = scrape(c)
    assert value(second, "broadcaster_stations", state="online") == 1
    assert value(second, "broadcaster_stations", state="offline") == active - 1
    assert value(second, "broadcaster_render_queue_slots") == queue + 2


def test_repeated_scrapes_within_seconds_read_the_database_once(world):
    c = fresh(world, cache_s=3600)
    first = value(scrape(c), "broadcaster_stations", state="online")
    c.post(f"/api/v1/stations/{world.station}/heartbeat", json={}, headers=world.auth())
    assert value(scrape(c), "broadcaster_stations", state="online") == first  # kept
    world.app.extensions["broadcaster.metrics_database"].cache_s = 0
    assert value(scrape(c), "broadcaster_stations", state="online") == first + 1


def _run(factory, job: str, ok: bool | None, minutes_ago: int = 1) -> int:
    at = utcnow() - timedelta(minutes=minutes_ago)
    with transaction(factory) as s:
        row = JobRun(
            job=job,
            host="scheduler-host",
            pid=4242,
            started_at=at,
            finished_at=None if ok is None else at + timedelta(seconds=3),
            ok=ok,
        )
        s.add(row)
        s.flush()
        return row.id


def test_scheduler_job_runs_from_job_runs_as_counters(world, monkeypatch):
    """Runs recorded by a scheduler elsewhere (rows in job_runs), and one real job run."""
    from broadcaster.scheduler import jobs

    c = fresh(world)
    name = "broadcaster_scheduler_job_runs_total"
    _run(world.factory, "render", True, 30)
    _run(world.factory, "render", False, 20)
    running = _run(world.factory, "backup", None, 5)  # still running: not counted yet
    first = scrape(c)
    assert value(first, name, job="render", result="ok") == 1
    assert value(first, name, job="render", result="error") == 1
    assert value(first, name, job="backup", result="ok") == 0  # known jobs show at 0
    assert value(first, name, job="backup", result="error") == 0
    # later scrapes read only what was added since, and the run that was still going
    with transaction(world.factory) as s:
        row = s.get(JobRun, running)
        row.ok, row.finished_at, row.detail = False, utcnow(), "pg_dump: lỗi"
    _run(world.factory, "render", True, 1)
    monkeypatch.setenv("BROADCASTER_DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("BROADCASTER_AUDIO_DIR", str(world.settings.audio_dir))
    jobs.watchdog_job()  # a real run, recorded by the scheduler's own code
    second = scrape(c)
    assert value(second, name, job="render", result="ok") == 2
    assert value(second, name, job="render", result="error") == 1
    assert value(second, name, job="backup", result="error") == 1
    assert value(second, name, job="watchdog", result="ok") == 1
    last = value(second, "broadcaster_scheduler_job_last_success_timestamp_seconds", job="watchdog")
    assert last is not None and abs(last - utcnow().timestamp()) < 3600
    # a new process (a restarted worker) counts the same from scratch
    app = create_app(world.settings)
    try:
        again = scrape(app.test_client())
    finally:
        stop_listening(app)
    for key in [k for k in second if k[0] == name]:
        assert again[key] == second[key], key


def test_a_database_that_is_away_is_said_not_a_500(world):
    c = fresh(world)
    series = world.app.extensions["broadcaster.metrics_database"]
    series.engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/gone", connect_args={"connect_timeout": 2}
    )
    samples = scrape(c)
    assert value(samples, "broadcaster_database_up") == 0
    assert not [k for k in samples if k[0] == "broadcaster_stations"]
    pulls = value(samples, "broadcaster_playlist_pulls_total", result="full", via="token")
    assert pulls is not None  # what the processes counted is still said
