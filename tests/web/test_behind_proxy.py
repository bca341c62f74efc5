"""Behind a real reverse proxy (Debian's nginx, on loopback) with two server processes
sharing their sign-in counts through a real Redis: the throttle sees each client's own
address (``BROADCASTER_TRUSTED_PROXIES=1``), a forged X-Forwarded-For changes nothing,
and five failures through one process hold the sixth back in the other.

Clients come from different loopback addresses (127.0.0.2, 127.0.0.3), so nginx sees —
and forwards — two different people. nginx and redis-server are installed from Debian's
packages when missing and root; elsewhere the test skips, unless
``BROADCASTER_REQUIRE_PROXY=1`` (``.ci/run`` sets it) makes that a failure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from broadcaster.models import WebSession
from tests.agent.live import FromAddress, ProcessServer, free_port, wait_for
from tests.debian import require_program
from tests.web.conftest import PASSWORD, add_web_users, csrf_of, web_env

REQUIRE = "BROADCASTER_REQUIRE_PROXY"


def browser(address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never a proxy from the environment
    session.mount("http://", FromAddress(address))
    return session


def sign_in(who: requests.Session, base: str, username: str, password: str, **headers):
    page = who.get(f"{base}/login", timeout=30)
    return who.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )


NGINX_CONF = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{servers}
}}
"""
SERVER_BLOCK = """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
"""


@pytest.fixture
def nginx(tmp_path):
    """``start({port: upstream_port})`` runs nginx forwarding each port to its upstream."""
    binary = require_program(["nginx", "/usr/sbin/nginx"], ["nginx-light"], REQUIRE)
    root = tmp_path / "nginx"
    root.mkdir()
    processes = []

    def start(routes: dict[int, int]) -> None:
        servers = "".join(SERVER_BLOCK.format(port=p, upstream=u) for p, u in routes.items())
        user = "user root;" if os.geteuid() == 0 else ""
        conf = root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, root=root, servers=servers))
        process = subprocess.Popen(
            [binary, "-p", str(root), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        for port in routes:
            wait_for(
                lambda port=port: _listening(port, process, root),
                timeout=20,
                what="nginx to listen",
            )

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _listening(port: int, process: subprocess.Popen, root: Path) -> bool:
    if process.poll() is not None:
        log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
        pytest.fail(f"nginx exited: {process.stderr.read().decode()} {log}")
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        return True
    except requests.RequestException:
        return False


def test_the_throttle_behind_nginx_counts_real_addresses_across_two_processes(
    db_url, tmp_path, factory, actor, ha_tinh, redis_url, nginx
):
    add_web_users(factory, actor)
    env = {
        **web_env(db_url, tmp_path),
        "BROADCASTER_RATELIMIT_STORAGE": redis_url,
        "BROADCASTER_TRUSTED_PROXIES": "1",
    }
    servers = [ProcessServer(env, tmp_path / f"serve-{n}.log") for n in (1, 2)]
    for server in servers:
        server.start()
    try:
        front = {free_port(): server.port for server in servers}
        nginx(front)
        one, two = (f"http://127.0.0.1:{port}" for port in front)
        alice, bob = browser("127.0.0.2"), browser("127.0.0.3")

        # five failures from 127.0.0.2 through the first process …
        assert [sign_in(alice, one, "bientap", "sai").status_code for _ in range(5)] == [401] * 5
        # … hold the sixth back in the second: the count lives in Redis
        assert sign_in(alice, two, "bientap", "sai").status_code == 429
        # a forged X-Forwarded-For does not make 127.0.0.2 someone else
        forged = sign_in(alice, two, "bientap", PASSWORD, **{"X-Forwarded-For": "10.9.8.7"})
        assert forged.status_code == 429
        # another person behind the same proxy is not held back by them
        assert sign_in(bob, one, "bientap", PASSWORD).status_code == 302
        # and the session records where its user really was
        with factory() as s:
            addresses = list(s.scalars(select(WebSession.address)))
        assert addresses == ["127.0.0.3"]
    finally:
        for server in servers:
            server.kill()
        for server in servers:
            log = server.log.read_text() if server.log.exists() else ""
            assert "Traceback" not in log, log[-3000:]


def test_without_trusted_proxies_forwarded_headers_are_not_believed(web):
    client = web.app.test_client()
    answer = client.get(
        "/login", headers={"X-Forwarded-For": "10.9.8.7"}, environ_base={"REMOTE_ADDR": "1.2.3.4"}
    )
    assert answer.status_code == 200
    for _ in range(5):
        client.post(
            "/login",
            data={"username": "bientap", "password": "sai", "csrf_token": csrf_of(answer.text)},
            headers={"X-Forwarded-For": f"10.0.0.{_}"},
            environ_base={"REMOTE_ADDR": "1.2.3.4"},
        )
    held = client.post(
        "/login",
        data={"username": "bientap", "password": "sai", "csrf_token": csrf_of(answer.text)},
        headers={"X-Forwarded-For": "10.0.0.99"},
        environ_base={"REMOTE_ADDR": "1.2.3.4"},
    )
    assert held.status_code == 429  # the header changed nothing: the address is 1.2.3.4
    assert "chờ một phút" in held.text
