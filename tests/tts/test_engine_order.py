"""The engine order: tried in order, falling through on each kind of failure, with the
back-off, the voice choice and the record of who spoke.

Real engines: espeak-ng, piper with the joe voice model installed into a temporary
voices folder, gTTS pointed at a closed port (connection refused), FPT.AI against the
loopback fake of its documented service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.audio.engine_order import (
    check_choice,
    parse_choice,
    resolve_order,
    speaker,
    voice_groups,
)
from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts import build_engine
from broadcaster.tts.base import EngineUnavailable
from broadcaster.tts.fptai import FptAiEngine
from broadcaster.tts.gtts_engine import GttsEngine
from broadcaster.tts.piper_voices import add
from tests.tts.fptai_server import (
    API_KEY,
    FakeFptAi,
    error,
    fptai_server_fixture,  # noqa: F401
)
from tests.tts.test_piper_voices import JOE_MODEL

JOE = "en_US-joe-medium"
CLOSED = "http://127.0.0.1:9/"  # the discard port: nothing listens, the connection is refused
TEXT = "Thông báo lịch cắt điện ngày mai."


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("order") / "voices"
    add(folder, JOE_MODEL)
    return folder


def dead_gtts() -> GttsEngine:
    return GttsEngine(base_url=CLOSED, retries=0, backoff=0.01, pause=0)


def fptai(server: FakeFptAi, **options) -> FptAiEngine:
    return FptAiEngine(
        api_key=API_KEY, url=server.url, retries=1, backoff=0.0, sleep=lambda _s: None, **options
    )


@pytest.fixture
def espeak_ok() -> None:
    """espeak-ng is the last engine of most orders here: it must be installed."""
    availability = build_engine("espeak").availability()
    assert availability.usable, availability.detail


def renderer(tmp_path: Path, settings: AudioSettings, **engines) -> AudioRenderer:
    return AudioRenderer(tmp_path / "audio", settings, engines)


# -- the order ----------------------------------------------------------------------


def test_the_order_from_settings_auto_and_a_single_name():
    never = lambda: False  # noqa: E731
    ready = lambda: True  # noqa: E731
    listed = AudioSettings(engines=("fptai", "gtts", "piper", "espeak"))
    order = resolve_order(listed, None, never)
    assert (order.policy, order.engines) == ("fptai,gtts,piper,espeak", listed.engines)
    assert len(order.policy) <= 32  # audio_assets.requested_engine
    assert resolve_order(AudioSettings(), None, never).engines == ("gtts", "espeak")
    assert resolve_order(AudioSettings(), None, ready).engines == ("gtts", "piper", "espeak")
    assert resolve_order(AudioSettings(), None, ready).policy == "auto"
    assert resolve_order(AudioSettings(engine="espeak"), None, ready).engines == ("espeak",)
    # an engine asked for by name wins over the configured order
    assert resolve_order(listed, "gtts", never).engines == ("gtts",)
    with pytest.raises(InvalidInput, match="Không có bộ máy đọc 'vbee'"):
        resolve_order(AudioSettings(), "vbee,espeak", never)
    with pytest.raises(InvalidInput, match="lặp lại"):
        resolve_order(AudioSettings(), "espeak,espeak", never)


def test_not_available_and_refused_fall_through_to_piper(tmp_path, voices_dir):
    """fptai without a key is skipped unasked; gTTS's refused connection is tried once and
    skipped; piper speaks with the installed voice, and the asset says so."""
    settings = AudioSettings(
        engines=("fptai", "gtts", "piper", "espeak"), gtts_url=CLOSED, piper_voices_dir=voices_dir
    )
    r = renderer(tmp_path, settings, gtts=dead_gtts())
    result = r.render(RenderRequest(TEXT, title="t"))
    record = result.record
    assert (record.engine, record.voice) == ("piper", JOE)
    assert record.requested_engine == "fptai,gtts,piper,espeak"
    assert result.warnings[0].startswith("fptai không dùng được: chưa có khóa API")
    assert result.warnings[1].startswith("gtts không trả lời")
    assert "đọc ngoại tuyến (piper)" in result.warnings[1]
    assert API_KEY not in " ".join(result.warnings)


def test_fptai_answering_429_hands_over_and_is_skipped_for_its_back_off(
    tmp_path, fptai_server, espeak_ok
):
    fptai_server.enqueue(*[error(429, retry_after="1")] * 6)
    r = renderer(tmp_path, AudioSettings(engines=("fptai", "espeak")), fptai=fptai(fptai_server))
    first = r.render(RenderRequest(TEXT, title="t"))
    assert first.record.engine == "espeak"
    assert first.record.requested_engine == "fptai,espeak"
    assert "fptai không trả lời" in first.warnings[0]
    assert "espeak" in first.warnings[0]
    tried = len(fptai_server.posts)
    assert tried == 2  # the first try and one retry

    # the next text: FPT.AI is not asked again during its back-off
    second = r.render(RenderRequest("Một thông báo khác.", title="t"))
    assert second.record.engine == "espeak"
    assert len(fptai_server.posts) == tried
    assert "fptai vừa không kết nối được" in second.warnings[0]
    assert all(API_KEY not in w for w in first.warnings + second.warnings)


def test_the_last_engine_error_is_the_answer(tmp_path):
    r = renderer(tmp_path, AudioSettings(engine="gtts"), gtts=dead_gtts())
    with pytest.raises(EngineUnavailable, match=r"127\.0\.0\.1:9"):
        r.render(RenderRequest(TEXT, title="t"))


def test_an_engine_whose_package_is_missing_is_passed_over(tmp_path, monkeypatch, espeak_ok):
    from broadcaster import tts

    monkeypatch.setitem(tts.ENGINES, "piper", "broadcaster.tts.not_installed:Nothing")
    r = renderer(tmp_path, AudioSettings(engines=("piper", "espeak")))
    result = r.render(RenderRequest(TEXT, title="t"))
    assert result.record.engine == "espeak"
    assert result.warnings == ("piper không dùng được: chưa cài thư viện.",)
    alone = renderer(tmp_path, AudioSettings(engine="piper"))
    with pytest.raises(EngineUnavailable, match="chưa được cài"):
        alone.render(RenderRequest(TEXT, title="t"))


def test_auto_takes_piper_once_a_voice_is_installed(tmp_path, voices_dir, espeak_ok):
    request = RenderRequest(TEXT, title="t")
    without = AudioSettings(gtts_url=CLOSED, piper_voices_dir=tmp_path / "no-voices")
    offline = renderer(tmp_path, without, gtts=dead_gtts()).render(request)
    assert (offline.record.engine, offline.record.requested_engine) == ("espeak", "auto")
    with_voice = AudioSettings(gtts_url=CLOSED, piper_voices_dir=voices_dir)
    neural = renderer(tmp_path, with_voice, gtts=dead_gtts()).render(request)
    assert (neural.record.engine, neural.record.requested_engine) == ("piper", "auto")


# -- the voice choice ---------------------------------------------------------------


def test_a_choice_is_read_by_its_engine_and_is_part_of_the_key(tmp_path, fptai_server):
    settings = AudioSettings(engines=("fptai", "espeak"), fptai_api_key=API_KEY)
    r = renderer(tmp_path, settings, fptai=fptai(fptai_server))
    plain = r.render(RenderRequest(TEXT, title="t"))
    assert (plain.record.engine, plain.record.voice) == ("fptai", "banmai")
    chosen = r.render(RenderRequest(TEXT, title="t", voice="fptai:linhsan"))
    assert (chosen.record.engine, chosen.record.voice) == ("fptai", "linhsan")
    assert not chosen.cached and chosen.record.sha256 != plain.record.sha256
    assert [p.headers.get("voice") for p in fptai_server.posts] == ["banmai", "linhsan"]
    # asked again: the same file, FPT.AI not asked
    again = r.render(RenderRequest(TEXT, title="t", voice="fptai:linhsan"))
    assert again.cached and len(fptai_server.posts) == 2


def test_a_choice_for_another_engine_leaves_this_one_its_default_but_keys_apart(
    tmp_path, espeak_ok
):
    r = renderer(tmp_path, AudioSettings(engine="espeak"))
    plain = r.render(RenderRequest(TEXT, title="t"))
    other = r.render(RenderRequest(TEXT, title="t", voice="fptai:linhsan"))
    assert other.record.voice == plain.record.voice == "vi"
    assert other.record.sha256 != plain.record.sha256
    south = r.render(RenderRequest(TEXT, title="t", voice="espeak:vi-vn-x-south"))
    assert south.record.voice == "vi-vn-x-south"


def test_a_stored_choice_whose_voice_is_gone_reads_with_the_default(tmp_path, espeak_ok):
    r = renderer(tmp_path, AudioSettings(engine="espeak"))
    result = r.render(RenderRequest(TEXT, title="t", voice="espeak:vi-gone"))
    assert result.record.voice == "vi"
    assert result.warnings == ("espeak không còn giọng 'vi-gone'; đọc bằng giọng mặc định.",)
    # asked for now (not stored), an unknown voice is an error
    with pytest.raises(InvalidInput, match="vi-gone"):
        r.render(RenderRequest(TEXT, title="t"), voice="vi-gone")


def test_a_bare_voice_goes_to_the_engine_that_has_it(tmp_path, espeak_ok):
    r = renderer(tmp_path, AudioSettings(engines=("gtts", "espeak")), gtts=dead_gtts())
    result = r.render(RenderRequest(TEXT, title="t"), voice="vi-vn-x-central")
    assert (result.record.engine, result.record.voice) == ("espeak", "vi-vn-x-central")
    with pytest.raises(InvalidInput, match="không có trong bộ máy nào"):
        r.render(RenderRequest(TEXT, title="t"), voice="linhsan")


def test_cached_first_serves_what_the_order_already_made(tmp_path, fptai_server, espeak_ok):
    settings = AudioSettings(engines=("fptai", "espeak"), fptai_api_key=API_KEY)
    fptai_server.enqueue(*[error(503)] * 2)
    r = renderer(tmp_path, settings, fptai=fptai(fptai_server))
    made = r.render(RenderRequest(TEXT, title="t"))
    assert made.record.engine == "espeak"
    fresh = renderer(tmp_path, settings, fptai=fptai(fptai_server))  # no back-off remembered
    heard = fresh.render(RenderRequest(TEXT, title="t"), cached_first=True)
    assert heard.cached and heard.record.sha256 == made.record.sha256
    assert len(fptai_server.posts) == 2


def test_choices_checked_against_the_configured_engines(voices_dir):
    settings = AudioSettings(
        engines=("fptai", "piper", "espeak"), fptai_api_key=API_KEY, piper_voices_dir=voices_dir
    )
    assert parse_choice("") is None and check_choice(settings, "  ") is None
    assert check_choice(settings, "fptai:linhsan") == "fptai:linhsan"
    assert check_choice(settings, f"piper:{JOE}") == f"piper:{JOE}"
    for bad, message in [
        ("linhsan", "không đúng dạng"),
        ("vbee:x", "không đúng dạng"),
        ("gtts:vi", "không có trong thứ tự"),
        ("fptai:nobody", "Giọng 'nobody' không có trong bộ máy 'fptai'"),
        ("piper:vi_VN-absent", "Giọng 'vi_VN-absent' không có"),
    ]:
        with pytest.raises(InvalidInput, match=message) as caught:
            check_choice(settings, bad)
        assert caught.value.field == "voice"
    groups = voice_groups(settings)
    assert [g.engine for g in groups] == ["fptai", "piper", "espeak"]
    assert [v for v, _ in groups[1].voices] == [f"piper:{JOE}"]
    assert "espeak:vi-vn-x-south" in {v for v, _ in groups[2].voices}
    assert all(description for g in groups for _, description in g.voices)


def test_who_spoke_in_words(voices_dir):
    fpt = build_engine("fptai", AudioSettings())
    assert speaker(fpt, "fptai", "banmai").startswith("FPT.AI — ")
    assert "banmai" not in speaker(fpt, "fptai", "banmai")  # the description, not the id
    piper = build_engine("piper", AudioSettings(piper_voices_dir=voices_dir))
    assert speaker(piper, "piper", JOE) == f"piper — {JOE}"
    assert speaker(None, "gtts", "vi") == "gTTS"
    assert speaker(None, "espeak", "vi") == "espeak-ng"
    espeak = build_engine("espeak")
    assert speaker(espeak, "espeak", "vi") == "espeak-ng"
    south = next(v.description for v in espeak.voices() if v.id == "vi-vn-x-south")
    assert speaker(espeak, "espeak", "vi-vn-x-south") == f"espeak-ng — {south}"
