"""The script editor, the live spoken form and the audio preview ("Nghe thử")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from broadcaster.db import transaction
from broadcaster.library import parse_script
from broadcaster.models import AdminUnit, AudioAsset
from broadcaster.services import users
from broadcaster.services.audit import system_actor
from broadcaster.services.script_text import ScriptDraft, as_file, compose
from tests.web.conftest import PASSWORD, text
from tests.web.scripts_scene import audit_actions, script, script_count, seed, version_count

GOOD = {
    "title": "Tiêm phòng cho đàn gia súc",
    "body": "Kính thưa nhân dân {ten_xa}! UBND {ten_tinh} thông báo lịch tiêm phòng.",
    "tags": "nong-nghiep, thu-y",
    "campaign": "",
    "slug": "",
    "unit": "",
    "action": "save",
}


def test_editor_creates_a_draft_in_the_users_scope(web):
    client = web.client("bientap")
    page = text(client.get("/scripts/new"))
    assert 'id="script-editor"' in page and 'value="42"' in page  # the scope by default
    response = web.post(client, "/scripts/new", GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/scripts/tiem-phong-cho-dan-gia-suc")
    slug = "tiem-phong-cho-dan-gia-suc"
    page = text(client.get(f"/scripts/{slug}"))
    assert "Tiêm phòng cho đàn gia súc" in page and 'data-state="draft"' in page
    info = script(web, slug)
    assert info.unit_code == "42" and info.latest.tags == ("nong-nghiep", "thu-y")
    assert info.latest.placeholders == ("ten_xa", "ten_tinh")
    assert info.latest.author == "bientap" and info.latest.source == "web"
    assert audit_actions(web, slug) == ["script.create"]


def test_editor_picks_a_commune_and_a_free_slug(web):
    client = web.client("bientap")
    form = {**GOOD, "title": "Họp tổ", "body": "Họp lúc 19 giờ.", "unit": "18073"}
    first = web.post(client, "/scripts/new", form).headers["Location"]
    second = web.post(client, "/scripts/new", form).headers["Location"]
    assert first.endswith("/scripts/hop-to") and second.endswith("/scripts/hop-to-2")
    assert script(web, "hop-to").unit_code == "18073"
    # an explicit slug that exists is the author's to change
    response = web.post(client, "/scripts/new", {**form, "slug": "hop-to"})
    assert response.status_code == 400 and 'id="slug-error"' in text(response)
    assert script_count(web) == 2


def test_title_new_does_not_shadow_the_editor(web):
    client = web.client("bientap")
    location = web.post(client, "/scripts/new", {**GOOD, "title": "New"}).headers["Location"]
    assert location.endswith("/scripts/new-2")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "t" * 301}, "title"),
        ({"title": "t" * 10_000}, "title"),
        ({"body": ""}, "body"),
        ({"body": "Kính thưa nhân dân {ten_huyen}!"}, "body"),
        ({"body": "Kính thưa {ten xa}"}, "body"),
        ({"body": "nội dung\x00"}, "body"),
        ({"body": "x" * 100_000}, "body"),
        ({"tags": "Không Dấu!"}, "tags"),
        ({"slug": "Có Dấu"}, "slug"),
        ({"slug": "a\x00"}, "slug"),
        ({"slug": "new"}, "slug"),
        ({"unit": "99999"}, "unit"),
        ({"unit": "a\x00"}, "unit"),
        ({"unit": "x" * 5000}, "unit"),
        ({"campaign": "c" * 400}, "campaign"),
        ({"placeholders": ["ten_dai"]}, "placeholders"),
        ({"title": "!!!", "slug": ""}, "slug"),
    ],
)
def test_editor_refuses_bad_input_and_saves_nothing(web, change, field):
    client = web.client("bientap")
    response = web.post(client, "/scripts/new", {**GOOD, **change})
    assert response.status_code == 400
    page = text(response)
    assert f'id="{field}-error"' in page
    if field != "placeholders":
        assert f'aria-describedby="{field}-error' in page  # the error first, then any hint
    assert script_count(web) == 0
    if "{ten_huyen}" in str(change):
        assert "ten_huyen" in page and "{ten_xa}" in page  # the hint names the right one
        assert "Kính thưa nhân dân {ten_huyen}!" in page  # what was typed is kept


def test_unit_outside_the_scope_is_403(web):
    from broadcaster.db import transaction

    with transaction(web.factory) as s:  # a second province
        s.add(
            AdminUnit(
                code="01",
                name="Thành phố Hà Nội",
                kind="thành phố",
                level=1,
                path="/01/",
                codename="ha_noi",
                name_folded="thanh pho ha noi",
            )
        )
    by_name = web.post(
        web.client("bientap"), "/scripts/new", {**GOOD, "slug": "theo-ten", "unit": "Hà Tĩnh"}
    )
    assert by_name.status_code == 302  # without JavaScript a unit may be typed by its name
    response = web.post(web.client("bientap"), "/scripts/new", {**GOOD, "unit": "01"})
    assert response.status_code == 403
    assert script_count(web) == 1  # only the one typed by name


def test_placeholders_ticked_must_match_the_body(web):
    client = web.client("bientap")
    form = {**GOOD, "placeholders": ["ten_xa", "ten_tinh"]}
    assert web.post(client, "/scripts/new", form).status_code == 302


def test_edit_refuses_bad_input_and_keeps_the_version(web):
    seed(web, "tin-a")
    client = web.client("bientap")
    response = web.post(client, "/scripts/tin-a/edit", {"title": "", "body": "x", "action": "save"})
    assert response.status_code == 400 and 'id="title-error"' in text(response)
    assert version_count(web) == 1


def test_preview_button_shows_the_spoken_form_and_saves_nothing(web):
    client = web.client("bientap")
    form = {**GOOD, "body": "UBND xã thông báo.", "action": "preview"}
    response = web.post(client, "/scripts/new", form)
    assert response.status_code == 200
    spoken = re.search(r'<pre class="text" id="spoken"[^>]*>(.*?)</pre>', text(response), re.S)
    assert spoken and "Ủy ban nhân dân xã thông báo" in spoken.group(1)
    assert script_count(web) == 0
    seed(web, "tin-a")
    response = web.post(client, "/scripts/tin-a/edit", {**form, "title": "tin-a"})
    assert response.status_code == 200 and "Ủy ban nhân dân" in text(response)
    assert version_count(web) == 1


def test_spoken_endpoint_gives_the_normalised_text(web):
    client = web.client("bientap")
    response = web.post(client, "/scripts/spoken", {"text": "UBND xã họp ngày 12/3/2026."})
    assert response.status_code == 200
    assert response.get_json()["spoken"] == (
        "Ủy ban nhân dân xã họp ngày mười hai tháng ba năm hai nghìn không trăm hai mươi sáu."
    )
    token = web.csrf(client)
    response = client.post(
        "/scripts/spoken", json={"text": "Kính thưa {ten_xa}!"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert response.get_json()["spoken"] == "Kính thưa xã Cẩm Xuyên!"  # sample names


@pytest.mark.parametrize("payload", [{"text": "a" * 20_001}, {"text": "a\x00b"}, {}])
def test_spoken_endpoint_refuses_bad_text(web, payload):
    client = web.client("bientap")
    response = web.post(client, "/scripts/spoken", payload)
    assert response.status_code == 400 and "error" in response.get_json()


def test_spoken_endpoint_refuses_json_that_is_not_text(web):
    client = web.client("bientap")
    headers = {"X-CSRFToken": web.csrf(client)}
    for body in ({"text": 5}, ["text"], "text"):
        response = client.post("/scripts/spoken", json=body, headers=headers)
        assert response.status_code == 400


def test_detail_shows_the_spoken_form(web):
    seed(web, "tin-a", body="UBND xã thông báo.")
    page = text(web.client("kiemtra").get("/scripts/tin-a"))
    spoken = re.search(r'<pre class="text" id="spoken-detail">(.*?)</pre>', page, re.S)
    assert spoken and spoken.group(1) == "Ủy ban nhân dân xã thông báo."


def _is_mp3(data: bytes) -> bool:
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def test_listen_renders_a_real_mp3_and_serves_it(web):
    seed(web, "nghe-thu", title="Nghe thử", body="Kính thưa bà con {ten_xa}. UBND thông báo.")
    client = web.client("bientap")
    response = web.post(client, "/scripts/nghe-thu/listen", {"version": "1"})
    assert response.status_code == 302
    location = response.headers["Location"]
    sha = re.search(r"listen=([0-9a-f]{64})", location).group(1)
    page = text(client.get(location))
    assert f'src="/scripts/audio/{sha}.mp3"' in page and "<audio controls" in page
    audio = client.get(f"/scripts/audio/{sha}.mp3")
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert _is_mp3(audio.data) and len(audio.data) > 1000
    # the first station in scope filled the placeholder; the asset and the event are stored
    with web.factory() as s:
        asset = s.scalar(select(AudioAsset).where(AudioAsset.sha256 == sha))
        assert asset is not None and asset.station_code is not None
        assert "ten_xa" not in asset.text
    assert audit_actions(web, "nghe-thu")[-1] == "script.preview"
    # the auditor may play it, the operator may not
    assert web.client("kiemtra").get(f"/scripts/audio/{sha}.mp3").status_code == 200
    assert web.client("daixa").get(f"/scripts/audio/{sha}.mp3").status_code == 403


def test_listen_with_fetch_answers_json_for_a_chosen_station(web):
    seed(web, "nghe-thu", body="Kính thưa bà con {ten_xa}.", unit="18073")
    client = web.client("bientap")
    response = web.post(
        client,
        "/scripts/nghe-thu/listen",
        {"station": "18073"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["station"] == "18073" and data["url"] == f"/scripts/audio/{data['sha256']}.mp3"
    assert _is_mp3(client.get(data["url"]).data)
    # another commune's reader may not fetch this commune's rendering by its address
    with transaction(web.factory) as s:
        users.add_user(s, system_actor(), "kiemtra-tp", "auditor", PASSWORD, scope="18100")
    assert web.client("kiemtra-tp").get(data["url"]).status_code == 404
    assert web.client("kiemtra").get(data["url"]).status_code == 200
    # a station outside the script's commune is a message, not a render
    response = web.post(
        client,
        "/scripts/nghe-thu/listen",
        {"station": "18100"},
        headers={"Accept": "application/json"},
    )
    refused = response.get_json()["error"]
    assert response.status_code == 400 and "phường Trần Phú" in refused, refused
    assert "18100" not in refused  # named, not coded
    # without JS: back to the page with the message
    response = web.post(client, "/scripts/nghe-thu/listen", {"station": "18100"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "phường Trần Phú, Hà Tĩnh không có trong danh sách chọn" in page


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"station": "KHONG"}, 302),  # back to the page, the picker's message beside it
        ({"station": "a\x00"}, 302),
        ({"station": "x" * 5000}, 302),
        ({"version": "9"}, 404),
        ({"version": "-1"}, 404),
        ({"version": "99999999999999999999"}, 404),
    ],
)
def test_listen_refuses_bad_input(web, form, status):
    seed(web, "tin-a")
    response = web.post(web.client("bientap"), "/scripts/tin-a/listen", form)
    assert response.status_code == status


@pytest.mark.parametrize(
    "sha",
    ["0" * 64, "abc", "G" * 64, "../../etc/passwd", "0" * 63 + "%00"],
)
def test_audio_serves_only_known_assets(web, sha):
    assert web.client("bientap").get(f"/scripts/audio/{sha}.mp3").status_code == 404


def test_composed_text_is_what_the_library_would_read():
    """The editor and the file import build the same ScriptText."""
    draft = ScriptDraft(
        title="  Dịch vụ   công trực tuyến ",
        body="Kính thưa {ten_xa}!  \n\nUBND {ten_tinh} thông báo.\n",
        tags="dich-vu-cong, CCHC",
        campaign="Tuyên truyền DVCTT",
    )
    text_ = compose(draft)
    parsed = parse_script(as_file(text_).encode("utf-8"), "x.md")
    assert parsed.content_sha256 == text_.content_sha256
    assert (parsed.slug, parsed.placeholders) == (text_.slug, text_.placeholders)


def test_the_spoken_form_comes_with_warnings_not_refusals(web):
    client = web.client("bientap")
    body = "Hạn nộp 31/02/2026; họp ngày 15/12/2026. <b>Chú ý</b> &nbsp; ông ........ ký."
    answer = web.post(
        client, "/scripts/spoken", {"text": body}, headers={"Accept": "application/json"}
    ).get_json()
    assert answer["spoken"]  # still read
    assert answer["warnings"] == [
        "“31/02/2026” không có trên lịch: giọng đọc sẽ đọc nó như một phép chia.",
        "“<b>” là mã trang web (HTML): giọng đọc sẽ đọc cả các ký hiệu này.",
        "“</b>” là mã trang web (HTML): giọng đọc sẽ đọc cả các ký hiệu này.",
        "“&nbsp;” là mã trang web (HTML): giọng đọc sẽ đọc cả các ký hiệu này.",
        "“........” còn để trống: hãy điền trước khi trình duyệt.",
    ]
    plain = web.post(client, "/scripts/spoken", {"text": "Giá 1/2 suất, 1.000.000 đồng."})
    assert plain.get_json()["warnings"] == []
    # without JavaScript: "Xem dạng đọc" shows them under the spoken form, and saves nothing
    page = text(
        web.post(
            client,
            "/scripts/new",
            {"title": "Thử", "body": "Ngày 30/02/2026 họp.", "action": "preview"},
        )
    )
    assert "“30/02/2026” không có trên lịch" in page
    # one title limit, said and kept by the browser as the server keeps it
    editor = text(client.get("/scripts/new"))
    assert 'maxlength="300"' in editor and "tối đa 300 ký tự" in editor


def test_the_spoken_form_lists_codes_it_cannot_read(web):
    client = web.client("bientap")
    body = "UBND xã thông báo: nhập mã XYZQ tại QL8A, các ngày T2, T4."
    answer = web.post(
        client, "/scripts/spoken", {"text": body}, headers={"Accept": "application/json"}
    ).get_json()
    assert answer["spoken"] == (
        "Ủy ban nhân dân xã thông báo: nhập mã ích i dài dét quy tại quốc lộ tám a, "
        "các ngày thứ hai, thứ tư."
    )
    assert answer["warnings"] == [
        "Chưa rõ cách đọc: “XYZQ” sẽ được đánh vần từng chữ; hãy viết rõ ra, "
        "hoặc thêm vào bảng chữ viết tắt."
    ]
