"""The admin's dashboard shows the last backup: when (local time), how big, ok or why not,
and a warning when the newest good one is older than 36 hours or there is none."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.models import JobRun
from broadcaster.services import backups
from tests.web.conftest import text


def _section(page: str) -> str:
    found = re.search(r'<section id="backup">(.*?)</section>', page, re.S)
    assert found, "no backup section"
    return found.group(1)


def _run(web, ok: bool, hours_ago: float, detail: dict) -> None:
    at = utcnow() - timedelta(hours=hours_ago)
    with transaction(web.factory) as s:
        s.add(
            JobRun(
                job="backup",
                started_at=at - timedelta(seconds=5),
                finished_at=at,
                host="h",
                pid=1,
                ok=ok,
                detail=json.dumps({"v": 1, **detail}),
            )
        )


def test_no_backup_yet_is_a_warning_for_the_admin_only(web):
    page = text(web.client("quantri").get("/dashboard/"))
    assert 'id="backup-none"' in _section(page)
    for other in ("duyet", "kiemtra", "daixa"):
        assert '<section id="backup">' not in text(web.client(other).get("/dashboard/"))


def test_a_real_backup_shows_with_its_local_time_and_size(web):
    result = backups.run_recorded(web.settings)  # the job's and the command's own path
    section = _section(text(web.client("quantri").get("/dashboard/")))
    with web.factory() as s:
        run = s.scalar(select(JobRun).where(JobRun.job == "backup"))
    local = run.finished_at.astimezone(web.settings.tz).strftime("%d/%m/%Y %H:%M")
    assert 'data-test="backup-ok"' in section
    assert local in section and result.path.name in section and "MB" in section
    assert 'id="backup-stale"' not in section


def test_a_failure_shows_its_reason_and_an_old_good_backup_warns(web):
    _run(web, True, 50, {"file": "broadcaster-cu.tar", "bytes": 3 * 1048576, "seconds": 2.0})
    _run(web, False, 2, {"error": "Không thấy chương trình pg_dump: cài gói postgresql-client"})
    section = _section(text(web.client("quantri").get("/dashboard/")))
    assert 'data-test="backup-failed"' in section
    assert "postgresql-client" in section
    good = (utcnow() - timedelta(hours=50)).astimezone(web.settings.tz)
    assert 'id="backup-stale"' in section and good.strftime("%d/%m/%Y %H:%M") in section
    assert "36" in section


def test_the_english_page(web):
    _run(web, True, 1, {"file": "broadcaster-x.tar", "bytes": 5 * 1048576, "seconds": 1.0})
    client = web.client("quantri")
    page = text(client.get("/dashboard/", headers={"Accept-Language": "en"}))
    section = _section(page)
    assert 'data-test="backup-ok"' in section and "5,0 MB" in section
