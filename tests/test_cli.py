"""The ``broadcaster`` command end to end: what an office scripts and types."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO

PASSWORD = "mat-khau-cli-1"


@pytest.fixture
def province(cli):
    result = cli("units", "import", "--province", "ha tinh")
    assert result.exit_code == 0, result.output
    assert "thêm 70" in result.output
    result = cli("stations", "import", "--province", "42")
    assert result.exit_code == 0, result.output
    assert "tạo 69 đài mới" in result.output


@pytest.fixture
def staff(cli, province):
    for name, role in [("lan", "editor"), ("hung", "approver")]:
        r = cli("users", "add", name, "--role", role, "--scope", "Hà Tĩnh", "--password", PASSWORD)
        assert r.exit_code == 0, r.output


def test_init_and_status(cli):
    result = cli("init")
    assert result.exit_code == 0
    assert "Cơ sở dữ liệu sẵn sàng" in result.output
    status = json.loads(cli("status", "--json").output)
    assert status == {
        "provinces": 0,
        "communes": 0,
        "stations": 0,
        "active_stations": 0,
        "users": 0,
        "scripts_by_state": {},
        "active_campaigns": 0,
        "slots_by_status": {"planned": 0, "unplaced": 0, "missed": 0, "aired": 0},
        "stations_online": 0,
        "airings_7d": 0,
    }


def test_units_and_stations(cli, province):
    assert "thêm 0" in cli("units", "import", "--province", "Hà Tĩnh").output
    listed = json.loads(cli("stations", "list", "--unit", "42", "--json").output)
    assert len(listed) == 69
    shown = cli("stations", "show", "18073")
    assert "Đài truyền thanh phường Thành Sen" in shown.output
    assert "05:30–06:30 (60 phút" in shown.output
    units = json.loads(cli("units", "list", "--parent", "42", "--json").output)
    assert len(units) == 69


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["units", "import", "--province", "Atlantis"], "Không tìm thấy tỉnh/thành phố"),
        (["stations", "add", "--unit", "18073"], "Đài có mã '18073' đã tồn tại"),
        (["stations", "add", "--unit", "18073", "--code", "x1", "--windows", "7-8"], "Khung giờ"),
        (["stations", "show", "nope"], "Không có đài nào mã 'nope'"),
        (
            ["users", "add", "xyz", "--role", "editor", "--scope", "42", "--password", "ngan"],
            "ít nhất 8",
        ),
        (
            ["users", "add", "xyz", "--role", "editor", "--password", "mat-khau-du-dai"],
            "--nationwide",
        ),
        (
            ["users", "add", "xyz", "--role", "editor", "--scope", "42", "--nationwide"],
            "một trong hai",
        ),
        (["scripts", "submit", "no-such"], "cần người thực hiện"),
    ],
)
def test_bad_input_exits_2_with_a_message(cli, province, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_users_add_without_terminal_generates_a_password_once(cli):
    result = cli("users", "add", "admin2", "--role", "admin", "--nationwide")
    assert result.exit_code == 0, result.output
    password = result.output.split("Mật khẩu (chỉ hiện một lần): ")[1].strip()
    assert len(password) >= 12
    listed = cli("users", "list")
    assert "admin2" in listed.output and password not in listed.output
    assert cli("users", "passwd", "admin2").exit_code == 2  # no terminal, no password given
    assert cli("users", "passwd", "admin2", "--password", "mat-khau-moi").exit_code == 0


def test_review_through_the_cli(cli, staff, tmp_path):
    folder = tmp_path / "scripts"
    shutil.copytree(REPO / "scripts", folder)
    imported = cli("scripts", "import", str(folder), "--unit", "42")
    assert imported.exit_code == 0, imported.output
    again = cli("scripts", "import", str(folder), "--unit", "42")
    assert "0 tin bài mới, 0 phiên bản mới" in again.output

    slug = "01-dich-vu-cong-truc-tuyen"
    as_lan = ["--user", "lan", "--password", PASSWORD]
    as_hung = ["--user", "hung", "--password", PASSWORD]
    assert cli("scripts", "submit", slug, *as_lan).exit_code == 0

    wrong = cli("scripts", "approve", slug, "--user", "hung", "--password", "sai-mat-khau")
    assert wrong.exit_code == 2 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.output

    by_editor = cli("scripts", "approve", slug, *as_lan)
    assert by_editor.exit_code == 2 and "approver" in by_editor.output

    approved = cli("scripts", "approve", slug, *as_hung, "--note", "Đồng ý")
    assert approved.exit_code == 0, approved.output
    shown = cli("scripts", "show", slug)
    assert "đã duyệt" in shown.output and "Duyệt:       hung" in shown.output
    listing = json.loads(cli("scripts", "list", "--state", "approved", "--json").output)
    assert [s["slug"] for s in listing] == [slug]

    # four-eyes from the shell: the approver submits, then tries to approve it himself
    other = "03-cong-dich-vu-cong-cua-tinh-va-tra-cuu-ho-so"
    assert cli("scripts", "submit", other, *as_hung).exit_code == 0
    selfie = cli("scripts", "approve", other, *as_hung)
    assert selfie.exit_code == 2 and "bốn mắt" in selfie.output

    no_reason = cli("scripts", "reject", "02-dang-ky-va-nop-ho-so-tren-cong-quoc-gia", *as_hung)
    assert no_reason.exit_code == 2  # --reason is required


def test_malformed_script_file_is_named_and_nothing_imported(cli, tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "tot.md").write_text("---\ntitle: Tốt\n---\nNội dung tốt.\n", "utf-8")
    (folder / "hong.md").write_bytes(b"---\ntitle: H\xe0ng\n---\nx")
    result = cli("scripts", "import", str(folder))
    assert result.exit_code == 2
    assert "hong.md:2: tệp không phải UTF-8" in result.output
    assert json.loads(cli("scripts", "list", "--json").output) == []


def test_missing_folder(cli):
    result = cli("scripts", "import", "/no/such/folder")
    assert result.exit_code == 2 and "Không tìm thấy thư mục" in result.output


def test_quickstart_without_serving(cli, monkeypatch):
    monkeypatch.chdir(REPO)
    result = cli("quickstart", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "tên đăng nhập: admin" in result.output
    again = cli("quickstart", "--no-serve")
    assert again.exit_code == 0 and "mật khẩu:" not in again.output
    status = json.loads(cli("status", "--json").output)
    assert (status["communes"], status["stations"], status["users"]) == (69, 69, 1)
    assert status["scripts_by_state"]["draft"] >= 8


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            [
                "users",
                "add",
                "xyz",
                "--role",
                "editor",
                "--scope",
                "Atlantis",
                "--password",
                "x" * 9,
            ],
            "Lỗi: Không tìm thấy đơn vị hành chính 'Atlantis'. Đã nạp danh mục chưa? "
            "(broadcaster units import) (--scope)",
        ),
        (
            ["users", "add", "xyz", "--role", "editor", "--scope", "42", "--password", "ngan"],
            "Lỗi: Mật khẩu phải có ít nhất 8 ký tự. (--password)",
        ),
        (
            ["stations", "add", "--unit", "18073", "--code", "x1", "--windows", "7-8"],
            "Lỗi: Khung giờ '7-8' sai định dạng; dùng GIỜ:PHÚT-GIỜ:PHÚT, ví dụ 17:00-18:00. "
            "(--windows)",
        ),
        (
            ["stations", "windows", "18073", "18:00-17:00"],
            "Lỗi: Khung giờ '18:00-17:00': giờ bắt đầu phải trước giờ kết thúc "
            "(khung giờ không được vắt qua nửa đêm). (WINDOWS)",
        ),
        (
            ["slots", "list", "--station", "18073", "--date", "31/02/2026"],
            "Lỗi: Ngày: ngày '31/02/2026' không hợp lệ: không tồn tại ngày này. (--date)",
        ),
        (
            ["airings", "list", "--from", "31/02/2026"],
            "Lỗi: Từ ngày: ngày '31/02/2026' không hợp lệ: không tồn tại ngày này. (--from)",
        ),
        (
            ["report", "compliance", "--period", "month", "--of", "2026-13"],
            "Lỗi: Tháng 13 không có; dùng 1 đến 12. (--of)",
        ),
    ],
)
def test_an_error_names_the_flag_of_its_field(cli, province, args, line):
    """The service says which input is wrong; the command names it by its own flag."""
    result = cli(*args)
    assert result.exit_code == 2
    assert line in result.output.splitlines()
