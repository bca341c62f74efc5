"""Stations waiting for emergencies cost the server nothing, and never spin.

An agent whose long-poll is refused (every waiting place taken) must not ask again
at once: the server answers 503 with Retry-After and the agent waits it out. The
embedded server (uvicorn and the station front, as ``broadcaster serve`` runs it)
holds hundreds of waiting stations with a handful of threads and wakes them all
from one emergency. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
import time

import pytest
from sqlalchemy import select

from broadcaster.agent.client import ApiClient, AuthRefused, Refused
from broadcaster.agent.players import FileSinkPlayer
from broadcaster.db import transaction
from broadcaster.models import AdminUnit, Slot, SlotStatus, Station
from broadcaster.services import emergency, tokens
from broadcaster.services.audit import system_actor
from broadcaster.services.emergency import latest_id
from tests.agent.live import AgentThread, FrontServer, ProcessServer, ThreadServer, wait_for
from tests.agent.test_e2e import config

PLACES = 3
AGENTS = PLACES + 5


def _stations(world, n: int) -> list[tuple[str, str, str]]:
    """``n`` stations with a fresh token each: (station code, token, commune code)."""
    with transaction(world.factory) as s:
        rows = s.execute(
            select(Station.code, AdminUnit.code)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .order_by(Station.code)
            .limit(n)
        ).all()
        return [(code, tokens.issue(s, system_actor(), code).token, unit) for code, unit in rows]


def _unit_of(world) -> str:
    """The commune code of the world's station."""
    with world.factory() as s:
        return s.scalar(
            select(AdminUnit.code)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(Station.code == world.station)
        )


def _send(world, units: list[str]) -> int:
    with transaction(world.factory) as s:
        return emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Bão số 5",
            body="Bão số 5 sắp đổ bộ, bà con chằng chống nhà cửa.",
            unit_codes=units,
        ).id


def _picked_up(world, emergency_id: int) -> int:
    with world.factory() as s:
        slots = s.scalars(select(Slot).where(Slot.emergency_id == emergency_id)).all()
        return sum(slot.picked_up_at is not None for slot in slots)


@pytest.mark.parametrize("kind", ["front", "threads"])
def test_agents_beyond_the_waiting_places_do_not_spin(world, tmp_path, kind):
    """K waiting places, K + 5 real agents: each asks a few times a minute at most."""
    if kind == "front":
        server = FrontServer(world.app, capacity=PLACES)
        asked = server.count
    else:
        server = ThreadServer(world.app)
        world.app.extensions["broadcaster.emergency_watch"].max_waiters = PLACES
        asked = lambda suffix: server.recorder.count("GET", suffix)  # noqa: E731
    stations = _stations(world, AGENTS)
    agents = []
    try:
        for code, token, _ in stations:
            folder = tmp_path / f"agent-{code}"
            cfg = config(
                world,
                server.url,
                folder,
                station=code,
                token=token,
                long_poll=True,
                poll_s=60.0,
                heartbeat_s=60.0,
            )
            agents.append(AgentThread(cfg, FileSinkPlayer(tmp_path / f"sink-{code}")))
        started = time.monotonic()
        time.sleep(8.0)  # what is measured: requests during a quiet spell
        elapsed = time.monotonic() - started
        counts = {code: asked(f"/stations/{code}/emergencies") for code, _, _ in stations}
        per_minute = {code: n * 60.0 / elapsed for code, n in counts.items()}
        # holders ask once per 50 s wait; refused ones are told to come back in 30 s
        assert max(counts.values()) <= 2, counts
        assert max(per_minute.values()) <= 15, per_minute
        assert sum(counts.values()) >= AGENTS, counts  # every agent did ask

        sent = _send(world, [unit for _, _, unit in stations])
        # the waiting ones hear of it at once (the others at their next question)
        wait_for(lambda: _picked_up(world, sent) >= PLACES, 30, "the waiting agents to hear it")
    finally:
        for agent in agents:
            agent.stop()
        server.stop()


def test_the_embedded_server_holds_300_waiting_stations_with_four_threads(world):
    """300 long-polls (the agent's own client) wait on 4 threads; one send answers all."""
    waiting = 300
    server = FrontServer(world.app, workers=4)
    with world.factory() as s:
        known = latest_id(s)
    client = lambda: ApiClient(server.url, world.token, world.station)  # noqa: E731
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=waiting)
    try:
        answers = [pool.submit(client().emergencies, known, 40) for _ in range(waiting)]
        wait_for(lambda: server.front.room.waiting == waiting, 60, "300 stations waiting")
        assert server.count("/emergencies") == waiting  # each asked once, none was refused
        unit = _unit_of(world)
        sent = _send(world, [unit])
        got = [a.result(timeout=60) for a in answers]
        assert all([i["emergency_id"] for i in g["items"]] == [sent] for g in got)
        assert server.count("/emergencies") == waiting  # woken, not asked again
        assert server.front.room.waiting == 0
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


@pytest.mark.postgres
def test_one_notification_wakes_stations_waiting_on_two_server_processes(world, tmp_path):
    """Two ``serve`` processes on one PostgreSQL: a station waits on each; one send wakes both."""
    if not world.settings.database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY across processes is PostgreSQL's")
    env = {
        "BROADCASTER_DATABASE_URL": world.settings.database_url,
        "BROADCASTER_AUDIO_DIR": str(world.settings.audio_dir),
        "BROADCASTER_SECRET_KEY": "test",
        "BROADCASTER_TTS_ENGINE": "espeak",
    }
    servers = []
    for n in range(2):
        server = ProcessServer(
            {**env, "BROADCASTER_INSTANCE_DIR": str(tmp_path / f"i{n}")}, tmp_path / f"s{n}.log"
        )
        server.start()
        servers.append(server)
    with world.factory() as s:
        known = latest_id(s)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    try:
        answers = [
            pool.submit(ApiClient(server.url, world.token, world.station).emergencies, known, 45)
            for server in servers
        ]
        time.sleep(3.0)  # both questions are waiting on their servers
        assert not any(a.done() for a in answers)
        unit = _unit_of(world)
        sent = _send(world, [unit])
        asked = time.monotonic()
        got = [a.result(timeout=40) for a in answers]
        assert all([i["emergency_id"] for i in g["items"]] == [sent] for g in got)
        assert time.monotonic() - asked < 30  # woken, not the end of the 45 s wait
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        for server in servers:
            server.kill()


def test_on_postgres_the_waiting_is_woken_by_notification_not_by_polling(world):
    if not world.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has no notifications: one look a second while anyone waits")
    server = FrontServer(world.app)
    watch = world.app.extensions["broadcaster.emergency_watch"]
    with world.factory() as s:
        known = latest_id(s)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        answer = pool.submit(
            ApiClient(server.url, world.token, world.station).emergencies, known, 40
        )
        wait_for(lambda: server.front.room.waiting == 1, 30, "the station to wait")
        wait_for(lambda: watch._pushed, 30, "the LISTEN connection")
        wait_for(lambda: watch._thread is None, 10, "the polling thread to stand down")
        unit = _unit_of(world)
        sent = _send(world, [unit])
        assert [i["emergency_id"] for i in answer.result(timeout=40)["items"]] == [sent]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


def test_a_waiting_station_counts_as_connected_now_on_every_page(world):
    from broadcaster.services import health

    server = FrontServer(world.app)
    with world.factory() as s:
        known = latest_id(s)
        station_id = s.scalar(select(Station.id).where(Station.code == world.station))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def connected() -> bool:
        with world.factory() as s:
            return station_id in health.connected_station_ids(s)

    try:
        assert not connected()
        pool.submit(ApiClient(server.url, world.token, world.station).emergencies, known, 30)
        wait_for(connected, 15, "the waiting station to be written down as connected")
        with world.factory() as s:
            assert health.health_of(s, station_id).connected
            rows = health.station_health(s)
            assert {r.station_code for r in rows if r.connected} == {world.station}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


def test_a_commune_named_emergency_goes_out_in_a_common_reading_then_each_its_own(world):
    """{ten_xa} must not hold the fan-out: one common reading is fetchable at once, and
    each station's own reading replaces it (on slots not aired yet) when rendered."""
    from broadcaster.models import AudioAsset

    stations = _stations(world, 3)
    with transaction(world.factory) as s:
        info = emergency.send(
            s,
            system_actor(),
            world.renderer,
            title="Lũ",
            body="Bà con {ten_xa} chú ý: nước sông lên nhanh, di dời ngay.",
            unit_codes=[unit for _, _, unit in stations],
        )
    assert info.personal and info.stations == 3

    def readings() -> dict[str, tuple[int, str | None, str]]:
        with world.factory() as s:
            rows = s.execute(
                select(Station.code, AudioAsset.id, AudioAsset.station_code, AudioAsset.text)
                .join(Slot, Slot.station_id == Station.id)
                .join(AudioAsset, AudioAsset.id == Slot.audio_asset_id)
                .where(Slot.emergency_id == info.id)
            ).all()
        return {code: (asset, owner, text) for code, asset, owner, text in rows}

    first = readings()
    assert len({asset for asset, _, _ in first.values()}) == 1  # one file for all, at once
    (common,) = {text for _, _, text in first.values()}
    assert "địa phương" in common and all(owner is None for _, owner, _ in first.values())
    # one station aired the common reading already: it keeps it
    aired_code = stations[0][0]
    with transaction(world.factory) as s:
        slot = s.scalar(
            select(Slot)
            .join(Station, Station.id == Slot.station_id)
            .where(Slot.emergency_id == info.id, Station.code == aired_code)
        )
        slot.status = SlotStatus.AIRED
    done = emergency.personalise(world.factory, world.renderer, info.id, workers=2)
    assert (done.done, done.skipped, done.failed) == (2, 0, [])
    after = readings()
    assert after[aired_code] == first[aired_code]
    for code, _, _ in stations[1:]:
        asset, owner, text = after[code]
        assert owner == code and "địa phương" not in text and asset != first[code][0]


def test_woken_stations_are_answered_from_one_load_as_the_app_would_answer(world, tmp_path):
    """The fan-out answers (and the emergency's audio) equal the app's own, and the items
    are marked picked up."""
    import hashlib

    server = FrontServer(world.app)
    with world.factory() as s:
        known = latest_id(s)
    unit = _unit_of(world)
    client = ApiClient(server.url, world.token, world.station)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        waiting = pool.submit(client.emergencies, known, 40)
        wait_for(lambda: server.front.room.waiting == 1, 30, "the station to wait")
        sent = _send(world, [unit])
        fanned = waiting.result(timeout=40)
        assert sent in server.front.book._loads  # answered from the load, not by the app
        direct = world.client().get(
            f"/api/v1/stations/{world.station}/emergencies?after={known}&wait=0",
            headers=world.auth(),
        )
        by_app = direct.get_json()
        assert fanned["latest"] == by_app["latest"] == sent
        assert [dict(i, audio={**i["audio"], "url": None}) for i in fanned["items"]] == [
            dict(i, audio={**i["audio"], "url": None}) for i in by_app["items"]
        ]
        (item,) = fanned["items"]
        assert item["audio"]["url"] == f"{server.url}/api/v1/audio/{item['audio']['sha256']}.mp3"
        wait_for(lambda: _picked_up(world, sent) == 1, 10, "the item marked picked up")
        # the emergency's audio, straight from the file for the station just vouched for
        path = client.download(item["audio"]["sha256"], tmp_path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item["audio"]["sha256"]
        # a token never seen waiting goes to the app, which knows it is not this station's
        stranger = ApiClient(server.url, world.other_token, world.other)
        with pytest.raises(Refused) as refused:
            stranger.download(item["audio"]["sha256"], tmp_path / "other")
        assert refused.value.status == 404
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


def _count_app_long_polls(app, monkeypatch) -> list[int]:
    """How many times the Flask app itself handled a station's emergency long-poll."""
    calls = [0]
    endpoint = "api.get_emergencies"
    view = app.view_functions[endpoint]

    def counted(*args, **kwargs):
        calls[0] += 1
        return view(*args, **kwargs)

    monkeypatch.setitem(app.view_functions, endpoint, counted)
    return calls


def test_a_vouched_station_waits_again_without_asking_the_app(world, monkeypatch):
    """After its wait ends, a station the app accepted lately and that knows the newest
    emergency waits again on the event loop alone; an emergency still wakes it."""
    calls = _count_app_long_polls(world.app, monkeypatch)
    server = FrontServer(world.app)
    with world.factory() as s:
        known = latest_id(s)
    client = ApiClient(server.url, world.token, world.station)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        first = client.emergencies(known, 1)  # the app checks the token and defers
        assert first == {"latest": known, "items": []}
        assert calls[0] == 1
        again = client.emergencies(known, 1)  # the same question: the app is not asked
        assert again == {"latest": known, "items": []}
        assert calls[0] == 1
        waiting = pool.submit(client.emergencies, known, 40)
        wait_for(lambda: server.front.room.waiting == 1, 30, "the station to wait again")
        sent = _send(world, [_unit_of(world)])
        assert [i["emergency_id"] for i in waiting.result(timeout=40)["items"]] == [sent]
        assert calls[0] == 1  # woken and answered from the one load, not by the app
        # a question the app would refuse still reaches it, vouched or not
        with pytest.raises(Refused) as refused:
            client._request(
                "GET", f"/stations/{world.station}/emergencies", params={"after": 0, "wait": 99}
            )
        assert refused.value.status == 400
        # another station's path with this token is the app's to refuse
        with pytest.raises(AuthRefused):
            client._request(
                "GET", f"/stations/{world.other}/emergencies", params={"after": sent, "wait": 5}
            )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


def test_a_revoked_token_stops_waiting_and_is_refused_at_once(world):
    """Revoking a waiting station's token (as the CLI or the admin does, in its own
    transaction) ends its wait with a 401 within seconds, and its next question too:
    PostgreSQL tells every process by notification, SQLite's process sees it at its
    look each second."""
    server = FrontServer(world.app)
    with world.factory() as s:
        known = latest_id(s)
    client = ApiClient(server.url, world.token, world.station)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        client.emergencies(known, 1)  # vouched for by the app
        waiting = pool.submit(client.emergencies, known, 40)
        wait_for(lambda: server.front.room.waiting == 1, 30, "the station to wait")
        asked = time.monotonic()
        with transaction(world.factory) as s:
            tokens.revoke(s, system_actor(), world.station)
        with pytest.raises(AuthRefused):
            waiting.result(timeout=40)
        assert time.monotonic() - asked < 10  # not the end of the 40 s wait
        assert not server.front.book.vouched(
            {"headers": [(b"authorization", f"Bearer {world.token}".encode())]}, world.station
        )
        with pytest.raises(AuthRefused):
            client.emergencies(known, 5)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        server.stop()


def test_a_revocation_heard_while_the_app_answers_voids_that_answers_vouch(world):
    """The app read the token before a revocation landed; the vouch its answer would
    make is void, so the station cannot wait on a revoked token afterwards."""
    server = FrontServer(world.app)
    try:
        book = server.front.book
        scope = {"headers": [(b"authorization", f"Bearer {world.token}".encode())]}
        before = book.epoch
        book.forget({world.other})  # a revocation heard meanwhile (any station's)
        book.vouch(scope, world.station, before)
        assert not book.vouched(scope, world.station)
        book.vouch(scope, world.station, book.epoch)
        assert book.vouched(scope, world.station)
        assert not book.vouched(scope, world.other)  # vouched for one station only
        book.forget({world.station})
        assert not book.vouched(scope, world.station)
    finally:
        server.stop()
