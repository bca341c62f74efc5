"""The relay sources pages: admin-only, the form's errors beside their fields (4xx, never
500), "Kiểm tra ngay" against a loopback stream, stopping a source, a provincial admin's
scope, and the dashboard listing a failing source."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest
from sqlalchemy import select

from broadcaster.db import transaction
from broadcaster.models import AuditEvent, RelaySource
from broadcaster.relays.urls import parse_policy
from broadcaster.services import relays, users
from broadcaster.services.audit import Actor
from tests.relay_servers import stream_server
from tests.web.conftest import PASSWORD, USERS
from tests.web.conftest import text as body

GOOD = {"name": "VOV1", "url": "https://203.162.4.190/vov1.mp3", "nationwide": "1"}


@pytest.fixture(scope="module")
def server():
    with stream_server() as base:
        yield base


def _loopback_allowed(web) -> None:
    """This app reaches the test's loopback servers (and nothing else private)."""
    settings = replace(web.settings, relay_allow_private=parse_policy("127.0.0.1/32"))
    web.app.config["BROADCASTER_SETTINGS"] = settings
    web.app.config["RELAY_CHECK_TIMEOUT"] = 2


def _source(web, name):
    with web.factory() as s:
        return s.scalar(select(RelaySource).where(RelaySource.name == name))


@pytest.mark.parametrize("name", [n for n, (role, *_) in USERS.items() if role != "admin"])
def test_relay_pages_are_admin_only(web, name):
    with transaction(web.factory) as s:
        sid = relays.add_source(s, Actor("test"), name="VOV1", url=GOOD["url"]).id
    client = web.client(name)
    assert client.get("/relays/").status_code == 403
    assert client.get("/relays/new").status_code == 403
    assert web.post(client, "/relays/new", {**GOOD, "name": "Khác"}).status_code == 403
    assert client.get(f"/relays/{sid}/edit").status_code == 403
    assert web.post(client, f"/relays/{sid}/check").status_code == 403
    assert web.post(client, f"/relays/{sid}/active", {"active": "0"}).status_code == 403
    assert _source(web, "Khác") is None and _source(web, "VOV1").active
    assert "/relays/" not in body(client.get("/dashboard/"))  # no menu link either


@pytest.mark.parametrize(
    ("form", "field", "said"),
    [
        ({"url": "file:///etc/passwd"}, "url", "'file:'"),
        ({"url": "ftp://stream.example.vn/a.mp3"}, "url", "'ftp:'"),
        ({"url": "javascript:alert(1)"}, "url", "'javascript:'"),
        ({"url": "http://127.0.0.1:8000/live"}, "url", "chính máy chủ này"),
        ({"url": "http://localhost/live"}, "url", "chính máy chủ này"),
        ({"url": "http://192.168.1.20/live"}, "url", "mạng nội bộ"),
        ({"url": "http://169.254.169.254/"}, "url", "mạng nội bộ"),
        ({"url": ""}, "url", "Nhập địa chỉ luồng"),
        ({"backup_url": "rtsp://a.example.vn/x"}, "backup_url", "'rtsp:'"),
        ({"backup_url": GOOD["url"]}, "backup_url", "phải khác luồng chính"),
        ({"backup_script": "khong-co-tin-nay"}, "backup_script", "khong-co-tin-nay"),
        ({"name": ""}, "name", "Nhập tên nguồn tiếp âm"),
        ({"name": "VOV\u202e1"}, "name", "điều khiển hướng chữ"),
        ({"url": "http://a.vn/\x00"}, "url", "ký tự điều khiển"),
    ],
)
def test_a_bad_field_is_shown_beside_it(web, form, field, said):
    client = web.client("quantri")
    response = web.post(client, "/relays/new", {**GOOD, **form})
    assert response.status_code == 400
    page = html.unescape(body(response))
    start = page.index(f'id="{field}-error"')
    assert said in page[start : start + 400], page[start : start + 400]
    assert _source(web, GOOD["name"]) is None


def test_admin_adds_checks_edits_and_stops_a_source(web, server):
    _loopback_allowed(web)
    client = web.client("quantri")
    assert 'id="relay-form"' in body(client.get("/relays/new"))
    form = {"name": "Đài tỉnh", "url": server + "/page", "nationwide": "1"}
    response = web.post(client, "/relays/new", form)
    assert response.status_code == 302, body(response)
    source = _source(web, "Đài tỉnh")
    listing = body(client.get("/relays/"))
    assert f'data-test="relay-{source.id}"' in listing and "chưa kiểm tra" in listing
    assert web.post(client, "/relays/new", form).status_code == 400  # the name is taken

    checked = web.post(client, f"/relays/{source.id}/check")
    assert checked.status_code == 302
    listing = html.unescape(body(client.get("/relays/")))
    assert "trang web (HTML), không phải luồng âm thanh" in listing
    dash = html.unescape(body(client.get("/dashboard/")))
    assert f'data-test="relay-failing-{source.id}"' in dash
    assert "không phải luồng âm thanh" in dash

    edited = web.post(client, f"/relays/{source.id}/edit", {**form, "url": server + "/stream.mp3"})
    assert edited.status_code == 302
    assert _source(web, "Đài tỉnh").checked_at is None  # a new address: checked anew
    web.post(client, f"/relays/{source.id}/check", {"next": "edit"})
    page = html.unescape(body(client.get(f"/relays/{source.id}/edit")))
    assert "Luồng MP3 đang phát." in page
    assert _source(web, "Đài tỉnh").check_ok is True

    stopped = web.post(client, f"/relays/{source.id}/active", {"active": "0"})
    assert stopped.status_code == 302
    assert not _source(web, "Đài tỉnh").active
    assert "ngừng dùng" in body(client.get("/relays/"))
    with web.factory() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "relay_source")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["relay.add", "relay.edit", "relay.deactivate"]


def test_unknown_or_malformed_source_is_404(web):
    client = web.client("quantri")
    assert client.get("/relays/999/edit").status_code == 404
    assert client.get("/relays/abc/edit").status_code == 404
    assert web.post(client, "/relays/999/check").status_code == 404


def test_a_provincial_admin_manages_the_province_only(web):
    with transaction(web.factory) as s:
        users.add_user(s, Actor("test"), "quantritinh", "admin", PASSWORD, scope="42")
        vov = relays.add_source(s, Actor("test"), name="VOV1", url=GOOD["url"]).id
    client = web.client("quantritinh")
    new_page = body(client.get("/relays/new"))
    assert 'id="nationwide"' not in new_page
    refused = web.post(client, "/relays/new", {**GOOD, "name": "VOV2"})
    assert refused.status_code == 400
    assert "toàn quốc" in html.unescape(body(refused))
    made = web.post(
        client, "/relays/new", {"name": "Đài Hà Tĩnh", "url": "https://203.162.4.5/htv"}
    )
    assert made.status_code == 302
    assert _source(web, "Đài Hà Tĩnh").unit_id is not None  # the admin's own province
    listing = body(client.get("/relays/"))
    assert f'data-test="relay-{vov}"' in listing  # seen, not managed
    assert f'id="relay-check-now-{vov}"' not in listing
    assert client.get(f"/relays/{vov}/edit").status_code == 403
    assert web.post(client, f"/relays/{vov}/edit", {**GOOD, "name": "X"}).status_code == 403
    assert web.post(client, f"/relays/{vov}/active", {"active": "0"}).status_code == 403
    assert _source(web, "VOV1").active
