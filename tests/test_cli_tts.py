"""``broadcaster tts`` end to end: the stdin contract, engines, synth and render."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.audio.probe import ffprobe
from tests.conftest import REPO

PASSWORD = "mat-khau-tts-1"


def test_normalize_reads_stdin_and_prints_one_line_per_line(cli):
    lines = ["UBND xã thông báo", "", "Gọi 0912 345 678 trước 8h15", "3 lần/tuần"]
    result = cli("tts", "normalize", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.output.split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    assert out[0] == "Ủy ban nhân dân xã thông báo"
    assert out[1] == ""
    assert "không chín một hai" in out[2] and "tám giờ mười lăm phút" in out[2]
    assert out[3] == "ba lần mỗi tuần"


def test_normalize_text_argument(cli):
    result = cli("tts", "normalize", "Ngày 02/09/2024")
    assert result.output == "Ngày hai tháng chín năm hai nghìn không trăm hai mươi tư\n"


def test_engines_lists_what_works_here(cli):
    rows = json.loads(cli("tts", "engines", "--json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["espeak"]["usable"] is True
    assert {v["id"] for v in by_name["espeak"]["voices"]} == {
        "vi",
        "vi-vn-x-central",
        "vi-vn-x-south",
    }
    # nothing listens on the discard port: installed, but not reachable now, and it says so
    assert by_name["gtts"]["usable"] is False
    assert "không kết nối được http://127.0.0.1:9/" in by_name["gtts"]["detail"]


def test_synth_text_to_a_file_and_cache_hit(cli, tmp_path):
    out = tmp_path / "out" / "thong-bao.mp3"
    first = cli("tts", "synth", "Xin chào bà con xã Cẩm Xuyên.", "-o", str(out))
    assert first.exit_code == 0, first.output
    assert "vừa tạo" in first.output and "espeak/vi" in first.output
    assert ffprobe(out).codec == "mp3"
    again = cli("tts", "synth", "Xin chào bà con xã Cẩm Xuyên.")
    assert "có sẵn" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tts", "synth"], "đúng một nguồn"),
        (["tts", "synth", "abc", "--script", "x"], "đúng một nguồn"),
        (["tts", "synth", "!!!"], "không có chữ"),
        (["tts", "synth", "Xin chào", "--voice", "vi-hue"], "Giọng 'vi-hue'"),
        (["tts", "synth", "--file", "/no/such.txt"], "Không đọc được tệp"),
        (["tts", "synth", "--script", "no-such-script"], "Không có tin bài"),
    ],
)
def test_synth_bad_input(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_synth_non_utf8_file(cli, tmp_path):
    path = tmp_path / "tin.txt"
    path.write_bytes("Thông báo".encode("cp1258", errors="replace") + b"\xff")
    result = cli("tts", "synth", "--file", str(path))
    assert result.exit_code == 2 and "không phải UTF-8" in result.output


@pytest.fixture
def approved(cli, tmp_path):
    """Hà Tĩnh's stations, the library, and two scripts approved (one personalised)."""
    assert cli("units", "import", "--province", "42").exit_code == 0
    assert cli("stations", "import", "--province", "42").exit_code == 0
    for name, role in [("lan", "editor"), ("hung", "approver")]:
        added = cli("users", "add", name, "--role", role, "--nationwide", "--password", PASSWORD)
        assert added.exit_code == 0, added.output
    folder = tmp_path / "lib"
    folder.mkdir()
    shutil.copy(REPO / "scripts" / "01-dich-vu-cong-truc-tuyen.md", folder)
    (folder / "chung.md").write_text(
        "---\ntitle: Lịch tiếp dân\n---\nUBND tiếp công dân vào thứ 5 hằng tuần.\n", "utf-8"
    )
    assert cli("scripts", "import", str(folder), "--unit", "18073").exit_code == 0
    for slug in ("01-dich-vu-cong-truc-tuyen", "chung"):
        sent = cli("scripts", "submit", slug, "--user", "lan", "--password", PASSWORD)
        assert sent.exit_code == 0, sent.output
        ok = cli("scripts", "approve", slug, "--user", "hung", "--password", PASSWORD)
        assert ok.exit_code == 0, ok.output


def test_synth_script_personalised_for_a_station(cli, approved):
    slug = "01-dich-vu-cong-truc-tuyen"
    missing = cli("tts", "synth", "--script", slug)
    assert missing.exit_code == 2 and "--station" in missing.output
    result = cli("tts", "synth", "--script", slug, "--station", "18073")
    assert result.exit_code == 0, result.output
    path = result.output.split(":")[0]
    tags = ffprobe(__import__("pathlib").Path(path)).tags
    assert tags["artist"] == "Đài truyền thanh phường Thành Sen"


def test_render_approved_is_idempotent(cli, approved):
    first = json.loads(cli("tts", "render", "--approved", "--json").stdout)
    # the personalised script renders for the one station in its unit; the other once
    assert sorted(first["done"]) == ["01-dich-vu-cong-truc-tuyen@18073", "chung"]
    assert first["failed"] == []
    again = json.loads(cli("tts", "render", "--approved", "--json").stdout)
    assert again["done"] == [] and sorted(again["cached"]) == sorted(first["done"])


def test_render_approved_also_gives_the_next_48_hours_of_slots_their_audio(cli, approved):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    until = (datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(30)).date()
    added = cli(
        "campaigns", "add", "--name", "Tiếp dân", "--script", "chung", "--unit", "18073",
        "--to", until.isoformat(), "--times-per-week", "7", "--user", "hung",
        "--password", PASSWORD,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    first = json.loads(cli("tts", "render", "--approved", "--json").stdout)
    assert first["slots_attached"] >= 1 and first["slots_failed"] == []
    listed = cli("slots", "list", "--station", "18073")
    assert "chưa có" not in listed.stdout  # today's slots are ready to play
    again = cli("tts", "render", "--approved")
    assert "Lượt phát trong 48 giờ tới: không lượt nào còn thiếu âm thanh." in again.stdout


def test_normalize_names_the_codes_it_cannot_read_on_stderr(cli):
    from click.testing import CliRunner

    from broadcaster.cli import main

    def run(*args: str, input: str | None = None):
        runner = CliRunner(mix_stderr=False)  # stdout keeps one spoken line per line
        return runner.invoke(main, list(args), env=cli.env, input=input, catch_exceptions=False)

    result = run("tts", "normalize", input="Mã XYZQ tại QL8A\nUBND xã\nMã ABC123, XYZQ\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n") == [
        "Mã ích i dài dét quy tại quốc lộ tám a",
        "Ủy ban nhân dân xã",
        "Mã a bê xê một hai ba, ích i dài dét quy",
        "",
    ]
    assert result.stderr == "Chưa rõ cách đọc: XYZQ\nChưa rõ cách đọc: ABC123, XYZQ\n"
    single = run("tts", "normalize", "Mã XYZQ")
    assert (single.stdout, single.stderr) == ("Mã ích i dài dét quy\n", "Chưa rõ cách đọc: XYZQ\n")
