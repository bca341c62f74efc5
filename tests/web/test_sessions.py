"""Admin sessions end on the server: signing out, an idle time, an absolute age, a new
password and a locked account each make a copied session cookie worthless."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster import clock
from broadcaster.db import transaction
from broadcaster.models import User, WebSession
from broadcaster.services import users
from broadcaster.services.audit import system_actor
from tests.web.conftest import text


@pytest.fixture
def now(monkeypatch):
    """The product's clock, moved by hand: ``now.move(minutes=…)``."""

    class Clock:
        at = clock.utcnow()

        def move(self, **delta) -> None:
            self.at += timedelta(**delta)

    held = Clock()
    monkeypatch.setattr("broadcaster.clock.utcnow", lambda: held.at)
    return held


def _copy(web, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    thief = web.app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _signed_in(client) -> bool:
    answer = client.get("/dashboard/")
    if answer.status_code == 302:
        assert "/login" in answer.headers["Location"]
        return False
    assert answer.status_code == 200
    return True


def _reasons(web, username: str) -> list[str | None]:
    with web.factory() as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        return list(
            s.scalars(
                select(WebSession.end_reason)
                .where(WebSession.user_id == user_id)
                .order_by(WebSession.id)
            )
        )


def test_a_cookie_copied_before_signing_out_is_worthless_after(web):
    client = web.client("kiemtra")
    copy = _copy(web, client)
    assert _signed_in(copy)
    signed_out = web.post(client, "/logout")
    assert signed_out.status_code == 302
    assert not _signed_in(copy)
    assert not _signed_in(client)
    assert _reasons(web, "kiemtra") == ["signed_out"]
    again = web.client("kiemtra")  # signing in again opens a new session, not the old one
    assert _signed_in(again) and not _signed_in(copy)


def test_an_answer_that_changes_nothing_sends_no_cookie_to_overwrite_a_message(web):
    """A slow answer begun before a form's POST must not put back the older cookie, or the
    POST's message ("Đã nộp …") is lost: only an answer that changed the session sets it."""
    client = web.client("kiemtra")
    client.get("/dashboard/")  # the first page after signing in adds the CSRF secret
    quiet = client.get("/dashboard/")
    assert quiet.status_code == 200
    assert not any(h.startswith("session=") for h in quiet.headers.getlist("Set-Cookie"))
    switched = web.post(client, "/lang", data={"lang": "en"})  # changes the session: sent
    assert any(h.startswith("session=") for h in switched.headers.getlist("Set-Cookie"))


def test_an_idle_session_ends_and_the_sign_in_page_says_why(web, now):
    client = web.client("kiemtra")
    for _ in range(3):  # in use every 110 minutes: never idle for 120
        now.move(minutes=110)
        assert _signed_in(client)
    now.move(minutes=121)
    answer = client.get("/dashboard/", follow_redirects=True)
    assert "không thao tác trong 120 phút" in text(answer)
    assert not _signed_in(client)
    assert _reasons(web, "kiemtra") == ["idle"]


def test_a_session_ends_twelve_hours_after_signing_in_however_busy(web, now):
    client = web.client("kiemtra")
    for _ in range(11):
        now.move(hours=1)
        assert _signed_in(client)
    now.move(minutes=61)
    answer = client.get("/dashboard/", follow_redirects=True)
    assert "quá 12 giờ kể từ khi đăng nhập" in text(answer)
    assert _reasons(web, "kiemtra") == ["expired"]


def test_a_new_password_and_a_lock_end_every_session(web):
    first, second = web.client("bientap"), web.client("bientap")
    copy = _copy(web, first)
    with transaction(web.factory) as s:
        users.set_password(s, system_actor(), "bientap", "mat-khau-moi-2026")
    assert not any(_signed_in(c) for c in (first, second, copy))
    assert _reasons(web, "bientap") == ["password", "password"]

    operator = web.client("daixa")
    with transaction(web.factory) as s:
        info = users.get_user(s, system_actor(), "daixa")
        users.update_user(
            s,
            system_actor(),
            "daixa",
            full_name=info.full_name,
            role=info.role,
            scope=info.scope_code,
            active=False,
        )
    assert not _signed_in(operator)
    assert _reasons(web, "daixa") == ["locked"]


def test_the_limits_are_configurable(db_url, tmp_path):
    from broadcaster.config import ConfigError
    from tests.web.conftest import web_settings

    settings = web_settings(db_url, tmp_path)
    assert (settings.session_idle_minutes, settings.session_max_hours) == (120, 12)
    from broadcaster.config import load_settings

    env = {
        "BROADCASTER_DATABASE_URL": db_url,
        "BROADCASTER_SECRET_KEY": "x",
        "BROADCASTER_SESSION_IDLE_MINUTES": "30",
        "BROADCASTER_SESSION_MAX_HOURS": "8",
    }
    chosen = load_settings(env=env, cwd=tmp_path)
    assert (chosen.session_idle_minutes, chosen.session_max_hours) == (30, 8)
    with pytest.raises(ConfigError, match="BROADCASTER_SESSION_IDLE_MINUTES"):
        load_settings(env={**env, "BROADCASTER_SESSION_IDLE_MINUTES": "0"}, cwd=tmp_path)
