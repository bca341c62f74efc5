"""``broadcaster deploy config``: the province's server files with this installation's paths.

See docs/deploy.md; the templates are in the top-level ``deploy/`` folder.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from broadcaster.cli.context import AppContext
from broadcaster.errors import InvalidInput


@click.group("deploy")
def deploy() -> None:
    """Triển khai trên máy chủ tỉnh: tệp cấu hình systemd, gunicorn, nginx (docs/deploy.md)."""


def _ports(text: str) -> tuple[int, ...]:
    try:
        ports = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise InvalidInput(
            "Danh sách cổng '{text}' không đọc được; vd 8001,8002.", field="ports", text=text
        ) from None
    if not ports:
        raise InvalidInput("Cần ít nhất một cổng, vd 8001,8002.", field="ports")
    return ports


@deploy.command("config")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Thư mục ghi các tệp.",
)
@click.option(
    "--server-name",
    default=None,
    help="Tên miền của máy chủ, vd loa.hatinh.gov.vn (mặc định: theo BROADCASTER_PUBLIC_URL).",
)
@click.option(
    "--ports",
    default="8001,8002",
    show_default=True,
    help="Cổng nội bộ của các tiến trình web (mỗi cổng một gunicorn).",
)
@click.option(
    "--workers", default=2, show_default=True, type=int, help="Tiến trình con mỗi gunicorn."
)
@click.option("--user", default="broadcaster", show_default=True, help="Tài khoản chạy dịch vụ.")
@click.option(
    "--agent-user",
    default="broadcaster",
    show_default=True,
    help="Tài khoản chạy tác tử trên máy đài.",
)
@click.option(
    "--etc-dir",
    default="/etc/broadcaster",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Nơi đặt broadcaster.env và gunicorn.conf.py trên máy chủ.",
)
@click.option(
    "--metrics-dir",
    default="/run/broadcaster/metrics",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Thư mục chung (tmpfs) để các tiến trình cộng dồn số đo /metrics.",
)
@click.option("--https-port", default=443, show_default=True, type=int)
@click.option("--http-port", default=80, show_default=True, type=int)
@click.option(
    "--tls-cert",
    default=None,
    type=click.Path(path_type=Path),
    help="Chứng chỉ TLS (mặc định của Let's Encrypt cho tên miền).",
)
@click.option(
    "--tls-key", default=None, type=click.Path(path_type=Path), help="Khóa của chứng chỉ."
)
@click.option(
    "--redis",
    default=None,
    help="Redis chung cho giới hạn đăng nhập (mặc định redis://127.0.0.1:6379/0).",
)
@click.option("--force", is_flag=True, help="Ghi đè các tệp đã có trong --out.")
@click.pass_obj
def config_cmd(
    app: AppContext,
    out,
    server_name,
    ports,
    workers,
    user,
    agent_user,
    etc_dir,
    metrics_dir,
    https_port,
    http_port,
    tls_cert,
    tls_key,
    redis,
    force,
) -> None:
    """Ghi các tệp cấu hình máy chủ (đã điền đường dẫn của bản cài này) vào --out.

    Writes the systemd units, gunicorn's settings, the environment file and nginx's site,
    filled with this installation's paths, and INSTALL.txt saying where each goes.
    """
    from broadcaster import deploy as files
    from broadcaster.webapp import web_dir

    s = app.settings
    if server_name is None:
        server_name = urlsplit(s.public_url).hostname if s.public_url else None
    if not server_name:
        raise InvalidInput(
            "Cần tên miền của máy chủ: --server-name loa.hatinh.gov.vn "
            "(hoặc đặt BROADCASTER_PUBLIC_URL).",
            field="server_name",
        )
    if redis is None:
        shared = s.ratelimit_storage.startswith(("redis://", "rediss://"))
        redis = s.ratelimit_storage if shared else "redis://127.0.0.1:6379/0"
    site = files.Site(
        server_name=server_name,
        database_url=s.database_url,
        instance_dir=s.instance_dir,
        audio_dir=s.audio_dir,
        lock_dir=s.audio_lock_dir or s.instance_dir / "locks",
        backup_dir=s.backup_dir or s.instance_dir / "backups",
        static_dir=web_dir() / "static",
        timezone=s.timezone,
        etc_dir=etc_dir,
        metrics_dir=metrics_dir,
        web_ports=_ports(ports),
        workers=workers,
        user=user,
        agent_user=agent_user,
        https_port=https_port,
        http_port=http_port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        ratelimit_storage=redis,
        metrics_token=s.metrics_token or "",
    )
    written = files.write(site, out, force=force)
    for path in written:
        click.echo(str(path))
    if s.is_sqlite:
        click.echo(
            "Cảnh báo: cơ sở dữ liệu là SQLite. Máy chủ tỉnh nên dùng PostgreSQL "
            "(BROADCASTER_DATABASE_URL) để chạy nhiều tiến trình, dự phòng và sao lưu nóng.",
            err=True,
        )
    click.echo(f"Xem {out / 'INSTALL.txt'}: chép từng tệp vào chỗ của nó.")


def register(main: click.Group) -> None:
    main.add_command(deploy)
