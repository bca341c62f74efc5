"""``broadcaster campaigns add --relay SOURCE --at HH:MM --minutes N``: relay campaigns
(tiếp âm) from the command line, their listing, an edited time, and bad input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import AdminUnit, AuditEvent, Campaign, RelaySource, Slot, SlotStatus
from tests.planning.fixtures import TZ
from tests.test_cli_campaigns import END, SLUGS, START, _add, library  # noqa: F401


@pytest.fixture
def sources(factory, ha_tinh):
    with transaction(factory) as s:
        s.add(RelaySource(name="VOV1", url="http://127.0.0.1:9/vov1.mp3"))
        s.add(RelaySource(name="Đài cũ", url="http://127.0.0.1:9/cu.mp3", active=False))


def _relay(cli, *extra: str):
    return cli(
        "campaigns",
        "add",
        "--name",
        "Tiếp âm VOV1 buổi sáng",
        "--unit",
        "Hà Tĩnh",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        *extra,
    )


def test_add_a_relay_list_and_show_it(cli, factory, sources):
    result = _relay(cli, "--relay", "vov1", "--at", "06:00", "--minutes", "30")
    assert result.exit_code == 0, result.output
    assert "Tiếp âm VOV1 06:00–06:30 (T2–CN)" in result.output
    assert "0 không xếp được" in result.output
    listed = json.loads(cli("campaigns", "list", "--json").output)
    assert [
        (c["kind"], c["relay_source"], c["relay_start"], c["relay_minutes"]) for c in listed
    ] == [("relay", "VOV1", "06:00", 30)]
    table = cli("campaigns", "list").output
    assert "Tiếp âm VOV1 06:00–06:30 (T2–CN)" in table
    shown = cli("campaigns", "show", "1").output
    assert "Tiếp âm:     VOV1, từ 06:00, 30 phút" in shown and "Tin bài:" not in shown
    with factory() as s:
        slots = s.scalars(select(Slot).where(Slot.status == SlotStatus.PLANNED)).all()
        assert slots and all(x.relay_source_id is not None for x in slots)
        assert {x.planned_start.astimezone(TZ).strftime("%H:%M") for x in slots} == {"06:00"}
        assert {x.duration_ms for x in slots} == {30 * 60_000}
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.create"))
        assert event.after["relay_source"] == "VOV1" and event.after["relay_start"] == "06:00"


def test_relay_days_and_an_edited_time(cli, factory, sources):
    result = _relay(cli, "--relay", "VOV1", "--at", "6h", "--minutes", "20", "--days", "T2,T4,T6")
    assert result.exit_code == 0, result.output
    assert "Tiếp âm VOV1 06:00–06:20 (T2, T4, T6)" in result.output
    edited = cli("campaigns", "edit", "1", "--at", "17:30")
    assert edited.exit_code == 0, edited.output
    assert "Tiếp âm VOV1 17:30–17:50 (T2, T4, T6)" in edited.output
    with factory() as s:
        planned = s.scalars(select(Slot).where(Slot.status == SlotStatus.PLANNED)).all()
        assert planned
        assert {x.planned_start.astimezone(TZ).strftime("%H:%M") for x in planned} == {"17:30"}
        assert {x.planned_start.astimezone(TZ).weekday() for x in planned} <= {0, 2, 4}
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.edit"))
        assert event.before == {"relay_start": "06:00"} and event.after == {"relay_start": "17:30"}


@pytest.mark.parametrize(
    ("args", "words", "flag"),
    [
        (("--at", "06:00", "--minutes", "30"), "cần nguồn tiếp âm", "--relay"),
        (("--relay", "VOV9", "--at", "06:00", "--minutes", "30"), "Không có nguồn", "--relay"),
        (("--relay", "Đài cũ", "--at", "06:00", "--minutes", "30"), "đang tắt", "--relay"),
        (("--relay", "VOV1", "--at", "25:00", "--minutes", "30"), "không hợp lệ", "--at"),
        (("--relay", "VOV1", "--at", "sáng", "--minutes", "30"), "sai định dạng", "--at"),
        (("--relay", "VOV1", "--minutes", "30"), "cần giờ bắt đầu", "--at"),
        (("--relay", "VOV1", "--at", "06:00", "--minutes", "0"), "từ 1 đến 600", "--minutes"),
        (("--relay", "VOV1", "--at", "06:00", "--minutes", "ba"), "số phút", "--minutes"),
        (("--relay", "VOV1", "--at", "23:45", "--minutes", "30"), "qua nửa đêm", "--minutes"),
        (
            ("--relay", "VOV1", "--at", "06:00", "--minutes", "30", "--times-per-week", "3"),
            "bỏ số lần/tuần",
            "--times-per-week",
        ),
        (
            ("--relay", "VOV1", "--at", "06:00", "--minutes", "30", "--days", "T9"),
            "không hiểu thứ",
            "--weekdays",
        ),
    ],
)
def test_bad_relay_input_is_refused_naming_the_flag(cli, factory, sources, args, words, flag):
    result = _relay(cli, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and f"({flag})" in result.output, result.output
    assert "Traceback" not in result.output
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 0
        assert s.scalar(select(func.count()).select_from(Slot)) == 0


def test_scripts_given_to_a_relay_and_relay_fields_given_to_announcements(
    cli,
    sources,
    library,  # noqa: F811
):
    result = _relay(
        cli, "--relay", "VOV1", "--at", "06:00", "--minutes", "30", "--script", SLUGS[0]
    )
    assert result.exit_code == 2 and "không có tin bài" in result.output
    assert "(--script)" in result.output
    made = _add(cli, "--times-per-week", "3", "--no-plan")
    assert made.exit_code == 0, made.output
    refused = cli("campaigns", "edit", "1", "--at", "06:00")
    assert refused.exit_code == 2 and "Chiến dịch tin bài không có" in refused.output
    assert "(--at)" in refused.output


def test_a_communes_source_serves_only_that_commune(cli, factory, sources):
    with transaction(factory) as s:
        commune = s.scalar(select(AdminUnit).where(AdminUnit.code == "18073"))
        s.add(RelaySource(name="Loa xã", url="http://127.0.0.1:9/xa.mp3", unit_id=commune.id))
    args = ("--relay", "Loa xã", "--at", "17:00", "--minutes", "15")
    refused = _relay(cli, *args)  # to the whole province
    assert refused.exit_code == 2 and "không dùng cho đơn vị nhận tin" in refused.output
    assert "(--unit)" in refused.output
    allowed = cli(
        "campaigns", "add", "--name", "Loa xã chiều", "--unit", "18073",
        "--from", START.isoformat(), "--to", END.isoformat(), *args,
    )  # fmt: skip
    assert allowed.exit_code == 0, allowed.output
