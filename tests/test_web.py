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


def test_status_page_in_vietnamese(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Xã/phường/đặc khu</th><td>69" in page
    assert "Đài đang liên lạc / mất liên lạc</th><td>0 / 69" in page
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/static/base.css").status_code == 200


def test_health_check(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["schema"]


def test_unknown_page_is_404(client):
    assert client.get("/no-such-page").status_code == 404


def test_templates_are_found():
    assert (web_dir() / "templates" / "status.html").is_file()


def test_status_page_counts_the_plan(db_url, tmp_path, factory, campaign):
    from datetime import timedelta

    from sqlalchemy import update

    from broadcaster.db import transaction, utcnow
    from broadcaster.models import Slot, SlotStatus
    from broadcaster.planning import plan
    from tests.planning.fixtures import TZ

    campaign(unit="18073", times_per_week=7, weekdays=range(7))
    with transaction(factory) as s:
        plan(s, now=utcnow() - timedelta(days=3), days=7, tz=TZ)
        s.execute(
            update(Slot).where(Slot.planned_start < utcnow()).values(status=SlotStatus.MISSED)
        )
    settings = load_settings(
        env={"BROADCASTER_DATABASE_URL": db_url, "BROADCASTER_SECRET_KEY": "test"}, cwd=tmp_path
    )
    page = create_app(settings).test_client().get("/").get_data(as_text=True)
    assert "Chiến dịch đang chạy</th><td>1" in page
    assert "Lượt bị lỡ (7 ngày qua)</th><td>0" not in page
    assert "Lượt phát đã xếp (14 ngày tới)</th><td>0" not in page


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
