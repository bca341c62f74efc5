"""Listen on a line that connects but never answers: one short try, then the offline voice.

The "Google" here is a loopback server that accepts every connection and never says
a word, as a rural line behind a captive router does. The web app keeps one preview
renderer per process, so after the first failure Google is skipped for its back-off,
and audio already made is served before any engine is tried. The page says which
voice spoke and whose names it used.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from broadcaster.webapp import create_app
from tests.api.world import stop_listening
from tests.web.conftest import Web, add_web_users, web_env
from tests.web.scripts_scene import seed


class SilentServer:
    """Accepts connections, reads what comes, answers nothing; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="silent-gtts")
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._held.append(conn)  # kept open, never answered

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def web_auto(db_url, tmp_path, factory, actor, ha_tinh, silent) -> Iterator[Web]:
    """The admin with the automatic voice choice and Google on the silent server."""
    from broadcaster.config import load_settings

    add_web_users(factory, actor)
    env = web_env(db_url, tmp_path)
    env["BROADCASTER_TTS_ENGINE"] = "auto"
    env["BROADCASTER_GTTS_URL"] = f"http://127.0.0.1:{silent.port}/"
    settings = load_settings(env=env, cwd=tmp_path)
    app = create_app(settings)
    app.config["TESTING"] = True
    app.config["RENDER_AFTER_SAVE"] = False
    yield Web(app, settings, factory)
    stop_listening(app)


def _listen(web: Web, client, slug: str, **form) -> dict:
    response = web.post(
        client, f"/scripts/{slug}/listen", form, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_a_silent_google_is_tried_once_then_skipped_and_the_page_says_so(web_auto, silent):
    seed(web_auto, "tin-mot", body="Kính thưa bà con {ten_xa}. UBND xã thông báo.", unit="18073")
    seed(web_auto, "tin-hai", body="Lịch tiêm chủng tuần này.", unit="18073")
    client = web_auto.client("bientap")

    first = _listen(web_auto, client, "tin-mot", station="18073")
    assert silent.accepted == 1  # one connection, no retry: a person is waiting
    assert first["engine"] == "espeak"
    assert "Không kết nối được giọng Google" in first["voice"]
    assert "giọng đọc ngoại tuyến" in first["voice"]
    assert "phường Thành Sen" in first["voice"]  # whose names the audio says (18073)

    # another script at once: Google is skipped for its back-off, not tried again
    second = _listen(web_auto, client, "tin-hai")
    assert silent.accepted == 1 and second["engine"] == "espeak"

    # the first again: the audio already made is served, whatever engine made it
    again = _listen(web_auto, client, "tin-mot", station="18073")
    assert silent.accepted == 1
    assert again["sha256"] == first["sha256"] and "đã có sẵn" in again["voice"]


def test_without_javascript_the_voice_is_said_on_the_page(web_auto, silent):
    seed(web_auto, "tin-ba", body="Thông báo về dịch vụ công trực tuyến.", unit="18073")
    client = web_auto.client("bientap")
    response = web_auto.post(client, "/scripts/tin-ba/listen", {"version": "1"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Không kết nối được giọng Google; đang dùng giọng đọc ngoại tuyến." in page


def test_tts_engines_asks_google_rather_than_trusting_the_install(silent):
    from broadcaster.tts.gtts_engine import GttsEngine

    probe = GttsEngine(base_url=f"http://127.0.0.1:{silent.port}/").reachable()
    assert probe.usable is False and "không trả lời trong 3 giây" in probe.detail
