"""Admin fixtures: the app on each backend with Hà Tĩnh's stations and one user per role.

``web.client("duyet")`` is a test client signed in as that user; ``web.post``
sends a form with the CSRF token of the client's session, as a browser would.

Users (password :data:`PASSWORD`):

=========  ========  ==========================================
name       role      scope
=========  ========  ==========================================
quantri    admin     the whole country
bientap    editor    Hà Tĩnh (42)
duyet      approver  Hà Tĩnh (42)
daixa      operator  phường Thành Sen (18073)
daikhac    operator  phường Trần Phú (18100), another commune
kiemtra    auditor   Hà Tĩnh (42)
=========  ========  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from broadcaster.config import Settings, load_settings
from broadcaster.db import transaction
from broadcaster.services import users
from broadcaster.webapp import create_app
from tests.api.world import stop_listening

PASSWORD = "mat-khau-web-1"
USERS = {
    "quantri": ("admin", None, "Quản trị viên"),
    "bientap": ("editor", "42", "Nguyễn Thị Biên"),
    "duyet": ("approver", "42", "Trần Văn Duyệt"),
    "daixa": ("operator", "18073", "Lê Văn Đài"),
    "daikhac": ("operator", "18100", "Phạm Thị Khác"),
    "kiemtra": ("auditor", "42", "Hoàng Kiểm Tra"),
}
OWN_STATION = "18073"  # daixa's
OTHER_STATION = "18100"  # daikhac's
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def web_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The settings of a test server, as environment variables."""
    return {
        "BROADCASTER_DATABASE_URL": db_url,
        "BROADCASTER_SECRET_KEY": "test",
        "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
        "BROADCASTER_AUDIO_DIR": str(tmp_path / "audio"),
        # never the internet: the offline voice
        "BROADCASTER_TTS_ENGINE": "espeak",
        "BROADCASTER_GTTS_URL": "http://127.0.0.1:9/",
    }


def web_settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        env=web_env(db_url, tmp_path),
        cwd=tmp_path,
    )


def add_web_users(factory, actor) -> None:
    with transaction(factory) as s:
        for name, (role, scope, full_name) in USERS.items():
            users.add_user(s, actor, name, role, PASSWORD, scope=scope, full_name=full_name)


def csrf_of(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Web:
    app: Flask
    settings: Settings
    factory: object

    def client(self, username: str | None = None) -> FlaskClient:
        """A client signed in as ``username`` (anonymous when None)."""
        client = self.app.test_client()
        if username is not None:
            page = client.get("/login").get_data(as_text=True)
            response = client.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page)},
            )
            assert response.status_code == 302, response.get_data(as_text=True)
        return client

    def csrf(self, client: FlaskClient) -> str:
        """The CSRF token of this client's session (every page's header carries one)."""
        return csrf_of(client.get("/login").get_data(as_text=True))

    def post(
        self, client: FlaskClient, url: str, data: dict | None = None, **kwargs
    ) -> TestResponse:
        """POST a form as the browser would, with the session's CSRF token."""
        return client.post(url, data={**(data or {}), "csrf_token": self.csrf(client)}, **kwargs)


@pytest.fixture
def web(db_url, tmp_path, factory, actor, ha_tinh) -> Iterator[Web]:
    add_web_users(factory, actor)
    settings = web_settings(db_url, tmp_path)
    app = create_app(settings)
    app.config["TESTING"] = True
    # a saved campaign's audio is made in a thread; tests that want it join it
    app.config["RENDER_AFTER_SAVE"] = False
    yield Web(app, settings, factory)
    stop_listening(app)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
