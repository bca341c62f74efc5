"""The promises of the README: its two commands, CI calling the second, the wheel's contents."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_commands_and_ci_runs_the_second():
    commands = _readme_commands()
    assert len(commands) == 2
    setup, tests = commands
    assert "broadcaster quickstart" in setup and "pip install" in setup
    assert "pytest" in tests and "ruff check" in tests and "ruff format --check" in tests
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert tests in ci.splitlines()
    assert "set -euo pipefail" in ci
    assert "BROADCASTER_TEST_POSTGRES_URL" in ci


def test_the_wheel_ships_templates_migrations_and_the_command(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("broadcaster-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "broadcaster = broadcaster.cli:main" in zf.read(entry_points).decode()
    assert "broadcaster/_web/templates/status.html" in names
    assert "broadcaster/_web/static/base.css" in names
    # the province's server files that `broadcaster deploy config` fills
    assert "broadcaster/_deploy/nginx-site.conf" in names
    assert "broadcaster/_deploy/broadcaster-web@.service" in names
    assert "broadcaster/migrations/versions/0001_initial.py" in names
    assert "broadcaster/migrations/env.py" in names
    assert "broadcaster/migrations/versions/0003_campaigns_and_slots.py" in names
    assert "broadcaster/text/data/abbreviations.tsv" in names
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
