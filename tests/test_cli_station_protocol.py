"""CLI for the station side: tokens, station health, emergencies."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import AuditEvent, Emergency, Slot, SlotStatus, Station, StationToken
from broadcaster.services import health, tokens, users
from broadcaster.services.audit import system_actor


def _people(factory, scope="42"):
    with transaction(factory) as s:
        users.add_user(s, system_actor(), "quantri", "admin", "password1")
        users.add_user(s, system_actor(), "duyet", "approver", "password1", scope=scope)
        users.add_user(s, system_actor(), "bientap", "editor", "password1")


def _first_station(factory) -> str:
    with factory() as s:
        return s.scalar(select(Station.code).order_by(Station.code))


def test_token_issue_prints_the_token_once_and_stores_its_hash(cli, factory, ha_tinh):
    code = _first_station(factory)
    result = cli("stations", "token", "issue", code)
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]  # the token alone on the last line
    assert token.startswith("bst_") and len(token) > 40
    assert "chỉ hiện một lần" in result.output
    with factory() as s:
        assert tokens.authenticate(s, token).station_code == code
        assert s.scalar(select(func.count()).select_from(StationToken)) == 1
    listed = json.loads(cli("stations", "token", "list", code, "--json").output)
    assert listed[0]["prefix"] == token[:10] and token not in json.dumps(listed)
    rotated = cli("stations", "token", "issue", code)
    assert "thu hồi 1 mã cũ" in rotated.output
    with factory() as s:
        assert tokens.authenticate(s, token) is None
    revoked = cli("stations", "token", "revoke", code)
    assert revoked.exit_code == 0 and "thu hồi 1" in revoked.output
    assert cli("stations", "token", "revoke", code, "--prefix", "bst_zzz").exit_code == 2
    assert cli("stations", "token", "issue", "no-such").exit_code == 2


def test_only_admins_handle_tokens(cli, factory, ha_tinh):
    _people(factory)
    code = _first_station(factory)
    refused = cli("stations", "token", "issue", code, "--user", "duyet", "--password", "password1")
    assert refused.exit_code == 2 and "quản trị" in refused.output
    ok = cli("stations", "token", "issue", code, "--user", "quantri", "--password", "password1")
    assert ok.exit_code == 0


def test_station_health_lists_offline_stations(cli, factory, ha_tinh):
    result = cli("stations", "health", "--offline")
    assert result.exit_code == 0
    assert "69 đài, 69 mất liên lạc" in result.output
    rows = json.loads(cli("stations", "health", "--unit", "42", "--json").output)
    assert len(rows) == 69 and not any(r["online"] or r["connected"] for r in rows)
    code = _first_station(factory)
    with transaction(factory) as s:
        health.note_waiting(s, [code])  # its agent holds a long-poll on some server process
    rows = json.loads(cli("stations", "health", "--unit", "42", "--json").output)
    assert [r["station_code"] for r in rows if r["connected"]] == [code]
    assert "1 đang kết nối chờ tin khẩn cấp" in cli("stations", "health").output


def test_emergency_send_status_and_cancel(cli, factory, ha_tinh, tmp_path):
    _people(factory)
    with factory() as s:
        commune = s.scalar(select(Station.code).order_by(Station.code))
    text = tmp_path / "bao.txt"
    text.write_text("Bão số 5 sắp đổ bộ vào {ten_xa}. Đề nghị bà con sơ tán.", encoding="utf-8")
    sent = cli(
        "emergency", "send", "--title", "Bão số 5", "--file", str(text), "--unit", commune,
        "--repeat", "2", "--user", "duyet", "--password", "password1",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "tới 1 đài" in sent.output and "phát 2 lần" in sent.output
    assert "0 đài đang kết nối nhận được ngay" in sent.output
    with factory() as s:
        slot = s.scalars(select(Slot).where(Slot.emergency_id.is_not(None))).one()
        assert slot.audio_asset_id is not None and slot.status is SlotStatus.PLANNED
        emergency_id = slot.emergency_id
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "emergency.send" in actions
    status = cli("emergency", "status", str(emergency_id))
    assert "chưa nhận" in status.output and "0/1 đài đã phát" in status.output
    listed = json.loads(cli("emergency", "list", "--json").output)
    assert listed[0]["title"] == "Bão số 5" and listed[0]["stations"] == 1
    cancelled = cli(
        "emergency", "cancel", str(emergency_id), *["--user", "duyet"], *["--password", "password1"]
    )
    assert cancelled.exit_code == 0
    with factory() as s:
        assert s.get(Slot, slot.id).status is SlotStatus.CANCELLED
        assert s.get(Emergency, emergency_id).cancelled_at is not None


def test_emergency_refusals(cli, factory, ha_tinh):
    _people(factory, scope=None)
    as_editor = ["--user", "bientap", "--password", "password1"]
    as_approver = ["--user", "duyet", "--password", "password1"]
    cases = [
        (["--title", "T", "--text", "Nội dung", "--unit", "42", *as_editor], "Chỉ người duyệt"),
        (["--title", "T", "--unit", "42", *as_approver], "--text hoặc --file"),
        (["--title", "T", "--text", "x", "--unit", "99999", *as_approver], "mã '99999'"),
        (
            ["--title", " ", "--text", "x", "--unit", "42", *as_approver],
            "cần có tiêu đề. (--title)",
        ),
        (["--title", "T", "--text", "{ten_huyen}", "--unit", "42", *as_approver], "không hợp lệ"),
        (["--title", "T", "--text", "x" * 6000, "--unit", "42", *as_approver], "dài quá 5000"),
    ]
    for args, words in cases:
        result = cli("emergency", "send", *args)
        assert result.exit_code == 2, args
        assert words in result.output, (args, result.output)
    assert cli("emergency", "status", "12345").exit_code == 2
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Emergency)) == 0


def test_emergency_sent_twice_asks_for_again(cli, factory, ha_tinh):
    _people(factory, scope=None)
    send = [
        "emergency", "send", "--title", "Lũ", "--text", "Nước lên nhanh.", "--unit", "42",
        "--user", "duyet", "--password", "password1",
    ]  # fmt: skip
    assert cli(*send).exit_code == 0
    twice = cli(*send)
    assert twice.exit_code == 2
    assert "phút trước" in twice.output and "(--again)" in twice.output
    assert cli(*send, "--again").exit_code == 0
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Emergency)) == 2


def test_a_playlist_link_is_issued_listed_and_revoked_from_the_cli(cli, factory, ha_tinh):
    code = _first_station(factory)
    issued = cli("stations", "token", "issue", code, "--link")
    assert issued.exit_code == 0, issued.output
    urls = [line for line in issued.output.splitlines() if "/api/v1/links/bsl_" in line]
    assert [u.rsplit(".", 1)[1] for u in urls] == ["m3u8", "xspf"]
    assert "BROADCASTER_PUBLIC_URL" in issued.output  # unset: says what to put in its place
    assert cli("stations", "token", "issue", code).exit_code == 0  # the agent's token
    rows = json.loads(cli("stations", "token", "list", code, "--json").output)
    assert sorted((r["kind"], r["revoked_at"] is None, r["uses"]) for r in rows) == [
        ("header", True, 0),
        ("link", True, 0),
    ]
    table = cli("stations", "token", "list", code).output
    assert "liên kết" in table and "Số lần" in table
    revoked = cli("stations", "token", "revoke", code, "--link")
    assert revoked.exit_code == 0 and "Đã thu hồi 1" in revoked.output
    rows = json.loads(cli("stations", "token", "list", code, "--json").output)
    assert {r["kind"]: r["revoked_at"] is None for r in rows} == {"header": True, "link": False}
