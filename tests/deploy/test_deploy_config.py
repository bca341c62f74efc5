"""``broadcaster deploy config``: every file filled with this installation's paths, and
bad input refused with a message naming the option, nothing overwritten."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from broadcaster.deploy import FILES, render
from tests.conftest import Cli
from tests.deploy.units import Unit, read_env_file


@pytest.fixture
def deploy_cli(tmp_path) -> Cli:
    return Cli(
        env={
            "BROADCASTER_DATABASE_URL": "postgresql://broadcaster@db.example:5432/broadcaster",
            "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BROADCASTER_AUDIO_DIR": str(tmp_path / "audio"),
            "BROADCASTER_SECRET_KEY": "k",
            "BROADCASTER_PUBLIC_URL": None,
            "BROADCASTER_METRICS_TOKEN": None,
            "BROADCASTER_CONFIG": None,
        }
    )


def test_every_file_is_written_and_filled(deploy_cli, tmp_path):
    out = tmp_path / "out"
    done = deploy_cli(
        "deploy", "config", "--out", str(out), "--server-name", "loa.hatinh.gov.vn",
        "--ports", "8101,8102,8103", "--workers", "3", "--etc-dir", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    names = {path.name for path in out.iterdir()}
    assert names == {name for name, _ in FILES.values()} | {"INSTALL.txt"}
    for path in out.iterdir():
        assert "{{" not in path.read_text(), path.name  # nothing left unfilled
    env = read_env_file(out / "broadcaster.env")
    url = env["BROADCASTER_DATABASE_URL"]
    assert url == "postgresql+psycopg://broadcaster@db.example:5432/broadcaster"
    assert env["BROADCASTER_AUDIO_DIR"] == str(tmp_path / "audio")
    assert env["BROADCASTER_AUDIO_LOCK_DIR"] == str(tmp_path / "instance" / "locks")
    assert env["BROADCASTER_PUBLIC_URL"] == "https://loa.hatinh.gov.vn"
    assert len(env["BROADCASTER_METRICS_TOKEN"]) >= 24  # a token made for this server
    assert (out / "broadcaster.env").stat().st_mode & 0o777 == 0o600
    site = (out / "nginx-site.conf").read_text()
    upstreams = re.findall(r"server 127\.0\.0\.1:(\d+)", site)
    assert upstreams == ["8101", "8102", "8103"]
    assert "/etc/letsencrypt/live/loa.hatinh.gov.vn/fullchain.pem" in site
    assert 'workers = int("3")' in (out / "gunicorn.conf.py").read_text()
    # the units name this installation's programs
    web = Unit(out / "broadcaster-web@.service", "8101")
    assert web.command[0] == str(Path(sys.executable).parent / "gunicorn")
    assert web.command[-2:] == ["--bind", "127.0.0.1:8101"]
    assert Unit(out / "broadcaster-scheduler.service").command[1:] == ["scheduler"]
    install = (out / "INSTALL.txt").read_text()
    assert "broadcaster-web@8101 broadcaster-web@8102 broadcaster-web@8103" in install


def test_the_server_name_comes_from_the_public_url(deploy_cli, tmp_path):
    deploy_cli.env["BROADCASTER_PUBLIC_URL"] = "https://loa.quangtri.gov.vn:8443"
    done = deploy_cli("deploy", "config", "--out", str(tmp_path / "o"), "--https-port", "8443")
    assert done.exit_code == 0, done.output
    env = read_env_file(tmp_path / "o" / "broadcaster.env")
    assert env["BROADCASTER_PUBLIC_URL"] == "https://loa.quangtri.gov.vn:8443"


def test_sqlite_is_warned_about(deploy_cli, tmp_path):
    deploy_cli.env["BROADCASTER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    done = deploy_cli("deploy", "config", "--out", str(tmp_path / "o"), "--server-name", "a.vn")
    assert done.exit_code == 0
    assert "Cảnh báo" in done.output and "PostgreSQL" in done.output


@pytest.mark.parametrize(
    ("args", "words", "flag"),
    [
        ([], "Cần tên miền", "--server-name"),
        (["--server-name", "loa hatinh;"], "không phải tên máy chủ", "--server-name"),
        (["--server-name", "a.vn", "--ports", "8001,x"], "không đọc được", "--ports"),
        (["--server-name", "a.vn", "--ports", "8001,8001"], "khác nhau", "--ports"),
        (["--server-name", "a.vn", "--https-port", "70000"], "1–65535", "--ports"),
        (["--server-name", "a.vn", "--workers", "0"], "từ 1 đến 64", "--workers"),
        (["--server-name", "a.vn", "--user", "Root Admin"], "tài khoản Linux", "--user"),
    ],
)
def test_bad_input_is_refused_naming_the_option(deploy_cli, tmp_path, args, words, flag):
    out = tmp_path / "o"
    done = deploy_cli("deploy", "config", "--out", str(out), *args)
    assert done.exit_code == 2
    assert words in done.output and f"({flag})" in done.output
    assert "Traceback" not in done.output
    assert not out.exists() or not any(out.iterdir())


def test_files_already_there_are_kept_unless_forced(deploy_cli, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "nginx-site.conf").write_text("# the officer's own edits\n")
    done = deploy_cli("deploy", "config", "--out", str(out), "--server-name", "a.vn")
    assert done.exit_code == 2 and "--force" in done.output and "nginx-site.conf" in done.output
    assert (out / "nginx-site.conf").read_text() == "# the officer's own edits\n"
    assert not (out / "broadcaster.env").exists()
    forced = deploy_cli("deploy", "config", "--out", str(out), "--server-name", "a.vn", "--force")
    assert forced.exit_code == 0
    assert "upstream broadcaster_web" in (out / "nginx-site.conf").read_text()


def test_a_template_name_without_a_value_is_an_error():
    assert render("a {{x}} b", {"x": "1"}) == "a 1 b"
    with pytest.raises(ValueError, match="no value for y"):
        render("{{x}} {{y}}", {"x": "1"})
