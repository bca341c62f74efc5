"""Input a browser never sends but a person or a script can: non-ASCII digits in ids and
page numbers, forms posted after the session is gone, reserved names, very long texts.
Every answer is a 4xx or a page, never a 500 (the app runs with TESTING: a 500 raises)."""

from __future__ import annotations

import pytest

from broadcaster.db import transaction
from broadcaster.library import ScriptText
from broadcaster.services import scripts, users
from broadcaster.services.units import get_unit
from tests.web.conftest import PASSWORD, text

ODD_NUMBERS = ["²", "٣", "１２", "1²", "-1", "99999999999999999999"]
URLS = [
    "/scripts/?page={n}",
    "/scripts/x?version={n}",
    "/campaigns/?page={n}",
    "/campaigns/{n}",
    "/emergency/{n}",
    "/emergency/{n}.json",
    "/stations/?page={n}",
    "/airings/?before={n}",
    "/airings/?campaign={n}",
    "/audit/?before={n}",
    "/users/?page={n}",
    "/reports/compliance?cutoff={n}",
    "/reports/compliance?campaign={n}",
    "/reports/stored?page={n}",
    "/reports/stations/18073/airings?page={n}",
]


@pytest.mark.parametrize("number", ODD_NUMBERS)
def test_odd_digits_in_urls_are_never_a_500(web, number):
    client = web.client("quantri")
    for url in URLS:
        answer = client.get(url.format(n=number))
        assert answer.status_code < 500, url.format(n=number)


def test_a_form_posted_after_signing_out_is_refused_cleanly(web):
    client = web.client()  # no session: no CSRF token either
    for url in ("/stations/18073/windows", "/emergency/1/cancel", "/scripts/x/approve"):
        answer = client.post(url, data={"windows": "05:00-06:00"})
        assert answer.status_code == 400, url
        assert "CSRF" in text(answer)


def test_a_slug_that_would_hide_the_editor_is_refused_in_any_case(web):
    client = web.client("bientap")
    for slug in ("New", "SPOKEN", "audio"):
        answer = web.post(
            client, "/scripts/new", {"title": "Tin", "slug": slug, "body": "Kính thưa bà con."}
        )
        assert answer.status_code == 400, slug
        assert 'id="slug-error"' in text(answer)


def test_an_imported_script_too_long_for_the_spoken_form_still_opens(web):
    with web.factory() as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
    body = "Kính thưa bà con, UBND xã thông báo lịch tiếp dân. " * 500  # ~25,000 characters
    with transaction(web.factory) as s:
        scripts.save_text(
            s,
            editor,
            ScriptText(slug="tin-rat-dai", title="Tin rất dài", body=body),
            get_unit(s, "42"),
        )
    answer = web.client("duyet").get("/scripts/tin-rat-dai")
    assert answer.status_code == 200
    assert 'id="spoken-too-long"' in text(answer)
