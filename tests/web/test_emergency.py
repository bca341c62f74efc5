"""The emergency pages: send from the form, watch stations pick it up and air it, cancel.

Each test runs on SQLite and PostgreSQL (the ``web`` fixture); sending renders real
audio with the offline voice (espeak).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from broadcaster.db import transaction, utcnow
from broadcaster.models import AuditEvent, Emergency, EmergencyTarget, Slot, SlotStatus
from broadcaster.services import health, tokens
from broadcaster.services.audit import system_actor
from tests.web.conftest import OTHER_STATION, OWN_STATION, text

FORM = {
    "title": "Bão số 5 đổ bộ",
    "body": "Bà con khẩn trương gia cố nhà cửa, không ra khơi.",
    "units": f"{OWN_STATION},{OTHER_STATION}",
    "repeat": "2",
    "expires": "60",
}


def _send(web, user: str = "duyet", **changes) -> int:
    client = web.client(user)
    answer = web.post(client, "/emergency/new", {**FORM, **changes})
    assert answer.status_code == 302, text(answer)
    return int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _count(web, model, *where) -> int:
    with transaction(web.factory) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _rows(page: str) -> dict[str, str]:
    """Station code → status of the delivery table."""
    out = {}
    for chunk in page.split('<tr data-station="')[1:]:
        code, rest = chunk.split('"', 1)
        out[code] = rest.split('data-status="', 1)[1].split('"', 1)[0]
    return out


def test_the_form_starts_with_no_units_and_counts_the_chosen_ones(web):
    client = web.client("duyet")
    page = client.get("/emergency/new")
    assert page.status_code == 200
    body = text(page)
    # nothing chosen in advance: one careless click must not reach the whole province
    assert 'name="units" value=""' in body and "data-unit-picker" in body
    assert "unitpicker.js" in body and 'name="csrf_token"' in body
    assert "Gửi ngay tới các đài đã chọn" in body
    province = client.get("/emergency/reach.json?units=42").get_json()
    assert province == {"stations": 69, "connected": 0}
    reach = web.client("duyet").get(f"/emergency/reach.json?units={OWN_STATION}")
    assert reach.get_json() == {"stations": 1, "connected": 0}
    assert web.client("duyet").get("/emergency/reach.json?units=%00").get_json() == {
        "stations": None,
        "connected": None,
    }
    # a station holding a long-poll (on any server process) counts as connected now
    with transaction(web.factory) as s:
        health.note_waiting(s, [OWN_STATION])
    province = client.get("/emergency/reach.json?units=42").get_json()
    assert province == {"stations": 69, "connected": 1}
    page = text(client.get("/emergency/new?units=42"))
    assert 'id="emergency-connected"' in page


def test_send_watch_pick_up_air_and_cancel(web):
    emergency_id = _send(web)
    with transaction(web.factory) as s:
        e = s.get(Emergency, emergency_id)
        assert e.title == FORM["title"] and e.repeat == 2 and e.created_by == "duyet"
        assert e.expires_at - e.created_at == timedelta(minutes=60)
        assert (
            s.scalar(
                select(func.count())
                .select_from(EmergencyTarget)
                .where(EmergencyTarget.emergency_id == emergency_id)
            )
            == 2
        )
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "emergency.send")).one()
        assert event.after["stations"] == 2
        token = tokens.issue(s, system_actor(), OWN_STATION).token
    assert _count(web, Slot, Slot.emergency_id == emergency_id) == 2

    watcher = web.client("kiemtra")
    page = watcher.get(f"/emergency/{emergency_id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    body = text(page)
    assert _rows(body) == {OWN_STATION: "waiting", OTHER_STATION: "waiting"}
    assert 'id="emergency-reload"' in body and "emergency.js" in body
    assert 'id="emergency-cancel"' not in body  # an auditor watches only

    # the station pulls its playlist with its token: the emergency tops it, picked up
    api = web.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    pulled = api.get(f"/api/v1/stations/{OWN_STATION}/playlist?format=json", headers=auth)
    assert pulled.status_code == 200
    item = pulled.get_json()["items"][0]
    assert item["kind"] == "emergency" and item["repeat"] == 2
    watched = watcher.get(f"/emergency/{emergency_id}.json").get_json()
    assert watched["totals"] == {"stations": 2, "connected": 0, "picked_up": 1, "aired": 0}
    by_code = {d["code"]: d for d in watched["stations"]}
    assert by_code[OWN_STATION]["status"] == "picked_up"
    assert by_code[OWN_STATION]["status_label"] == "đã nhận"
    assert by_code[OWN_STATION]["connected"] is False

    # its agent waits for emergencies and says it is playing: connected, then playing
    with transaction(web.factory) as s:
        health.note_waiting(s, [OWN_STATION])
    beat = {"agent_version": "t", "player_state": "playing"}
    assert (
        api.post(f"/api/v1/stations/{OWN_STATION}/heartbeat", json=beat, headers=auth).status_code
        == 200
    )
    watched = watcher.get(f"/emergency/{emergency_id}.json").get_json()
    assert watched["totals"]["connected"] == 1
    by_code = {d["code"]: d for d in watched["stations"]}
    assert by_code[OWN_STATION]["connected"] is True
    assert by_code[OWN_STATION]["status"] == "playing" and by_code[OWN_STATION]["playing_at"]
    assert by_code[OWN_STATION]["status_label"] == "đang phát"
    assert by_code[OTHER_STATION]["connected"] is False
    shown = text(watcher.get(f"/emergency/{emergency_id}"))
    assert 'id="total-connected">1<' in shown and "đang kết nối" in shown
    assert by_code[OWN_STATION]["seconds_to_pick_up"] is not None
    assert by_code[OTHER_STATION]["status"] == "waiting"

    # … and reports it aired
    start = utcnow() - timedelta(seconds=30)
    report = {
        "id": str(uuid.uuid4()),
        "slot_id": item["slot_id"],
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(seconds=20)).isoformat(),
        "status": "aired",
    }
    answer = api.post(
        f"/api/v1/stations/{OWN_STATION}/airings",
        data=json.dumps({"reports": [report]}),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    watched = watcher.get(f"/emergency/{emergency_id}.json").get_json()
    assert watched["totals"] == {"stations": 2, "connected": 1, "picked_up": 1, "aired": 1}
    by_code = {d["code"]: d for d in watched["stations"]}
    assert by_code[OWN_STATION]["status"] == "aired" and by_code[OWN_STATION]["aired_at"]
    assert _rows(text(watcher.get(f"/emergency/{emergency_id}")))[OWN_STATION] == "aired"
    listed = text(watcher.get("/emergency/"))
    assert f'data-emergency="{emergency_id}"' in listed and "1 / 1 / 2" in listed

    # cancel: the station that has not aired it drops it
    sender = web.client("duyet")
    assert 'id="emergency-cancel"' in text(sender.get(f"/emergency/{emergency_id}"))
    assert web.post(watcher, f"/emergency/{emergency_id}/cancel").status_code == 403
    cancelled = web.post(sender, f"/emergency/{emergency_id}/cancel")
    assert cancelled.status_code == 302
    with transaction(web.factory) as s:
        assert s.get(Emergency, emergency_id).cancelled_at is not None
        statuses = dict(
            s.execute(
                select(Slot.station_id, Slot.status).where(Slot.emergency_id == emergency_id)
            ).all()
        )
    assert sorted(statuses.values()) == sorted([SlotStatus.AIRED, SlotStatus.CANCELLED])
    assert _count(web, AuditEvent, AuditEvent.action == "emergency.cancel") == 1
    after = watcher.get(f"/emergency/{emergency_id}.json").get_json()
    assert after["emergency"]["state"] == "cancelled"
    assert {d["code"]: d["status"] for d in after["stations"]} == {
        OWN_STATION: "aired",
        OTHER_STATION: "cancelled",
    }


def test_operators_see_only_what_reaches_their_station(web):
    mine = _send(web, units=OWN_STATION)
    both = _send(web, units="42", title="Bão số 6 đổ bộ")  # another text: no confirmation
    daixa, daikhac = web.client("daixa"), web.client("daikhac")
    listed = text(daixa.get("/emergency/"))
    assert f'data-emergency="{mine}"' in listed and f'data-emergency="{both}"' in listed
    other = text(daikhac.get("/emergency/"))
    assert f'data-emergency="{mine}"' not in other and f'data-emergency="{both}"' in other
    assert daikhac.get(f"/emergency/{mine}").status_code == 403
    assert daikhac.get(f"/emergency/{mine}.json").status_code == 403
    # a province-wide item shows an operator their own station only
    assert _rows(text(daixa.get(f"/emergency/{both}"))) == {OWN_STATION: "waiting"}
    assert daixa.get(f"/emergency/{both}.json").get_json()["totals"]["stations"] == 1
    assert 'id="emergency-cancel"' not in text(daixa.get(f"/emergency/{both}"))
    # the station's own page lists what reached it
    station_page = text(daixa.get(f"/stations/{OWN_STATION}"))
    assert f'data-emergency="{mine}"' in station_page and f'data-emergency="{both}"' in station_page
    assert f'data-emergency="{mine}"' not in text(daikhac.get(f"/stations/{OTHER_STATION}"))
    # the province's auditor sees all 69
    assert web.client("kiemtra").get(f"/emergency/{both}.json").get_json()["totals"] == {
        "stations": 69,
        "connected": 0,
        "picked_up": 0,
        "aired": 0,
    }


def test_the_watch_table_paginates(web):
    emergency_id = _send(web, units="42")
    client = web.client("quantri")
    first = text(client.get(f"/emergency/{emergency_id}"))
    second = text(client.get(f"/emergency/{emergency_id}?page=2"))
    assert len(_rows(first)) == 50 and len(_rows(second)) == 19
    assert not set(_rows(first)) & set(_rows(second))
    assert client.get(f"/emergency/{emergency_id}.json?page=2").get_json()["more"] is False


def test_who_may_send(web):
    for user in ("kiemtra", "daixa", "bientap"):
        client = web.client(user)
        assert client.get("/emergency/new").status_code == 403, user
        assert web.post(client, "/emergency/new", FORM).status_code == 403, user
    assert web.client("bientap").get("/emergency/").status_code == 403
    assert _count(web, Emergency) == 0
    assert _send(web, "quantri") > 0


def test_bad_forms_are_400_beside_the_field_and_send_nothing(web):
    client = web.client("duyet")
    cases = [
        ({"title": ""}, "title"),
        ({"title": "Bão\x00"}, "title"),
        ({"title": "x" * 10_000}, "title"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 10_000}, "body"),
        ({"body": "Kính gửi {khong_co}"}, "body"),
        ({"units": ""}, "units"),
        ({"units": "99999"}, "units"),
        ({"units": "abc$%"}, "units"),
        ({"units": "18073\x00"}, "units"),
        ({"repeat": "0"}, "repeat"),
        ({"repeat": "6"}, "repeat"),
        ({"repeat": "-1"}, "repeat"),
        ({"repeat": "abc"}, "repeat"),
        ({"expires": "1"}, "expires"),
        ({"expires": "99999999999999999999"}, "expires"),
    ]
    for change, name in cases:
        answer = web.post(client, "/emergency/new", {**FORM, **change})
        assert answer.status_code == 400, change
        body = text(answer)
        assert f'id="{name}-error"' in body, change
        assert 'aria-invalid="true"' in body and "\x00" not in body
    shown = text(web.post(client, "/emergency/new", {**FORM, "repeat": "9"}))
    assert FORM["title"] in shown and FORM["body"] in shown
    assert _count(web, Emergency) == 0 and _count(web, Slot) == 0


def test_a_unit_outside_the_scope_is_403(web):
    from broadcaster.models import AdminUnit

    with transaction(web.factory) as s:
        s.add(
            AdminUnit(
                code="99",
                name="Tỉnh Khác",
                kind="tỉnh",
                level=1,
                path="/99/",
                codename="tinh_khac",
                name_folded="tinh khac",
            )
        )
    answer = web.post(web.client("duyet"), "/emergency/new", {**FORM, "units": "42,99"})
    assert answer.status_code == 403
    assert _count(web, Emergency) == 0


def test_unknown_and_absurd_ids_are_404(web):
    client = web.client("quantri")
    for path in ["99999", "0", "-1", "99999999999999999999", "abc", "%00"]:
        assert client.get(f"/emergency/{path}").status_code == 404, path
        assert client.get(f"/emergency/{path}.json").status_code == 404, path
        assert web.post(client, f"/emergency/{path}/cancel").status_code == 404, path


def test_an_approver_cannot_cancel_an_item_sent_beyond_their_scope(web):
    from broadcaster.models import AdminUnit

    with transaction(web.factory) as s:
        s.add(
            AdminUnit(
                code="99",
                name="Tỉnh Khác",
                kind="tỉnh",
                level=1,
                path="/99/",
                codename="tinh_khac",
                name_folded="tinh khac",
            )
        )
    emergency_id = _send(web, "quantri", units="42,99")
    assert web.post(web.client("duyet"), f"/emergency/{emergency_id}/cancel").status_code == 403
    with transaction(web.factory) as s:
        assert s.get(Emergency, emergency_id).cancelled_at is None


def test_the_same_text_again_to_overlapping_units_asks_for_confirmation(web):
    first = _send(web, units=OWN_STATION)
    client = web.client("duyet")
    again = web.post(client, "/emergency/new", {**FORM, "units": "42"})  # 42 holds 18073
    page = text(again)
    assert again.status_code == 409, page
    assert 'id="again-error"' in page and f"số {first}" in page
    assert 'name="again"' in page and FORM["body"] in page  # what was typed is kept
    assert _count(web, Emergency) == 1
    # another commune does not overlap: no question
    assert web.post(client, "/emergency/new", {**FORM, "units": OTHER_STATION}).status_code == 302
    confirmed = web.post(client, "/emergency/new", {**FORM, "units": "42", "again": "1"})
    assert confirmed.status_code == 302
    assert _count(web, Emergency) == 3


def test_a_burst_of_sends_is_refused_with_a_clear_message(web):
    client = web.client("duyet")
    for n in range(3):
        answer = web.post(client, "/emergency/new", {**FORM, "title": f"Bão số {n + 1}"})
        assert answer.status_code == 302, text(answer)
    refused = web.post(client, "/emergency/new", {**FORM, "title": "Bão số 4"})
    assert refused.status_code == 429
    assert "tối đa 3" in text(refused) and "giây rồi gửi tiếp" in text(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert _count(web, Emergency) == 3
    # another sender is not held back by this one
    assert (
        web.post(web.client("quantri"), "/emergency/new", {**FORM, "title": "Bão"}).status_code
        == 302
    )
