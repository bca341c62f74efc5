"""Real-browser fixtures: Debian's chromium driven by Playwright against a live server.

The browser is the system's (``/usr/bin/chromium``), never a download. When it is
missing and the suite runs as root on Debian, the first browser test installs it
with apt-get (the project's own set-up; a minute or two once). Where no browser
can be had the browser tests skip, loudly; with ``BROADCASTER_REQUIRE_BROWSER=1``
(``.ci/run`` sets it) a missing browser is a failure instead.

Each test gets its own SQLite database with Hà Tĩnh's stations and one user per
role (``tests/web/conftest.py``), served by uvicorn (as ``broadcaster serve``
runs it) on a free loopback port, and a fresh browser context at 1366×768. Every
page's console errors — a script error, or a Content-Security-Policy violation —
fail the test. The browser tests run on SQLite; the same pages are tested on both
backends by the Flask-client tests in ``tests/web``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from broadcaster.db import make_engine, make_sessionmaker, transaction
from broadcaster.services.audit import system_actor
from broadcaster.services.stations import import_stations
from broadcaster.services.units import import_units
from broadcaster.webapp import create_app
from tests.agent.live import FrontServer
from tests.api.world import stop_listening
from tests.debian import apt_install
from tests.web.conftest import PASSWORD, add_web_users, web_settings

REQUIRE = os.environ.get("BROADCASTER_REQUIRE_BROWSER", "") not in ("", "0")
# Chromium as root in a container: no sandbox; no background traffic to Google's
# hosts, which this closed network refuses
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _find_chromium() -> str | None:
    for candidate in (os.environ.get("BROADCASTER_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        outcome = apt_install(["chromium"])
        path = _find_chromium()
        if path is None:
            message = f"no chromium for the browser tests ({outcome})"
            if REQUIRE:
                pytest.fail(message + "; BROADCASTER_REQUIRE_BROWSER is set", pytrace=False)
            pytest.skip("BROWSER TESTS SKIPPED: " + message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Live:
    """A running server with its database, and the pages opened on it."""

    url: str
    app: object
    factory: object
    settings: object
    problems: list[str] = field(default_factory=list)

    def at(self, path: str) -> str:
        return self.url + path


@pytest.fixture
def live(tmp_path, sqlite_template) -> Iterator[Live]:
    path = tmp_path / "broadcaster.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    actor = system_actor()
    with transaction(factory) as s:
        import_units(s, actor, "Hà Tĩnh")
        import_stations(s, actor, "Hà Tĩnh")
    add_web_users(factory, actor)
    settings = web_settings(url, tmp_path)
    app = create_app(settings)
    app.config["RENDER_AFTER_SAVE"] = False  # no thread writing behind the next test's back
    server = FrontServer(app)  # uvicorn and the station front, as `broadcaster serve`
    try:
        yield Live(server.url, app, factory, settings)
    finally:
        server.stop()
        stop_listening(app)
        engine.dispose()


@pytest.fixture
def context(browser, live):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    context.set_default_timeout(15_000)
    yield context
    context.close()


def watch(page, live: Live):
    """Record in ``live.problems`` every console error of ``page`` (a script error, a CSP
    refusal), every uncaught exception, and every style, script or image that failed to
    load. A page answering 4xx is no problem: tests ask for those on purpose."""

    def console(message) -> None:
        # Chrome also logs each 4xx document as an error; subresources are checked below
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            live.problems.append(f"{page.url}: {message.text}")

    def response(answer) -> None:
        if answer.request.resource_type in SUBRESOURCES and answer.status >= 400:
            live.problems.append(f"{answer.url}: HTTP {answer.status}")

    page.on("console", console)
    page.on("pageerror", lambda e: live.problems.append(f"{page.url}: {e}"))
    page.on("response", response)
    return page


SUBRESOURCES = ("stylesheet", "script", "image", "font", "media")


@pytest.fixture
def page(context, live):
    page = watch(context.new_page(), live)
    yield page
    assert not live.problems, "browser console errors:\n" + "\n".join(live.problems)


def sign_in(page, live: Live, username: str, password: str = PASSWORD) -> None:
    page.goto(live.at("/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda u: "/login" not in u)


def new_page_as(context, live: Live, username: str):
    """Another signed-in tab of the same test, in its own context (its own session)."""
    other = context.browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    other.set_default_timeout(15_000)
    page = watch(other.new_page(), live)
    sign_in(page, live, username)
    return page


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
