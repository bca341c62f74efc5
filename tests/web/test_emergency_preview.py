"""Before an emergency goes out the official sees what the voice will read and hears it.

"Xem cách đọc" and "Nghe thử" on the send form bring the form back as it was typed,
with the spoken form and its warnings, and the audio with the voice that spoke it;
nothing is sent. Audio is real (the offline voice, espeak-ng). On a line where Google
connects and never answers, Listen falls back to the offline voice at once and says so:
the test that shows it talks to a real server with a request timeout, so a hang fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from broadcaster.config import load_settings
from broadcaster.db import transaction
from broadcaster.models import AudioAsset, Emergency, Script, Slot
from broadcaster.webapp import create_app
from tests.agent.live import FrontServer
from tests.api.world import stop_listening
from tests.web.conftest import (
    OTHER_STATION,
    OWN_STATION,
    PASSWORD,
    add_web_users,
    csrf_of,
    text,
    web_env,
)
from tests.web.test_listen_dead_line import silent  # noqa: F401  (the fixture)

FORM = {
    "title": "Bão số 5 đổ bộ",
    "body": "UBND xã thông báo: bà con không ra khơi từ ngày 12/9/2026.",
    "units": f"{OWN_STATION},{OTHER_STATION}",
    "repeat": "2",
    "expires": "60",
}


def _count(web, model) -> int:
    with transaction(web.factory) as s:
        return s.scalar(select(func.count()).select_from(model))


def _sent_nothing(web) -> None:
    assert _count(web, Emergency) == 0 and _count(web, Slot) == 0 and _count(web, Script) == 0


def test_preview_shows_the_spoken_form_keeps_the_form_and_sends_nothing(web):
    client = web.client("duyet")
    answer = web.post(client, "/emergency/new", {**FORM, "action": "preview"})
    assert answer.status_code == 200, text(answer)
    page = text(answer)
    spoken = page.split('id="spoken"', 1)[1].split("</pre>", 1)[0]
    # what the voice reads: the abbreviation and the date in words, the title first
    assert "Ủy ban nhân dân" in spoken and "UBND" not in spoken
    assert "mười hai tháng chín năm hai nghìn" in spoken
    assert spoken.split(">", 1)[1].startswith("Bão số năm đổ bộ")
    # the form as it was typed, ready to send
    assert f'value="{FORM["title"]}"' in page and FORM["body"] in page
    assert f'name="units" value="{FORM["units"]}"' in page and 'value="60"' in page
    assert 'id="emergency-send"' in page and "Gửi ngay tới 2 đài" in page
    assert 'id="listen-audio"' not in page  # a preview renders no audio
    _sent_nothing(web)
    assert _count(web, AudioAsset) == 0


def test_preview_warns_beside_the_spoken_form_and_needs_no_units_yet(web):
    client = web.client("duyet")
    body = "Họp lúc 8 giờ ngày 31/02/2026 tại <b>nhà văn hóa</b> thôn [tên thôn]."
    answer = web.post(
        client, "/emergency/new", {**FORM, "units": "", "body": body, "action": "preview"}
    )
    assert answer.status_code == 200, text(answer)
    page = text(answer)
    warnings = page.split('id="spoken-warnings"', 1)[1].split("</ul>", 1)[0]
    assert "“31/02/2026” không có trên lịch" in warnings
    assert "“&lt;b&gt;” là mã trang web (HTML)" in warnings  # shown, escaped
    assert "“[tên thôn]” còn để trống: hãy điền trước khi gửi." in warnings
    assert 'id="units-error"' not in page  # units are chosen before sending, not to preview
    _sent_nothing(web)


def test_a_text_naming_the_commune_is_read_for_a_chosen_station_or_in_common(web):
    client = web.client("duyet")
    form = {**FORM, "body": "Bà con {ten_xa} chú ý.", "action": "preview"}
    chosen = text(web.post(client, "/emergency/new", {**form, "units": OWN_STATION}))
    assert "Bà con phường Thành Sen chú ý." in chosen
    assert "mỗi đài nghe tên xã của mình" in chosen
    common = text(web.post(client, "/emergency/new", {**form, "units": ""}))
    assert "Bà con địa phương chú ý." in common and "Chưa chọn đơn vị" in common
    _sent_nothing(web)


def test_preview_errors_are_beside_their_fields_in_the_readers_language(web):
    client = web.client("duyet")
    answer = web.post(
        client, "/emergency/new", {**FORM, "body": "Kính gửi {khong_co}", "action": "preview"}
    )
    assert answer.status_code == 400
    page = text(answer)
    assert 'id="body-error"' in page and "{khong_co}" in page and "--" not in page
    unknown = web.post(client, "/emergency/new", {**FORM, "units": "99999", "action": "listen"})
    assert unknown.status_code == 400 and 'id="units-error"' in text(unknown)
    web.post(client, "/lang", {"lang": "en"})  # the English interface
    english = web.post(client, "/emergency/new", {**FORM, "units": "99999", "action": "preview"})
    assert english.status_code == 400 and 'id="units-error"' in text(english)
    assert "There is no administrative unit with code &#39;99999&#39;." in text(english)
    assert "See how it will be read" in text(english)
    _sent_nothing(web)


def test_listen_plays_the_audio_says_the_voice_and_sends_nothing(web):
    client = web.client("duyet")
    answer = web.post(client, "/emergency/new", {**FORM, "action": "listen"})
    assert answer.status_code == 200, text(answer)
    page = text(answer)
    assert "Đọc bằng: espeak-ng. Giọng đọc ngoại tuyến." in page
    src = page.split('id="listen-audio"', 1)[0].rsplit('src="', 1)[1].split('"', 1)[0]
    audio = client.get(src)
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert audio.data[:3] == b"ID3" or audio.data[:2] == b"\xff\xfb"
    assert FORM["body"] in page and "Ủy ban nhân dân" in page  # the form and the spoken form
    # the audio is this browser's: another signed-in sender is not given it
    assert web.client("quantri").get(src).status_code == 404
    # scripts' JavaScript path: JSON with the same answers, and a second time it is cached
    again = web.post(
        client,
        "/emergency/new",
        {**FORM, "action": "listen"},
        headers={"Accept": "application/json"},
    )
    data = again.get_json()
    assert again.status_code == 200 and data["audio_url"] == src and data["errors"] == {}
    assert "đã có sẵn" in data["voice"] and "Ủy ban nhân dân" in data["spoken"]
    _sent_nothing(web)
    # the send finds the audio already made: one asset for the preview and the send
    sent = web.post(client, "/emergency/new", FORM)
    assert sent.status_code == 302, text(sent)
    assert _count(web, AudioAsset) == 1


@pytest.fixture
def dead_line(db_url, tmp_path, factory, actor, ha_tinh, silent) -> Iterator[str]:  # noqa: F811
    """A running server whose automatic voice tries a Google that never answers."""
    add_web_users(factory, actor)
    env = web_env(db_url, tmp_path)
    env["BROADCASTER_TTS_ENGINE"] = "auto"
    env["BROADCASTER_GTTS_URL"] = f"http://127.0.0.1:{silent.port}/"
    app = create_app(load_settings(env=env, cwd=tmp_path))
    app.config["RENDER_AFTER_SAVE"] = False
    server = FrontServer(app)
    try:
        yield server.url
    finally:
        server.stop()
        stop_listening(app)


def test_listen_on_a_dead_line_answers_with_the_offline_voice(dead_line, silent, factory):  # noqa: F811
    browser = requests.Session()
    login = browser.get(f"{dead_line}/login", timeout=10)
    signed = browser.post(
        f"{dead_line}/login",
        data={"username": "duyet", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
        timeout=10,
    )
    assert signed.ok and "/login" not in signed.url
    form = browser.get(f"{dead_line}/emergency/new", timeout=10)
    # a hang (the old 56 s on such a line) fails here: the answer must come well before
    answer = browser.post(
        f"{dead_line}/emergency/new",
        data={**FORM, "action": "listen", "csrf_token": csrf_of(form.text)},
        headers={"Accept": "application/json"},
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert silent.accepted == 1  # Google was tried once, without retry
    assert "Không kết nối được giọng Google; đang dùng giọng đọc ngoại tuyến." in data["voice"]
    assert browser.get(dead_line + data["audio_url"], timeout=10).status_code == 200
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Emergency)) == 0
