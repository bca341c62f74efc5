"""The admin's main menu: each page, its label and the roles that see it.

The menu only hides what a role has no use for; every view still checks the
role and scope itself on the server.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

ALL = ()
MENU = (
    ("dashboard.index", _l("Tổng quan"), ALL),
    ("scripts.index", _l("Tin bài"), ("admin", "editor", "approver", "auditor")),
    ("campaigns.index", _l("Chiến dịch"), ("admin", "editor", "approver", "auditor")),
    ("emergency.index", _l("Tin khẩn cấp"), ("admin", "approver", "auditor", "operator")),
    ("stations.index", _l("Đài"), ALL),
    ("operator.week", _l("Lịch phát của đài"), ("operator",)),
    ("airings.index", _l("Nhật ký phát"), ALL),
    ("reports.compliance", _l("Báo cáo"), ALL),
    ("relays.index", _l("Nguồn tiếp âm"), ("admin",)),
    ("users.index", _l("Người dùng"), ("admin",)),
    ("audit.index", _l("Nhật ký thao tác"), ("admin", "auditor")),
)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _menu() -> dict:
        return {"admin_menu": MENU, "current_locale": str(get_locale() or "vi")}
