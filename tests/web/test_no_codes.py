"""No filter asks a person for a code: the filter pages are rendered (a province's list
of stations and a country's name box) and every label, hint and placeholder read."""

from __future__ import annotations

import re

import pytest

from broadcaster.webapp import pickers
from tests.web.conftest import text
from tests.web.scripts_scene import seed
from tests.web.test_campaigns import approve, create

_LABEL = re.compile(r"<label\b[^>]*>(.*?)</label>", re.S)
_LEGEND = re.compile(r"<legend\b[^>]*>(.*?)</legend>", re.S)
_PLACEHOLDER = re.compile(r'placeholder="([^"]*)"')
_CODE_WORDS = re.compile(r"\bmã\b|\(mã\)|\bcode\b", re.I)
_ISO_WEEK = re.compile(r"\d{4}-W\d|YYYY-W", re.I)
_INPUT = re.compile(r"<input\b[^>]*>")


def _asks(page: str) -> list[str]:
    """What the page's form fields say to the person filling them."""
    words = [re.sub(r"<[^>]+>", " ", t) for t in _LABEL.findall(page) + _LEGEND.findall(page)]
    return words + _PLACEHOLDER.findall(page)


def _filter_pages(web) -> dict[str, str]:
    approve(web)
    campaign_id = create(web, targets="18073, 18100")
    seed(web, "tin-co-cho-dien", body="Kính thưa bà con {ten_xa}, mời đi họp.")
    urls = {
        "kiemtra": ["/airings/", "/reports/compliance", f"/campaigns/{campaign_id}", "/stations/"],
        "quantri": ["/audit/", "/airings/"],
        "bientap": ["/scripts/tin-co-cho-dien"],
    }
    pages = {}
    for user, paths in urls.items():
        client = web.client(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (user, path)
            pages[f"{user} {path}"] = text(response)
    return pages


@pytest.mark.parametrize("large_scope", [False, True], ids=["list", "name-box"])
def test_no_filter_asks_for_a_unit_or_station_code_or_an_iso_week(web, monkeypatch, large_scope):
    if large_scope:
        monkeypatch.setattr(pickers, "SELECT_LIMIT", 10)
    for where, page in _filter_pages(web).items():
        for said in _asks(page):
            assert not _CODE_WORDS.search(said), (where, said)
            assert not _ISO_WEEK.search(said), (where, said)
        for field in _INPUT.findall(page):
            if 'type="hidden"' in field:
                continue
            # a week is chosen as a day of a calendar, never typed
            assert 'name="week"' not in field and 'name="of"' not in field, (where, field)
            # a station is a list of names or a name box; never a code box
            if 'name="station"' in field or 'name="verify_station"' in field:
                raise AssertionError((where, field))
        assert "data-station-picker" in page or "/audit/" not in where, where
