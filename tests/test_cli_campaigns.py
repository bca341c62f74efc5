"""``broadcaster campaigns`` and ``broadcaster quiet-days`` end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.errors import InvalidInput
from broadcaster.library import ScriptText
from broadcaster.models import User
from broadcaster.planning import PlanReport
from broadcaster.services import scripts, users
from broadcaster.services.units import get_unit

PASSWORD = "mat-khau-cli-1"
SLUGS = ("dvc-truc-tuyen", "buu-chinh-cong-ich")
TODAY = local_today(ZoneInfo("Asia/Ho_Chi_Minh"))  # the product's today, not the machine's
START = TODAY + timedelta(days=7)
END = START + timedelta(days=90)
AS_APPROVER = ("--user", "hung", "--password", PASSWORD)


@pytest.fixture
def library(factory, actor, ha_tinh):
    """Two approved scripts (written by an editor, approved by another person) and a draft."""
    with transaction(factory) as s:
        users.add_user(s, actor, "lan", "editor", PASSWORD, scope="42")
        users.add_user(s, actor, "hung", "approver", PASSWORD, scope="42")
    with factory() as s:
        people = {
            u.username: users.actor_for(u)
            for u in s.scalars(select(User).options(selectinload(User.scope_unit)))
        }
    with transaction(factory) as s:
        for slug in (*SLUGS, "ban-nhap"):
            text = ScriptText(slug=slug, title=slug, body="Kính thưa bà con, xin thông báo.")
            scripts.save_text(s, people["lan"], text, get_unit(s, "42"))
        for slug in SLUGS:
            scripts.submit(s, people["lan"], slug)
            scripts.approve(s, people["hung"], slug)


def _add(cli, *extra: str):
    return cli(
        "campaigns",
        "add",
        "--name",
        "Dịch vụ công trực tuyến",
        "--script",
        SLUGS[0],
        "--script",
        SLUGS[1],
        "--unit",
        "Hà Tĩnh",
        "--from",
        START.isoformat(),
        "--to",
        f"{END:%d/%m/%Y}",
        *extra,
    )


def _listed(cli) -> list[dict]:
    result = cli("campaigns", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_add_list_show_with_times_per_week(cli, library):
    result = _add(cli, "--times-per-week", "3", "--window", "sáng", "--no-plan")
    assert result.exit_code == 0, result.output
    assert "Đã tạo chiến dịch #1 'Dịch vụ công trực tuyến': 3 lần/tuần (T2–T7, buổi sáng)" in (
        result.output
    )
    assert "69 đài" in result.output
    assert "Chưa lập lịch lại (--no-plan)" in result.output

    (row,) = _listed(cli)
    assert row["status"] == "active" and row["priority"] == "normal"
    assert row["weekdays"] == [0, 1, 2, 3, 4, 5] and row["preferred"] == "morning"
    assert row["scripts"] == list(SLUGS)
    assert row["targets"] == [{"code": "42", "name": "Hà Tĩnh"}]
    assert (row["starts_on"], row["ends_on"]) == (START.isoformat(), END.isoformat())
    assert row["station_count"] == 69

    shown = json.loads(cli("campaigns", "show", "1", "--json").output)
    assert shown == row
    text = cli("campaigns", "show", "#1").output
    assert "Tần suất:    3 lần/tuần (T2–T7, buổi sáng)" in text
    assert "Nhận tin:    Hà Tĩnh (42)" in text
    table = cli("campaigns", "list").output
    assert "đang chạy" in table and "(1 chiến dịch)" in table


def test_add_with_a_pattern_by_an_approver(cli, library):
    result = _add(
        cli,
        "--pattern",
        "T2 06:00, T4 17:30, T6 06:00",
        "--priority",
        "uu-tien",
        "--no-plan",
        *AS_APPROVER,
    )
    assert result.exit_code == 0, result.output
    assert "T2 06:00, T4 17:30, T6 06:00" in result.output
    (row,) = _listed(cli)
    assert row["pattern"] == [[0, "06:00"], [2, "17:30"], [4, "06:00"]]
    assert row["priority"] == "priority" and row["times_per_week"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--times-per-week", "3", "--script", "ban-nhap"],
            "chưa được duyệt; chỉ tin bài đã duyệt mới được phát. (--script)",
        ),
        (["--times-per-week", "13"], "Số lần/tuần tối đa là 12"),
        (["--pattern", "T2 12:00"], "khung giờ phát của 69/69 đài được chọn"),
        (["--pattern", "T2 12:00"], "khung giờ phát của mỗi đài ở trang của đài. (--pattern)"),
        (["--times-per-week", "3", "--weekdays", "T2-T9"], "không hiểu thứ 't9'"),
        (["--times-per-week", "3", "--weekdays", "T2-T9"], "khoảng như T2-T7. (--weekdays)"),
        (["--times-per-week", "3", "--pattern", "T2 06:00"], "không cả hai"),
        (
            [],
            "thiếu số lần/tuần (ví dụ 3) hoặc lịch cố định "
            "(ví dụ 'T2 06:00, T4 17:30'). (--times-per-week)",
        ),
        (["--times-per-week", "3", "--from", END.isoformat(), "--to", START.isoformat()], "trước"),
        (["--times-per-week", "2", "--user", "lan", "--password", PASSWORD], "'editor' không được"),
    ],
)
def test_bad_input_exits_2_and_saves_nothing(cli, library, extra, message):
    result = _add(cli, *extra, "--no-plan")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Lỗi: ") and message in result.output
    assert "Traceback" not in result.output
    assert _listed(cli) == []


def test_edit_and_states_through_the_cli(cli, library):
    assert _add(cli, "--times-per-week", "3", "--no-plan").exit_code == 0
    edited = cli(
        "campaigns", "edit", "1", "--times-per-week", "2", "--window", "chiều", "--no-plan"
    )
    assert edited.exit_code == 0, edited.output
    assert "2 lần/tuần (T2–T7, buổi chiều)" in edited.output
    nothing = cli("campaigns", "edit", "1", "--no-plan")
    assert nothing.exit_code == 2 and "Không có gì để sửa" in nothing.output
    bad_id = cli("campaigns", "pause", "một", "--no-plan")
    assert bad_id.exit_code == 2 and "phải là một số" in bad_id.output
    missing = cli("campaigns", "show", "7")
    assert missing.exit_code == 2 and "Không có chiến dịch số 7" in missing.output

    by_editor = cli("campaigns", "pause", "1", "--user", "lan", "--password", PASSWORD)
    assert by_editor.exit_code == 2 and "editor" in by_editor.output
    paused = cli("campaigns", "pause", "1", "--reason", "Bão số 3", "--no-plan", *AS_APPROVER)
    assert paused.exit_code == 0 and "Đã tạm dừng chiến dịch #1" in paused.output
    again = cli("campaigns", "pause", "1", "--no-plan")
    assert again.exit_code == 2 and "đang tạm dừng" in again.output
    paused_only = json.loads(cli("campaigns", "list", "--status", "paused", "--json").output)
    assert [c["id"] for c in paused_only] == [1]
    assert cli("campaigns", "resume", "1", "--no-plan").exit_code == 0
    ended = cli("campaigns", "end", "1", "--no-plan")
    assert ended.exit_code == 0 and "Đã kết thúc chiến dịch #1" in ended.output
    (row,) = _listed(cli)
    assert (
        row["status"] == "ended"
        and row["ends_on"] == local_today(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat()
    )
    after_end = cli("campaigns", "resume", "1", "--no-plan")
    assert after_end.exit_code == 2 and "đã kết thúc" in after_end.output


def test_quiet_days_through_the_cli(cli, library):
    day = f"{START:%d/%m/%Y}"
    added = cli("quiet-days", "add", "--station", "18073", day, "--no-plan")
    assert added.exit_code == 0, added.output
    assert f"Đã đặt ngày nghỉ phát {day} của đài 18073" in added.output
    twice = cli("quiet-days", "add", "--station", "18073", START.isoformat(), "--no-plan")
    assert twice.exit_code == 2 and "đã có ngày nghỉ phát" in twice.output
    listed = json.loads(cli("quiet-days", "list", "--station", "18073", "--json").output)
    assert listed == [
        {
            "station_code": "18073",
            "station_name": "Đài truyền thanh phường Thành Sen",
            "day": START.isoformat(),
        }
    ]
    assert "(1 ngày nghỉ phát)" in cli("quiet-days", "list").output
    removed = cli("quiet-days", "remove", "--station", "18073", day, "--no-plan")
    assert removed.exit_code == 0 and "Đã bỏ ngày nghỉ phát" in removed.output
    gone = cli("quiet-days", "remove", "--station", "18073", day, "--no-plan")
    assert gone.exit_code == 2 and "không có ngày nghỉ phát" in gone.output
    assert json.loads(cli("quiet-days", "list", "--json").output) == []


def test_a_change_is_planned_in_the_same_transaction(cli, library, monkeypatch):
    calls = []

    def fake_plan(session, *, now=None, days=14, tz=None, campaign_ids=None, progress=None):
        calls.append({"now": now, "days": days, "tz": tz, "campaign_ids": campaign_ids})
        return PlanReport(created=5, updated=1, cancelled=2, unplaced=["18073 2026-W02#3"])

    monkeypatch.setattr("broadcaster.planning.plan", fake_plan)
    result = _add(cli, "--times-per-week", "3")
    assert result.exit_code == 0, result.output
    assert "Đã lập lịch: 5 lịch mới, 1 thay đổi, 2 hủy; 1 không xếp được" in result.output
    assert calls == [
        {"now": None, "days": 14, "tz": ZoneInfo("Asia/Ho_Chi_Minh"), "campaign_ids": [1]}
    ]

    def failing_plan(session, **kwargs):
        raise InvalidInput("bộ lập lịch từ chối")

    monkeypatch.setattr("broadcaster.planning.plan", failing_plan)
    failed = cli("campaigns", "pause", "1")
    assert failed.exit_code == 2 and "bộ lập lịch từ chối" in failed.output
    (row,) = _listed(cli)
    assert row["status"] == "active"  # the pause was rolled back with the plan


def test_a_change_calls_the_real_planner(cli, library):
    added = _add(cli, "--times-per-week", "3")
    assert added.exit_code == 0, added.output
    assert "Đã lập lịch:" in added.output and " 0 lịch mới" not in added.output
    result = cli("campaigns", "pause", "1")
    assert result.exit_code == 0, result.output
    assert "Đã lập lịch:" in result.output and " 0 hủy" not in result.output


def test_today_is_vietnams_while_utc_is_still_yesterday(cli, library, monkeypatch):
    """17:30 UTC on 1 March is 00:30 on 2 March in Việt Nam: every "today" says the 2nd."""
    clock = datetime(2030, 3, 1, 17, 30, tzinfo=UTC)
    monkeypatch.setattr("broadcaster.clock.utcnow", lambda: clock)
    assert local_today(ZoneInfo("Asia/Ho_Chi_Minh")) == date(2030, 3, 2)
    assert local_today(ZoneInfo("UTC")) == date(2030, 3, 1)

    past = cli("quiet-days", "add", "--station", "18073", "01/03/2030", "--no-plan")
    assert past.exit_code == 2 and "đã qua" in past.output
    today = cli("quiet-days", "add", "--station", "18073", "02/03/2030", "--no-plan")
    assert today.exit_code == 0, today.output

    added = cli(
        "campaigns", "add", "--name", "Khẩn", "--script", SLUGS[0], "--unit", "42",
        "--from", "2030-03-02", "--to", "2030-05-31", "--times-per-week", "3", "--no-plan",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert cli("campaigns", "end", "1", "--no-plan").exit_code == 0
    (row,) = _listed(cli)
    assert row["ends_on"] == "2030-03-02"
