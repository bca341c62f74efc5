"""``broadcaster scripts record``: a recording as a new version or a new script, from the shell."""

from __future__ import annotations

import json

import pytest

from tests import recordings as R

PASSWORD = "mat-khau-thu"
AS_LAN = ["--user", "lan", "--password", PASSWORD]
AS_HUNG = ["--user", "hung", "--password", PASSWORD]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return R.speech_wav(tmp_path_factory.mktemp("speech"))


@pytest.fixture
def staff(cli):
    assert cli("units", "import", "--province", "ha tinh").exit_code == 0
    for name, role in [("lan", "editor"), ("hung", "approver")]:
        r = cli("users", "add", name, "--role", role, "--scope", "Hà Tĩnh", "--password", PASSWORD)
        assert r.exit_code == 0, r.output


def test_record_a_new_script_then_a_new_version_and_approve_it(cli, staff, speech, tmp_path):
    phone = R.encode(speech, tmp_path / "chu-tich", "amr")
    transcript = tmp_path / "loi.txt"
    transcript.write_text("Kính thưa bà con, đây là lời của chủ tịch xã.", encoding="utf-8")
    created = cli(
        "scripts", "record", "loi-chu-tich", str(phone), "--new", "--unit", "42",
        "--title", "Lời chủ tịch xã", "--transcript-file", str(transcript), *AS_LAN,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "phiên bản 1 của 'loi-chu-tich'" in created.output
    assert "Đang đọc và đo bản ghi" in created.output  # the progress, on stderr
    # AMR is 8 kHz: warned, never silently
    assert "Cảnh báo: Tần số lấy mẫu thấp (8000 Hz" in created.output
    assert cli("scripts", "submit", "loi-chu-tich", *AS_LAN).exit_code == 0
    assert cli("scripts", "approve", "loi-chu-tich", *AS_HUNG).exit_code == 0

    better = R.encode(speech, tmp_path / "ghi-lai", "m4a")
    again = cli(
        "scripts", "record", "loi-chu-tich", str(better), "--transcript", "Lời mới.", *AS_LAN
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "phiên bản 2" in again.output and "Cảnh báo" not in again.output
    shown = cli("scripts", "show", "loi-chu-tich")
    assert "Bản ghi âm:  ghi-lai.m4a" in shown.output and "Lời mới." in shown.output
    listing = json.loads(cli("scripts", "list", "--json").output)
    (row,) = [r for r in listing if r["slug"] == "loi-chu-tich"]
    assert (row["latest_version"], row["approved_version"], row["state"]) == (2, 1, "draft")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["khong-co", "{file}"], "Không có tin bài 'khong-co'"),
        (["loi", "/khong/co/tep.mp3", "--new", "--title", "T"], "Không thấy tệp ghi âm"),
        (["loi", "{text}", "--new", "--unit", "42", "--title", "T"], "không phải âm thanh"),
        (["loi", "{file}", "--new"], "Cần tiêu đề"),
        (["loi", "{file}", "--unit", "42"], "--unit chỉ dùng khi tạo tin bài mới"),
        (["loi", "{file}", "--new", "--title", "T", "--transcript", "a", "--transcript-file",
          "{text}"], "Chỉ dùng một trong"),
    ],
    ids=["unknown-script", "missing-file", "not-audio", "no-title", "unit-without-new", "two"],
)  # fmt: skip
def test_record_refuses_clearly(cli, staff, speech, tmp_path, args, message):
    file = R.encode(speech, tmp_path / "ghi-am", "mp3")
    text = tmp_path / "van-ban.mp3"
    text.write_text("không phải âm thanh\n" * 30, encoding="utf-8")
    args = [a.format(file=file, text=text) for a in args]
    result = cli("scripts", "record", *args, *AS_LAN)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert R.files_under(tmp_path / "audio") == []


def test_a_refused_recording_names_the_file_argument(cli, staff, tmp_path):
    silent = R.silent(tmp_path / "im-lang.mp3")
    result = cli(
        "scripts", "record", "im-lang", str(silent), "--new", "--unit", "42", "--title", "T",
        *AS_LAN,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "im lặng" in result.output and "(FILE)" in result.output
