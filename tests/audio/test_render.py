"""The whole pipeline: text to a cached, mastered MP3, with real engines."""

from __future__ import annotations

import threading

import pytest

from broadcaster.audio.render import AudioRenderer, RenderRequest
from broadcaster.config import AudioSettings
from broadcaster.errors import InvalidInput
from broadcaster.tts.base import EngineAudio, TtsEngine, TtsError
from broadcaster.tts.gtts_engine import GttsEngine
from tests.audio.probe import ffprobe, loudness
from tests.tts.gtts_server import gtts_server_fixture  # noqa: F401

TEXT = (
    "Kính thưa toàn thể nhân dân xã Cẩm Xuyên!\n\n"
    "Từ ngày 15/6/2023, UBND xã hướng dẫn bà con nộp hồ sơ TTHC qua DVCTT. "
    "Mọi thắc mắc xin gọi đường dây nóng 0912 345 678."
)


class Counting(TtsEngine):
    """Wraps a real engine and counts its calls; optionally fails on the n-th piece."""

    def __init__(self, inner: TtsEngine, fail_on: int | None = None) -> None:
        self.inner, self.fail_on, self.calls = inner, fail_on, 0
        self.name = inner.name
        self.default_voice = inner.default_voice
        self.max_chars = inner.max_chars
        self.cache_pieces = inner.cache_pieces
        self._lock = threading.Lock()

    def availability(self):
        return self.inner.availability()

    def voices(self):
        return self.inner.voices()

    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        with self._lock:
            self.calls += 1
            if self.fail_on is not None and self.calls == self.fail_on:
                raise TtsError("hỏng giữa chừng")
        return self.inner.synthesise(text, voice, speed)


def renderer_with(tmp_path, espeak, **settings):
    engine = Counting(espeak)
    renderer = AudioRenderer(
        tmp_path / "audio", AudioSettings(engine="espeak", **settings), {"espeak": engine}
    )
    return renderer, engine


def files_in(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_text_becomes_a_broadcast_ready_mp3(tmp_path, espeak):
    renderer, engine = renderer_with(tmp_path, espeak)
    result = renderer.render(RenderRequest(TEXT, title="Nộp hồ sơ trực tuyến"))
    assert not result.cached and result.path.is_file()
    probe = ffprobe(result.path)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("mp3", 44_100, 1)
    assert probe.duration_s == pytest.approx(result.record.duration_ms / 1000, abs=0.15)
    assert probe.tags["title"] == "Nộp hồ sơ trực tuyến"
    lufs, peak = loudness(result.path)
    assert abs(lufs + 16) <= 1.0 and peak <= -1.0
    record = result.record
    assert (record.engine, record.requested_engine, record.voice) == ("espeak", "espeak", "vi")
    assert "Ủy ban nhân dân" in record.text and "UBND" not in record.text
    assert "không chín một hai" in record.text
    assert engine.calls == 3  # one piece per sentence


def test_the_same_content_is_never_synthesised_twice(tmp_path, espeak):
    renderer, engine = renderer_with(tmp_path, espeak)
    first = renderer.render(RenderRequest(TEXT, title="A"))
    calls = engine.calls
    again = renderer.render(RenderRequest(TEXT, title="A"))
    assert again.cached and again.record == first.record and engine.calls == calls
    # a different title is a different file (it is in the tags), synthesised anew
    other = renderer.render(RenderRequest(TEXT, title="B"))
    assert other.record.sha256 != first.record.sha256


def test_settings_that_change_the_sound_change_the_key(tmp_path, espeak):
    a, _ = renderer_with(tmp_path, espeak)
    b, _ = renderer_with(tmp_path, espeak, loudness_lufs=-20.0)
    c, _ = renderer_with(tmp_path, espeak, speed=1.2)
    keys = {r.render(RenderRequest("Xin chào bà con.", title="t")).record.sha256 for r in (a, b, c)}
    assert len(keys) == 3


def test_two_workers_asking_at_once_synthesise_once(tmp_path, espeak):
    renderer, engine = renderer_with(tmp_path, espeak)
    other = AudioRenderer(tmp_path / "audio", renderer.settings, {"espeak": engine})
    results, barrier = [], threading.Barrier(2)

    def work(r):
        barrier.wait()
        results.append(r.render(RenderRequest(TEXT, title="cùng lúc")))

    threads = [threading.Thread(target=work, args=(r,)) for r in (renderer, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2 and engine.calls == 3
    assert sorted(r.cached for r in results) == [False, True]
    assert results[0].record.sha256 == results[1].record.sha256


def test_a_failing_engine_never_poisons_the_cache(tmp_path, espeak):
    engine = Counting(espeak, fail_on=2)
    renderer = AudioRenderer(tmp_path / "audio", AudioSettings(engine="espeak"), {"espeak": engine})
    with pytest.raises(TtsError):
        renderer.render(RenderRequest(TEXT, title="x"))
    leftovers = [f for f in files_in(tmp_path / "audio") if not f.startswith("locks/")]
    assert leftovers == []
    result = renderer.render(RenderRequest(TEXT, title="x"))
    assert not result.cached and result.path.is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "không có chữ"),
        ("   \n\t ", "không có chữ"),
        ("... !!! ???", "không có chữ"),
        ("x" * 200_000, "quá giới hạn"),
        ("Kính thưa nhân dân {ten_xa}!", r"chỗ điền chưa thay: \{ten_xa\}"),
    ],
)
def test_bad_text_gives_a_clear_message_and_no_file(tmp_path, espeak, text, message):
    renderer, engine = renderer_with(tmp_path, espeak)
    with pytest.raises(InvalidInput, match=message):
        renderer.render(RenderRequest(text, title="t"))
    assert engine.calls == 0
    assert not [f for f in files_in(tmp_path) if f.endswith(".mp3")]


def test_control_characters_and_mixed_scripts_still_render(tmp_path, espeak):
    renderer, _ = renderer_with(tmp_path, espeak)
    result = renderer.render(
        RenderRequest("Thông\x00 báo\x07 khẩn: nước lũ lên 😀 北京 Zalo.", title="t")
    )
    assert "\x00" not in result.record.text and result.path.is_file()


def test_unknown_engine_voice_and_speed(tmp_path, espeak):
    renderer, _ = renderer_with(tmp_path, espeak)
    with pytest.raises(InvalidInput, match="Không có bộ máy đọc 'vbee'"):
        renderer.render(RenderRequest("Xin chào.", title="t"), engine="vbee")
    with pytest.raises(InvalidInput, match="Giọng 'vi-hue'"):
        renderer.render(RenderRequest("Xin chào.", title="t"), voice="vi-hue")
    with pytest.raises(InvalidInput, match="Tốc độ"):
        renderer.render(RenderRequest("Xin chào.", title="t"), speed=3.0)


def test_southern_voice_and_chime(tmp_path, espeak):
    plain, _ = renderer_with(tmp_path, espeak)
    chimed, _ = renderer_with(tmp_path, espeak, chime="generated")
    request = RenderRequest("Xin chào bà con.", title="t")
    a = plain.render(request, voice="vi-vn-x-south")
    b = chimed.render(request, voice="vi-vn-x-south")
    assert a.record.voice == "vi-vn-x-south"
    assert b.record.duration_ms > a.record.duration_ms + 1500  # two chimes and their gaps


def test_auto_uses_gtts_when_it_answers_and_caches_pieces(tmp_path, espeak, gtts_server):
    gtts = Counting(GttsEngine(base_url=gtts_server.url, pause=0, retries=1, backoff=0.01))
    renderer = AudioRenderer(tmp_path / "audio", AudioSettings(), {"gtts": gtts, "espeak": espeak})
    result = renderer.render(RenderRequest(TEXT, title="t"))
    assert (result.record.engine, result.record.requested_engine) == ("gtts", "auto")
    assert result.warnings == ()
    assert all(len(r.text) <= 100 for r in gtts_server.requests)
    assert len(gtts_server.requests) == gtts.calls >= 3
    # the same sentences in another announcement come from the piece cache
    calls = gtts.calls
    renderer.render(RenderRequest(TEXT, title="khác"))
    assert gtts.calls == calls


def test_auto_falls_back_offline_when_gtts_is_unreachable(tmp_path, espeak):
    dead = GttsEngine(base_url="http://127.0.0.1:9/", retries=1, backoff=0.01, pause=0)
    renderer = AudioRenderer(tmp_path / "audio", AudioSettings(), {"gtts": dead, "espeak": espeak})
    result = renderer.render(RenderRequest("Thông báo mất điện.", title="t"))
    assert (result.record.engine, result.record.requested_engine) == ("espeak", "auto")
    assert result.warnings and "ngoại tuyến" in result.warnings[0]
    # within the back-off period gTTS is not tried again
    second = renderer.render(RenderRequest("Thông báo có điện.", title="t"))
    assert second.record.engine == "espeak" and "vừa không kết nối" in second.warnings[0]
