"""The shipped server files, started as systemd would start them (for the deployment test).

systemd itself is not in a test's reach, so :class:`Unit` reads a unit file the way it
does — ``EnvironmentFile=``, ``Environment=``, ``WorkingDirectory=``, ``ExecStart=`` with
``%i`` for the instance — and runs that command with that environment and nothing else
of the test's own. ``systemd-analyze verify`` checks the files where it is installed.
nginx runs its shipped site inside a small main configuration of its own.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

# what systemd gives every service besides its unit's settings
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return values


class Unit:
    """One systemd service of the shipped files, as a process of this test."""

    def __init__(self, path: Path, instance: str = "", log: Path | None = None) -> None:
        self.path = path
        self.instance = instance
        self.log = log or path.with_suffix(f".{instance or 'main'}.log")
        self.env = dict(BASE_ENV)
        self.env["HOME"] = os.environ.get("HOME", "/root")
        self.command: list[str] = []
        self.cwd: Path | None = None
        self.process: subprocess.Popen | None = None
        self._read()

    def _fill(self, text: str) -> str:
        return text.replace("%i", self.instance)

    def _read(self) -> None:
        section = ""
        for raw in self.path.read_text("utf-8").splitlines():
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                section = line
                continue
            if section != "[Service]" or "=" not in line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            value = self._fill(value.strip())
            if key == "EnvironmentFile":
                self.env.update(read_env_file(Path(value.lstrip("-"))))
            elif key == "Environment":
                for pair in shlex.split(value):
                    name, _, val = pair.partition("=")
                    self.env[name] = val
            elif key == "WorkingDirectory":
                self.cwd = Path(value)
            elif key == "ExecStart":
                self.command = shlex.split(value)
        assert self.command, f"{self.path} has no ExecStart"

    def start(self, **extra_env: str) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            self.command,
            env={**self.env, **extra_env},
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, as systemd does
        )
        out.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group (a crash, an OOM kill): no goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""


def verify_units(paths: list[Path]) -> str:
    """``systemd-analyze verify`` on the unit files, where systemd is installed: its output."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return "systemd-analyze not installed: the units were not verified"
    folder = paths[0].parent
    checked = []
    for path in paths:
        if path.name.endswith("@.service"):  # a template is verified as an instance of it
            instance = folder / path.name.replace("@.", "@8001.")
            if not instance.exists():
                instance.symlink_to(path.name)
            checked.append(str(instance))
        else:
            checked.append(str(path))
    done = subprocess.run(
        [analyze, "verify", *checked], capture_output=True, text=True, timeout=120
    )
    # the account named in User= exists only on the real server
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "Failed to resolve user" not in line and "group" not in line.lower()
    ]
    if problems:
        pytest.fail("systemd-analyze verify:\n" + "\n".join(problems))
    return "verified"


NGINX_MAIN = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {site};
}}
"""


class Nginx:
    """Debian's nginx serving the shipped site, in a main configuration of the test's own."""

    def __init__(self, binary: str, site: Path, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        mime = Path("/etc/nginx/mime.types")
        self.conf = root / "nginx.conf"
        self.conf.write_text(
            NGINX_MAIN.format(
                user="user root;" if os.geteuid() == 0 else "",
                root=root,
                site=site,
                mime_types=mime if mime.exists() else site,
            )
        )
        self.root = root
        self.command = [binary, "-p", str(root), "-c", str(self.conf)]
        self.process: subprocess.Popen | None = None

    def test_config(self) -> None:
        done = subprocess.run([*self.command, "-t"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.command, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def error_log(self) -> str:
        log = self.root / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
