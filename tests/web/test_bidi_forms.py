"""A title or name holding a bidirectional control character is refused beside its field,
in the script editor, the campaign form, the emergency form and the user form."""

from __future__ import annotations

from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import Campaign, Emergency, Script, User
from tests.web.conftest import text
from tests.web.test_campaigns import approve
from tests.web.test_campaigns import form as campaign_form
from tests.web.test_emergency import FORM as EMERGENCY
from tests.web.test_users import NEW as NEW_USER

REVERSED = "Thông báo \u202ehtgnoht\u202c về dịch vụ công"


def _count(web, model) -> int:
    with transaction(web.factory) as s:
        return s.scalar(select(func.count()).select_from(model))


def _refused(answer, name: str) -> None:
    page = text(answer)
    assert answer.status_code == 400, page
    assert f'id="{name}-error"' in page
    assert "ký tự điều khiển hướng chữ (U+202C, U+202E)" in page


def test_every_form_refuses_them_beside_the_field(web):
    approve(web)
    scripts_before, campaigns_before = _count(web, Script), _count(web, Campaign)
    editor = web.client("bientap")
    script = {"title": REVERSED, "slug": "tin-dao", "body": "Kính thưa bà con.", "unit": "42"}
    _refused(web.post(editor, "/scripts/new", script), "title")
    body = {**script, "title": "Tin", "body": f"Kính thưa {REVERSED}."}
    _refused(web.post(editor, "/scripts/new", body), "body")
    assert _count(web, Script) == scripts_before

    approver = web.client("duyet")
    _refused(web.post(approver, "/campaigns/new", campaign_form(web, name=REVERSED)), "name")
    assert _count(web, Campaign) == campaigns_before
    _refused(web.post(approver, "/emergency/new", {**EMERGENCY, "title": REVERSED}), "title")
    assert _count(web, Emergency) == 0

    admin = web.client("quantri")
    users_before = _count(web, User)
    _refused(web.post(admin, "/users/new", {**NEW_USER, "full_name": REVERSED}), "full_name")
    assert _count(web, User) == users_before


def test_the_spoken_preview_refuses_them_too(web):
    client = web.client("bientap")
    answer = web.post(client, "/scripts/spoken", {"text": REVERSED})
    assert answer.status_code == 400
    assert "U+202E" in answer.get_json()["error"]
