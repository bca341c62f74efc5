"""Real compliance bodies (computed from the scene) with a hand-written ``document`` section,
for the official report's layout and renderers."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy import select

from broadcaster.models import AdminUnit, Station
from broadcaster.reports import compliance
from broadcaster.reports.fields import COUNT_FIELDS, RELAY_FIELDS
from broadcaster.reports.official import DOCUMENT_FORMAT
from broadcaster.reports.periods import custom
from tests.planning.fixtures import TZ
from tests.reports.scene import at

DIFFICULTIES = (
    "Một số cụm loa ở thôn Trung Thượng bị hỏng do mưa bão, chưa có kinh phí thay thế.\n\n"
    "Đường truyền Internet tại nhà văn hóa thôn <b>Đông</b> chập chờn & hay mất kết nối."
)
PROPOSALS = "Đề nghị UBND tỉnh hỗ trợ kinh phí sửa chữa 05 cụm loa."


def aired(scene) -> None:
    """One on time, one late, one partial airing in the scene's first two weeks."""
    d = scene.m0
    scene.report(scene.slot(d + timedelta(2)), at(d + timedelta(2), "06:02"), 2)
    scene.report(scene.slot(d + timedelta(4)), at(d + timedelta(4), "18:40"), 2)
    scene.report(scene.slot(d + timedelta(7)), at(d + timedelta(7), "06:00"), 1, "partial")


def period(scene):
    return custom(scene.m0, scene.m0 + timedelta(20))


def compute(scene, unit_code: str | None) -> dict:
    with scene.factory() as s:
        return compliance.compute(s, period(scene), unit_code=unit_code, tz=TZ)


def document(**changes) -> dict:
    doc = {
        "format": DOCUMENT_FORMAT,
        "issuer": {"parent": "UBND tỉnh Hà Tĩnh", "name": "ỦY BAN NHÂN DÂN PHƯỜNG THÀNH SEN"},
        "number": "12",
        "symbol": "BC-UBND",
        "place": "Thành Sen",
        "date": "2026-12-05",
        "summary": "Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở tháng 12 năm 2026",
        "difficulties": DIFFICULTIES,
        "proposals": PROPOSALS,
        "signer": {
            "authority": ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"],
            "title": "PHÓ CHỦ TỊCH",
            "name": "Nguyễn Thị Hương",
        },
        "recipients": ["Như trên;", "UBND tỉnh (b/c);", "Lưu: VT."],
        "filings": None,
    }
    doc.update(changes)
    return doc


def commune_body(scene, **changes) -> dict:
    body = compute(scene, scene.unit)
    body["document"] = document(**changes)
    return body


def other_commune(scene) -> str:
    """Another commune of the province that has a station."""
    with scene.factory() as s:
        return s.scalars(
            select(AdminUnit.code)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(AdminUnit.code != scene.unit, AdminUnit.level == 2)
            .order_by(AdminUnit.code)
            .limit(1)
        ).one()


def _summed(rows: list[dict]) -> dict:
    total: dict = {"stations": 0, "units": len(rows)}
    for key in (*COUNT_FIELDS, *RELAY_FIELDS):
        if key.endswith("_pct"):
            continue
        values = [row[key] for row in rows]
        total[key] = round(sum(values), 1) if isinstance(values[0], float) else sum(values)
    for row in rows:
        total["stations"] += row["stations"]
    total["compliance_pct"] = (
        round((total["on_time"] + total["late"]) * 100 / total["due"], 1) if total["due"] else None
    )
    total["on_time_pct"] = round(total["on_time"] * 100 / total["due"], 1) if total["due"] else None
    total["relay_pct"] = (
        round(total["relay_minutes"] * 100 / total["relay_due_minutes"], 1)
        if total["relay_due_minutes"]
        else None
    )
    return total


def province_body(scene) -> tuple[dict, list[dict]]:
    """The province's body with filings: the scene's commune filed on time, another late,
    two more listed as not filed. Returns the body and the two filed commune bodies."""
    filed = [compute(scene, scene.unit), compute(scene, other_commune(scene))]
    body = compute(scene, scene.province)
    missing = [
        {"code": row["code"], "name": row["name"]}
        for row in body["communes"]
        if row["code"] not in {b["scope"]["unit"]["code"] for b in filed}
    ][:2]
    units = [
        {
            "code": b["scope"]["unit"]["code"],
            "name": b["scope"]["unit"]["name"],
            "report_id": index + 1,
            "body_sha256": f"{index:064x}",
            "filed_at": at(scene.m0 + timedelta(24 + 10 * index), "09:30").isoformat(),
            "on_time": index == 0,
            "totals": copy.deepcopy(b["totals"]),
        }
        for index, b in enumerate(filed)
    ]
    body["document"] = document(
        issuer={"parent": "", "name": "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"},
        symbol="BC-UBND",
        place="Hà Tĩnh",
        recipients=["Bộ Văn hóa, Thể thao và Du lịch (b/c);", "Lưu: VT, VX."],
        filings={
            "deadline": (scene.m0 + timedelta(30)).isoformat(),
            "units": units,
            "missing": missing,
            "aggregate": _summed([u["totals"] for u in units]),
        },
    )
    return body, filed
