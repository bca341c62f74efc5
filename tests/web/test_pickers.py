"""Filters chosen by name and by date, never by a typed code: the station picker, the unit
picker's names, the report's period lists, the calendar's day; old code URLs still work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from broadcaster.db import transaction
from broadcaster.models import Slot
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.services import stations, users
from broadcaster.vntext import fold
from broadcaster.webapp import pickers
from tests.web.conftest import OTHER_STATION, OWN_STATION, PASSWORD
from tests.web.conftest import text as body
from tests.web.test_airings import scene  # noqa: F401  (the fixture)
from tests.web.test_campaigns import approve, create, today


def option_value(page: str, select_id: str, label_part: str) -> str:
    """The value of the option of ``select_id`` whose text holds ``label_part``: what a
    person picks by reading."""
    select_html = page.split(f'<select id="{select_id}"', 1)[1].split("</select>", 1)[0]
    for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html):
        if label_part in label:
            return value
    raise AssertionError(f"no option '{label_part}' in #{select_id}")


@pytest.fixture
def name_box(monkeypatch):
    """A scope too large for a list (as a nation-wide one is): the picker is a name box."""
    monkeypatch.setattr(pickers, "SELECT_LIMIT", 10)


# -- the airing log --------------------------------------------------------------------


def test_airing_log_station_is_chosen_from_a_list_of_names(web, scene):  # noqa: F811
    client = web.client("kiemtra")
    page = body(client.get("/airings/"))
    assert '<select id="station" name="station"' in page
    code = option_value(page, "station", "Trần Phú")
    shown = body(client.get(f"/airings/?station={code}"))
    assert "đài bên cạnh" in shown and "mất điện" not in shown


def test_airing_log_station_typed_by_name_when_the_scope_is_large(web, scene, name_box):  # noqa: F811
    client = web.client("kiemtra")
    page = body(client.get("/airings/"))
    assert 'name="station_name"' in page and '<select id="station"' not in page
    shown = client.get("/airings/?station_name=tran phu")  # no diacritics
    assert shown.status_code == 200
    assert "đài bên cạnh" in body(shown) and "mất điện" not in body(shown)
    assert 'value="Đài truyền thanh phường Trần Phú, Hà Tĩnh"' in body(shown)


def test_the_next_page_link_carries_the_code_not_the_name(web, scene, name_box, monkeypatch):  # noqa: F811
    monkeypatch.setattr("broadcaster.webapp.airings.PAGE_SIZE", 1)
    page = body(web.client("kiemtra").get("/airings/?station_name=thanh sen"))
    (link,) = re.findall(r'<a href="([^"]*)" id="page-next"', page)
    assert f"station={OWN_STATION}" in link and "station_name" not in link


def test_a_name_matching_two_stations_is_a_400_beside_the_field_naming_both(web, scene, name_box):  # noqa: F811
    response = web.client("kiemtra").get("/airings/?station_name=Hồng Lĩnh")
    assert response.status_code == 400
    page = body(response)
    error = page.split('id="station-error">', 1)[1].split("</span>", 1)[0]
    assert "Bắc Hồng Lĩnh" in error and "Nam Hồng Lĩnh" in error and "Có 2 đài" in error
    assert 'aria-describedby="station-error' in page
    assert 'value="Hồng Lĩnh"' in page  # what was typed, shown again
    none = web.client("kiemtra").get("/airings/?station_name=Không Có Xã Này")
    assert none.status_code == 400 and 'id="station-error"' in body(none)
    # the whole name, or the province after a comma, picks one
    one = web.client("kiemtra").get("/airings/?station_name=Nam Hồng Lĩnh")
    assert one.status_code == 200


def test_old_code_urls_still_work_in_both_forms(web, scene, monkeypatch):  # noqa: F811
    client = web.client("kiemtra")
    page = body(client.get(f"/airings/?station={OTHER_STATION}"))
    assert "đài bên cạnh" in page and "mất điện" not in page
    monkeypatch.setattr(pickers, "SELECT_LIMIT", 10)
    page = body(client.get(f"/airings/?station={OTHER_STATION}"))
    assert "đài bên cạnh" in page and "mất điện" not in page
    assert 'value="Đài truyền thanh phường Trần Phú, Hà Tĩnh"' in page
    # a station outside the user's scope is still refused
    assert web.client("daixa").get("/airings/?station_name=Trần Phú").status_code == 400
    assert web.client("daixa").get(f"/airings/?station={OTHER_STATION}").status_code == 403


def test_airing_log_unit_typed_by_name_without_javascript(web, scene):  # noqa: F811
    client = web.client("kiemtra")
    page = body(client.get("/airings/?unit=Phường Thành Sen"))
    assert "mất điện" in page and "đài bên cạnh" not in page
    assert body(client.get("/airings/?unit=thanh sen")).count('data-test="airing-') == 2
    assert client.get("/airings/?unit=Không Có").status_code == 400


def test_chain_check_of_a_station_chosen_by_name(web, scene, name_box):  # noqa: F811
    auditor = web.client("kiemtra")
    response = web.post(auditor, "/airings/verify", {"verify_station_name": "Thành Sen"})
    assert response.status_code == 302
    page = body(auditor.get(response.headers["Location"]))
    assert 'data-test="verify-ok"' in page and "phường Thành Sen" in page
    twice = web.post(auditor, "/airings/verify", {"verify_station_name": "Sơn Kim"})
    assert twice.status_code == 400 and 'id="verify_station-error"' in body(twice)


# -- the audit log ---------------------------------------------------------------------


def test_audit_log_filters_by_a_station_chosen_by_name(web, factory):
    with transaction(factory) as s:
        admin = users.authenticate(s, "quantri", PASSWORD)
        stations.set_windows(s, admin, OWN_STATION, "04:10-04:40")
        stations.set_windows(s, admin, OTHER_STATION, "20:10-20:40")
    client = web.client("quantri")
    page = body(client.get("/audit/"))
    assert 'id="entity_id"' not in page  # no number to type
    code = option_value(page, "station", "Thành Sen")
    mine = body(client.get(f"/audit/?station={code}"))
    assert "04:10" in mine and "20:10" not in mine
    # a name in the large-scope form
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pickers, "SELECT_LIMIT", 10)
        other = client.get("/audit/?station_name=Trần Phú")
        assert other.status_code == 200
        assert "20:10" in body(other) and "04:10" not in body(other)
        assert client.get("/audit/?station_name=Hồng Lĩnh").status_code == 400


# -- the compliance report -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "heading"),
    [
        ({"kind": "month", "year": "2026", "month": "11"}, "Tháng 11/2026"),
        ({"kind": "quarter", "year": "2026", "quarter": "4"}, "Quý IV/2026"),
        ({"kind": "half", "year": "2025", "half": "2"}, "6 tháng cuối năm 2025"),
        ({"kind": "year", "year": "2025"}, "Năm 2025"),
        ({"kind": "month", "of": "2026-10"}, "Tháng 10/2026"),  # an old link
        ({"kind": "custom", "from": "2026-11-02", "to": "2026-11-08"}, "02/11/2026"),
    ],
)
def test_report_period_is_chosen_from_lists_or_a_calendar(web, args, heading):
    response = web.client("kiemtra").get("/reports/compliance", query_string=args)
    assert response.status_code == 200, body(response)[:500]
    page = body(response)
    assert heading in page.split("<h2>", 1)[1].split("</h2>", 1)[0]
    if "year" in args:
        assert f'<option value="{args["year"]}" selected>' in page


def test_report_unit_by_name_and_old_code_urls(web):
    client = web.client("kiemtra")
    by_name = body(client.get("/reports/compliance", query_string={"unit": "Thành Sen"}))
    assert "Phường Thành Sen" in by_name.split("<h2>", 1)[1].split("</h2>", 1)[0]
    by_code = body(client.get("/reports/compliance", query_string={"unit": OWN_STATION}))
    assert "Phường Thành Sen" in by_code.split("<h2>", 1)[1].split("</h2>", 1)[0]
    # the drill-down links keep codes (URLs may), and open
    assert "unit=18073" in by_code or "reports/stations/18073" in by_code
    many = client.get("/reports/compliance", query_string={"unit": "Sơn Kim"})
    assert many.status_code == 400 and 'id="unit-error"' in body(many)


# -- the campaign calendar -------------------------------------------------------------


def test_a_new_campaign_opens_on_its_first_week_with_slots(web):
    approve(web)
    start = today(web) + timedelta(days=8)
    campaign_id = create(web, targets=OWN_STATION, starts_on=start.isoformat())
    with web.factory() as s:
        first = min(
            s.scalars(select(Slot.planned_start).where(Slot.campaign_id == campaign_id)).all()
        )
    week = week_label(first.astimezone(web.settings.tz).date())
    assert week != week_label(today(web))  # this week is empty
    page = body(web.client("duyet").get(f"/campaigns/{campaign_id}"))
    assert f'data-week="{week}"' in page
    assert 'data-test="slot"' in page


def test_calendar_week_by_a_day_and_station_by_name(web, name_box):
    approve(web)
    campaign_id = create(web, targets="18073, 18100")
    client = web.client("duyet")
    day = today(web) + timedelta(days=9)
    page = body(client.get(f"/campaigns/{campaign_id}?day={day}&station_name=Trần Phú"))
    assert f'data-week="{week_label(day)}"' in page
    assert (
        f'data-station="{OTHER_STATION}"'
        in page.split('id="calendar-station"', 1)[0]
        + (page.split('id="calendar-station"', 1)[1][:40])
    )
    assert f'value="{monday_of(day).isoformat()}"' in page  # the date field shows the week
    # the old ISO week in a URL still opens that week
    old = body(client.get(f"/campaigns/{campaign_id}?week={week_label(day)}&station=18100"))
    assert f'data-week="{week_label(day)}"' in old
    bad = client.get(f"/campaigns/{campaign_id}?station_name=Đức Thọ")  # not a target
    assert bad.status_code == 400 and 'id="station-error"' in body(bad)
    assert client.get(f"/campaigns/{campaign_id}?day=31/02/2026").status_code == 400


# -- Listen ----------------------------------------------------------------------------


def test_listen_station_is_chosen_by_name(web, name_box):
    from tests.web.scripts_scene import seed

    seed(web, "loi-moi", body="Kính mời bà con {ten_xa} đến họp.")
    client = web.client("bientap")
    page = body(client.get("/scripts/loi-moi"))
    assert 'name="station_name"' in page
    twice = web.post(
        client,
        "/scripts/loi-moi/listen",
        {"version": "1", "station_name": "Hồng Lĩnh"},
        headers={"Accept": "application/json"},
    )
    assert twice.status_code == 400
    assert "Bắc Hồng Lĩnh" in twice.get_json()["error"]
    heard = web.post(
        client,
        "/scripts/loi-moi/listen",
        {"version": "1", "station_name": "tran phu"},
        headers={"Accept": "application/json"},
    )
    assert heard.status_code == 200, heard.get_data(as_text=True)
    assert heard.get_json()["station"] == OTHER_STATION
    assert "phường Trần Phú" in heard.get_json()["voice"]


# -- the name box's suggestions --------------------------------------------------------


def test_station_suggestions_while_typing_stay_inside_the_scope(web):
    client = web.client("kiemtra")
    found = client.get("/units/stations.json?q=thanh s").get_json()["stations"]
    assert {"code": OWN_STATION, "label": "Đài truyền thanh phường Thành Sen, Hà Tĩnh"} in found
    assert all("thanh s" in fold(s["label"]) for s in found)
    two = client.get("/units/stations.json?q=hong linh").get_json()["stations"]
    assert len(two) == 2
    assert web.client("daixa").get("/units/stations.json?q=tran phu").get_json() == {"stations": []}
    assert client.get("/units/stations.json?q=a%00b").status_code == 400


def test_an_ambiguous_name_offers_its_candidates_to_choose(web, scene, name_box):  # noqa: F811
    page = body(web.client("kiemtra").get("/airings/?station_name=Sơn Kim"))
    suggestions = page.split('<datalist id="station-suggestions">', 1)[1].split("</datalist>")[0]
    assert 'value="Đài truyền thanh xã Sơn Kim 1, Hà Tĩnh"' in suggestions
    assert 'value="Đài truyền thanh xã Sơn Kim 2, Hà Tĩnh"' in suggestions
    one = web.client("kiemtra").get("/airings/?station_name=Đài truyền thanh xã Sơn Kim 2, Hà Tĩnh")
    assert one.status_code == 200


def test_stations_list_unit_by_name_without_javascript(web):
    client = web.client("kiemtra")
    page = body(client.get("/stations/?unit=Thành Sen"))
    assert f"/stations/{OWN_STATION}" in page and f"/stations/{OTHER_STATION}" not in page
    assert f'value="{OWN_STATION}"' in page  # the unit picker's value: the code
    assert client.get("/stations/?unit=Sơn Kim").status_code == 400
