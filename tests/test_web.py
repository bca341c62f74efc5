"""The web shell: status page and health check (the admin comes later)."""

from __future__ import annotations

import pytest

from broadcaster.config import load_settings
from broadcaster.webapp import create_app, web_dir


@pytest.fixture
def client(db_url, tmp_path, ha_tinh):
    settings = load_settings(
        env={"BROADCASTER_DATABASE_URL": db_url, "BROADCASTER_SECRET_KEY": "test"}, cwd=tmp_path
    )
    return create_app(settings).test_client()


def test_the_public_page_says_only_that_the_service_is_up(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Hệ thống đang hoạt động." in page and 'href="/login"' in page
    # no counts of units, stations, users or scripts for whoever asks
    for counted in ("Xã/phường/đặc khu", "Người dùng", "Tin bài", "Phiên bản"):
        assert counted not in page, counted
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/static/base.css").status_code == 200
    status = client.get("/status")
    assert status.status_code == 302 and "/login" in status.headers["Location"]


def test_health_check(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["schema"]


def test_unknown_page_is_404(client):
    assert client.get("/no-such-page").status_code == 404


def test_templates_are_found():
    assert (web_dir() / "templates" / "status.html").is_file()


def test_the_wsgi_entry_serves_the_app_from_the_environment(db_url, tmp_path):
    """``gunicorn 'broadcaster.webapp.wsgi:app'`` gets the configured app, API included."""
    import os
    import subprocess
    import sys

    probe = (
        "from broadcaster.webapp.wsgi import app; c = app.test_client(); "
        "print(c.get('/healthz').get_json()['database'], "
        "c.get('/api/v1/openapi.json').get_json()['openapi'])"
    )
    env = {**os.environ, "BROADCASTER_DATABASE_URL": db_url, "BROADCASTER_SECRET_KEY": "t"}
    env["BROADCASTER_INSTANCE_DIR"] = str(tmp_path / "instance")
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [db_url.split(":")[0].split("+")[0], "3.1.0"]
