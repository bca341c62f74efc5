"""The FPT.AI engine against a loopback fake of its documented v5 service (no internet)."""

from __future__ import annotations

import json
import logging
import random
import socket
import subprocess
from dataclasses import asdict

import imageio_ffmpeg
import pytest

from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts import build_engine
from broadcaster.tts.base import EngineUnavailable, TtsError
from broadcaster.tts.fptai import POLL_FIRST, FptAiEngine, looks_like_mp3, speed_level
from tests.tts.fptai_server import (
    API_KEY,
    FILES_PATH,
    FakeFptAi,
    error,
    fptai_server_fixture,  # noqa: F401  (provides the fptai_server fixture)
    hang,
    not_audio,
    refusal,
    tone_mp3,
)

PIECE = "Thông báo! Ngày mai, xã cắt điện từ 7 giờ đến 11 giờ."


class Sleeps(list):
    """A stand-in for time.sleep that only writes down what it was asked."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def engine(fptai_server, sleeps):
    engine = FptAiEngine(
        api_key=API_KEY, url=fptai_server.url, sleep=sleeps, rng=random.Random(7), timeout=2.0
    )
    yield engine
    engine.close()


def decodes_as_mp3(data: bytes) -> bool:
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "mp3", "-i", "-", "-f", "null", "-"],
        input=data,
        capture_output=True,
        timeout=30,
    )
    return done.returncode == 0 and not done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the request and the asynchronous answer -------------------------------------------


def test_a_piece_is_posted_with_its_headers_and_the_file_fetched_without_the_key(
    engine, fptai_server
):
    audio = engine.synthesise(PIECE, "lannhi", 1.0)

    assert audio.container == "mp3" and audio.pcm_rate is None
    assert audio.data == tone_mp3() and decodes_as_mp3(audio.data)
    [post] = fptai_server.posts
    assert post.path == "/hmi/tts/v5"
    assert post.text == PIECE  # the UTF-8 body, verbatim
    assert post.headers["api-key"] == API_KEY
    assert (post.headers["voice"], post.headers["speed"], post.headers["format"]) == (
        "lannhi",
        "0",
        "mp3",
    )
    polls = fptai_server.polls
    assert len(polls) == 3  # the fake's file answers 404 twice before it is ready
    assert all(poll.api_key is None for poll in polls)  # the file store never sees the key


@pytest.mark.parametrize(
    ("factor", "level"),
    [
        (0.5, -3),
        (0.63, -2),
        (0.8, -1),
        (0.9, 0),
        (1.0, 0),
        (1.12, 0),
        (1.25, 1),
        (1.6, 2),
        (2.0, 3),
    ],
)
def test_the_speed_factor_becomes_fpts_level(engine, fptai_server, factor, level):
    assert speed_level(factor) == level
    engine.synthesise(PIECE, "banmai", factor)
    assert fptai_server.posts[0].headers["speed"] == str(level)


def test_the_file_is_polled_until_ready_with_growing_pauses(engine, fptai_server, sleeps):
    fptai_server.pending_polls = 4

    assert engine.synthesise(PIECE, "banmai", 1.0).data == tone_mp3()

    assert len(fptai_server.polls) == 5
    assert sleeps == [POLL_FIRST, POLL_FIRST * 1.5, POLL_FIRST * 1.5**2, POLL_FIRST * 1.5**3]


def test_a_file_never_ready_gives_up_at_the_deadline(fptai_server, sleeps):
    fptai_server.pending_polls = 10_000
    engine = FptAiEngine(api_key=API_KEY, url=fptai_server.url, sleep=sleeps, poll_deadline=30)

    with pytest.raises(EngineUnavailable, match="sau 30 giây"):
        engine.synthesise(PIECE, "banmai", 1.0)

    assert sum(sleeps) <= 30 and len(fptai_server.polls) == len(sleeps) + 1 < 10


def test_a_short_piece_is_padded_to_the_services_minimum(engine, fptai_server):
    engine.synthesise("Ừ", "banmai", 1.0)
    assert fptai_server.posts[0].text == "Ừ.."


# -- retries and refusals ---------------------------------------------------------------


def test_429_waits_what_retry_after_asks_then_succeeds(engine, fptai_server, sleeps, caplog):
    fptai_server.pending_polls = 0
    fptai_server.enqueue(error(429, retry_after="3"), error(429, retry_after="1"))
    with caplog.at_level(logging.WARNING, logger="broadcaster.tts.fptai"):
        assert engine.synthesise(PIECE, "banmai", 1.0).data == tone_mp3()

    assert len(fptai_server.posts) == 3
    assert sleeps == [3.0, 1.0]
    assert "attempt 1/5" in caplog.text and "429" in caplog.text


def test_429_without_retry_after_backs_off_exponentially_with_jitter(engine, fptai_server, sleeps):
    fptai_server.pending_polls = 0
    fptai_server.enqueue(error(429), error(429), error(429))
    engine.synthesise(PIECE, "banmai", 1.0)

    rng = random.Random(7)
    assert sleeps == [rng.uniform(0, 1.0), rng.uniform(0, 2.0), rng.uniform(0, 4.0)]


def test_persistent_429_makes_the_engine_unavailable(engine, fptai_server, sleeps):
    fptai_server.enqueue(*[error(429, retry_after="1")] * 5)

    with pytest.raises(EngineUnavailable, match="sau 5 lần thử") as caught:
        engine.synthesise(PIECE, "banmai", 1.0)

    assert "429" in str(caught.value)
    assert len(fptai_server.posts) == 5 and sleeps == [1.0] * 4
    assert fptai_server.polls == []


def test_a_retry_after_beyond_the_cap_gives_up_at_once(engine, fptai_server, sleeps):
    fptai_server.enqueue(error(429, retry_after="3600"))

    with pytest.raises(EngineUnavailable, match="3600 giây"):
        engine.synthesise(PIECE, "banmai", 1.0)

    assert len(fptai_server.posts) == 1 and sleeps == []


def test_5xx_is_retried_then_succeeds(engine, fptai_server, sleeps):
    fptai_server.pending_polls = 0
    fptai_server.enqueue(error(500), error(503))

    assert decodes_as_mp3(engine.synthesise(PIECE, "banmai", 1.0).data)
    assert len(fptai_server.posts) == 3 and len(sleeps) == 2


def test_persistent_5xx_makes_the_engine_unavailable(engine, fptai_server):
    fptai_server.enqueue(*[error(502)] * 5)
    with pytest.raises(EngineUnavailable, match="HTTP 502"):
        engine.synthesise(PIECE, "banmai", 1.0)
    assert len(fptai_server.posts) == 5


def test_a_refusal_of_the_piece_is_a_clear_tts_error(engine, fptai_server, sleeps):
    fptai_server.enqueue(refusal(3, "Text contains unsupported characters"))

    with pytest.raises(TtsError) as caught:
        engine.synthesise(PIECE, "banmai", 1.0)

    assert not isinstance(caught.value, EngineUnavailable)  # another engine would not help
    assert caught.value.params["code"] == 3
    assert "Text contains unsupported characters" in str(caught.value)
    assert len(fptai_server.posts) == 1 and sleeps == [] and fptai_server.polls == []


def test_a_refusal_about_the_quota_makes_the_engine_unavailable(engine, fptai_server):
    fptai_server.enqueue(refusal(7, "Your account has exceeded its character quota"))
    with pytest.raises(EngineUnavailable, match="hạn mức"):
        engine.synthesise(PIECE, "banmai", 1.0)


def test_a_wrong_key_makes_the_engine_unavailable(fptai_server, sleeps):
    engine = FptAiEngine(api_key="not-the-key", url=fptai_server.url, sleep=sleeps)

    with pytest.raises(EngineUnavailable, match="HTTP 401") as caught:
        engine.synthesise(PIECE, "banmai", 1.0)

    assert "not-the-key" not in str(caught.value) and sleeps == []


def test_a_file_that_is_not_audio_is_a_tts_error(engine, fptai_server):
    fptai_server.pending_polls = 0
    fptai_server.enqueue(not_audio())
    with pytest.raises(TtsError, match="không phải âm thanh MP3"):
        engine.synthesise(PIECE, "banmai", 1.0)


def test_a_slow_answer_times_out_and_the_retries_are_bounded(fptai_server, sleeps):
    engine = FptAiEngine(
        api_key=API_KEY, url=fptai_server.url, sleep=sleeps, timeout=0.3, retries=1
    )
    fptai_server.enqueue(hang(30), hang(30))

    with pytest.raises(EngineUnavailable, match=r"không trả lời trong 0\.3 giây"):
        engine.synthesise(PIECE, "banmai", 1.0)

    assert len(fptai_server.posts) == 2 and len(sleeps) == 1


def test_a_refused_connection_is_unavailable_at_once(sleeps):
    engine = FptAiEngine(
        api_key=API_KEY, url=f"http://127.0.0.1:{free_port()}/hmi/tts/v5", sleep=sleeps
    )
    with pytest.raises(EngineUnavailable, match="Không kết nối được"):
        engine.synthesise(PIECE, "banmai", 1.0)
    assert sleeps == []
    assert not engine.reachable().usable


# -- what it says about itself ----------------------------------------------------------


def test_without_a_key_the_engine_says_so_and_sends_nothing(fptai_server):
    engine = FptAiEngine(api_key=None, url=fptai_server.url)

    assert not engine.availability().usable
    assert "BROADCASTER_FPTAI_API_KEY" in engine.availability().detail
    assert not engine.reachable().usable
    with pytest.raises(EngineUnavailable, match="BROADCASTER_FPTAI_API_KEY"):
        engine.synthesise(PIECE, "banmai", 1.0)
    assert fptai_server.requests == []


def test_reachable_asks_the_service_without_the_key_and_without_synthesising(engine, fptai_server):
    answer = engine.reachable()

    assert answer.usable and "HTTP 401" in answer.detail
    [probe] = fptai_server.requests
    assert probe.method == "HEAD" and probe.api_key is None


def test_voices_cover_the_three_regions_and_both_genders(engine):
    voices = {v.id: v.description for v in engine.voices()}
    for region in ("miền Bắc", "miền Trung", "miền Nam"):
        assert any(region in d and "nữ" in d for d in voices.values())
        assert any(region in d and "nam," in d for d in voices.values())
    assert engine.check_voice(None) == "banmai"
    with pytest.raises(InvalidInput, match="minhquang"):
        engine.check_voice("vi")


def test_the_configured_voice_is_the_default_and_an_unknown_one_is_refused():
    settings = AudioSettings(fptai_api_key=API_KEY, fptai_voice="giahuy")
    assert build_engine("fptai", settings).check_voice(None) == "giahuy"
    with pytest.raises(InvalidInput) as caught:
        FptAiEngine(api_key=API_KEY, voice="alloy")
    assert caught.value.field == "fptai_voice"


def test_looks_like_mp3():
    tone = tone_mp3()
    assert tone.startswith(b"ID3") and looks_like_mp3(tone)
    size = 0
    for byte in tone[6:10]:
        size = size << 7 | byte
    bare = tone[10 + size :]  # the first MPEG frame, with no tag before it
    assert bare[0] == 0xFF and looks_like_mp3(bare)
    assert not looks_like_mp3(tone[: 10 + size] + b"<html>")  # a tag before something else
    assert not looks_like_mp3(b"<html>nope</html>")
    assert not looks_like_mp3(b"\xff\xff\xff\xff")  # a sync with impossible fields
    assert not looks_like_mp3(b"")


# -- through the pipeline ---------------------------------------------------------------


def long_text() -> str:
    clause = "bà con thôn Đông chú ý lịch tiêm phòng cho đàn gia súc tại nhà văn hoá thôn"
    long_sentence = ", ".join([clause] * 25) + "."  # about 2,000 characters, one sentence
    return f"Thông báo của Ủy ban nhân dân xã. {long_sentence}\n\nXin cảm ơn bà con."


def test_the_pipeline_splits_long_text_within_the_limit_and_caches_the_pieces(
    tmp_path, fptai_server
):
    fptai_server.pending_polls = 0  # the engine is built from settings, with real sleeps
    settings = AudioSettings(engine="fptai", fptai_api_key=API_KEY, fptai_url=fptai_server.url)
    renderer = AudioRenderer(tmp_path / "audio", settings)

    result = renderer.render(RenderRequest(long_text(), title="Tiêm phòng"))

    posts = fptai_server.posts
    assert len(posts) == 4  # a short sentence, the long one cut in two, the thanks
    assert all(len(p.text) <= FptAiEngine.max_chars for p in posts)
    assert sum(len(p.text) for p in posts) > FptAiEngine.max_chars
    assert result.record.engine == "fptai" and result.path.suffix == ".mp3"
    assert decodes_as_mp3(result.path.read_bytes())

    # another title makes another asset, but every piece comes from the piece cache
    again = AudioRenderer(tmp_path / "audio", settings).render(
        RenderRequest(long_text(), title="Tiêm phòng (nhắc lại)")
    )
    assert not again.cached and again.record.sha256 != result.record.sha256
    assert len(fptai_server.posts) == len(posts)


def test_the_key_never_leaves_the_request_header(tmp_path, fptai_server, caplog, sleeps):
    fptai_server.pending_polls = 0
    engine = FptAiEngine(api_key=API_KEY, url=fptai_server.url, sleep=sleeps, timeout=0.3)
    settings = AudioSettings(engine="fptai", fptai_api_key=API_KEY, fptai_url=fptai_server.url)
    renderer = AudioRenderer(tmp_path / "audio", settings, {"fptai": engine})
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        result = renderer.render(RenderRequest("Xin chào bà con.", title="t"))
        for behaviours in (
            [error(429, retry_after="1")] * 5,
            [error(503)] * 5,
            [hang(30)] * 5,
            [error(429, retry_after="9999")],
            [refusal(9, f"Invalid api key {API_KEY}")],  # a service echoing the key back
            [refusal(3, "bad text")],
            [not_audio()],
        ):
            fptai_server.enqueue(*behaviours)
            with pytest.raises(TtsError) as caught:
                engine.synthesise(PIECE, "banmai", 1.0)
            messages += [str(caught.value), repr(caught.value.params)]
    with pytest.raises(EngineUnavailable) as caught:
        FptAiEngine(api_key="wrong", url=fptai_server.url, sleep=sleeps).synthesise(
            PIECE, "banmai", 1.0
        )
    messages.append(str(caught.value))

    assert "***" in " ".join(messages)  # the echoed key was blanked out
    public = [
        caplog.text,
        *messages,
        repr(engine),
        str(vars(result.record)),
        json.dumps(asdict(result.record), default=str),
        *(p.read_text(errors="replace") for p in (tmp_path / "audio").rglob("*.json")),
        repr(settings),
        engine.describe("banmai", 1.0),
        engine.availability().detail,
    ]
    assert all(API_KEY not in text for text in public)
    assert all(poll.api_key is None for poll in fptai_server.polls)
    assert FILES_PATH in fptai_server.polls[0].path


def test_the_fake_checks_what_the_docs_require():
    with FakeFptAi() as server:
        engine = FptAiEngine(api_key=API_KEY, url=server.url, sleep=lambda s: None)
        server.pending_polls = 0
        engine.synthesise(PIECE, "minhquang", 0.5)
        assert server.posts[0].headers["voice"] == "minhquang"
        assert server.posts[0].headers["speed"] == "-3"
