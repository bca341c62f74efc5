"""The report in the official form in the admin: draft, preview, store, download, file, the
province's overview of who filed, and the commune's reminders — on both backends.

A commune's approver (``chuxa``, phường Thành Sen 18073) drafts and files; another
commune's (``chukhac``, 18100) must not touch it; the province's approver (``duyet``)
sees who filed.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import docx
import pypdf
import pytest
from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.models import AuditEvent, ComplianceReport
from broadcaster.reports import compliance, official, store
from broadcaster.reports.periods import resolve
from broadcaster.reports.seal import SealKey
from broadcaster.services import users
from broadcaster.services.reports import drafts, filing
from broadcaster.webapp.dashboard import TODAY_KEY
from broadcaster.webapp.report_documents_forms import values_of
from broadcaster.webapp.reports_filters import current_key
from tests.web.airing_scene import add_slots, make_campaign, report
from tests.web.conftest import PASSWORD, text

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNE, OTHER = "18073", "18100"


@pytest.fixture
def officials(web, actor):
    with transaction(web.factory) as s:
        users.add_user(s, actor, "chuxa", "approver", PASSWORD, scope=COMMUNE, full_name="Chủ Xã")
        users.add_user(s, actor, "chukhac", "approver", PASSWORD, scope=OTHER, full_name="Xã Khác")
        users.add_user(s, actor, "bientapxa", "editor", PASSWORD, scope=COMMUNE)
    return web


def _period():
    today = local_today(TZ)
    return resolve("month", current_key("month", today, 15), 15)


def _args(unit: str | None = COMMUNE) -> dict[str, str]:
    period = _period()
    out = {"kind": "month", "of": period.key, "cutoff": "15"}
    if unit:
        out["unit"] = unit
    return out


def _aired(web) -> None:
    """Two airings at the commune's station an hour ago, inside this month's period."""
    campaign = make_campaign(web)
    now = datetime.now(TZ)
    starts = [now - timedelta(hours=3), now - timedelta(hours=2)]
    for slot_id in add_slots(web, campaign, COMMUNE, starts):
        report(web, COMMUNE, slot_id, minutes_ago=150)


def _form(web, unit: str = COMMUNE, **changes) -> dict[str, str]:
    with web.app.test_request_context(), web.factory() as s:
        draft = drafts.defaults(s, unit, _period(), today=local_today(TZ))
        values = values_of(draft)
    values["signer_name"] = "Nguyễn Văn An"
    values.update(_args(unit))
    values.update(changes)
    return values


def _store(web, client, unit: str = COMMUNE, **changes) -> int:
    response = web.post(client, "/reports/documents/store", _form(web, unit, **changes))
    assert response.status_code == 302, text(response)
    found = re.search(r"/reports/stored/(\d+)$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def _body(web, report_id: int) -> dict:
    with web.factory() as s:
        return store.get(s, report_id)[1]


def _cells(section: official.Section):
    for block in section.blocks:
        if isinstance(block, official.Table):
            for row in [*block.rows, block.total or []]:
                yield from row


def test_draft_page_shows_section_one_as_previewed_and_the_defaults(officials):
    web = officials
    _aired(web)
    page = web.client("chuxa").get("/reports/documents/", query_string=_args())
    body_html = text(page)
    assert page.status_code == 200, body_html
    with web.app.test_request_context(), web.factory() as s:
        draft = drafts.defaults(s, COMMUNE, _period(), today=local_today(TZ))
        body = drafts.preview(s, _period(), COMMUNE, draft, tz=TZ, deadline_day=25)
    section = official.layout(body).sections[0]
    assert section.heading.startswith("I.")
    cells = [c for c in _cells(section) if c]
    assert cells, "section I has no table"
    for cell in cells:
        assert html.escape(cell, quote=False) in body_html, cell
    assert body["totals"]["aired_agent"] == 2  # the figures are not all zero
    assert html.escape(draft.issuer_name) in body_html  # prefilled from the unit
    assert 'name="csrf_token"' in body_html and 'id="doc-difficulties"' in body_html
    # other roles and scopes
    assert web.client("kiemtra").get("/reports/documents/").status_code == 403  # auditor
    assert web.client("daixa").get("/reports/documents/").status_code == 403  # operator
    outside = web.client("chukhac").get("/reports/documents/", query_string=_args(COMMUNE))
    assert outside.status_code == 403
    custom = web.client("chuxa").get("/reports/documents/", query_string={"kind": "custom"})
    assert custom.status_code == 400 and "kind-error" in text(custom)


def test_store_keeps_long_narrative_and_shows_markup_as_text(officials):
    web = officials
    client = web.client("chuxa")
    markup = "<script>alert('x')</script> <b>đậm</b> & “ngoặc”\n"
    long_text = (markup + "Loa thôn 3 hỏng. " * 1200)[:20_000]
    assert len(long_text) == 20_000
    preview = web.post(
        client, "/reports/documents/preview", _form(web, difficulties=long_text, proposals=markup)
    )
    page = text(preview)
    assert preview.status_code == 200, page
    assert 'id="paper"' in page and official.NATION in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    assert "&lt;b&gt;đậm&lt;/b&gt;" in page and "<b>đậm</b>" not in page
    with web.factory() as s:
        before = s.scalar(select(ComplianceReport.id).order_by(ComplianceReport.id.desc()))
    assert before is None  # a preview stores nothing
    report_id = _store(web, client, difficulties=long_text, proposals=markup)
    document = _body(web, report_id)["document"]
    assert document["difficulties"] == unicodedata.normalize("NFC", long_text).strip()
    assert document["proposals"] == markup.strip()
    assert document["signer"]["name"] == "Nguyễn Văn An"
    with web.factory() as s:
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(report_id)))
        assert "report.document.store" in list(events)
    stored = client.get(f"/reports/stored/{report_id}")
    assert stored.status_code == 200 and 'id="document-docx"' in text(stored)
    # remembered for the unit: the next draft starts with this signer
    assert "Nguyễn Văn An" in text(client.get("/reports/documents/", query_string=_args()))


def test_signer_without_a_name_is_said_beside_it_and_the_text_stays(officials):
    web = officials
    client = web.client("chuxa")
    typed = "Thôn 5 chưa có loa <i>mới</i>.\nĐề nghị hỗ trợ."
    response = web.post(
        client, "/reports/documents/store", _form(web, signer_name="  ", difficulties=typed)
    )
    page = text(response)
    assert response.status_code == 400, page
    error = re.search(r'id="doc-signer_name-error"[^>]*>([^<]+)<', page)
    assert error and "người ký" in error.group(1).lower()
    area = re.search(r'<textarea id="doc-difficulties"[^>]*>([^<]*)</textarea>', page)
    assert area and html.unescape(area.group(1)) == typed
    with web.factory() as s:
        assert s.scalar(select(ComplianceReport.id)) is None
    bad_symbol = web.post(client, "/reports/documents/store", _form(web, symbol="BC UBND!"))
    assert bad_symbol.status_code == 400 and "doc-symbol-error" in text(bad_symbol)
    nul = web.post(client, "/reports/documents/preview", _form(web, proposals="a\x00b"))
    assert nul.status_code == 400 and "doc-proposals-error" in text(nul)
    # a symbol with a slash and Vietnamese letters is fine
    report_id = _store(web, client, symbol="bc-ubnd/vhxh-đl")
    assert _body(web, report_id)["document"]["symbol"] == "BC-UBND/VHXH-ĐL"


def test_docx_and_pdf_rebuilt_from_the_stored_body(officials):
    web = officials
    client = web.client("chuxa")
    report_id = _store(web, client, number="12", symbol="BC-UBND")
    key = _period().key
    docx_answer = client.get(f"/reports/documents/{report_id}.docx")
    assert docx_answer.status_code == 200
    assert f'filename="bao-cao-{COMMUNE}-{key}.docx"' in docx_answer.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(docx_answer.data))
    words = "\n".join(p.text for p in document.paragraphs)
    words += "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert official.NATION in words and "BÁO CÁO" in words and "12/BC-UBND" in words
    assert client.get(f"/reports/documents/{report_id}.docx").data == docx_answer.data
    pdf_answer = client.get(f"/reports/documents/{report_id}.pdf")
    assert pdf_answer.status_code == 200 and pdf_answer.data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf_answer.data))
    first = unicodedata.normalize("NFC", reader.pages[0].extract_text())
    assert "BÁO CÁO" in first and "12/BC-UBND" in first
    # the preview's downloads, stored nowhere
    preview = web.post(client, "/reports/documents/preview.docx", _form(web))
    assert preview.status_code == 200 and "xem-truoc.docx" in preview.headers["Content-Disposition"]
    docx.Document(io.BytesIO(preview.data))
    # scope, and a stored report without a document
    assert web.client("chukhac").get(f"/reports/documents/{report_id}.pdf").status_code == 403
    assert web.client("duyet").get(f"/reports/documents/{report_id}.pdf").status_code == 200
    with transaction(web.factory) as s:
        plain = compliance.compute(s, _period(), unit_code=COMMUNE, tz=TZ)
        plain_id = store.store(s, plain, key=SealKey.from_secret("test"), generated_by="t").id
    assert client.get(f"/reports/documents/{plain_id}.docx").status_code == 404
    assert "document-docx" not in text(client.get(f"/reports/stored/{plain_id}"))
    refused = web.post(client, f"/reports/documents/{plain_id}/file")
    assert refused.status_code == 400


def test_filing_on_time_once_and_never_for_another_commune(officials):
    web = officials
    client = web.client("chuxa")
    report_id = _store(web, client)
    stored = text(client.get(f"/reports/stored/{report_id}"))
    assert 'id="file-report"' in stored
    editor = web.client("bientapxa")  # drafts, does not file
    assert 'id="file-report"' not in text(editor.get(f"/reports/stored/{report_id}"))
    assert web.post(editor, f"/reports/documents/{report_id}/file").status_code == 403
    other = web.client("chukhac")
    assert web.post(other, f"/reports/documents/{report_id}/file").status_code == 403
    filed = web.post(client, f"/reports/documents/{report_id}/file")
    assert filed.status_code == 302, text(filed)
    page = text(client.get(filed.headers["Location"]))
    assert "đúng hạn" in page and 'id="file-report"' not in page
    with web.factory() as s:
        (made,) = filing.filings_of(s, COMMUNE)
    assert made.report_id == report_id and made.on_time and made.version == 1
    with web.factory() as s:
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(report_id)))
        assert "report.file" in list(events)
    again = web.post(client, f"/reports/documents/{report_id}/file")
    assert again.status_code == 409
    # a new version of the same period is filed as version 2; both stay
    second = _store(web, client, proposals="Bổ sung.")
    assert web.post(client, f"/reports/documents/{second}/file").status_code == 302
    with web.factory() as s:
        versions = sorted(f.version for f in filing.filings_of(s, COMMUNE))
    assert versions == [1, 2]


def test_province_overview_on_time_late_and_missing(officials):
    web = officials
    period = _period()
    on_time = _store(web, web.client("chuxa"))
    assert web.post(web.client("chuxa"), f"/reports/documents/{on_time}/file").status_code == 302
    late = _store(web, web.client("chukhac"), unit=OTHER)
    due = drafts.deadline(period, 25)
    with transaction(web.factory) as s:
        filing.file_report(
            s,
            late,
            scope_unit_code=OTHER,
            filed_by="chukhac",
            deadline_day=25,
            tz=TZ,
            now=datetime.combine(due + timedelta(days=2), time(9), tzinfo=TZ),
        )
    page = web.client("duyet").get("/reports/documents/filings", query_string=_args("42"))
    body = text(page)
    assert page.status_code == 200, body
    with web.factory() as s:
        status = filing.filing_status(s, period, "42", deadline_day=25, tz=TZ)
    assert status.on_time == 1 and status.late == 1 and status.missing >= 1
    assert re.search(rf'data-test="unit-{COMMUNE}" data-state="on_time"', body)
    assert re.search(rf'data-test="unit-{OTHER}" data-state="late"', body)
    missing = [u.code for u in status.units if u.state == "missing"]
    assert re.search(rf'data-test="unit-{missing[0]}" data-state="missing"', body)
    assert "Đúng hạn" in body and "Trễ hạn" in body and "Chưa gửi" in body
    assert f"/reports/stored/{on_time}" in body and 'id="draft-own"' in body
    auditor = web.client("kiemtra").get("/reports/documents/filings", query_string=_args("42"))
    assert auditor.status_code == 200 and 'id="draft-own"' not in text(auditor)
    # the province's own report: its section I aggregates the filed reports
    province = _store(web, web.client("duyet"), unit="42")
    filings = _body(web, province)["document"]["filings"]
    assert {u["code"] for u in filings["units"]} == {COMMUNE, OTHER}
    assert any(m["code"] == missing[0] for m in filings["missing"])


def test_reminder_on_the_dashboard_until_filed(officials):
    web = officials
    period = _period()
    due = drafts.deadline(period, 25)
    web.app.config[TODAY_KEY] = due - timedelta(days=3)
    label = f"Báo cáo tháng {period.key[5:]}/{period.key[:4]} phải gửi trước {due:%d/%m/%Y}"
    client = web.client("chuxa")
    page = text(client.get("/dashboard/"))
    assert f"{label} (còn 3 ngày)." in page
    assert "/reports/documents/?unit=" in page
    assert label not in text(web.client("duyet").get("/dashboard/"))  # a province: none
    report_id = _store(web, client)
    assert label in text(client.get("/dashboard/"))  # stored is not filed
    assert web.post(client, f"/reports/documents/{report_id}/file").status_code == 302
    assert label not in text(client.get("/dashboard/"))


def test_the_countrys_report_downloads_and_is_filed_nowhere(officials):
    web = officials
    client = web.client("quantri")
    page = client.get("/reports/documents/", query_string=_args(None))
    assert page.status_code == 200, text(page)
    report_id = _store(web, client, unit=None)
    assert _body(web, report_id)["scope"]["unit"] is None
    stored = text(client.get(f"/reports/stored/{report_id}"))
    assert 'id="document-pdf"' in stored and 'id="file-report"' not in stored
    assert client.get(f"/reports/documents/{report_id}.docx").status_code == 200
    refused = web.post(client, f"/reports/documents/{report_id}/file")
    assert refused.status_code == 400 and "cấp trên" in text(refused)
    assert web.client("duyet").get(f"/reports/documents/{report_id}.docx").status_code == 403
