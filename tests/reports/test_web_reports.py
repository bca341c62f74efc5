"""The admin's reports pages: sign-in, scope, drill-down, downloads, stored reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import openpyxl
import pytest

from broadcaster.config import load_settings
from broadcaster.db import transaction
from broadcaster.services import users
from broadcaster.webapp import create_app
from tests.api.world import stop_listening
from tests.reports.scene import at

PASSWORD = "mat-khau-1"


@pytest.fixture
def app(scene, db_url, tmp_path, factory, actor):
    with transaction(factory) as s:
        users.add_user(s, actor, "quantri", "admin", PASSWORD, full_name="Quản trị viên")
        users.add_user(s, actor, "kiemtra", "auditor", PASSWORD, scope=scene.province)
        users.add_user(s, actor, "daixa", "operator", PASSWORD, scope=scene.unit)
    settings = load_settings(
        env={"BROADCASTER_DATABASE_URL": db_url, "BROADCASTER_SECRET_KEY": "test"}, cwd=tmp_path
    )
    app = create_app(settings)
    yield app
    stop_listening(app)


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def _login(client, username: str):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def auditor(app):
    return _login(app.test_client(), "kiemtra")


def _range(scene):
    return {
        "kind": "custom",
        "from": scene.m0.isoformat(),
        "to": (scene.m0 + timedelta(20)).isoformat(),
    }


def _aired(scene):
    d = scene.m0
    scene.report(scene.slot(d + timedelta(2)), at(d + timedelta(2), "06:02"), 2)
    scene.report(scene.slot(d + timedelta(4)), at(d + timedelta(4), "18:40"), 2)


def test_pages_need_a_signed_in_user(app):
    client = app.test_client()
    response = client.get("/reports/compliance")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/reports/compliance.csv").status_code == 302
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    cookie = client.post("/login", data={"username": "x", "password": "y"})
    assert cookie.status_code == 400  # no CSRF token: refused before any password check


def test_wrong_passwords_are_refused_then_slowed(app):
    client = app.test_client()
    token = _token(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post(
            "/login", data={"username": "kiemtra", "password": "sai", "csrf_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429  # the person's own five
    wrong = client.post(
        "/login", data={"username": "kiemtra", "password": "sai", "csrf_token": token}
    )
    assert "chờ một phút" in wrong.get_data(as_text=True)


def test_sign_in_never_redirects_off_site(app):
    client = app.test_client()
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"username": "kiemtra", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/dashboard/")


def test_drill_down_province_commune_station_airings(auditor, scene):
    _aired(scene)
    page = auditor.get("/reports/compliance", query_string=_range(scene))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "Tỉnh Hà Tĩnh" in html or "Hà Tĩnh" in html
    assert "Theo xã" in html and scene.unit_name in html
    # a range of days is named once, in the heading (no second "Từ … đến …", no cut-off)
    first, last = scene.m0.strftime("%d/%m/%Y"), (scene.m0 + timedelta(20)).strftime("%d/%m/%Y")
    start = html.index('<header class="report-head">')
    head = html[start : html.index("</header>", start)]
    assert head.count(first) == 1 and f"Từ {first} đến {last}</h2>" in head
    assert "ngày chốt" not in head and '<p class="meta">số liệu lúc' in " ".join(head.split())
    # the commune's row links one level down
    link = re.search(rf'href="([^"]*unit={scene.unit}[^"]*)"', html).group(1).replace("&amp;", "&")
    commune = auditor.get(link).get_data(as_text=True)
    assert "Theo đài" in commune
    station = re.search(r'href="(/reports/stations/[^"]+)"', commune).group(1)
    rows = auditor.get(station.replace("&amp;", "&")).get_data(as_text=True)
    assert "18:40" in rows and "đã phát" in rows and "máy tự động" in rows
    # charts are drawn on the server
    weekly = auditor.get("/reports/compliance/weekly.svg", query_string=_range(scene))
    assert weekly.status_code == 200 and weekly.mimetype == "image/svg+xml"
    assert b"<svg" in weekly.data


def test_downloads_carry_the_pages_numbers(auditor, scene):
    _aired(scene)
    data = auditor.get("/reports/compliance.json", query_string=_range(scene))
    report = json.loads(data.data)
    assert report["totals"]["on_time"] == 1 and report["totals"]["late"] == 1
    assert report["scope"]["unit"]["code"] == scene.province  # the auditor's own scope
    got = auditor.get("/reports/compliance.csv", query_string=_range(scene))
    assert got.mimetype == "text/csv" and got.data.startswith(b"\xef\xbb\xbf")
    assert 'filename="bao-cao-thuc-hien-42-' in got.headers["Content-Disposition"]
    total = next(csv.DictReader(io.StringIO(got.data.decode("utf-8-sig"))))
    assert total["Cấp"] == "Tổng cộng" and int(total["Trễ giờ"]) == 1  # Vietnamese by default
    xlsx = auditor.get("/reports/compliance.xlsx", query_string=_range(scene))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert "Đài" in book.sheetnames
    pdf = auditor.get("/reports/compliance.pdf", query_string=_range(scene))
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert auditor.get("/reports/compliance.exe").status_code == 404


def test_scope_is_checked_on_every_view(app, auditor, scene):
    from broadcaster.models import AdminUnit, Station

    with transaction(scene.factory) as s:  # another province, with a station
        hanoi = AdminUnit(
            code="01",
            name="Thành phố Hà Nội",
            kind="thành phố trung ương",
            level=1,
            path="/01/",
            codename="ha_noi",
            name_folded="thanh pho ha noi",
        )
        s.add(hanoi)
        s.flush()
        s.add(Station(code="HN-1", name="Đài Hà Nội", unit_id=hanoi.id))
    outside = {**_range(scene), "unit": "01"}
    assert auditor.get("/reports/compliance", query_string=outside).status_code == 403
    assert auditor.get("/reports/compliance.csv", query_string=outside).status_code == 403
    assert auditor.get("/reports/compliance/weekly.svg", query_string=outside).status_code == 403
    assert auditor.get("/reports/stations/HN-1/airings").status_code == 403
    assert auditor.get("/reports/stations/NO-SUCH/airings").status_code == 404
    # a commune operator: their own commune by default, nothing above it
    operator = _login(app.test_client(), "daixa")
    above = {**_range(scene), "unit": scene.province}
    assert operator.get("/reports/compliance", query_string=above).status_code == 403
    own = operator.get("/reports/compliance", query_string=_range(scene))
    assert own.status_code == 200 and "Theo đài" in own.get_data(as_text=True)
    # the country's report needs a nation-wide scope
    admin = _login(app.test_client(), "quantri")
    nation = admin.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    assert "Toàn quốc" in nation and "Theo tỉnh" in nation and "Thành phố Hà Nội" in nation


def test_bad_filters_are_shown_beside_their_fields(auditor, scene):
    cases = [
        ({"kind": "month", "of": "2026-13"}, "Tháng 13 không có"),
        ({"kind": "custom", "from": "2026-11-10", "to": "2026-11-01"}, "trước ngày bắt đầu"),
        ({"kind": "custom", "from": "2016-01-01", "to": "2026-01-01"}, "dài quá 3 năm"),
        ({"kind": "custom", "from": "hôm qua", "to": "2026-01-01"}, "không hợp lệ"),
        ({"kind": "custom"}, "Nhập từ ngày"),
        ({"kind": "tuần"}, "Chọn tháng"),
        ({"unit": "99999"}, "Không tìm thấy đơn vị hành chính “99999”"),
        ({"cutoff": "40"}, "từ 1 đến 28"),
        ({"campaign": "abc"}, "chiến dịch nào số"),
    ]
    for args, message in cases:
        response = auditor.get("/reports/compliance", query_string=args)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, args
        assert message in html, (args, html[:2000])
        assert 'class="field-error"' in html
    kept = auditor.get("/reports/compliance", query_string={"kind": "month", "of": "2026-13"})
    assert 'id="of-error"' in kept.get_data(as_text=True)  # an old link's bad period, named
    assert auditor.get("/reports/compliance.csv", query_string={"of": "x"}).status_code == 400


def test_store_verify_and_role_checks(app, auditor, scene):
    _aired(scene)
    page = auditor.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    token = _token(page)
    refused = auditor.post("/reports/compliance/store", data=_range(scene))
    assert refused.status_code == 400  # no CSRF token
    stored = auditor.post("/reports/compliance/store", data={**_range(scene), "csrf_token": token})
    assert stored.status_code == 302
    view = auditor.get(stored.headers["Location"]).get_data(as_text=True)
    assert "Báo cáo đã lưu số 1" in view
    verified = auditor.post("/reports/stored/1/verify", data={"csrf_token": _token(view)})
    answer = verified.get_data(as_text=True)
    assert "Toàn vẹn" in answer and "đúng vị trí 1 trong chuỗi báo cáo đã ký" in answer
    assert "Chuỗi báo cáo đã lưu: 1 báo cáo, đầu chuỗi đã ký 1 · " in answer
    assert auditor.get("/reports/stored/1.xlsx").status_code == 200
    assert "Báo cáo đã lưu" in auditor.get("/reports/stored").get_data(as_text=True)
    assert auditor.get("/reports/stored/999").status_code == 404
    operator = _login(app.test_client(), "daixa")
    op_page = operator.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    assert "Lưu báo cáo" not in op_page  # not offered...
    forbidden = operator.post(
        "/reports/compliance/store", data={**_range(scene), "csrf_token": _token(op_page)}
    )
    assert forbidden.status_code == 403  # ...and refused by direct POST
    assert operator.get("/reports/stored/1").status_code == 403  # the province's report


def test_names_full_of_html_are_escaped(auditor, scene, campaign):
    campaign(
        '<script>alert("x")</script>',
        scene.unit,
        pattern=((1, "06:00"),),
        starts_on=scene.m0,
        ends_on=scene.m0 + timedelta(30),
    )
    scene.plan(scene.m0)
    html = auditor.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_hostile_input_never_answers_500(app, auditor):
    hostile = [
        "/reports/compliance?unit=%00",
        "/reports/compliance?campaign=99999999999999999999",
        "/reports/compliance?kind=custom&from=2026-01-01&to=9999-12-31",
        "/reports/compliance?kind=month&of=" + "9" * 500,
        "/reports/compliance?cutoff=-1",
        "/reports/compliance?kind=year&of=0000",
        "/reports/compliance.csv?kind=custom&from=%00&to=x",
        "/reports/compliance/nothing.svg",
        "/reports/stations/%00/airings",
        "/reports/stations/" + "x" * 300 + "/airings",
        "/reports/stations/18073/airings?page=-5&from=2026-13-01",
        "/reports/stored/99999999999999999999",
        "/reports/stored/1.exe",
        "/reports/stored?page=abc",
    ]
    for url in hostile:
        response = auditor.get(url)
        assert response.status_code < 500, url
        assert response.status_code in (200, 400, 403, 404), (url, response.status_code)
    anonymous = app.test_client()
    token = _token(anonymous.get("/login").get_data(as_text=True))
    nul = anonymous.post(
        "/login", data={"username": "kiem\x00tra", "password": "x", "csrf_token": token}
    )
    assert nul.status_code == 401


def test_report_libraries_load_only_when_used():
    """The app and the CLI start without matplotlib, fpdf or the counting code."""
    import subprocess
    import sys

    probe = (
        "import sys, broadcaster.webapp, broadcaster.cli; "
        "print(sorted(m for m in ('matplotlib', 'fpdf', 'openpyxl', 'broadcaster.reports.charts')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _figures(html: str) -> list[str]:
    """The numbers a report page shows: its cards and every all-digit table cell."""
    return re.findall(r"<strong>([^<]*)</strong>", html) + re.findall(
        r"<td(?: class=\"bad\")?>([0-9.,%]+)</td>", html
    )


def test_english_session_shows_the_same_figures(auditor, scene):
    _aired(scene)
    before = auditor.get("/reports/compliance", query_string=_range(scene))
    vi = before.get_data(as_text=True)
    assert before.status_code == 200 and 'lang="vi"' in vi
    switched = auditor.post(
        "/lang", data={"lang": "en", "next": "/reports/compliance", "csrf_token": _token(vi)}
    )
    assert switched.status_code == 302
    after = auditor.get("/reports/compliance", query_string=_range(scene))
    en = after.get_data(as_text=True)
    assert after.status_code == 200 and 'lang="en"' in en
    assert _figures(en) == _figures(vi) and len(_figures(vi)) > 20
    # the other pages, a refused filter and a stored report answer as in Vietnamese
    bad = auditor.get("/reports/compliance", query_string={"kind": "month", "of": "2026-13"})
    assert bad.status_code == 400 and 'class="field-error"' in bad.get_data(as_text=True)
    stored = auditor.post(
        "/reports/compliance/store", data={**_range(scene), "csrf_token": _token(en)}
    )
    assert stored.status_code == 302
    page = auditor.get(stored.headers["Location"])
    assert page.status_code == 200 and _figures(page.get_data(as_text=True)) == _figures(vi)
    verified = auditor.post(
        "/reports/stored/1/verify", data={"csrf_token": _token(page.get_data(as_text=True))}
    )
    assert verified.status_code == 200 and 'class="ok"' in verified.get_data(as_text=True)
    assert auditor.get("/reports/stored").status_code == 200
    commune = auditor.get("/reports/compliance", query_string={**_range(scene), "unit": scene.unit})
    station = re.search(r'href="(/reports/stations/[^"]+)"', commune.get_data(as_text=True))
    rows = auditor.get(station.group(1).replace("&amp;", "&"))
    assert rows.status_code == 200 and "18:40" in rows.get_data(as_text=True)
    # the CSV follows the page's language; the JSON's labels stay Vietnamese
    total = next(
        csv.DictReader(
            io.StringIO(
                auditor.get("/reports/compliance.csv", query_string=_range(scene)).data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert total["level"] == "total" and int(total["late"]) == 1
    report = json.loads(auditor.get("/reports/compliance.json", query_string=_range(scene)).data)
    assert report["period"]["label"].startswith("Từ ")


def test_period_names_in_vietnamese_are_the_stored_labels():
    """The pages name a period through gettext; in Vietnamese that is the label stored
    with the report, byte for byte, and an unknown key falls back to the stored label."""
    from datetime import date

    from flask import Flask
    from flask_babel import Babel

    from broadcaster.reports.periods import custom, resolve
    from broadcaster.webapp.reports_labels import period_label

    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "vi")
    periods = [
        resolve("month", "2026-1", 15),
        resolve("month", "2026-12", 1),
        *(resolve("quarter", f"2026-Q{n}", 15) for n in range(1, 5)),
        resolve("half", "2026-H1", 15),
        resolve("half", "2026-H2", 15),
        resolve("year", "2026", 15),
        custom(date(2026, 1, 5), date(2026, 2, 3)),
    ]
    with app.test_request_context():
        for period in periods:
            assert period_label(period.as_dict()) == period.label
        odd = {"kind": "quarter", "key": "2026-Q9", "label": "Quý lạ"}
        assert period_label(odd) == "Quý lạ"
        assert period_label({"kind": "custom", "from": "x", "label": "Từ?"}) == "Từ?"


def test_a_report_with_an_emergency_shows_it(tmp_path, auditor, scene):
    from broadcaster.audio.render import AudioRenderer
    from broadcaster.config import AudioSettings
    from broadcaster.db import utcnow
    from broadcaster.services import emergency
    from broadcaster.services.audit import system_actor

    renderer = AudioRenderer(tmp_path / "audio", AudioSettings(engine="espeak"))
    with transaction(scene.factory) as s:
        emergency.send(
            s,
            system_actor(),
            renderer,
            title="Bão <số 3>",
            body="Bà con chú ý: bão số 3 sắp đổ bộ.",
            unit_codes=[scene.unit],
        )
    today = utcnow().date()
    args = {"kind": "custom", "from": str(today - timedelta(1)), "to": str(today + timedelta(1))}
    page = auditor.get("/reports/compliance", query_string=args)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "1 tin gửi tới 1 lượt đài" in html and "Bão &lt;số 3&gt;" in html


def test_a_chain_signed_by_another_key_is_not_signed_on_from_the_admin(app, auditor, scene):
    from sqlalchemy import func, select

    from broadcaster.models import ComplianceReport
    from broadcaster.reports import store
    from broadcaster.reports.periods import custom
    from broadcaster.reports.seal import SealKey

    with transaction(scene.factory) as s:  # signed by an earlier secret, not this server's "test"
        store.generate(
            s,
            custom(scene.m0, scene.m0 + timedelta(20)),
            key=SealKey.from_secret("khóa trước"),
            generated_by="kiểm tra",
            tz=at(scene.m0, "06:00").tzinfo,
        )
    page = auditor.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    refused = auditor.post(
        "/reports/compliance/store", data={**_range(scene), "csrf_token": _token(page)}
    )
    assert refused.status_code == 409
    assert "khóa bí mật" in refused.get_data(as_text=True)
    with scene.factory() as s:  # nothing was stored past the head it could not sign
        assert s.scalar(select(func.count()).select_from(ComplianceReport)) == 1


def test_how_compliance_is_counted_is_a_page_of_the_admin(app, auditor, scene):
    page = auditor.get("/reports/compliance", query_string=_range(scene)).get_data(as_text=True)
    assert "docs/compliance.md" not in page and 'id="compliance-help-link"' in page
    help_page = auditor.get("/reports/help")
    text = help_page.get_data(as_text=True)
    assert help_page.status_code == 200 and "Cách tính báo cáo thực hiện" in text
    assert "không muộn hơn 15 phút sau khi khung giờ đóng" in text and "ngày 15 tháng trước" in text
    assert app.test_client().get("/reports/help").status_code == 302  # signed in only
