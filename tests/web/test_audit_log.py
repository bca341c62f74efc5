"""The audit log page: admins and auditors only, the events of real actions, filters, scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcaster.db import utcnow
from broadcaster.models import AuditEvent
from tests.web.airing_scene import add_slots, make_campaign
from tests.web.conftest import OWN_STATION, USERS
from tests.web.conftest import text as body

NEW = {
    "username": "vanhanh2",
    "full_name": "Đỗ Thị Vận Hành",
    "role": "operator",
    "scope": "18073",
    "password": "mat-khau-moi-9",
    "password2": "mat-khau-moi-9",
}


@pytest.fixture
def actions(web):
    """An admin adds and locks a user; an operator confirms an airing."""
    admin = web.client("quantri")
    assert web.post(admin, "/users/new", NEW).status_code == 302
    lock = {"full_name": "Đỗ Thị Vận Hành", "role": "operator", "scope": "18073"}
    assert web.post(admin, "/users/vanhanh2/edit", lock).status_code == 302
    slot = add_slots(web, make_campaign(web), OWN_STATION, [utcnow()])[0]
    confirm = {"station": OWN_STATION, "slot": slot, "status": "failed", "note": "mất điện"}
    assert web.post(web.client("daixa"), "/airings/confirm", confirm).status_code == 302
    return admin


def _row(action: str) -> str:
    """How an event's action cell is marked for machines: its label is shown, its code only
    in a data attribute (never a tooltip: people read tooltips)."""
    return f'data-action="{action}"'


def test_lists_the_events_of_the_actions(web, actions):
    page = body(actions.get("/audit/"))
    for action in ("user.add", "user.lock", "airing.confirm"):
        assert _row(action) in page
    assert "&#34;active&#34;: false" in page or '"active": false' in page
    assert page.index(_row("airing.confirm")) < page.index(_row("user.lock"))
    assert page.index(_row("user.lock")) < page.index(_row("user.add"))
    assert "mất điện" in page and "<details>" in page
    # in words: the actions as people say them, the objects by name with a link
    assert ">Thêm người dùng</td>" in page and ">Khóa người dùng</td>" in page
    assert ">Xác nhận lượt phát</td>" in page
    assert '<a href="/users/vanhanh2/edit">Đỗ Thị Vận Hành (vanhanh2)</a>' in page
    assert "<code>user.add</code>" not in page and 'title="user.add"' not in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("action=user.", "user.lock", "airing.confirm"),
        ("action=airing", "airing.confirm", "user.add"),
        ("actor=daixa", "airing.confirm", "user.lock"),
        ("entity_type=user", "user.add", "airing.confirm"),
        ("from=2020-01-01&to=2020-01-02", None, "user.add"),
    ],
)
def test_filters(web, actions, query, shown, hidden):
    page = body(actions.get(f"/audit/?{query}"))
    if shown:
        assert _row(shown) in page
    assert _row(hidden) not in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-99-01", "from"),
        ("to=x", "to"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("action=DROP%20TABLE", "action"),
        ("action=%00", "action"),
        ("entity_type=User!", "entity_type"),
        ("actor=" + "x" * 10_000, "actor"),
    ],
)
def test_bad_filters_are_400_beside_the_field(web, query, field):
    response = web.client("kiemtra").get(f"/audit/?{query}")
    assert response.status_code == 400 and f'id="{field}-error"' in body(response)


def test_keyset_pages(web, actions, monkeypatch):
    monkeypatch.setattr("broadcaster.webapp.audit_log.PAGE_SIZE", 2)
    first = body(actions.get("/audit/?entity_type=user"))
    assert first.count('data-test="event-') == 2 and 'id="page-next"' in first
    next_url = first.split('id="page-next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = body(actions.get(next_url.replace("&amp;", "&")))
    seen_first = {p.split('"')[0] for p in first.split('data-test="event-')[1:]}
    seen_second = {p.split('"')[0] for p in second.split('data-test="event-')[1:]}
    assert seen_second and not seen_first & seen_second
    with web.factory() as s:
        users_events = s.scalars(select(AuditEvent.id).where(AuditEvent.entity_type == "user"))
        assert seen_first | seen_second <= {str(i) for i in users_events}


@pytest.mark.parametrize(
    "name", [n for n, (role, *_) in USERS.items() if role not in ("admin", "auditor")]
)
def test_other_roles_are_refused(web, name):
    assert web.client(name).get("/audit/").status_code == 403


def test_provincial_auditor_sees_the_events_of_users_in_the_province(web, actions):
    page = body(web.client("kiemtra").get("/audit/"))
    assert _row("airing.confirm") in page  # daixa's scope is inside Hà Tĩnh
    assert _row("user.add") not in page  # quantri acts nation-wide


def test_an_admin_action_keeps_the_address_it_came_from(web):
    admin = web.client("quantri")
    admin.environ_base["REMOTE_ADDR"] = "10.42.7.9"
    assert web.post(admin, "/users/new", NEW).status_code == 302
    with web.factory() as s:
        added = select(AuditEvent).where(
            AuditEvent.action == "user.add", AuditEvent.actor == "quantri"
        )
        assert s.scalars(added).one().address == "10.42.7.9"
        # the set-up's CLI actions (the users) came with no address
        cli = s.scalars(select(AuditEvent.address).where(AuditEvent.actor.like("cli:%"))).all()
        assert cli and set(cli) == {None}
    page = body(admin.get("/audit/"))
    assert '<small class="address"' in page and "10.42.7.9" in page
