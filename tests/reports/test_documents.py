"""The report in the official form: the draft (defaults remembered, bad input refused),
the document inside the stamped body, and its proof."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from sqlalchemy import select, text

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.errors import InvalidInput
from broadcaster.models import AdminUnit, ComplianceReport, ReportDocumentDefaults
from broadcaster.reports import store
from broadcaster.reports.official import DOCUMENT_FORMAT
from broadcaster.reports.periods import resolve
from broadcaster.services.reports import drafts
from tests.planning.fixtures import TZ
from tests.reports.documents import aired, form, scene_month, store_for
from tests.reports.test_stored import KEY, _unguarded


def test_deadline_is_the_first_deadline_day_after_the_period():
    assert drafts.deadline(resolve("month", "2026-12", 15), 25) == date(2026, 12, 25)
    assert drafts.deadline(resolve("month", "2026-12", 1), 25) == date(2027, 1, 25)
    assert drafts.deadline(resolve("quarter", "2026-Q4", 15), 25) == date(2026, 12, 25)
    assert drafts.deadline(resolve("year", "2026", 1), 10) == date(2027, 1, 10)
    # a period ending on the deadline day itself: the next month's
    assert drafts.deadline(resolve("month", "2026-12", 26), 25) == date(2027, 1, 25)


def test_defaults_are_derived_from_the_unit_then_remembered(scene):
    period = scene_month(scene)
    today = local_today(TZ)
    with scene.factory() as s:
        commune = s.scalar(select(AdminUnit).where(AdminUnit.code == scene.unit))
        first = drafts.defaults(s, scene.unit, period, today=today)
        province = drafts.defaults(s, scene.province, period, today=today)
        country = drafts.defaults(s, None, period, today=today)
    assert first.issuer_name == f"ỦY BAN NHÂN DÂN {commune.name.upper()}"
    assert first.issuer_parent == ""  # a People's Committee heads with its own name
    assert first.place == commune.name.split(" ", 1)[1]  # "Phường Thành Sen" → "Thành Sen"
    assert first.signer_name == "" and first.number == ""
    assert (first.difficulties, first.proposals, first.date) == ("", "", today)
    assert first.summary.startswith("Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở tháng ")
    assert province.issuer_name == "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"
    assert (province.issuer_parent, province.place) == ("", "Hà Tĩnh")
    assert country.issuer_name == drafts.COUNTRY_ISSUER[1]

    draft = drafts.parse_draft(form(symbol="bc-ubnd/vhxh", number="7"))
    store_for(scene, scene.unit, period, draft)
    with scene.factory() as s:
        again = drafts.defaults(s, scene.unit, period, today=today)
        other = drafts.defaults(s, scene.province, period, today=today)
        assert s.get(ReportDocumentDefaults, scene.unit) is not None
    # what lasts is remembered; the number, date and narrative start afresh
    assert again.symbol == "BC-UBND/VHXH"
    assert again.issuer_name == "ỦY BAN NHÂN DÂN XÃ ĐẬU LIÊU"
    assert again.signer_authority == ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH")
    assert (again.signer_title, again.signer_name) == ("PHÓ CHỦ TỊCH", "Nguyễn Văn An")
    assert again.recipients == ("UBND tỉnh (b/c);", "Lưu: VT.")
    assert (again.number, again.difficulties, again.proposals) == ("", "", "")
    assert other == province  # another unit's are its own


def test_parse_draft_keeps_what_was_written():
    empty = drafts.parse_draft(form(difficulties="", proposals="   "))
    assert (empty.difficulties, empty.proposals) == ("", "")
    long = "Khó khăn về kinh phí. " * 1000
    long = long[:20_000]
    assert len(drafts.parse_draft(form(difficulties=long)).difficulties) == len(long.strip())
    marked = drafts.parse_draft(form(proposals="<b>x</b> & <script>y</script>"))
    assert marked.proposals == "<b>x</b> & <script>y</script>"
    assert drafts.parse_draft(form(symbol="BC-UBND/VHXH")).symbol == "BC-UBND/VHXH"
    assert drafts.parse_draft(form(symbol="bc-đtt")).symbol == "BC-ĐTT"
    assert drafts.parse_draft(form(date="05/12/2026")).date == date(2026, 12, 5)
    decomposed = drafts.parse_draft(form(signer_name="Nguye\u0302\u0303n Văn An"))
    assert decomposed.signer_name == "Nguyễn Văn An"  # NFC


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"signer_name": "  "}, "signer_name"),
        ({"symbol": "BC_UBND"}, "symbol"),
        ({"symbol": "BC.UBND"}, "symbol"),
        ({"symbol": "BC-UBND/"}, "symbol"),
        ({"symbol": "BC UBND"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"number": "12a"}, "number"),
        ({"difficulties": "x" * 30_001}, "difficulties"),
        ({"recipients": "\n".join(f"Nơi {n};" for n in range(31))}, "recipients"),
        ({"date": "31/02/2026"}, "date"),
        ({"date": ""}, "date"),
        ({"place": ""}, "place"),
    ],
)
def test_parse_draft_refuses_bad_input_naming_the_field(changes, field):
    with pytest.raises(InvalidInput) as error:
        drafts.parse_draft(form(**changes))
    assert error.value.field == field
    assert error.value.message


def test_the_document_is_inside_the_stamped_body_and_proven(scene):
    aired(scene)
    period = scene_month(scene)
    narrative = "Loa thôn 3 hỏng.\n<b>x</b> " + "Khó khăn. " * 2000
    draft = drafts.parse_draft(form(difficulties=narrative, proposals=""))
    info = store_for(scene, scene.unit, period, draft)
    with scene.factory() as s:
        _info, body = store.get(s, info.id)
        result = store.verify(s, info.id, key=KEY)
        listed = drafts.stored_documents(s, unit_code=scene.unit)
    assert result.ok, result.problems
    doc = body["document"]
    assert doc["format"] == DOCUMENT_FORMAT
    assert doc["difficulties"] == narrative.strip() and doc["proposals"] == ""
    assert (doc["number"], doc["symbol"], doc["filings"]) == ("12", "BC-UBND", None)
    assert doc["signer"] == {
        "authority": ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"],
        "title": "PHÓ CHỦ TỊCH",
        "name": "Nguyễn Văn An",
    }
    assert [i.id for i in listed] == [info.id]
    assert body["totals"]["on_time"] == 2  # the figures are the compliance report's

    # someone with database access rewrites the narrative: the digest no longer matches
    with scene.factory() as s:
        raw = s.get(ComplianceReport, info.id).body
    forged = raw.replace("Loa thôn 3 hỏng.", "Không có khó khăn.")
    with _unguarded(scene.factory, "compliance_reports") as conn:
        conn.execute(
            text("UPDATE compliance_reports SET body = :b WHERE id = :i"),
            {"b": forged, "i": info.id},
        )
        conn.commit()
    with scene.factory() as s:
        result = store.verify(s, info.id, key=KEY)
    assert "nội dung báo cáo không khớp mã băm đã lưu (báo cáo bị sửa)" in result.problems


def test_a_stored_report_without_a_signer_is_refused(scene):
    period = scene_month(scene)
    with scene.factory() as s:
        start = drafts.defaults(s, scene.unit, period, today=local_today(TZ))
    with pytest.raises(InvalidInput) as error:
        store_for(scene, scene.unit, period, start)  # no name yet
    assert error.value.field == "signer_name"
    with scene.factory() as s:
        assert drafts.stored_documents(s) == []


def test_verify_refuses_an_aggregate_that_is_not_the_sum_of_the_filings(scene):
    """A province's body stored by hand with a wrong aggregate is named by verify."""
    from broadcaster.services.reports import filing

    aired(scene)
    period = scene_month(scene)
    commune = store_for(scene, scene.unit, period)
    with transaction(scene.factory) as s:
        filing.file_report(
            s, commune.id, scope_unit_code=None, filed_by="kiểm tra", deadline_day=25, tz=TZ
        )
    with transaction(scene.factory) as s:
        draft = drafts.with_changes(
            drafts.defaults(s, scene.province, period, today=local_today(TZ)), signer_name="Lê B"
        )
        report = drafts.preview(s, period, scene.province, draft, tz=TZ, deadline_day=25)
        honest = store.store(s, copy.deepcopy(report), key=KEY, generated_by="kiểm tra")
        report["document"]["filings"]["aggregate"]["on_time"] += 1
        forged = store.store(s, report, key=KEY, generated_by="kiểm tra")
    with scene.factory() as s:
        good = store.verify(s, honest.id, key=KEY)
        bad = store.verify(s, forged.id, key=KEY)
        _i, body = store.get(s, honest.id)
    assert good.ok, good.problems
    assert [u["report_id"] for u in body["document"]["filings"]["units"]] == [commune.id]
    assert len(bad.problems) == 1
    assert bad.problems[0].startswith(
        "phần tổng hợp các báo cáo đã nộp khác tổng số liệu của các đơn vị: on_time 3 ≠ 2"
    )


def test_verify_names_a_filed_report_whose_digest_differs(scene):
    from broadcaster.services.reports import filing

    period = scene_month(scene)
    commune = store_for(scene, scene.unit, period)
    with transaction(scene.factory) as s:
        filing.file_report(
            s, commune.id, scope_unit_code=None, filed_by="kiểm tra", deadline_day=25, tz=TZ
        )
    with transaction(scene.factory) as s:
        draft = drafts.with_changes(
            drafts.defaults(s, scene.province, period, today=local_today(TZ)), signer_name="Lê B"
        )
        report = drafts.preview(s, period, scene.province, draft, tz=TZ, deadline_day=25)
        report["document"]["filings"]["units"][0]["body_sha256"] = "0" * 64
        forged = store.store(s, report, key=KEY, generated_by="kiểm tra")
    with scene.factory() as s:
        bad = store.verify(s, forged.id, key=KEY)
    assert bad.problems == [
        f"báo cáo số {commune.id} của {scene.unit_name} (đã nộp, được tổng hợp) "
        "không còn hoặc không khớp mã băm đã ghi"
    ]
    assert json.dumps(bad.problems, ensure_ascii=False)  # readable text
