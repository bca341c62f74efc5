"""The admin's scripts list, a script's page and its review (submit, approve, reject, archive)."""

from __future__ import annotations

import pytest

from tests.web.conftest import text
from tests.web.scripts_scene import add_editor, audit_actions, script, seed


def _slugs(page: str) -> set[str]:
    import re

    return set(re.findall(r'data-test="script-row" data-slug="([^"]+)"', page))


def test_list_is_scoped(web):
    seed(web, "dich-vu-cong", title="Dịch vụ công trực tuyến", unit="42")
    seed(web, "phong-chay", title="Phòng cháy chữa cháy", unit="18073")
    seed(web, "toan-quoc", title="Tin toàn quốc", author="quantri", unit=None)
    add_editor(web, "bientapxa", "18100")
    assert _slugs(text(web.client("bientap").get("/scripts/"))) == {
        "dich-vu-cong",
        "phong-chay",
        "toan-quoc",
    }
    # a commune's editor reads its province's and the nation's scripts, not another commune's
    page = text(web.client("bientapxa").get("/scripts/"))
    assert _slugs(page) == {"dich-vu-cong", "toan-quoc"}
    client = web.client("bientapxa")
    assert client.get("/scripts/phong-chay").status_code == 403
    assert web.post(client, "/scripts/phong-chay/submit").status_code == 403
    assert script(web, "phong-chay").state == "draft"
    # reading a province script is not writing it
    page = text(client.get("/scripts/dich-vu-cong"))
    assert 'id="action-edit"' not in page and 'id="action-submit"' not in page
    assert client.get("/scripts/dich-vu-cong/edit").status_code == 403


def test_list_searches_title_slug_and_body(web):
    seed(web, "dich-vu-cong", title="Dịch vụ công trực tuyến")
    seed(web, "phong-chay", title="Phòng cháy chữa cháy", body="Mùa khô hanh, bà con cẩn thận.")
    client = web.client("kiemtra")
    assert _slugs(text(client.get("/scripts/?q=dich vu"))) == {"dich-vu-cong"}  # no accents
    assert _slugs(text(client.get("/scripts/?q=chữa cháy"))) == {"phong-chay"}
    assert _slugs(text(client.get("/scripts/?q=khô hanh"))) == {"phong-chay"}  # the body
    assert _slugs(text(client.get("/scripts/?q=%25"))) == set()  # a LIKE wildcard is literal
    page = text(client.get("/scripts/?q=không-có-gì"))
    assert 'id="scripts-empty"' in page


def test_list_filters_by_state_and_refuses_bad_filters(web):
    seed(web, "nhap")
    seed(web, "cho-duyet", submit=True)
    seed(web, "da-duyet", approver="duyet")
    client = web.client("duyet")
    page = text(client.get("/scripts/"))
    assert 'id="scripts-pending"' in page  # the approver's shortcut
    assert _slugs(text(client.get("/scripts/?state=submitted"))) == {"cho-duyet"}
    assert _slugs(text(client.get("/scripts/?state=approved"))) == {"da-duyet"}
    bad = client.get("/scripts/?state=evil")
    assert bad.status_code == 400 and 'id="state-error"' in text(bad)
    nul = client.get("/scripts/?q=a%00b")
    assert nul.status_code == 400 and 'id="q-error"' in text(nul)
    long = client.get("/scripts/?q=" + "a" * 10_000)
    assert long.status_code == 400
    assert client.get("/scripts/?page=-1").status_code == 200
    assert client.get("/scripts/?page=99999999999999999999").status_code == 200


def test_list_paginates(web):
    for n in range(52):
        seed(web, f"tin-{n:02d}")
    client = web.client("bientap")
    first = text(client.get("/scripts/"))
    assert len(_slugs(first)) == 50 and 'id="scripts-next"' in first
    second = text(client.get("/scripts/?page=2"))
    assert len(_slugs(second)) == 2 and 'id="scripts-prev"' in second
    assert not _slugs(first) & _slugs(second)


@pytest.mark.parametrize(
    "url",
    ["/scripts/", "/scripts/new", "/scripts/tin-a", "/scripts/tin-a/edit"],
)
def test_operator_is_refused(web, url):
    seed(web, "tin-a")
    assert web.client("daixa").get(url).status_code == 403


def test_operator_posts_are_refused(web):
    seed(web, "tin-a")
    client = web.client("daixa")
    for action in ("submit", "approve", "reject", "archive", "listen"):
        assert web.post(client, f"/scripts/tin-a/{action}", {"reason": "x"}).status_code == 403
    assert web.post(client, "/scripts/spoken", {"text": "UBND"}).status_code == 403
    assert script(web, "tin-a").state == "draft"


def test_submit_then_another_approves(web):
    seed(web, "tiem-phong")
    editor = web.client("bientap")
    page = text(editor.get("/scripts/tiem-phong"))
    assert 'id="action-submit"' in page and 'id="action-approve"' not in page
    response = web.post(editor, "/scripts/tiem-phong/submit", {"version": "1"})
    assert response.status_code == 302
    assert script(web, "tiem-phong").state == "submitted"
    approver = web.client("duyet")
    page = text(approver.get("/scripts/tiem-phong"))
    assert 'id="action-approve"' in page and 'id="action-reject"' in page
    response = web.post(approver, "/scripts/tiem-phong/approve", {"note": "Được phát"})
    assert response.status_code == 302
    page = text(approver.get(response.headers["Location"]))
    assert 'data-state="approved"' in page and "Được phát" in page
    assert 'data-test="on-air"' in page
    info = script(web, "tiem-phong")
    assert info.state == "approved" and info.approved_version == 1
    assert info.latest.reviewed_by == "duyet"
    assert audit_actions(web, "tiem-phong") == ["script.create", "script.submit", "script.approve"]


def test_editor_cannot_approve_by_direct_post(web):
    seed(web, "tiem-phong", submit=True)
    client = web.client("bientap")
    assert 'id="action-approve"' not in text(client.get("/scripts/tiem-phong"))
    assert web.post(client, "/scripts/tiem-phong/approve").status_code == 403
    assert web.post(client, "/scripts/tiem-phong/reject", {"reason": "x"}).status_code == 403
    assert script(web, "tiem-phong").state == "submitted"


def test_approver_cannot_approve_own_script(web):
    seed(web, "tu-duyet", author="duyet", submit=True)
    client = web.client("duyet")
    page = text(client.get("/scripts/tu-duyet"))
    assert 'id="four-eyes"' in page and 'id="action-approve"' not in page
    response = web.post(client, "/scripts/tu-duyet/approve")
    assert response.status_code == 403
    assert "bốn mắt" in text(response) and 'id="script-error"' in text(response)
    assert script(web, "tu-duyet").state == "submitted"
    assert "script.approve" not in audit_actions(web, "tu-duyet")


def test_reject_needs_a_reason(web):
    seed(web, "tin-sai", submit=True)
    client = web.client("duyet")
    response = web.post(client, "/scripts/tin-sai/reject", {"reason": "   "})
    assert response.status_code == 400
    page = text(response)
    assert 'id="reason-error"' in page and 'aria-describedby="reason-error"' in page
    assert script(web, "tin-sai").state == "submitted"
    response = web.post(client, "/scripts/tin-sai/reject", {"reason": "Sai số điện thoại"})
    assert response.status_code == 302
    page = text(client.get("/scripts/tin-sai"))
    assert 'data-state="rejected"' in page and "Sai số điện thoại" in page
    info = script(web, "tin-sai")
    assert info.state == "rejected" and info.latest.review_reason == "Sai số điện thoại"
    assert audit_actions(web, "tin-sai")[-1] == "script.reject"


def test_reject_refuses_control_characters_and_wrong_state(web):
    seed(web, "tin-nhap")
    seed(web, "tin-trinh", submit=True)
    client = web.client("duyet")
    response = web.post(client, "/scripts/tin-trinh/reject", {"reason": "a\x00b"})
    assert response.status_code == 400 and 'id="reason-error"' in text(response)
    assert script(web, "tin-trinh").state == "submitted"
    response = web.post(client, "/scripts/tin-nhap/reject", {"reason": "Sai"})
    assert response.status_code == 409 and 'id="script-error"' in text(response)
    assert script(web, "tin-nhap").state == "draft"


def test_new_version_of_an_approved_script_keeps_the_approved_one(web):
    seed(web, "lich-hop", title="Lịch họp", approver="duyet")
    client = web.client("bientap")
    page = text(client.get("/scripts/lich-hop/edit"))
    assert "Lịch họp" in page and 'id="editor-save"' in page
    form = {"title": "Lịch họp tổ dân phố", "body": "Họp lúc 19 giờ.", "action": "save"}
    response = web.post(client, "/scripts/lich-hop/edit", form)
    assert response.status_code == 302
    info = script(web, "lich-hop")
    assert info.latest_version == 2 and info.latest.status.value == "draft"
    assert info.approved_version == 1 and info.state == "draft"
    page = text(client.get("/scripts/lich-hop"))
    assert 'data-version="1" class="on-air"' in page
    # the same text again makes nothing
    response = web.post(client, "/scripts/lich-hop/edit", form)
    assert response.status_code == 302
    assert "Không có thay đổi" in text(client.get(response.headers["Location"]))
    assert script(web, "lich-hop").latest_version == 2
    assert audit_actions(web, "lich-hop")[-1] == "script.version"


def test_diff_between_versions(web):
    seed(web, "thong-bao", body="Họp lúc 19 giờ tại nhà văn hóa.")
    client = web.client("bientap")
    form = {"title": "thong-bao", "body": "Họp lúc 20 giờ tại nhà văn hóa.", "action": "save"}
    web.post(client, "/scripts/thong-bao/edit", form)
    page = text(client.get("/scripts/thong-bao?a=1&b=2"))
    assert '<div class="diff" id="diff-body">' in page
    assert "<del>19</del><ins>20</ins>" in page
    assert client.get("/scripts/thong-bao?a=1&b=9").status_code == 404
    assert client.get("/scripts/thong-bao?a=x&b=-1").status_code == 200  # ignored
    assert client.get("/scripts/thong-bao?version=2").status_code == 200
    assert client.get("/scripts/thong-bao?version=99").status_code == 404


def test_markup_in_titles_and_bodies_is_shown_escaped(web):
    evil = "<script>alert(1)</script>"
    seed(web, "xss", title=f"Tin {evil}", body=f"Nội dung {evil}")
    client = web.client("bientap")
    for url in ("/scripts/", "/scripts/xss", "/scripts/?q=script"):
        page = text(client.get(url))
        assert evil not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_auditor_reads_without_actions(web):
    seed(web, "tin-kiem-tra", submit=True)
    client = web.client("kiemtra")
    page = text(client.get("/scripts/tin-kiem-tra"))
    assert "tin-kiem-tra" in page
    for marker in (
        "action-edit",
        "action-submit",
        "action-approve",
        "action-reject",
        "action-archive",
        "action-listen",
    ):
        assert f'id="{marker}"' not in page
    assert 'id="scripts-new"' not in text(client.get("/scripts/"))
    for action in ("submit", "approve", "reject", "archive", "listen"):
        assert (
            web.post(client, f"/scripts/tin-kiem-tra/{action}", {"reason": "x"}).status_code == 403
        )
    assert client.get("/scripts/new").status_code == 403
    assert client.get("/scripts/tin-kiem-tra/edit").status_code == 403
    assert script(web, "tin-kiem-tra").state == "submitted"


def test_post_without_csrf_is_400(web):
    seed(web, "tin-a")
    client = web.client("bientap")
    assert client.post("/scripts/tin-a/submit").status_code == 400
    assert client.post("/scripts/new", data={"title": "x", "body": "y"}).status_code == 400
    assert client.post("/scripts/spoken", json={"text": "UBND"}).status_code == 400
    assert script(web, "tin-a").state == "draft"


def test_archive_is_for_approvers_and_admins(web):
    seed(web, "tin-cu", approver="duyet")
    editor = web.client("bientap")
    assert 'id="action-archive"' not in text(editor.get("/scripts/tin-cu"))
    assert web.post(editor, "/scripts/tin-cu/archive").status_code == 403
    admin = web.client("quantri")
    response = web.post(admin, "/scripts/tin-cu/archive", {"archive_reason": "Hết hạn"})
    assert response.status_code == 302
    assert script(web, "tin-cu").state == "archived"
    assert 'data-state="archived"' in text(admin.get("/scripts/tin-cu"))
    assert web.post(admin, "/scripts/tin-cu/archive").status_code == 409
    assert editor.get("/scripts/tin-cu/edit").status_code == 409
    assert audit_actions(web, "tin-cu")[-1] == "script.archive"


@pytest.mark.parametrize(
    "url",
    [
        "/scripts/khong-co",
        "/scripts/KHONG",
        "/scripts/a%00b",
        "/scripts/" + "a" * 500,
        "/scripts/khong-co/edit",
    ],
)
def test_unknown_or_impossible_slugs_are_404(web, url):
    assert web.client("bientap").get(url).status_code == 404


def test_impossible_versions_in_posts_are_404(web):
    seed(web, "tin-a")
    client = web.client("bientap")
    for version in ("-1", "abc", "99999999999999999999"):
        response = web.post(client, "/scripts/tin-a/submit", {"version": version})
        assert response.status_code == 404, version
    response = web.post(client, "/scripts/tin-a/submit", {"version": "7"})
    assert response.status_code == 404
    assert web.post(client, "/scripts/khong-co/submit").status_code == 404
    assert script(web, "tin-a").state == "draft"


def test_pages_keep_the_content_security_policy(web):
    """No inline script or style: the JS is a file, loaded with src, and it is served."""
    import re

    seed(web, "tin-a", body="Kính thưa {ten_xa}.", submit=True)
    client = web.client("duyet")
    for url in ("/scripts/", "/scripts/new", "/scripts/tin-a", "/scripts/tin-a/edit"):
        page = text(client.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
        assert " style=" not in page and " onclick=" not in page, url
    assert client.get("/static/scripts.js").status_code == 200
    assert client.get("/static/scripts.css").status_code == 200


def test_search_ignores_case(web):
    seed(web, "duong-lang", title="Đường làng ngõ xóm", body="Giữ gìn VỆ SINH chung.")
    client = web.client("bientap")
    assert _slugs(text(client.get("/scripts/?q=đường làng"))) == {"duong-lang"}
    assert _slugs(text(client.get("/scripts/?q=GIỮ GÌN"))) == {"duong-lang"}  # the body
    assert _slugs(text(client.get("/scripts/?q=NGÕ XÓM"))) == {"duong-lang"}
