"""Cutting text into spoken pieces: limits respected, words never cut, pauses right."""

from __future__ import annotations

import pytest

from broadcaster.text.split import Pause, Piece, split_for_speech

TEXT = (
    "Kính thưa toàn thể nhân dân xã Cẩm Xuyên!\n\n"
    "Để nộp hồ sơ trực tuyến, bà con truy cập Cổng dịch vụ công quốc gia, đăng ký tài khoản, "
    "chọn thủ tục cần làm, điền thông tin và tải lên bản chụp giấy tờ. Rất đơn giản.\n\n"
    "Xin cảm ơn bà con đã lắng nghe."
)


def test_without_a_limit_one_piece_per_sentence():
    assert split_for_speech(TEXT) == [
        Piece("Kính thưa toàn thể nhân dân xã Cẩm Xuyên!", Pause.PARAGRAPH),
        Piece(
            "Để nộp hồ sơ trực tuyến, bà con truy cập Cổng dịch vụ công quốc gia, đăng ký tài "
            "khoản, chọn thủ tục cần làm, điền thông tin và tải lên bản chụp giấy tờ.",
            Pause.SENTENCE,
        ),
        Piece("Rất đơn giản.", Pause.PARAGRAPH),
        Piece("Xin cảm ơn bà con đã lắng nghe.", Pause.PARAGRAPH),
    ]


def test_a_limit_cuts_at_phrases_and_keeps_every_word():
    pieces = split_for_speech(TEXT, max_chars=100)
    assert all(len(p.text) <= 100 for p in pieces)
    assert " ".join(p.text for p in pieces).split() == TEXT.split()
    long_sentence = [p for p in pieces if "Cổng" in p.text or "điền" in p.text]
    assert [p.pause_after for p in long_sentence] == [Pause.PHRASE, Pause.SENTENCE]
    assert long_sentence[0].text.endswith(",")


def test_a_phrase_longer_than_the_limit_is_cut_between_words():
    sentence = " ".join(["hồ sơ trực tuyến"] * 20) + "."
    pieces = split_for_speech(sentence, max_chars=40)
    assert all(len(p.text) <= 40 for p in pieces)
    assert " ".join(p.text for p in pieces) == sentence
    assert pieces[0].pause_after is Pause.NONE and pieces[-1].pause_after is Pause.PARAGRAPH


def test_an_overlong_token_is_cut_rather_than_refused():
    pieces = split_for_speech("a" * 250, max_chars=100)
    assert [len(p.text) for p in pieces] == [100, 100, 50]


@pytest.mark.parametrize("text", ["", "   ", "- • *", "\n\n\n"])
def test_nothing_to_say(text):
    assert split_for_speech(text, 100) == []


def test_limit_too_small_is_a_programming_error():
    with pytest.raises(ValueError):
        split_for_speech(TEXT, max_chars=5)
