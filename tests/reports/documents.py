"""Helpers of the official-document tests: the month holding the scene's airings, a
draft, and storing a unit's document."""

from __future__ import annotations

from datetime import date, timedelta

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.reports.periods import Period, resolve
from broadcaster.services.reports import drafts
from tests.planning.fixtures import TZ
from tests.reports.scene import at
from tests.reports.test_stored import KEY

DEADLINE_DAY = 25


def month_of(day: date, cutoff_day: int = 15) -> Period:
    """The reporting month (cut-off ``cutoff_day``) holding ``day``."""
    year, month = day.year, day.month
    if cutoff_day > 1 and day.day >= cutoff_day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return resolve("month", f"{year}-{month:02d}", cutoff_day)


def scene_month(scene) -> Period:
    """The month holding the scene's first aired days (m0 + 2 … m0 + 7)."""
    return month_of(scene.m0 + timedelta(days=2))


def aired(scene, station_id=None, campaign_id=None) -> None:
    """Two airings on time and one partial, in the scene's first days."""
    d = scene.m0
    for offset, hhmm, minutes, status in ((2, "06:02", 2, "aired"), (4, "17:40", 2.5, "aired")):
        slot = scene.slot(d + timedelta(offset), station_id, campaign_id)
        scene.report(slot, at(d + timedelta(offset), hhmm), minutes, status)
    slot = scene.slot(d + timedelta(7), station_id, campaign_id)
    scene.report(slot, at(d + timedelta(7), "06:00"), 1.25, "partial")


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
