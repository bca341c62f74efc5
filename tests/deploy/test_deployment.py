"""The province's shape, started from the shipped files and proven end to end.

``broadcaster deploy config`` writes the files; this test starts the very units it wrote
— two gunicorn web processes (``broadcaster-web@PORT``) and the scheduler on
PostgreSQL, with the shared environment file — and Debian's nginx with the shipped site
in front, over TLS with a self-signed certificate. Then a real ``broadcaster agent``,
started from the shipped ``broadcaster-agent.service`` and its ``agent.env``, syncs
through nginx over https; an approver sends an emergency through nginx; one
gunicorn is killed (SIGKILL, the whole process group) at that moment; the agent still
receives the emergency, plays it and reports it through the other one, and nothing is
lost. The audit log, the sessions and the sign-in throttle see each client's own
address, not nginx's; ``/metrics`` through nginx answers a token, refuses an address
outside the allow-list, and its emergency and airing-report counters moved.

nginx, redis-server and openssl come from Debian's packages when missing and root;
elsewhere the test skips, unless ``BROADCASTER_REQUIRE_PROXY=1`` (``.ci/run`` sets it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from broadcaster.db import make_engine, make_sessionmaker, transaction
from broadcaster.models import Airing, AuditEvent, Emergency, JobRun, StationStatus, WebSession
from broadcaster.services import tokens
from broadcaster.services.audit import system_actor
from broadcaster.services.stations import import_stations
from broadcaster.services.units import import_units
from tests.agent.live import FromAddress, free_port, wait_for
from tests.conftest import _truncate_postgres
from tests.debian import require_program
from tests.deploy.units import Nginx, Unit, read_env_file, verify_units
from tests.web.conftest import OWN_STATION, PASSWORD, add_web_users, csrf_of

REQUIRE = "BROADCASTER_REQUIRE_PROXY"
METRICS_TOKEN = "deploy-test-metrics-token"

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(request):
    """The PostgreSQL half only: the province's shape is PostgreSQL."""
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    yield url
    _truncate_postgres(url)


def self_signed(folder: Path) -> tuple[Path, Path]:
    openssl = require_program(["openssl"], ["openssl"], REQUIRE)
    cert, key = folder / "server.pem", folder / "server.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def person(address: str, cert: Path, base: str) -> requests.Session:
    """A browser on its own loopback address, trusting the server's certificate. Like a
    browser it names the page a form came from (the admin's policy is same-origin), which
    the CSRF check wants over https."""
    session = requests.Session()
    session.headers["Referer"] = f"{base}/"
    session.trust_env = False
    session.verify = str(cert)
    session.mount("https://", FromAddress(address))
    return session


def sign_in(who: requests.Session, base: str, username: str, password: str):
    page = who.get(f"{base}/login", timeout=30)
    assert page.status_code == 200, page.text[:500]
    return who.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        allow_redirects=False,
        timeout=30,
    )


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(found: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= set(ls))


def test_the_province_shape_from_the_shipped_files(pg_url, tmp_path, redis_url):
    nginx_binary = require_program(["nginx", "/usr/sbin/nginx"], ["nginx-light"], REQUIRE)
    cert, key = self_signed(tmp_path)
    factory = make_sessionmaker(make_engine(pg_url))
    actor = system_actor()
    with transaction(factory) as s:
        import_units(s, actor, "Hà Tĩnh")
        import_stations(s, actor, "Hà Tĩnh")
    add_web_users(factory, actor)
    with transaction(factory) as s:
        token = tokens.issue(s, actor, OWN_STATION).token

    # -- the files, as an IT officer makes them ----------------------------------------
    out = tmp_path / "deploy"
    web_ports = (free_port(), free_port())
    https_port, http_port = free_port(), free_port()
    made = subprocess.run(
        [
            sys.executable, "-m", "broadcaster.cli", "deploy", "config", "--out", str(out),
            "--server-name", "127.0.0.1", "--ports", ",".join(map(str, web_ports)),
            "--workers", "2", "--user", "root", "--etc-dir", str(out),
            "--metrics-dir", str(tmp_path / "run" / "metrics"),
            "--https-port", str(https_port), "--http-port", str(http_port),
            "--tls-cert", str(cert), "--tls-key", str(key), "--redis", redis_url,
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "BROADCASTER_DATABASE_URL": pg_url,
            "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BROADCASTER_AUDIO_DIR": str(tmp_path / "audio"),
            "BROADCASTER_SECRET_KEY": "deploy-test",
            "BROADCASTER_METRICS_TOKEN": METRICS_TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    env_file = out / "broadcaster.env"
    assert env_file.stat().st_mode & 0o077 == 0  # it may hold the database password
    settings = read_env_file(env_file)
    assert settings["BROADCASTER_DATABASE_URL"] == pg_url
    assert settings["BROADCASTER_TRUSTED_PROXIES"] == "1"
    assert settings["BROADCASTER_PUBLIC_URL"] == f"https://127.0.0.1:{https_port}"
    # what the officer adds for this server: the key, and the offline voice (no internet here)
    with env_file.open("a") as fh:
        fh.write("BROADCASTER_SECRET_KEY=deploy-test\nBROADCASTER_TTS_ENGINE=espeak\n")
        fh.write("BROADCASTER_GTTS_URL=http://127.0.0.1:9/\n")
    units = [
        out / name
        for name in (
            "broadcaster-web@.service",
            "broadcaster-scheduler.service",
            "broadcaster-agent.service",
        )
    ]
    verify_units(units)
    (tmp_path / "run" / "metrics").mkdir(parents=True)  # what the tmpfiles entry makes

    webs = [Unit(out / "broadcaster-web@.service", str(port)) for port in web_ports]
    scheduler = Unit(out / "broadcaster-scheduler.service")
    nginx = Nginx(nginx_binary, out / "nginx-site.conf", tmp_path / "nginx")
    nginx.test_config()
    agent = None
    base = f"https://127.0.0.1:{https_port}"
    try:
        scheduler.start()
        for web in webs:
            web.start()
        nginx.start()
        for port in web_ports:
            wait_for(lambda port=port: _answers(f"http://127.0.0.1:{port}/healthz"), 120, "web")
        wait_for(lambda: _answers(f"{base}/healthz", cert), 60, "nginx over TLS")

        # plain http is sent to https; static files come from nginx itself
        moved = requests.get(f"http://127.0.0.1:{http_port}/login", allow_redirects=False)
        assert moved.status_code == 301
        assert moved.headers["Location"] == f"https://127.0.0.1:{https_port}/login"
        css = requests.get(f"{base}/static/base.css", verify=str(cert), timeout=10)
        assert css.status_code == 200 and "Cache-Control" in css.headers
        assert "max-age=604800" in css.headers["Cache-Control"]  # nginx's expires 7d

        # -- a station agent through nginx over TLS, from the shipped unit -----------------
        # what the station's operator fills in agent.env (the server is already there)
        agent_env = out / "agent.env"
        filled = agent_env.read_text().replace(
            "BROADCASTER_AGENT_STATION=\n", f"BROADCASTER_AGENT_STATION={OWN_STATION}\n"
        )
        filled = filled.replace("BROADCASTER_AGENT_TOKEN=\n", f"BROADCASTER_AGENT_TOKEN={token}\n")
        filled = filled.replace(
            "BROADCASTER_AGENT_DIR=/var/lib/broadcaster-agent",
            f"BROADCASTER_AGENT_DIR={tmp_path / 'agent'}",
        )
        played = tmp_path / "played"
        filled += (
            f"BROADCASTER_AGENT_CA_FILE={cert}\n"
            f"BROADCASTER_AGENT_PLAYER=file:{played}?speed=20\n"
            "BROADCASTER_AGENT_POLL=2\nBROADCASTER_AGENT_HEARTBEAT=2\n"
        )
        agent_env.write_text(filled)
        agent = Unit(out / "broadcaster-agent.service")
        assert agent.env["BROADCASTER_AGENT_SERVER"] == base
        agent.start()
        wait_for(lambda: _heartbeat(factory), 120, "the agent's first heartbeat through nginx")

        # -- an approver sends an emergency through nginx, from their own address ----------
        approver = person("127.0.0.2", cert, base)
        assert sign_in(approver, base, "duyet", PASSWORD).status_code == 302
        form = approver.get(f"{base}/emergency/new", timeout=30)
        sent = approver.post(
            f"{base}/emergency/new",
            data={
                "title": "Bão số 5 đổ bộ",
                "body": "Bà con khẩn trương gia cố nhà cửa.",
                "units": OWN_STATION,
                "repeat": "1",
                "expires": "60",
                "csrf_token": csrf_of(form.text),
            },
            allow_redirects=False,
            timeout=120,
        )
        assert sent.status_code == 302, sent.text[:2000]
        emergency_id = int(sent.headers["Location"].rstrip("/").rsplit("/", 1)[1])

        # one web process dies at once, whole; nginx sends everything to the other
        webs[0].kill()
        aired = wait_for(lambda: _aired(factory, emergency_id), 180, "the emergency to air")
        assert aired == 1
        assert agent.alive(), agent.output()
        # the admin goes on working through the survivor
        watch = approver.get(f"{base}/emergency/{emergency_id}.json", timeout=30)
        assert watch.status_code == 200 and watch.json()["totals"]["aired"] == 1

        # -- addresses: the client's own, not nginx's -------------------------------------
        with transaction(factory) as s:
            event = s.scalars(select(AuditEvent).where(AuditEvent.action == "emergency.send")).one()
            assert event.address == "127.0.0.2"
            assert event.actor == "duyet"
            assert set(s.scalars(select(WebSession.address))) == {"127.0.0.2"}
            assert s.get(Emergency, emergency_id) is not None
        stranger = person("127.0.0.3", cert, base)
        tries = [sign_in(stranger, base, "duyet", "sai").status_code for _ in range(6)]
        assert tries == [401] * 5 + [429]  # counted in Redis, whichever process answered
        colleague = person("127.0.0.2", cert, base)
        assert sign_in(colleague, base, "kiemtra", PASSWORD).status_code == 302

        # -- /metrics through nginx -------------------------------------------------------
        refused = person("127.0.0.4", cert, base).get(f"{base}/metrics", timeout=30)
        assert refused.status_code == 403  # nginx's own 127.0.0.1 would have been allowed
        scraped = person("127.0.0.4", cert, base).get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
        )
        assert scraped.status_code == 200
        found = samples(scraped.text)
        assert total(found, "broadcaster_airing_reports_total", result="accepted") >= 1
        assert total(found, "broadcaster_emergency_fanout_seconds_count") >= 1
        assert total(found, "broadcaster_sign_in_failures_total") >= 5
        assert total(found, "broadcaster_scheduler_job_runs_total") >= 1
        assert total(found, "broadcaster_stations", state="online") == 1

        # -- nothing lost ------------------------------------------------------------------
        with transaction(factory) as s:
            assert s.scalar(select(func.count()).select_from(JobRun)) >= 1  # the scheduler ran
        check = subprocess.run(
            [sys.executable, "-m", "broadcaster.cli", "audit", "verify"],
            env={**webs[1].env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        if agent is not None:
            agent.stop()
        nginx.stop()
        for unit in (*webs, scheduler):
            unit.stop()
    for unit in (webs[1], scheduler):
        assert "Traceback" not in unit.output(), unit.output()[-4000:]
    assert "Traceback" not in agent.output()
    assert "[emerg]" not in nginx.error_log()
    # nginx did meet the dead process, and moved those requests to the live one
    assert f"127.0.0.1:{web_ports[0]}" in nginx.error_log()


def _answers(url: str, cert: Path | None = None) -> bool:
    try:
        return requests.get(url, timeout=3, verify=str(cert) if cert else True).status_code == 200
    except requests.RequestException:
        return False


def _heartbeat(factory) -> bool:
    with transaction(factory) as s:
        return s.scalar(select(func.count()).select_from(StationStatus)) > 0


def _aired(factory, emergency_id: int) -> int:
    with transaction(factory) as s:
        return s.scalar(
            select(func.count())
            .select_from(Airing)
            .where(Airing.emergency_id == emergency_id, Airing.status == "aired")
        )
