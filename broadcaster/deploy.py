"""The province's server files, filled with this installation's paths (docs/deploy.md).

The templates live in the top-level ``deploy/`` folder (``broadcaster/_deploy`` inside
the wheel): systemd units for the web processes, the scheduler and a station agent,
gunicorn's settings, the shared environment file, nginx's site and a tmpfiles entry.
``{{name}}`` marks each value; :func:`render` fills them all or refuses, and
:func:`write` puts the results in a folder with what to copy where (``INSTALL.txt``).
The deployment test starts the very files written here.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import broadcaster
from broadcaster.errors import InvalidInput

_MARK = re.compile(r"\{\{(\w+)\}\}")
_SERVER_NAME = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]+$")
_ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

# template -> the file written, and where it goes on the server (for INSTALL.txt)
FILES = {
    "broadcaster.env": ("broadcaster.env", "{etc_dir}/broadcaster.env (chmod 600)"),
    "gunicorn.conf.py": ("gunicorn.conf.py", "{etc_dir}/gunicorn.conf.py"),
    "broadcaster-web@.service": (
        "broadcaster-web@.service",
        "/etc/systemd/system/broadcaster-web@.service",
    ),
    "broadcaster-scheduler.service": (
        "broadcaster-scheduler.service",
        "/etc/systemd/system/broadcaster-scheduler.service",
    ),
    "broadcaster-agent.service": (
        "broadcaster-agent.service",
        "/etc/systemd/system/broadcaster-agent.service (a station's PC)",
    ),
    "agent.env": ("agent.env", "{etc_dir}/agent.env on a station's PC (chmod 600)"),
    "broadcaster.tmpfiles": ("broadcaster.tmpfiles", "/etc/tmpfiles.d/broadcaster.conf"),
    "nginx-site.conf": ("nginx-site.conf", "/etc/nginx/sites-available/broadcaster"),
}


def templates_dir() -> Path:
    """The templates: inside the wheel, or the source checkout's ``deploy/``."""
    packaged = Path(broadcaster.__file__).parent / "_deploy"
    if packaged.is_dir():
        return packaged
    return Path(broadcaster.__file__).parent.parent / "deploy"


@dataclass(frozen=True)
class Site:
    """Everything the files name: this installation's paths and the server's shape."""

    server_name: str
    database_url: str
    instance_dir: Path
    audio_dir: Path
    lock_dir: Path
    backup_dir: Path
    static_dir: Path
    timezone: str
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)
    home: Path = field(default_factory=Path.cwd)
    etc_dir: Path = Path("/etc/broadcaster")
    metrics_dir: Path = Path("/run/broadcaster/metrics")
    web_ports: tuple[int, ...] = (8001, 8002)
    workers: int = 2
    user: str = "broadcaster"
    agent_user: str = "broadcaster"
    https_port: int = 443
    http_port: int = 80
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ratelimit_storage: str = "redis://127.0.0.1:6379/0"
    metrics_token: str = ""
    body_limit_mb: int = 210

    def check(self) -> None:
        if not _SERVER_NAME.match(self.server_name):
            raise InvalidInput(
                "'{name}' không phải tên máy chủ (vd loa.hatinh.gov.vn).",
                field="server_name",
                name=self.server_name,
            )
        for name in (self.user, self.agent_user):
            if not _ACCOUNT.match(name):
                raise InvalidInput(
                    "'{name}' không phải tên tài khoản Linux hợp lệ.", field="user", name=name
                )
        ports = (*self.web_ports, self.https_port, self.http_port)
        if not self.web_ports or any(not 1 <= p <= 65535 for p in ports):
            raise InvalidInput("Cổng phải trong khoảng 1–65535.", field="ports")
        if len(set(ports)) != len(ports):
            raise InvalidInput("Các cổng phải khác nhau.", field="ports")
        if not 1 <= self.workers <= 64:
            raise InvalidInput("Số tiến trình mỗi cổng phải từ 1 đến 64.", field="workers")

    def values(self) -> dict[str, str]:
        cert = self.tls_cert or Path(f"/etc/letsencrypt/live/{self.server_name}/fullchain.pem")
        key = self.tls_key or Path(f"/etc/letsencrypt/live/{self.server_name}/privkey.pem")
        suffix = "" if self.https_port == 443 else f":{self.https_port}"
        return {
            "made_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "server_name": self.server_name,
            "public_url": f"https://{self.server_name}{suffix}",
            "https_suffix": suffix,
            "database_url": self.database_url,
            "instance_dir": str(self.instance_dir),
            "audio_dir": str(self.audio_dir),
            "lock_dir": str(self.lock_dir),
            "backup_dir": str(self.backup_dir),
            "static_dir": str(self.static_dir),
            "timezone": self.timezone,
            "bin_dir": str(self.bin_dir),
            "home": str(self.home),
            "etc_dir": str(self.etc_dir),
            "metrics_dir": str(self.metrics_dir),
            "workers": str(self.workers),
            "user": self.user,
            "group": self.user,
            "agent_user": self.agent_user,
            "https_port": str(self.https_port),
            "http_port": str(self.http_port),
            "tls_cert": str(cert),
            "tls_key": str(key),
            "ratelimit_storage": self.ratelimit_storage,
            "metrics_token": self.metrics_token or secrets.token_urlsafe(24),
            "body_limit_mb": str(self.body_limit_mb),
            "upstream_servers": "\n".join(
                f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                for port in self.web_ports
            ),
        }


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with every ``{{name}}`` filled; a name without a value is an error."""
    missing = sorted({m for m in _MARK.findall(template) if m not in values})
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return _MARK.sub(lambda m: values[m.group(1)], template)


def write(site: Site, out: Path, *, force: bool = False) -> list[Path]:
    """Write every file for ``site`` into ``out``; the paths written (INSTALL.txt last)."""
    site.check()
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / name for name, _ in FILES.values()] + [out / "INSTALL.txt"]
    existing = [p.name for p in targets if p.exists()]
    if existing and not force:
        raise InvalidInput(
            "Thư mục '{out}' đã có {names}; chọn thư mục khác hoặc thêm --force để ghi đè.",
            field="out",
            out=str(out),
            names=", ".join(existing),
        )
    values = site.values()  # one token for every file
    source = templates_dir()
    written = []
    for template, (name, _where) in FILES.items():
        path = out / name
        path.write_text(render((source / template).read_text("utf-8"), values), "utf-8")
        if name.endswith(".env"):
            os.chmod(path, 0o600)
        written.append(path)
    install = out / "INSTALL.txt"
    install.write_text(_install_text(site, out), "utf-8")
    written.append(install)
    return written


def _install_text(site: Site, out: Path) -> str:
    lines = [
        "Copy each file to its place (as root), then follow docs/deploy.md:",
        "",
    ]
    for name, where in FILES.values():
        lines.append(f"  {out / name}  ->  {where.format(etc_dir=site.etc_dir)}")
    ports = " ".join(f"broadcaster-web@{p}" for p in site.web_ports)
    lines += [
        "",
        "  systemd-tmpfiles --create /etc/tmpfiles.d/broadcaster.conf",
        "  ln -s /etc/nginx/sites-available/broadcaster /etc/nginx/sites-enabled/",
        "  nginx -t && systemctl reload nginx",
        "  systemctl daemon-reload",
        f"  systemctl enable --now {ports} broadcaster-scheduler",
        "",
    ]
    return "\n".join(lines)
