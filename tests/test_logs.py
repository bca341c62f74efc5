"""Log lines say local time with its offset, whatever the machine's own zone."""

from __future__ import annotations

import io
import logging
import os
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from broadcaster import logs
from broadcaster.agent.schedule import Agenda
from broadcaster.config import load_settings

# 06:45:02 UTC is 13:45:02 in Việt Nam
INSTANT = datetime(2026, 12, 6, 6, 45, 2, 250_000, tzinfo=UTC)


def _record(message: str = "đã lập lịch") -> logging.LogRecord:
    record = logging.LogRecord(
        "broadcaster.scheduler", logging.INFO, __file__, 1, message, (), None
    )
    record.created = INSTANT.timestamp()
    return record


@pytest.fixture
def machine_in_utc():
    """The server's own clock set to UTC, as most servers are."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_the_formatter_prints_the_local_clock_with_its_offset(machine_in_utc):
    line = logs.LocalFormatter().format(_record())
    assert line == "2026-12-06 13:45:02+07:00 INFO    broadcaster.scheduler: đã lập lịch"


def test_the_zone_is_the_settings_one(tmp_path, machine_in_utc):
    settings = load_settings(env={"BROADCASTER_TIMEZONE": "Asia/Tokyo"}, cwd=tmp_path)
    line = logs.LocalFormatter(tz=settings.tz).format(_record())
    assert line.startswith("2026-12-06 15:45:02+09:00 ")


def test_configure_sends_every_line_through_it_once(machine_in_utc):
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    out = io.StringIO()
    try:
        logs.configure(ZoneInfo("Asia/Ho_Chi_Minh"), stream=out)
        logs.configure(ZoneInfo("Asia/Ho_Chi_Minh"), stream=out)  # again: not twice
        logging.getLogger("broadcaster.test").info("một dòng")
        logging.getLogger("alembic").info("not news")
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith(" INFO    broadcaster.test: một dòng")
    assert lines[0][19:25] == "+07:00"  # "YYYY-MM-DD HH:MM:SS+07:00"


def test_moments_inside_messages_are_written_the_same_way():
    assert logs.stamp(INSTANT) == "2026-12-06 13:45:02+07:00"
    assert logs.stamp(INSTANT.replace(tzinfo=None)) == "2026-12-06 13:45:02+07:00"  # stored UTC
    assert Agenda().local(INSTANT) == "2026-12-06 13:45:02+07:00"  # the agent's messages
