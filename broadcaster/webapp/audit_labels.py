"""The audit log in words: each recorded action and kind of object as people say it, and
each object by its title or name with a link, instead of ``user.add`` and "script 15"."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.models import (
    AdminUnit,
    Campaign,
    ComplianceReport,
    Emergency,
    RelaySource,
    Script,
    ScriptVersion,
    Station,
    User,
)

ACTIONS = {
    "airing.confirm": _l("Xác nhận lượt phát"),
    "campaign.create": _l("Tạo chiến dịch"),
    "campaign.edit": _l("Sửa chiến dịch"),
    "campaign.pause": _l("Tạm dừng chiến dịch"),
    "campaign.resume": _l("Cho chiến dịch chạy lại"),
    "campaign.end": _l("Kết thúc chiến dịch"),
    "campaign.voice": _l("Đổi giọng đọc của chiến dịch"),
    "emergency.send": _l("Gửi tin khẩn cấp"),
    "emergency.cancel": _l("Hủy tin khẩn cấp"),
    "relay.add": _l("Thêm nguồn tiếp âm"),
    "relay.edit": _l("Sửa nguồn tiếp âm"),
    "relay.deactivate": _l("Ngừng dùng nguồn tiếp âm"),
    "relay.activate": _l("Dùng lại nguồn tiếp âm"),
    "report.store": _l("Lưu báo cáo"),
    "report.document.store": _l("Lưu báo cáo theo thể thức"),
    "report.file": _l("Nộp báo cáo lên cấp trên"),
    "script.create": _l("Soạn tin bài mới"),
    "script.version": _l("Sửa tin bài (phiên bản mới)"),
    "script.submit": _l("Trình duyệt tin bài"),
    "script.approve": _l("Duyệt tin bài"),
    "script.reject": _l("Trả lại tin bài"),
    "script.archive": _l("Lưu trữ tin bài"),
    "script.preview": _l("Nghe thử tin bài"),
    "station.add": _l("Thêm đài"),
    "station.windows": _l("Đổi khung giờ phát của đài"),
    "station.voice": _l("Đổi giọng đọc của đài"),
    "station.quiet_day.add": _l("Thêm ngày nghỉ phát"),
    "station.quiet_day.remove": _l("Bỏ ngày nghỉ phát"),
    "station.token.issue": _l("Cấp mã truy cập cho đài"),
    "station.token.revoke": _l("Thu hồi mã truy cập của đài"),
    "station.link.issue": _l("Cấp liên kết danh sách phát"),
    "stations.import": _l("Nhập danh sách đài"),
    "units.import": _l("Nhập danh mục đơn vị hành chính"),
    "user.add": _l("Thêm người dùng"),
    "user.edit": _l("Sửa người dùng"),
    "user.lock": _l("Khóa người dùng"),
    "user.unlock": _l("Mở khóa người dùng"),
    "user.passwd": _l("Đổi mật khẩu"),
}

KINDS = {
    "admin_unit": _l("Đơn vị hành chính"),
    "airing": _l("Lượt phát"),
    "campaign": _l("Chiến dịch"),
    "compliance_report": _l("Báo cáo đã lưu"),
    "emergency": _l("Tin khẩn cấp"),
    "relay_source": _l("Nguồn tiếp âm"),
    "script": _l("Tin bài"),
    "station": _l("Đài"),
    "unit": _l("Đơn vị hành chính"),
    "user": _l("Người dùng"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


@dataclass(frozen=True)
class Named:
    text: str
    url: str | None = None


def _ids(rows, kind: str) -> list[int]:
    return sorted(
        {int(r.entity_id) for r in rows if r.entity_type == kind and str(r.entity_id).isdigit()}
    )


def object_names(session: Session, rows, *, link_users: bool) -> dict[tuple[str, str], Named]:
    """(kind, id) → the object's name and page, for the objects of these events, in a few
    queries (an object since removed keeps its kind and number). ``link_users``: the
    reader may open users' pages (admins)."""
    names: dict[tuple[str, str], Named] = {}
    if ids := _ids(rows, "script"):
        newest = (
            select(ScriptVersion.script_id, ScriptVersion.title)
            .where(ScriptVersion.script_id.in_(ids))
            .order_by(ScriptVersion.script_id, ScriptVersion.id)
        )
        titles = dict(session.execute(newest).all())  # the newest version's title wins
        for sid, slug in session.execute(select(Script.id, Script.slug).where(Script.id.in_(ids))):
            names[("script", str(sid))] = Named(
                titles.get(sid, slug), url_for("scripts.detail", slug=slug)
            )
    if ids := _ids(rows, "station"):
        for sid, code, name in session.execute(
            select(Station.id, Station.code, Station.name).where(Station.id.in_(ids))
        ):
            names[("station", str(sid))] = Named(
                f"{name} ({code})", url_for("stations.detail", code=code)
            )
    if ids := _ids(rows, "campaign"):
        for cid, name in session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))
        ):
            names[("campaign", str(cid))] = Named(name, url_for("campaigns.show", campaign_id=cid))
    if ids := _ids(rows, "emergency"):
        for eid, title in session.execute(
            select(Emergency.id, Emergency.title).where(Emergency.id.in_(ids))
        ):
            url = url_for("emergency.detail", emergency_id=eid)
            names[("emergency", str(eid))] = Named(title, url)
    if ids := _ids(rows, "relay_source"):
        for rid, name in session.execute(
            select(RelaySource.id, RelaySource.name).where(RelaySource.id.in_(ids))
        ):
            url = url_for("relays.edit", source_id=rid) if link_users else None  # admins'
            names[("relay_source", str(rid))] = Named(name, url)
    if ids := _ids(rows, "user"):
        for uid, username, full_name in session.execute(
            select(User.id, User.username, User.full_name).where(User.id.in_(ids))
        ):
            shown = f"{full_name} ({username})" if full_name else username
            url = url_for("users.edit", name=username) if link_users else None
            names[("user", str(uid))] = Named(shown, url)
    if ids := _ids(rows, "compliance_report"):
        for rid in session.scalars(select(ComplianceReport.id).where(ComplianceReport.id.in_(ids))):
            names[("compliance_report", str(rid))] = Named(
                str(_l("Báo cáo số %(n)s", n=rid)), url_for("reports.stored_page", report_id=rid)
            )
    for kind in ("admin_unit", "unit"):
        if ids := _ids(rows, kind):
            for uid, name in session.execute(
                select(AdminUnit.id, AdminUnit.name).where(AdminUnit.id.in_(ids))
            ):
                names[(kind, str(uid))] = Named(name)
    return names
