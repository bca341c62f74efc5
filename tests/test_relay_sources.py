"""Relay sources (nguồn tiếp âm): the URL rule, the stream check against real loopback
servers (ffmpeg's HTTP output, a Python server of real MP3/AAC/TS bytes, a mute socket),
the service's scope and audit, the scheduler's job and the dashboard."""

from __future__ import annotations

import socket
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.config import ConfigError, load_settings
from broadcaster.db import transaction, utcnow
from broadcaster.errors import Conflict, InvalidInput, PermissionDenied
from broadcaster.models import (
    AdminUnit,
    AuditEvent,
    Campaign,
    CampaignKind,
    JobRun,
    Priority,
    RelaySource,
    Role,
    Slot,
    Station,
)
from broadcaster.relays.check import check_source
from broadcaster.relays.urls import ANY_PRIVATE, check_url, parse_policy, redact
from broadcaster.services import dashboard, relays, users
from broadcaster.services.audit import Actor
from tests.relay_servers import (
    ffmpeg_stream,
    icy_server,
    mute_server,
    stream_server,
    until_listening,
)

LOOPBACK_ONLY = parse_policy("127.0.0.1/32")  # the test servers' address, nothing else


# --- the URL rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("file:///etc/passwd", "'file:'"),
        ("ftp://stream.example.vn/vov1.mp3", "'ftp:'"),
        ("rtsp://stream.example.vn/live", "'rtsp:'"),
        ("javascript:alert(1)", "'javascript:'"),
        ("data:audio/mpeg;base64,AAAA", "'data:'"),
        ("stream.example.vn/vov1", "http:// hoặc https://"),
        ("", "Nhập địa chỉ luồng"),
        ("http://", "thiếu tên máy chủ"),
        ("http://vov.vn:port/", "sai định dạng"),
        ("http://vov .vn/", "khoảng trắng"),
    ],
)
def test_only_http_and_https_addresses(url, said):
    with pytest.raises(InvalidInput) as caught:
        check_url(url, field="backup_url", resolve=False)
    assert caught.value.field == "backup_url"
    assert said in caught.value.message


LOCAL = [
    "http://127.0.0.1:8000/live",
    "http://127.9.9.9/",
    "http://[::1]/live",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost:8000/vov1",
    "http://LOCALHOST./",
    "http://2130706433/",  # 127.0.0.1 written as one number
    "http://0.0.0.0/",
]
PRIVATE = [
    "http://10.20.30.40/live",
    "http://192.168.1.10:8000/vov1.mp3",
    "http://172.16.5.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.251/",
]


@pytest.mark.parametrize("url", LOCAL)
def test_loopback_refused_unless_allowed(url):
    with pytest.raises(InvalidInput, match="chính máy chủ này") as caught:
        check_url(url)
    assert caught.value.field == "url"
    assert check_url(url, policy=True).url == url
    assert check_url(url, policy=ANY_PRIVATE).url == url


@pytest.mark.parametrize("url", PRIVATE)
def test_private_ranges_refused_unless_allowed(url):
    with pytest.raises(InvalidInput, match="mạng nội bộ") as caught:
        check_url(url)
    assert "BROADCASTER_RELAY_ALLOW_PRIVATE" in caught.value.message
    assert check_url(url, policy=True).url == url


def test_a_host_name_resolving_to_loopback_is_refused():
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if not all(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip(f"{name} resolves to {addresses}, not loopback, here")
    with pytest.raises(InvalidInput, match="chính máy chủ này"):
        check_url(f"http://{name}:8000/live")
    assert check_url(f"http://{name}:8000/live", policy=True).addresses


def test_a_network_list_allows_only_those_networks():
    policy = parse_policy("10.20.0.0/16, 127.0.0.1")
    assert check_url("http://10.20.1.2/live", policy=policy).addresses == ("10.20.1.2",)
    assert check_url("http://127.0.0.1/live", policy=policy)
    with pytest.raises(InvalidInput):
        check_url("http://10.21.0.1/live", policy=policy)
    with pytest.raises(InvalidInput):
        check_url("http://[::1]/live", policy=policy)
    assert check_url("http://203.162.4.190/vov1", policy=policy)  # public: always


def test_public_addresses_pass():
    safe = check_url("https://203.162.4.190:8443/vov1.mp3")
    assert (safe.scheme, safe.host, safe.port, safe.addresses) == (
        "https",
        "203.162.4.190",
        8443,
        ("203.162.4.190",),
    )


def test_credentials_never_shown():
    assert redact("https://nghe:mat-khau@stream.example.vn/vov1") == (
        "https://***@stream.example.vn/vov1"
    )
    assert redact("https://stream.example.vn/vov1") == "https://stream.example.vn/vov1"


def test_the_setting(tmp_path):
    env = {"BROADCASTER_SECRET_KEY": "k", "BROADCASTER_INSTANCE_DIR": str(tmp_path)}
    assert load_settings(env, cwd=tmp_path).relay_allow_private == parse_policy("off")
    on = load_settings({**env, "BROADCASTER_RELAY_ALLOW_PRIVATE": "on"}, cwd=tmp_path)
    assert on.relay_allow_private.everything
    nets = load_settings(
        {**env, "BROADCASTER_RELAY_ALLOW_PRIVATE": "10.20.0.0/16"}, cwd=tmp_path
    ).relay_allow_private
    assert [str(n) for n in nets.networks] == ["10.20.0.0/16"]
    with pytest.raises(ConfigError, match="BROADCASTER_RELAY_ALLOW_PRIVATE='maybe'"):
        load_settings({**env, "BROADCASTER_RELAY_ALLOW_PRIVATE": "maybe"}, cwd=tmp_path)


# --- checking streams served on loopback ----------------------------------------------------


def test_ffmpeg_http_mp3_stream_is_a_stream():
    with ffmpeg_stream() as (url, _process):
        result = until_listening(lambda u: check_source(u, 5, policy=LOOPBACK_ONLY), url)
    assert result.ok and result.kind == "mp3", result.message()
    assert result.message() == "Luồng MP3 đang phát."


@pytest.fixture(scope="module")
def server():
    with stream_server() as base:
        yield base


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/stream.mp3", "mp3"),  # audio/mpeg, joined mid-frame
        ("/stream.aac", "aac"),  # audio/aacp, ADTS
        ("/octet", "mp3"),  # no audio type: the bytes decide
        ("/live.m3u8", "hls"),  # a media playlist and its newest segment
        ("/master.m3u8", "hls"),  # a master playlist: its first variant
        ("/redirect", "mp3"),  # a redirect on the same allowed host
    ],
)
def test_streams_pass(server, path, kind):
    result = check_source(server + path, 3, policy=LOOPBACK_ONLY)
    assert result.ok, result.message()
    assert result.kind == kind


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/page", "trang web (HTML), không phải luồng âm thanh"),
        ("/api", "JSON, không phải luồng âm thanh"),
        ("/empty.m3u8", "không có đoạn âm thanh nào"),
        ("/short.mp3", "tệp âm thanh ngắn (3000 byte)"),
        ("/stall.mp3", "ngừng gửi dữ liệu sau 4096 byte"),
        ("/silent.mp3", "không gửi âm thanh sau 1 giây"),
        ("/missing", "lỗi HTTP 404"),
        ("/loop", "Chuyển hướng quá nhiều lần"),
    ],
)
def test_what_is_not_a_stream_says_why(server, path, said):
    result = check_source(server + path, 1, policy=LOOPBACK_ONLY)
    assert not result.ok
    assert said in result.message()


def test_a_shoutcast_icy_answer_is_a_stream():
    with icy_server() as url:
        result = check_source(url, 2, policy=LOOPBACK_ONLY)
    assert result.ok and result.kind == "icy", result.message()


def test_a_server_that_never_answers_times_out():
    with mute_server() as url:
        result = check_source(url, 1, policy=True)
    assert not result.ok
    assert result.message() == "Máy chủ không trả lời sau 1 giây."


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:9/x",
        "http://[::1]:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_a_redirect_into_loopback_or_private_is_refused(server, target):
    result = check_source(f"{server}/redirect?to={target}", 2, policy=LOOPBACK_ONLY)
    assert not result.ok
    assert "chính máy chủ này" in result.message() or "mạng nội bộ" in result.message()


def test_without_the_setting_the_loopback_server_itself_is_refused(server):
    result = check_source(server + "/stream.mp3", 2)
    assert not result.ok and "chính máy chủ này" in result.message()


# --- the service: scope, audit, checks --------------------------------------------------


def _person(session, scope: str | None, role: Role = Role.ADMIN) -> Actor:
    """A real user of ``role`` over ``scope`` (the audit names users by id)."""
    name = f"{role.value}-{scope or 'vn'}"
    users.add_user(session, Actor("test"), name, role, "mat-khau-1", scope=scope)
    return users.authenticate(session, name, "mat-khau-1")


def test_add_edit_deactivate_with_audit(session, actor, ha_tinh):
    info = relays.add_source(
        session,
        actor,
        name="VOV1",
        url="https://nghe:bi-mat@203.162.4.190/vov1.mp3",
        policy=False,
    )
    session.commit()
    assert (info.name, info.unit_code, info.active, info.checked_at) == ("VOV1", None, True, None)
    assert info.url_shown == "https://***@203.162.4.190/vov1.mp3"
    edited = relays.edit_source(
        session, actor, "VOV1", backup_url="https://203.162.4.191/vov1.mp3", unit="42"
    )
    assert edited.backup_url == "https://203.162.4.191/vov1.mp3" and edited.unit_code == "42"
    off = relays.deactivate_source(session, actor, info.id)
    session.commit()
    assert not off.active
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "relay_source").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["relay.add", "relay.edit", "relay.deactivate"]
    assert "bi-mat" not in repr([e.after for e in events] + [e.before for e in events])
    assert events[1].after["unit"] == "42" and events[1].before["unit"] is None


def test_bad_input_is_refused_with_its_field(session, actor, ha_tinh):
    relays.add_source(session, actor, name="VOV1", url="https://203.162.4.190/vov1")
    cases = [
        ({"name": "VOV1", "url": "https://203.162.4.190/x"}, Conflict, "name"),
        ({"name": " ", "url": "https://203.162.4.190/x"}, InvalidInput, "name"),
        ({"name": "Đài tỉnh", "url": "file:///etc/passwd"}, InvalidInput, "url"),
        ({"name": "Đài tỉnh", "url": "http://192.168.1.2/x"}, InvalidInput, "url"),
        (
            {"name": "Đài tỉnh", "url": "https://203.162.4.190/x", "backup_url": "ftp://a/b"},
            InvalidInput,
            "backup_url",
        ),
        (
            {"name": "Đài tỉnh", "url": "https://203.162.4.190/x", "backup_script": "khong-co"},
            Exception,
            "backup_script",
        ),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as caught:
            relays.add_source(session, actor, **kwargs)
        assert caught.value.field == field, kwargs
    assert relays.add_source(
        session, actor, name="Nội bộ", url="http://192.168.1.2/x", policy=True
    ).url == ("http://192.168.1.2/x")


def test_scope_provincial_admin_manages_the_province_only(session, actor, ha_tinh):
    province = _person(session, "42")
    editor = _person(session, "42", Role.EDITOR)
    relays.add_source(session, actor, name="VOV1", url="https://203.162.4.190/vov1")
    mine = relays.add_source(
        session, province, name="Đài Hà Tĩnh", url="https://203.162.4.5/htv", unit="42"
    )
    assert mine.unit_code == "42"
    relays.add_source(
        session, province, name="Đài phường", url="https://203.162.4.6/p", unit="18073"
    )
    with pytest.raises(PermissionDenied, match="toàn quốc"):
        relays.add_source(session, province, name="VOV2", url="https://203.162.4.190/vov2")
    with pytest.raises(PermissionDenied):
        relays.edit_source(session, province, "VOV1", name="VOV một")
    with pytest.raises(PermissionDenied):
        relays.edit_source(session, province, "Đài Hà Tĩnh", unit=None)
    with pytest.raises(PermissionDenied, match="quản trị viên"):
        relays.add_source(session, editor, name="X", url="https://203.162.4.190/x", unit="42")
    seen = {s.name for s in relays.list_sources(session, province.scope_path)}
    assert seen == {"Đài Hà Tĩnh", "Đài phường", "VOV1"}
    commune = session.scalar(select(AdminUnit.path).where(AdminUnit.code == "18100"))
    assert {s.name for s in relays.list_sources(session, commune)} == {"Đài Hà Tĩnh", "VOV1"}


def _source(session, name: str, url: str) -> int:
    return relays.add_source(session, Actor("test"), name=name, url=url, policy=True).id


def _relay_slot(session, source_id: int, starts_in: timedelta) -> None:
    station = session.scalar(select(Station).where(Station.code == "18073"))
    today = local_today(ZoneInfo("Asia/Ho_Chi_Minh"))  # Vietnam's day, not the machine's
    campaign = Campaign(
        name="Tiếp âm",
        kind=CampaignKind.RELAY,
        relay_source_id=source_id,
        priority=Priority.NORMAL,
        starts_on=today,
        ends_on=today + timedelta(days=7),
        weekdays=list(range(7)),
    )
    session.add(campaign)
    session.flush()
    start = utcnow() + starts_in
    session.add(
        Slot(
            station_id=station.id,
            campaign_id=campaign.id,
            relay_source_id=source_id,
            occurrence=f"relay-{source_id}",
            week=f"{start:%G-W%V}",
            planned_start=start,
            window_end=start + timedelta(minutes=30),
            duration_ms=30 * 60_000,
        )
    )


def test_check_due_checks_the_sources_airing_soon_and_keeps_since_when(session, ha_tinh, server):
    good = _source(session, "Tốt", server + "/stream.mp3")
    page = _source(session, "Trang web", server + "/page")
    later = _source(session, "Chiều", server + "/page")
    off = _source(session, "Đã ngừng", server + "/page")
    relays.deactivate_source(session, Actor("test"), off)
    session.commit()
    first = relays.check_due(session, timeout=2, policy=LOOPBACK_ONLY)  # never checked: all
    session.commit()
    assert (first.checked, first.failing) == (3, 2)
    _relay_slot(session, page, timedelta(hours=1))
    _relay_slot(session, later, timedelta(hours=9))  # beyond CHECK_AHEAD
    session.commit()
    failed_at = session.get(RelaySource, page).failing_since
    second = relays.check_due(session, timeout=2, policy=LOOPBACK_ONLY)
    session.commit()
    assert (second.checked, second.failing, second.names_failing) == (1, 1, ("Trang web",))
    row = session.get(RelaySource, page)
    session.refresh(row)
    assert row.check_ok is False and row.failing_since == failed_at  # still failing since then
    assert row.checked_at > failed_at
    info = relays.get_source(session, page)
    assert info.reason() == "Địa chỉ này là một trang web (HTML), không phải luồng âm thanh."
    assert relays.get_source(session, good).check_ok is True
    assert session.get(RelaySource, off).checked_at is None
    # fixed: the next check passes and the failure is forgotten
    relays.edit_source(session, Actor("test"), page, url=server + "/stream.aac", policy=True)
    relays.check_now(session, Actor("test"), page, timeout=2, policy=LOOPBACK_ONLY)
    session.commit()
    fixed = relays.get_source(session, page)
    assert (
        fixed.check_ok
        and fixed.failing_since is None
        and fixed.reason() == ("Luồng AAC đang phát.")
    )


def test_a_failing_backup_stream_fails_the_source(session, ha_tinh, server):
    sid = _source(session, "Có dự phòng", server + "/stream.mp3")
    relays.edit_source(session, Actor("test"), sid, backup_url=server + "/api", policy=True)
    info = relays.check_now(session, Actor("test"), sid, timeout=2, policy=LOOPBACK_ONLY)
    assert info.check_ok is False
    assert info.reason() == (
        "Luồng dự phòng: Địa chỉ này trả về dữ liệu JSON, không phải luồng âm thanh."
    )


def test_the_job_records_its_run_and_the_dashboard_lists_the_failing_source(
    cli, factory, ha_tinh, server, monkeypatch
):
    from broadcaster.scheduler import jobs
    from tests.scheduler.test_scheduler import use_environment

    with transaction(factory) as s:
        bad = _source(s, "Đài tỉnh (lỗi)", server + "/page")
        _source(s, "VOV1 (tốt)", server + "/stream.mp3")
        other = relays.add_source(
            s, Actor("test"), name="Phường khác", url=server + "/api", unit="18100", policy=True
        ).id
    use_environment(cli, monkeypatch)
    monkeypatch.setenv("BROADCASTER_RELAY_ALLOW_PRIVATE", "127.0.0.1/32")
    jobs.relays_job()
    with factory() as s:
        run = s.scalar(select(JobRun).where(JobRun.job == "relays"))
        assert run.ok, run.detail
        assert run.detail.startswith("kiểm tra 3 nguồn tiếp âm, 2 lỗi: ")
        tz = load_settings().tz
        province = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        commune = s.scalar(select(AdminUnit).where(AdminUnit.code == "18073"))
        in_province = dashboard.overview(s, province, tz=tz).failing_relays
        in_commune = dashboard.overview(s, commune, tz=tz).failing_relays
    assert {r.id for r in in_province} == {bad, other}
    (failing,) = in_commune  # another commune's source is not this one's business
    assert failing.id == bad and failing.failing_since is not None
    assert failing.reason() == "Địa chỉ này là một trang web (HTML), không phải luồng âm thanh."
    with pytest.raises(ValueError, match="unknown argument version"):
        jobs.relays_job(v=99)


# --- the CLI ----------------------------------------------------------------------------


def test_cli_add_list_check_edit_remove(cli, ha_tinh, server):
    import json

    from tests.conftest import Cli

    run = Cli({**cli.env, "BROADCASTER_RELAY_ALLOW_PRIVATE": "127.0.0.1/32"})
    bad = run("relays", "add", "VOV1", "--url", "file:///etc/passwd")
    assert bad.exit_code == 2 and "'file:'" in bad.output and "(--url)" in bad.output
    private = cli("relays", "add", "VOV1", "--url", server + "/stream.mp3")  # setting off
    assert private.exit_code == 2 and "chính máy chủ này" in private.output
    assert run("relays", "add", "VOV1", "--url", server + "/stream.mp3").exit_code == 0
    added = run("relays", "add", "Đài tỉnh", "--url", server + "/page", "--unit", "42")
    assert added.exit_code == 0, added.output
    port = server.rsplit(":", 1)[1]
    secret = f"http://nghe:bi-mat@127.0.0.1:{port}/stream.aac"
    assert run("relays", "add", "Có mật khẩu", "--url", secret).exit_code == 0
    listing = run("relays", "list")
    assert "chưa kiểm tra" in listing.output and "bi-mat" not in listing.output
    checked = run("relays", "check", "--timeout", "2")
    assert checked.exit_code == 1  # one source fails
    assert "Đài tỉnh: LỖI từ" in checked.output
    assert "trang web (HTML), không phải luồng âm thanh" in checked.output
    assert "VOV1: tốt" in checked.output and "bi-mat" not in checked.output
    fixed = run("relays", "edit", "Đài tỉnh", "--url", server + "/live.m3u8")
    assert fixed.exit_code == 0, fixed.output
    assert run("relays", "check", "Đài tỉnh", "--timeout", "2").exit_code == 0
    assert run("relays", "remove", "VOV1").exit_code == 0
    rows = {r["name"]: r for r in json.loads(run("relays", "list", "--json").output)}
    assert rows["VOV1"]["active"] is False
    assert rows["Đài tỉnh"]["check_ok"] is True and rows["Đài tỉnh"]["unit"] == "42"
    assert rows["Đài tỉnh"]["check"].startswith("Luồng HLS đang phát")
    assert rows["Có mật khẩu"]["url"] == f"http://***@127.0.0.1:{port}/stream.aac"
    missing = run("relays", "edit", "Không có", "--name", "X")
    assert missing.exit_code == 2 and "Không có nguồn tiếp âm 'Không có'" in missing.output
    due = run("relays", "check", "--due", "--timeout", "2")  # all checked: nothing due
    assert due.exit_code == 0 and "không có nguồn tiếp âm nào cần kiểm tra" in due.output
