"""Script files: front matter, encodings, placeholders, and the shipped library."""

from __future__ import annotations

import unicodedata

import pytest

from broadcaster.errors import InvalidInput
from broadcaster.library import PLACEHOLDERS, LibraryProblems, parse_script, read_library
from tests.conftest import REPO

GOOD = """---
title: "Dịch vụ công trực tuyến"
tags: [dich-vu-cong, CCHC]
placeholders: [ten_xa]
campaign: Tuyên truyền DVCTT
---

Kính thưa bà con {ten_xa}!

Nội dung.
"""


def parse(text: str | bytes, path: str = "x.md"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_script(raw, path, default_slug="x")


def test_a_good_file():
    s = parse(GOOD)
    assert s.title == "Dịch vụ công trực tuyến"
    assert s.tags == ("dich-vu-cong", "cchc")
    assert s.placeholders == ("ten_xa",)
    assert s.campaign == "Tuyên truyền DVCTT"
    assert s.body == "Kính thưa bà con {ten_xa}!\n\nNội dung."
    assert s.slug == "x"


def test_bom_crlf_and_decomposed_text_become_one_nfc_form():
    decomposed = unicodedata.normalize("NFD", GOOD).replace("\n", "\r\n")
    s = parse(b"\xef\xbb\xbf" + decomposed.encode("utf-8"))
    assert s == parse(GOOD)
    assert unicodedata.is_normalized("NFC", s.body)
    assert s.content_sha256 == parse(GOOD).content_sha256


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: x\n\nbody", r"x\.md:1: thiếu phần đầu"),
        ("---\ntitle: x\nbody without end", r"x\.md:1: .*không có dòng '---' đóng"),
        ('---\ntitle: "x\ntags: [a\n---\nbody', r"x\.md:\d+: phần đầu sai cú pháp YAML"),
        ("---\ntags: [a]\n---\nbody", r"x\.md:1: thiếu 'title'"),
        ("---\ntitle: x\ntitel: y\n---\nbody", r"x\.md:3: khóa 'titel'.*có phải 'title'"),
        ("---\ntitle: x\n---\n\n  \n", r"x\.md:4: nội dung tin bài rỗng"),
        ("---\ntitle: x\n---\nMột\nHai {ten_huyen}\n", r"x\.md:5: chỗ điền '\{ten_huyen\}'"),
        ("---\ntitle: x\n---\n{ten_xa }", r"bỏ khoảng trắng"),
        (
            "---\ntitle: x\nplaceholders: [ten_tinh]\n---\n{ten_xa}",
            r"x\.md:3: placeholders: nội dung dùng ten_xa nhưng chưa khai báo; "
            r"khai báo ten_tinh nhưng nội dung không dùng",
        ),
        ("---\ntitle: x\ntags: [Dịch vụ]\n---\nbody", r"x\.md:3: thẻ 'dịch vụ'"),
        ("---\n- a\n- b\n---\nbody", r"x\.md:2: phần đầu phải là"),
        ("---\ntitle: x\nslug: Có Dấu\n---\nbody", r"x\.md:3: mã tin bài"),
    ],
)
def test_malformed_files_name_the_line(text, message):
    with pytest.raises(InvalidInput, match=message):
        parse(text)


def test_non_utf8_file_names_the_line():
    # "Nôi dung" saved as Latin-1 by an old editor: 0xF4 is not valid UTF-8 here
    raw = GOOD.encode("utf-8").replace("Nội dung".encode(), b"N\xf4i dung")
    with pytest.raises(InvalidInput, match=r"x\.md:10: tệp không phải UTF-8"):
        parse(raw)


def test_folder_problems_are_all_reported_at_once(tmp_path):
    (tmp_path / "a.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.md").write_text("no header", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"---\ntitle: \xff\n---\nx")
    (tmp_path / "README.md").write_text("not a script", encoding="utf-8")
    with pytest.raises(LibraryProblems) as info:
        read_library(tmp_path)
    assert len(info.value.problems) == 2
    assert "b.md:1" in info.value.problems[0] and "c.txt:2" in info.value.problems[1]


def test_duplicate_slugs_in_a_folder(tmp_path):
    (tmp_path / "a.md").write_text(GOOD.replace("title:", "slug: same\ntitle:"), "utf-8")
    (tmp_path / "b.md").write_text(GOOD.replace("title:", "slug: same\ntitle:"), "utf-8")
    with pytest.raises(LibraryProblems, match="trùng với"):
        read_library(tmp_path)


def test_the_shipped_library():
    scripts = read_library(REPO / "scripts")
    assert len(scripts) >= 8
    for s in scripts:
        assert unicodedata.is_normalized("NFC", s.body)
        assert set(s.placeholders) <= set(PLACEHOLDERS)
        assert len(s.body.split()) >= 100, s.slug
        assert s.body.startswith("Kính thưa")
    assert len({s.slug for s in scripts}) == len(scripts)
