"""Helpers of the official-document tests: the month holding the scene's airings, a
draft, and storing a unit's document."""

from __future__ import annotations

from datetime import date, timedelta

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.reports.periods import Period, resolve
from broadcaster.services.reports import drafts
from tests.planning.fixtures import TZ
from tests.reports.test_stored import KEY

DEADLINE_DAY = 25


def month_of(day: date, cutoff_day: int = 15) -> Period:
    """The reporting month (cut-off ``cutoff_day``) holding ``day``."""
    year, month = day.year, day.month
    if cutoff_day > 1 and day.day >= cutoff_day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return resolve("month", f"{year}-{month:02d}", cutoff_day)


def scene_month(scene) -> Period:
    """The reporting month holding most of the scene's planned days (m0 + 2 … m0 + 20)."""
    first, last = scene.m0 + timedelta(days=2), scene.m0 + timedelta(days=20)
    a, b = month_of(first), month_of(last)
    return a if (a.end - first).days >= (last - b.start).days else b


def aired(scene, station_id=None, campaign_id=None) -> None:
    """In the scene's month, two airings on time (2 and 2.5 minutes) and one partial
    (1.25 minutes): the first three planned days inside the month."""
    period = scene_month(scene)
    days = [
        scene.m0 + timedelta(days=n)
        for n in range(2, 21)
        if (scene.m0 + timedelta(days=n)).weekday() in (0, 2, 4)
        and period.start <= scene.m0 + timedelta(days=n) <= period.end
    ]
    for day, minutes, status in zip(
        days[:3], (2, 2.5, 1.25), ("aired", "aired", "partial"), strict=True
    ):
        slot = scene.slot(day, station_id, campaign_id)
        scene.report(slot, slot.planned_start + timedelta(minutes=2), minutes, status)


def form(**changes) -> dict[str, str]:
    base = {
        "issuer_parent": "UBND TỈNH HÀ TĨNH",
        "issuer_name": "ỦY BAN NHÂN DÂN XÃ ĐẬU LIÊU",
        "number": "12",
        "symbol": "BC-UBND",
        "place": "Đậu Liêu",
        "date": local_today(TZ).isoformat(),
        "summary": "Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở tháng 12 năm 2026",
        "difficulties": "Loa cụm thôn 3 hỏng từ ngày 02/12.",
        "proposals": "Đề nghị tỉnh hỗ trợ kinh phí sửa chữa.",
        "signer_authority": "TM. ỦY BAN NHÂN DÂN\nKT. CHỦ TỊCH",
        "signer_title": "PHÓ CHỦ TỊCH",
        "signer_name": "Nguyễn Văn An",
        "recipients": "- UBND tỉnh (b/c);\n- Lưu: VT.",
    }
    return base | changes


def store_for(scene, unit_code, period, draft=None, *, now=None):
    """Store ``unit_code``'s document for ``period`` (its defaults, signed by a name)."""
    with transaction(scene.factory) as s:
        if draft is None:
            start = drafts.defaults(s, unit_code, period, today=local_today(TZ))
            draft = drafts.with_changes(start, signer_name="Nguyễn Văn An")
        return drafts.store_document(
            s,
            period,
            unit_code,
            draft,
            key=KEY,
            generated_by="kiểm tra",
            tz=TZ,
            deadline_day=DEADLINE_DAY,
            now=now,
        )
