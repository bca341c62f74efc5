"""``broadcaster agent``: the station agent on a commune station's PC (see docs/agent.md)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from broadcaster import logs
from broadcaster.errors import InvalidInput


def configure_logging(verbose: bool) -> None:
    """Lines on stderr (what systemd's journal or a Windows log file keeps), stamped in
    Việt Nam's time with the offset, whatever zone the station's PC is set to."""
    logs.configure(
        logs.DEFAULT_ZONE,
        level=logging.DEBUG if verbose else logging.INFO,
        fmt=logs.AGENT_FORMAT,
    )


@click.command("agent")
@click.option(
    "--server",
    envvar="BROADCASTER_AGENT_SERVER",
    required=True,
    help="Địa chỉ máy chủ, vd https://loa.hatinh.gov.vn (hoặc biến BROADCASTER_AGENT_SERVER).",
)
@click.option(
    "--token",
    envvar="BROADCASTER_AGENT_TOKEN",
    required=True,
    help="Mã truy cập của đài; nên đặt bằng biến BROADCASTER_AGENT_TOKEN để không lộ trong ps.",
)
@click.option(
    "--station",
    envvar="BROADCASTER_AGENT_STATION",
    required=True,
    help="Mã đài (mặc định là mã xã, vd 18073).",
)
@click.option(
    "--dir",
    "folder",
    envvar="BROADCASTER_AGENT_DIR",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Thư mục của tác tử: âm thanh đã tải, spool báo cáo.",
)
@click.option(
    "--player",
    envvar="BROADCASTER_AGENT_PLAYER",
    default=None,
    help='Trình phát: bỏ trống = ffmpeg ra loa mặc định; "file:THƯ_MỤC" ghi WAV; '
    'hoặc một lệnh có {file}, vd "mpg123 -q {file}".',
)
@click.option(
    "--poll",
    envvar="BROADCASTER_AGENT_POLL",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Giây giữa hai lần lấy danh sách phát.",
)
@click.option(
    "--heartbeat",
    envvar="BROADCASTER_AGENT_HEARTBEAT",
    default=300.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Giây giữa hai nhịp tim gửi máy chủ.",
)
@click.option(
    "--long-poll/--no-long-poll",
    default=True,
    help="Chờ tin khẩn cấp liên tục (nhận trong vài giây) thay vì chỉ mỗi lần lấy danh sách.",
)
@click.option(
    "--relay-lead",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0, 60),
    help="Giây mở sẵn luồng tiếp âm trước giờ bắt đầu.",
)
@click.option(
    "--relay-backup-after",
    default=20.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Giây mất tín hiệu trước khi chuyển sang nguồn tiếp âm dự phòng.",
)
@click.option(
    "--relay-stall",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5),
    help="Giây luồng tiếp âm không có âm thanh thì nối lại.",
)
@click.option(
    "--ca-file",
    envvar="BROADCASTER_AGENT_CA_FILE",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Chứng chỉ (PEM) của máy chủ hoặc của cơ quan cấp chứng chỉ riêng của tỉnh, "
    "khi máy chủ https dùng chứng chỉ tự cấp.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Đồng bộ một lần (danh sách, âm thanh, báo cáo, nhịp tim) rồi thoát.",
)
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết hơn.")
def agent_cmd(
    server,
    token,
    station,
    folder,
    player,
    poll,
    heartbeat,
    long_poll,
    relay_lead,
    relay_backup_after,
    relay_stall,
    ca_file,
    once,
    verbose,
) -> None:
    """Tác tử đài: lấy lịch và âm thanh, phát đúng giờ, báo cáo lượt phát về máy chủ.

    Thoát với mã 2 khi mã truy cập bị từ chối, 1 khi (với --once) không nối được máy chủ.
    """
    from broadcaster.agent import AgentConfig, Runner

    if not server.startswith(("http://", "https://")):
        raise InvalidInput(f"--server '{server}' phải bắt đầu bằng http:// hoặc https://.")
    if ca_file is not None:
        _check_ca_file(ca_file)
    configure_logging(verbose)
    config = AgentConfig(
        server=server,
        token=token.strip(),
        station=station.strip(),
        folder=folder,
        player=player,
        poll_s=poll,
        heartbeat_s=heartbeat,
        long_poll=long_poll,
        relay_lead_s=relay_lead,
        relay_backup_after_s=relay_backup_after,
        relay_stall_s=relay_stall,
        ca_file=ca_file,
    )
    runner = Runner(config)
    if once:
        sys.exit(runner.run_once())
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stop())
    sys.exit(runner.run())


def _check_ca_file(path: Path) -> None:
    """A certificate file the agent can use, or a message saying what is wrong with it."""
    try:
        text = path.read_text("ascii", errors="replace")
    except OSError as exc:
        raise InvalidInput(
            "Không đọc được tệp chứng chỉ '{path}': {reason}.",
            field="ca_file",
            path=str(path),
            reason=exc.strerror or str(exc),
        ) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InvalidInput(
            "'{path}' không phải chứng chỉ PEM (thiếu dòng -----BEGIN CERTIFICATE-----).",
            field="ca_file",
            path=str(path),
        )


def register(main: click.Group) -> None:
    main.add_command(agent_cmd)
