"""The abbreviation table: shipped data, deployment overrides, contexts and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.errors import InvalidInput
from broadcaster.text import AbbreviationTable, NormaliseOptions, load_abbreviations, normalise_vi
from broadcaster.text.abbreviations import parse_abbreviations, spell_letters


def write(tmp_path: Path, text: str, name: str = "extra.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_table_is_data_with_many_entries() -> None:
    table = load_abbreviations()
    assert isinstance(table, AbbreviationTable)
    assert len({e.abbreviation for e in table.entries}) >= 120
    for key in ["UBND", "HĐND", "MTTQ", "TTHC", "DVCTT", "CCHC", "BPMC", "GCNQSDĐ", "ĐBSCL"]:
        assert table.readings(key), key


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("UBND", "Ủy ban nhân dân"),
        ("HĐND", "Hội đồng nhân dân"),
        ("TTĐT", "thông tin điện tử"),
        ("ĐTN", "Đoàn Thanh niên"),
        ("TN&MT", "Tài nguyên và Môi trường"),
        ("CT-XH", "chính trị, xã hội"),
        ("BHYT", "bảo hiểm y tế"),
        ("PCCC", "phòng cháy, chữa cháy"),
    ],
)
def test_default_expansions(written: str, spoken: str) -> None:
    assert normalise_vi(written) == spoken


def test_matching_is_whole_word_and_case_sensitive() -> None:
    table = load_abbreviations()
    assert table.expand("ĐTN và ĐT") == "Đoàn Thanh niên và ĐT"
    assert table.expand("ubnd UBNDX XUBND") == "ubnd UBNDX XUBND"
    assert table.expand("(UBND)") == "(Ủy ban nhân dân)"


def test_context_before_and_after() -> None:
    table = load_abbreviations()
    assert table.expand("CV số 12") == "công văn số 12"
    assert table.expand("CV xin việc") == "CV xin việc"
    assert table.expand("ĐT: 0912") == "điện thoại: 0912"
    assert table.expand("Sở GD&ĐT") == "Sở Giáo dục và Đào tạo"
    assert table.expand("GD và ĐT") == "GD và Đào tạo"
    assert table.expand("TB số 5") == "thông báo số 5"
    assert table.expand("điểm TB") == "điểm trung bình"


def test_doc_context_only_inside_document_codes() -> None:
    table = load_abbreviations()
    assert table.read_code("TB") == "thông báo"
    assert table.read_code("BTC") == "Bộ Tài chính"
    assert table.expand("BTC hội thi") == "Ban Tổ chức hội thi"
    assert table.read_code("XYZ") is None


def test_extra_file_overrides_and_adds(tmp_path: Path) -> None:
    extra = write(
        tmp_path,
        "# deployment additions\n"
        "UBND\tỦy ban nhân dân xã\n"
        "HTXDV\thợp tác xã dịch vụ\n"
        "\n"
        "KP  khu phố số  before:\\s+[0-9]\n",
    )
    table = load_abbreviations(extra)
    assert table.expand("UBND và HTXDV") == "Ủy ban nhân dân xã và hợp tác xã dịch vụ"
    assert table.expand("KP 5") == "khu phố số 5"
    assert table.expand("KP Bắc") == "khu phố Bắc"  # default fallback still there
    assert load_abbreviations().expand("UBND") == "Ủy ban nhân dân"  # default untouched


def test_extra_table_is_used_by_the_normaliser(tmp_path: Path) -> None:
    table = load_abbreviations(write(tmp_path, "ĐBQH\tđại biểu Quốc hội\n"))
    options = NormaliseOptions(abbreviations=table)
    assert normalise_vi("Tiếp xúc cử tri với ĐBQH.", options) == (
        "Tiếp xúc cử tri với đại biểu Quốc hội."
    )


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("UBND\tỦy ban nhân dân\nHTX\n", 2, "cần dạng"),
        ("# c\n\nA\tb\tc\td\n", 3, "quá nhiều cột"),
        ("KP\tkhu phố\tsomewhere\n", 1, "không có ngữ cảnh"),
        ("KP\tkhu phố\tbefore:(\n", 1, "biểu thức chính quy"),
        ("KP\tkhu phố\tbefore:\n", 1, "không có ngữ cảnh"),
    ],
)
def test_malformed_line_names_file_and_line(
    tmp_path: Path, content: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InvalidInput) as excinfo:
        load_abbreviations(path)
    assert f"{path}:{line}:" in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_non_utf8_file_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tsv"
    # A file saved by an old Windows editor: "khu phô" in Latin-1 on line 3.
    path.write_bytes("UBND\tỦy ban\nHND\tHội Nông dân\n".encode() + b"KP\tkhu ph\xf4\n")
    with pytest.raises(InvalidInput) as excinfo:
        load_abbreviations(path)
    assert f"{path}:3:" in str(excinfo.value)
    assert "UTF-8" in str(excinfo.value)


def test_missing_file_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="không đọc được"):
        load_abbreviations(tmp_path / "nope.tsv")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeffĐBQH\tđại biểu Quốc hội\n".encode())
    assert load_abbreviations(path).expand("ĐBQH") == "đại biểu Quốc hội"


def test_decomposed_input_is_matched_after_nfc() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "HĐND xã")
    assert normalise_vi(decomposed) == "Hội đồng nhân dân xã"


def test_parse_and_spell() -> None:
    table = parse_abbreviations("A\tá\n", "mem")
    assert table.entries[0].source == "mem:1"
    assert spell_letters("UBND") == "u bê en đê"
    assert spell_letters("QĐ") == "quy đê"
