"""Listen says which engine and voice spoke; the campaign and station forms choose a voice.

Real engines: piper with the joe voice model installed into the instance's voices
folder, espeak-ng, gTTS on a closed port (no internet), FPT.AI against the loopback fake
of its documented service. Both backends.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from broadcaster.config import load_settings
from broadcaster.models import AuditEvent, Campaign, Station
from broadcaster.tts.piper_voices import add
from broadcaster.webapp import create_app
from tests.api.world import stop_listening
from tests.tts.fptai_server import (
    API_KEY,
    error,
    fptai_server_fixture,  # noqa: F401
)
from tests.tts.test_piper_voices import JOE_MODEL
from tests.web.conftest import Web, add_web_users, text, web_env
from tests.web.scripts_scene import seed
from tests.web.test_campaigns import approve, form

JOE = "en_US-joe-medium"


def _web(db_url, tmp_path, factory, **env) -> Web:
    settings = load_settings(env={**web_env(db_url, tmp_path), **env}, cwd=tmp_path)
    app = create_app(settings)
    app.config["TESTING"] = True
    app.config["RENDER_AFTER_SAVE"] = False
    return Web(app, settings, factory)


@pytest.fixture
def voices_dir(tmp_path):
    folder = tmp_path / "instance" / "voices"
    add(folder, JOE_MODEL)
    return folder


@pytest.fixture
def web_piper(db_url, tmp_path, factory, actor, ha_tinh, voices_dir) -> Iterator[Web]:
    """auto, no internet, a piper voice installed: gtts, piper, espeak."""
    add_web_users(factory, actor)
    web = _web(db_url, tmp_path, factory, BROADCASTER_TTS_ENGINE="auto")
    yield web
    stop_listening(web.app)


@pytest.fixture
def web_fpt(db_url, tmp_path, factory, actor, ha_tinh, voices_dir, fptai_server) -> Iterator[Web]:
    """FPT.AI first (the fake), then gTTS (no internet), piper, espeak."""
    add_web_users(factory, actor)
    web = _web(
        db_url,
        tmp_path,
        factory,
        BROADCASTER_TTS_ENGINES="fptai,gtts,piper,espeak",
        BROADCASTER_FPTAI_API_KEY=API_KEY,
        BROADCASTER_FPTAI_URL=fptai_server.url,
    )
    yield web
    stop_listening(web.app)


def _listen(web: Web, client, slug: str, **form) -> dict:
    response = web.post(
        client, f"/scripts/{slug}/listen", form, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _description(web: Web, engine: str, voice: str) -> str:
    from broadcaster.tts import build_engine

    built = build_engine(engine, web.settings.audio)
    return next(v.description for v in built.voices() if v.id == voice)


def test_offline_with_a_piper_voice_listen_speaks_with_it_and_says_so(web_piper):
    seed(web_piper, "tin-piper", body="Thông báo lịch tiêm chủng tuần này.", unit="18073")
    answer = _listen(web_piper, web_piper.client("bientap"), "tin-piper")
    assert answer["engine"] == "piper"
    assert answer["voice"].startswith(f"Đọc bằng: piper — {JOE}.")
    assert "Không kết nối được giọng Google" in answer["voice"]


def test_the_station_choice_of_an_fpt_voice_is_heard_and_said(web_fpt, fptai_server):
    with web_fpt.factory() as s:
        assert s.scalar(select(Station.voice).where(Station.code == "18073")) is None
    admin = web_fpt.client("quantri")
    saved = web_fpt.post(admin, "/stations/18073/voice", {"voice": "fptai:linhsan"})
    assert saved.status_code == 302, text(saved)
    seed(web_fpt, "tin-fpt", body="Kính thưa bà con {ten_xa}. Mời đi tiêm.", unit="18073")
    answer = _listen(web_fpt, web_fpt.client("bientap"), "tin-fpt", station="18073")
    assert answer["engine"] == "fptai"
    linhsan = _description(web_fpt, "fptai", "linhsan")
    assert answer["voice"].startswith(f"Đọc bằng: FPT.AI — {linhsan}.")
    assert {p.headers.get("voice") for p in fptai_server.posts} == {"linhsan"}  # each piece
    assert API_KEY not in str(answer)


def test_fpt_answering_429_the_next_engine_speaks_and_the_asset_says_which(web_fpt, fptai_server):
    fptai_server.enqueue(*[error(429, retry_after="0")] * 10)
    seed(web_fpt, "tin-429", body="Thông báo cắt nước sáng mai.", unit="18073")
    answer = _listen(web_fpt, web_fpt.client("bientap"), "tin-429")
    assert answer["engine"] == "piper"  # gTTS has no internet either
    assert answer["voice"].startswith(f"Đọc bằng: piper — {JOE}.")
    assert len(fptai_server.posts) == 2  # a person is waiting: one retry, not four
    assert API_KEY not in str(answer)
    from broadcaster.models import AudioAsset

    with web_fpt.factory() as s:
        asset = s.scalar(select(AudioAsset).where(AudioAsset.sha256 == answer["sha256"]))
        assert (asset.engine, asset.voice) == ("piper", JOE)
        assert asset.requested_engine == "fptai,gtts,piper,espeak"


def test_station_form_lists_the_voices_and_refuses_a_bad_one(web_fpt):
    admin = web_fpt.client("quantri")
    page = text(admin.get("/stations/18073"))
    assert 'id="voice-form"' in page and '<option value="" selected>Mặc định</option>' in page
    assert '<optgroup label="FPT.AI">' in page and '<optgroup label="piper">' in page
    assert 'value="fptai:linhsan"' in page and f'value="piper:{JOE}"' in page
    bad = web_fpt.post(admin, "/stations/18073/voice", {"voice": "fptai:nobody"})
    assert bad.status_code == 400
    body = html.unescape(text(bad))
    assert 'id="voice-error"' in body and "Giọng 'nobody' không có trong bộ máy 'fptai'" in body
    with web_fpt.factory() as s:
        assert s.scalar(select(Station.voice).where(Station.code == "18073")) is None
    # an operator sees the choice, cannot change it
    assert 'id="voice-form"' not in text(web_fpt.client("daixa").get("/stations/18073"))
    denied = web_fpt.post(web_fpt.client("daixa"), "/stations/18073/voice", {"voice": ""})
    assert denied.status_code == 403


def test_campaign_form_chooses_a_voice_and_refuses_a_bad_one(web_fpt):
    approve(web_fpt)
    client = web_fpt.client("duyet")
    page = text(client.get("/campaigns/new"))
    assert 'name="voice"' in page and 'value="fptai:banmai"' in page
    bad = web_fpt.post(client, "/campaigns/new", form(web_fpt, voice="vbee:ngocanh"))
    assert bad.status_code == 400
    assert 'id="voice-error"' in text(bad) and "không đúng dạng" in html.unescape(text(bad))
    made = web_fpt.post(client, "/campaigns/new", form(web_fpt, voice="fptai:lannhi"))
    assert made.status_code == 302, text(made)
    campaign_id = int(made.headers["Location"].rstrip("/").split("/")[-1])
    with web_fpt.factory() as s:
        assert s.get(Campaign, campaign_id).voice == "fptai:lannhi"
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "campaign"))
        assert "campaign.voice" in list(actions)
    edit = text(client.get(f"/campaigns/{campaign_id}/edit"))
    assert '<option value="fptai:lannhi" selected>' in edit
    cleared = web_fpt.post(
        client, f"/campaigns/{campaign_id}/edit", form(web_fpt, voice="", name="Đổi tên")
    )
    assert cleared.status_code == 302, text(cleared)
    with web_fpt.factory() as s:
        assert s.get(Campaign, campaign_id).voice is None
