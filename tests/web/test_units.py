"""The unit tree picker's JSON: search by name or code, browse the tree, stay in scope."""

from __future__ import annotations

import pytest


def _units(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["units"]


def test_search_without_accents_finds_thanh_sen(web):
    hits = _units(web.client("duyet").get("/units/search.json?q=thanh sen"))
    codes = [h["code"] for h in hits]
    assert "18073" in codes
    hit = next(h for h in hits if h["code"] == "18073")
    assert hit["name"] == "Phường Thành Sen"
    assert hit["level"] == 2 and hit["parent_code"] == "42" and hit["has_children"] is False
    assert hit["parent_name"].endswith("Hà Tĩnh")


def test_search_by_code_prefix_and_with_accents(web):
    client = web.client("quantri")
    assert [h["code"] for h in _units(client.get("/units/search.json?q=18073"))] == ["18073"]
    assert "18073" in [h["code"] for h in _units(client.get("/units/search.json?q=Thành Sen"))]


def test_children_of_a_province_and_the_top_of_the_scope(web):
    client = web.client("duyet")
    top = _units(client.get("/units/search.json"))
    assert [h["code"] for h in top] == ["42"] and top[0]["has_children"] is True
    children = client.get("/units/search.json?parent=42").get_json()
    assert len(children["units"]) == 69 and children["more"] is False  # a whole province
    assert all(h["parent_code"] == "42" and h["level"] == 2 for h in children["units"])
    nation = _units(web.client("quantri").get("/units/search.json"))
    assert [h["code"] for h in nation] == ["42"]  # the only province loaded


def test_results_stay_inside_the_scope(web):
    # daixa's scope is the commune 18073: another commune is not found, its parent refused
    client = web.client("daixa")
    assert _units(client.get("/units/search.json?q=tran phu")) == []
    assert [h["code"] for h in _units(client.get("/units/search.json"))] == ["18073"]
    response = client.get("/units/search.json?parent=42")
    assert response.status_code == 403 and "error" in response.get_json()


def test_search_stops_at_thirty_results(web):
    found = web.client("duyet").get("/units/search.json?q=xa").get_json()
    assert len(found["units"]) == 30 and found["more"] is True


@pytest.mark.parametrize(
    "args",
    ["q=%00", "q=" + "a" * 1000, "parent=%00", "parent=" + "4" * 1000, "parent=4%252"],
)
def test_bad_input_is_400_json(web, args):
    response = web.client("duyet").get(f"/units/search.json?{args}")
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_unknown_parent_is_404_and_anonymous_is_sent_to_sign_in(web):
    assert web.client("duyet").get("/units/search.json?parent=99999").status_code == 404
    response = web.client().get("/units/search.json?q=x")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
