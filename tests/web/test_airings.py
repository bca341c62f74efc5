"""The airing log pages: scoped list, filters, operator confirmation, chain verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, AiringStatus, AuditEvent, Slot, SlotStatus, Station
from tests.web.airing_scene import add_slots, make_campaign, report, unguarded
from tests.web.conftest import OTHER_STATION, OWN_STATION
from tests.web.conftest import text as body


@pytest.fixture
def scene(web):
    campaign_id = make_campaign(web)
    now = utcnow()
    own = add_slots(web, campaign_id, OWN_STATION, [now - timedelta(minutes=m) for m in (1, 2, 3)])
    other = add_slots(web, campaign_id, OTHER_STATION, [now - timedelta(minutes=4)])
    report(web, OWN_STATION, own[0], note="phát tốt ở cụm loa 2")
    report(web, OWN_STATION, own[1], status=AiringStatus.FAILED, note="mất điện")
    report(web, OTHER_STATION, other[0], note="đài bên cạnh")
    return {"campaign": campaign_id, "own": own, "other": other}


def _count(web, model=Airing, *where):
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_log_lists_ingested_airings_in_scope(web, scene):
    page = body(web.client("kiemtra").get("/airings/"))
    assert "phát tốt ở cụm loa 2" in page and "đài bên cạnh" in page
    assert "máy tự động" in page and 'class="badge failed"' in page
    mine = web.client("daixa").get("/airings/")
    assert mine.status_code == 200
    assert "phát tốt ở cụm loa 2" in body(mine) and "đài bên cạnh" not in body(mine)


def test_operator_cannot_read_another_station(web, scene):
    client = web.client("daixa")
    assert client.get(f"/airings/?station={OTHER_STATION}").status_code == 403
    assert client.get("/airings/?unit=42").status_code == 403


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("status=failed", "mất điện", "phát tốt"),
        (f"station={OTHER_STATION}", "đài bên cạnh", "mất điện"),
        ("source=manual", None, "mất điện"),
        ("from=2020-01-01&to=2020-01-31", None, "mất điện"),
    ],
)
def test_filters(web, scene, query, shown, hidden):
    page = body(web.client("quantri").get(f"/airings/?{query}"))
    if shown:
        assert shown in page
    assert hidden not in page


def test_campaign_filter(web, scene):
    client = web.client("kiemtra")
    assert "mất điện" in body(client.get(f"/airings/?campaign={scene['campaign']}"))
    other = make_campaign(web, "Chiến dịch khác")
    assert "mất điện" not in body(client.get(f"/airings/?campaign={other}"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-45", "from"),
        ("to=hôm-qua", "to"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("status=nope", "status"),
        ("source=radio", "source"),
        ("campaign=-3", "campaign"),
        ("campaign=99999999999999", "campaign"),
        ("station=nope", "station"),
        ("station=%00", "station"),
        ("unit=99999", "unit"),
        ("unit=" + "9" * 10_000, "unit"),
    ],
)
def test_bad_filters_are_400_beside_the_field(web, scene, query, field):
    response = web.client("quantri").get(f"/airings/?{query}")
    assert response.status_code == 400
    assert f'id="{field}-error"' in body(response)


def test_keyset_pages(web, scene, monkeypatch):
    monkeypatch.setattr("broadcaster.webapp.airings.PAGE_SIZE", 2)
    client = web.client("kiemtra")
    first = body(client.get("/airings/"))
    assert "đài bên cạnh" in first and "mất điện" in first and "phát tốt" not in first
    assert 'id="page-next"' in first
    with web.factory() as s:
        before = s.scalar(select(func.min(Airing.id)).where(Airing.note != "phát tốt ở cụm loa 2"))
    second = body(client.get(f"/airings/?before={before}"))
    assert "phát tốt" in second and "mất điện" not in second and 'id="page-next"' not in second
    assert body(client.get("/airings/?before=-1")).count('data-test="airing-') == 2


def test_operator_confirms_own_slot_and_chain_verifies(web, scene):
    client = web.client("daixa")
    page = body(client.get("/airings/confirm"))
    slot = scene["own"][2]
    assert f'id="confirm-{slot}"' in page and f'id="confirm-{scene["own"][0]}"' in page
    form = {
        "station": OWN_STATION,
        "slot": slot,
        "status": "partial",
        "minutes": "0,2",
        "note": "loa cụm 3 hỏng",
        "report_id": "0b0e7f3e-9b7c-4d0e-8a4f-2f9c1b2a3d4e",
    }
    response = web.post(client, "/airings/confirm", form)
    assert response.status_code == 302
    assert "dòng số 3" in body(client.get(response.headers["Location"]))
    again = web.post(client, "/airings/confirm", form)  # the same form sent twice: one row
    assert again.status_code == 302
    assert "đã có trong nhật ký" in body(client.get(again.headers["Location"]))
    with web.factory() as s:
        (row,) = s.scalars(select(Airing).where(Airing.slot_id == slot)).all()
        assert (row.source, row.confirmed_by, row.status) == ("manual", "daixa", "partial")
        assert (row.ended_at - row.started_at).total_seconds() == pytest.approx(12)
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "airing.confirm")).all()
        assert len(events) == 1 and events[0].actor == "daixa"
    assert "xác nhận tay: daixa" in body(client.get("/airings/"))
    auditor = web.client("kiemtra")
    response = web.post(auditor, "/airings/verify", {"verify_station": OWN_STATION})
    assert response.status_code == 302
    page = body(auditor.get(response.headers["Location"]))
    assert 'data-test="verify-ok"' in page and "3 dòng của 1 đài" in page


def test_confirm_aired_marks_the_slot(web, scene):
    client = web.client("daixa")
    slot = scene["own"][2]
    response = web.post(
        client, "/airings/confirm", {"station": OWN_STATION, "slot": slot, "status": "aired"}
    )
    assert response.status_code == 302
    with web.factory() as s:
        assert s.get(Slot, slot).status is SlotStatus.AIRED


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"at": "25:00"}, "at"),
        ({"at": "7h"}, "at"),
        ({"minutes": "-1"}, "minutes"),
        ({"minutes": "nan"}, "minutes"),
        ({"note": "x" * 10_000}, "note"),
        ({"note": "a\x00b"}, "note"),
        ({"status": "lost"}, "status"),
    ],
)
def test_bad_confirmation_is_400_and_stores_nothing(web, scene, form, field):
    client = web.client("daixa")
    slot = scene["own"][2]
    data = {"station": OWN_STATION, "slot": slot, "status": "aired", **form}
    response = web.post(client, "/airings/confirm", data)
    assert response.status_code == 400
    assert f'id="{field}-{slot}-error"' in body(response)
    assert _count(web, Airing, Airing.slot_id == slot) == 0


def test_a_time_far_from_now_is_the_service_refusal_beside_the_field(web, scene):
    client = web.client("daixa")
    slot = scene["own"][2]
    # an hour ahead of now is in the future for the station
    at = (utcnow() + timedelta(hours=2)).astimezone(web.settings.tz).strftime("%H:%M")
    response = web.post(
        client,
        "/airings/confirm",
        {"station": OWN_STATION, "slot": slot, "status": "aired", "at": at},
    )
    if response.status_code == 400:  # unless two hours ahead falls on the next local day
        assert f'id="at-{slot}-error"' in body(response)
    assert _count(web, Airing, Airing.slot_id == slot) <= 1


def test_confirmation_refused_outside_role_or_scope(web, scene):
    other_slot = scene["other"][0]
    own_slot = scene["own"][2]
    daixa = web.client("daixa")
    assert (
        web.post(
            daixa,
            "/airings/confirm",
            {"station": OTHER_STATION, "slot": other_slot, "status": "aired"},
        ).status_code
        == 403
    )
    assert daixa.get(f"/airings/confirm?station={OTHER_STATION}").status_code == 403
    assert (
        web.post(
            daixa,
            "/airings/confirm",
            {"station": OWN_STATION, "slot": other_slot, "status": "aired"},
        ).status_code
        == 404
    )
    for slot in ("-5", "99999999999", "abc"):
        assert (
            web.post(daixa, "/airings/confirm", {"station": OWN_STATION, "slot": slot}).status_code
            == 404
        )
    assert (
        web.post(daixa, "/airings/confirm", {"station": "a\x00", "slot": own_slot}).status_code
        == 404
    )
    for name in ("kiemtra", "bientap", "duyet"):
        client = web.client(name)
        assert client.get("/airings/confirm").status_code == 403
        assert (
            web.post(
                client,
                "/airings/confirm",
                {"station": OWN_STATION, "slot": own_slot, "status": "aired"},
            ).status_code
            == 403
        )
    assert _count(web, Airing, Airing.source == "manual") == 0


def test_admin_may_confirm_for_any_station(web, scene):
    client = web.client("quantri")
    assert 'id="station"' in body(client.get("/airings/confirm"))
    slot = scene["other"][0]
    response = web.post(
        client, "/airings/confirm", {"station": OTHER_STATION, "slot": slot, "status": "skipped"}
    )
    assert response.status_code == 302
    assert _count(web, Airing, Airing.source == "manual", Airing.confirmed_by == "quantri") == 1


def test_verify_names_an_altered_row(web, scene):
    auditor = web.client("kiemtra")
    response = web.post(auditor, "/airings/verify", {})
    page = body(auditor.get(response.headers["Location"]))
    assert 'data-test="verify-ok"' in page and "3 dòng của 2 đài" in page
    with unguarded(web) as conn:
        conn.execute(text("UPDATE airings SET note = 'đã sửa' WHERE note = 'mất điện'"))
        conn.commit()
    response = web.post(auditor, "/airings/verify", {"verify_unit": "42"})
    assert response.status_code == 302
    page = body(auditor.get(response.headers["Location"]))
    assert 'data-test="verify-broken"' in page
    assert f'data-test="break-{OWN_STATION}"' in page and "dòng số 2" in page
    assert OTHER_STATION not in page.split('id="verify-breaks"')[1].split("</ul>")[0]


def test_verify_refusals(web, scene):
    assert web.post(web.client("daixa"), "/airings/verify", {}).status_code == 403
    assert web.post(web.client("duyet"), "/airings/verify", {}).status_code == 403
    auditor = web.client("kiemtra")
    response = web.post(auditor, "/airings/verify", {"verify_station": "nope"})
    assert response.status_code == 400 and 'id="verify_station-error"' in body(response)
    assert web.post(auditor, "/airings/verify", {"verify_unit": "01"}).status_code in (400, 403)
    assert web.post(auditor, "/airings/verify", {"verify_unit": "x\x00"}).status_code == 400


def test_verify_of_too_many_stations_asks_for_a_smaller_scope(web, scene, monkeypatch):
    monkeypatch.setattr("broadcaster.webapp.airings.MAX_VERIFY_STATIONS", 10)
    response = web.post(web.client("quantri"), "/airings/verify", {})
    assert response.status_code == 400 and "broadcaster audit verify" in body(response)
    response = web.post(web.client("quantri"), "/airings/verify", {"verify_station": OWN_STATION})
    assert response.status_code == 302


def test_many_broken_stations_keep_the_session_small(web, scene):
    with web.factory() as s:
        codes = s.scalars(select(Station.code).order_by(Station.code).limit(12)).all()
    for code in codes:
        report(web, code, add_slots(web, scene["campaign"], code, [utcnow()])[0])
    with unguarded(web) as conn:
        conn.execute(text("UPDATE airings SET note = 'đã sửa tay trong cơ sở dữ liệu'"))
        conn.commit()
    auditor = web.client("kiemtra")
    response = web.post(auditor, "/airings/verify", {})
    assert response.status_code == 302
    cookie = response.headers.get("Set-Cookie", "")
    assert 0 < len(cookie) < 4000
    page = body(auditor.get("/airings/"))
    assert page.count('data-test="break-') == 10 and "đài khác" in page


def test_campaign_choices_stay_inside_the_scope(web):
    from datetime import date

    from broadcaster.models import AdminUnit, Campaign, CampaignTarget, Priority

    with transaction(web.factory) as s:
        unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == "18100"))
        c = Campaign(
            name="Chiến dịch riêng của phường Trần Phú",
            priority=Priority.NORMAL,
            times_per_week=3,
            weekdays=[0, 1, 2, 3, 4, 5],
            preferred="any",
            pattern=[],
            starts_on=date(2026, 11, 2),
            ends_on=date(2026, 12, 31),
        )
        c.targets = [CampaignTarget(unit_id=unit_id)]
        s.add(c)
        s.flush()
        campaign_id = c.id
    own = web.client("daixa")  # phường Thành Sen: the campaign does not reach it
    assert "phường Trần Phú" not in body(own.get("/airings/"))
    assert own.get(f"/airings/?campaign={campaign_id}").status_code == 400
    assert "phường Trần Phú" not in body(own.get("/reports/compliance"))
    province = web.client("kiemtra")
    assert "Chiến dịch riêng của phường Trần Phú" in body(province.get("/airings/"))
    assert province.get(f"/airings/?campaign={campaign_id}").status_code == 200
