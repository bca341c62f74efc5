"""Metrics across processes: two real servers (``broadcaster serve``) sharing one
``PROMETHEUS_MULTIPROC_DIR`` answer one sum; a station waiting on one is counted
connected by both; the fan-out histogram sees a pick-up made on the event loop; a
server that is gone leaves its counters and takes its gauge (``process_gone``), and
:func:`~broadcaster.metrics.forget_dead_processes` clears what it left."""

from __future__ import annotations

import threading
import urllib.request

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from broadcaster import metrics
from broadcaster.db import transaction
from broadcaster.services import emergency, tokens
from broadcaster.services.audit import system_actor
from tests.agent.live import ProcessServer, wait_for
from tests.web.conftest import web_env

STATION = "18073"  # phường Thành Sen, Hà Tĩnh


def scrape(server: ProcessServer) -> dict[tuple, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=30) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode("utf-8")
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def pulls(server: ProcessServer) -> tuple[float, float]:
    samples = scrape(server)
    name = "broadcaster_playlist_pulls_total"
    return (
        value(samples, name, result="full", via="token"),
        value(samples, name, result="not_modified", via="token"),
    )


@pytest.fixture
def servers(db_url, tmp_path, factory, ha_tinh):
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**web_env(db_url, tmp_path), metrics.MULTIPROC_ENV: str(folder)}
    started = [ProcessServer(env, tmp_path / f"server-{n}.log") for n in (1, 2)]
    try:
        for server in started:
            server.start()
        yield (*started, folder)
    finally:
        for server in started:
            server.kill()


def test_two_processes_one_sum_and_a_process_that_is_gone(servers, factory):
    one, two, folder = servers
    with transaction(factory) as s:
        token = tokens.issue(s, system_actor(), STATION).token
    auth = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/stations/{STATION}/playlist"
    http = requests.Session()
    http.trust_env = False

    # pulls on both: each scrape, from either process, says the sum
    first = http.get(one.url + url, headers=auth, timeout=30)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert http.get(one.url + url, headers={**auth, "If-None-Match": etag}).status_code == 304
    assert http.get(two.url + url, headers=auth, timeout=30).status_code == 200
    assert pulls(one) == pulls(two) == (2, 1)

    # a station waiting on the second process is connected, seen from the first
    latest = http.get(
        f"{two.url}/api/v1/stations/{STATION}/emergencies?after=0&wait=0", headers=auth
    ).json()["latest"]
    answers: list = []

    def wait(server: ProcessServer, after: int) -> None:
        try:
            answers.append(
                http.get(
                    f"{server.url}/api/v1/stations/{STATION}/emergencies?after={after}&wait=55",
                    headers=auth,
                    timeout=90,
                ).json()
            )
        except requests.RequestException as exc:  # the server was killed under it
            answers.append(exc)

    waiter = threading.Thread(target=wait, args=(two, latest))
    waiter.start()
    connected = "broadcaster_stations_connected"
    wait_for(lambda: value(scrape(one), connected) == 1, timeout=60, what="the waiting station")

    # an emergency wakes it on the event loop (the fan-out's own answer): the pick-up is
    # observed in the second process's histogram, and the first one's scrape holds it
    with transaction(factory) as s:
        sent = emergency.send(
            s,
            system_actor(),
            _renderer(two),
            title="Bão số 5",
            body="Bão số 5 sắp đổ bộ. Đề nghị bà con chằng chống nhà cửa.",
            unit_codes=[STATION],
        )
    waiter.join(90)
    assert answers and [i["emergency_id"] for i in answers[0]["items"]] == [sent.id]
    fanout = "broadcaster_emergency_fanout_seconds_count"
    wait_for(lambda: value(scrape(one), fanout) == 1, timeout=60, what="the pick-up mark")
    wait_for(lambda: value(scrape(one), connected) == 0, timeout=60, what="the station left")

    # the second process dies while a station waits on it
    waiter = threading.Thread(target=wait, args=(two, sent.id))
    waiter.start()
    wait_for(lambda: value(scrape(one), connected) == 1, timeout=60, what="waiting again")
    gone = two.process.pid
    two.kill()
    waiter.join(90)
    assert value(scrape(one), connected) == 1  # its file is still there: nobody said
    metrics.process_gone(gone, str(folder))  # what gunicorn's child_exit says
    after = scrape(one)
    assert value(after, connected) == 0
    assert pulls(one) == (2, 1)  # its counters stay counted
    assert value(after, fanout) == 1

    # a new start clears the files of processes no longer running, and only those
    assert metrics.forget_dead_processes(str(folder)) == [gone]
    assert pulls(one) == (1, 1)
    assert value(scrape(one), fanout) == 0
    assert metrics.forget_dead_processes(str(folder)) == []


def _renderer(server: ProcessServer):
    from pathlib import Path

    from broadcaster.audio.render import AudioRenderer
    from broadcaster.config import load_settings

    settings = load_settings(env=server.env, cwd=Path(server.env["BROADCASTER_INSTANCE_DIR"]))
    return AudioRenderer(settings.audio_dir, settings.audio)
