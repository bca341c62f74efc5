"""Dates at the edges of the calendar, typed into every admin page and form that takes one:
a message beside the field, a 400, never a 500 (the app runs with TESTING: a 500 raises)."""

from __future__ import annotations

import pytest

from tests.web.conftest import OWN_STATION, text
from tests.web.test_campaigns import approve, campaign_count, form

FAR = ["9999-12-31", "0001-01-01", "2100-01-01", "1999-12-31"]
PAGES = [
    "/airings/?to={d}",
    "/airings/?from={d}",
    "/audit/?to={d}",
    "/audit/?from={d}",
    f"/reports/stations/{OWN_STATION}/airings?to={{d}}",
    f"/reports/stations/{OWN_STATION}/airings?from={{d}}",
    "/reports/compliance?kind=custom&from=2026-11-01&to={d}",
    "/reports/compliance?kind=custom&from={d}&to=2026-11-01",
]


@pytest.mark.parametrize("day", FAR)
def test_pages_say_the_date_is_out_of_range(web, day):
    client = web.client("quantri")
    for url in PAGES:
        answer = client.get(url.format(d=day))
        assert answer.status_code == 400, (url, answer.status_code)
        assert "nằm ngoài khoảng cho phép (01/01/2000 đến 31/12/2099)" in text(answer), url


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("name", ["starts_on", "ends_on"])
def test_campaign_dates_out_of_range_are_refused_beside_the_field(web, day, name):
    approve(web)
    answer = web.post(web.client("duyet"), "/campaigns/new", form(web, **{name: day}))
    page = text(answer)
    assert answer.status_code == 400, page
    assert f'id="{name}-error"' in page and "nằm ngoài khoảng cho phép" in page
    assert campaign_count(web) == 0


@pytest.mark.parametrize("day", FAR)
def test_a_quiet_day_out_of_range_is_refused(web, day):
    client = web.client("duyet")
    answer = web.post(client, f"/stations/{OWN_STATION}/quiet-days", {"day": day})
    assert answer.status_code == 400, text(answer)
    assert "nằm ngoài khoảng cho phép" in text(answer)
    removed = web.post(client, f"/stations/{OWN_STATION}/quiet-days/{day}/remove", {})
    assert removed.status_code == 404


def test_a_calendar_week_out_of_range_is_refused_with_a_message(web):
    approve(web)
    client = web.client("duyet")
    answer = web.post(client, "/campaigns/new", form(web))
    campaign = answer.headers["Location"].rstrip("/").split("/")[-1]
    for week in ("9999-W52", "0001-W01", "2100-W01"):
        page = client.get(f"/campaigns/{campaign}?week={week}&station={OWN_STATION}")
        assert page.status_code == 400, week
        assert "Tuần không hợp lệ" in text(page), week  # and this week's calendar below it
