"""The official report's layout: every line from the stored body, in Vietnamese, per NĐ30."""

from __future__ import annotations

import copy
from datetime import date, datetime

import pytest

from broadcaster.errors import InvalidInput
from broadcaster.reports import official_content as words
from broadcaster.reports.fields import vn_number
from broadcaster.reports.official import NONE_WRITTEN, Para, Table, layout
from tests.reports import official_bodies as ob


def _pct(value) -> str:
    return "–" if value is None else vn_number(float(value), 1)


def _counts(row: dict) -> list[str]:
    keys = ("required", "due", "on_time", "late", "partial", "failed", "missed")
    return [vn_number(row[key]) for key in keys]


def _tables(blocks) -> list[Table]:
    return [block for block in blocks if isinstance(block, Table)]


def _texts(blocks) -> list[str]:
    return [block.text for block in blocks if isinstance(block, Para)]


# --- pure wording --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 5), "ngày 05 tháng 12 năm 2026"),
        (date(2026, 2, 15), "ngày 15 tháng 02 năm 2026"),
        (date(2026, 1, 1), "ngày 01 tháng 01 năm 2026"),
        (date(2026, 3, 9), "ngày 09 tháng 3 năm 2026"),
        (date(2026, 11, 30), "ngày 30 tháng 11 năm 2026"),
    ],
)
def test_dates_take_a_leading_zero_below_ten_and_in_january_and_february(day, expected):
    assert words.nd30_date(day) == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ({"kind": "month", "key": "2026-11"}, "tháng 11 năm 2026"),
        ({"kind": "month", "key": "2026-02"}, "tháng 2 năm 2026"),
        ({"kind": "quarter", "key": "2026-Q4"}, "quý IV năm 2026"),
        ({"kind": "half", "key": "2026-H1"}, "6 tháng đầu năm 2026"),
        ({"kind": "half", "key": "2026-H2"}, "6 tháng cuối năm 2026"),
        ({"kind": "year", "key": "2026"}, "năm 2026"),
        (
            {"kind": "custom", "key": "x", "from": "2026-10-15", "to": "2026-11-14"},
            "từ ngày 15/10/2026 đến ngày 14/11/2026",
        ),
    ],
)
def test_periods_in_words(period, expected):
    assert words.period_words(period) == expected


def test_number_line_blank_padded_and_symbols_as_given():
    assert words.number_line("12", "BC-UBND") == "Số: 12/BC-UBND"
    assert words.number_line("5", "BC-UBND") == "Số: 05/BC-UBND"
    assert words.number_line("", "BC-UBND") == "Số:      /BC-UBND"
    assert words.number_line("123", "BC/ĐTTH-VHXH") == "Số: 123/BC/ĐTTH-VHXH"


def test_narrative_one_paragraph_per_line_markup_kept_empty_is_none_written():
    assert words.narrative("") == [Para(NONE_WRITTEN)]
    assert words.narrative("  \n\r\n \n") == [Para(NONE_WRITTEN)]
    paras = words.narrative("Dòng một\r\n\r\n<script>alert(1)</script> & **đậm**\nDòng ba")
    assert [p.text for p in paras] == ["Dòng một", "<script>alert(1)</script> & **đậm**", "Dòng ba"]


# --- from a real body ----------------------------------------------------------------------


def test_a_commune_report_in_the_official_form(scene):
    ob.aired(scene)
    body = ob.commune_body(scene)
    lay = layout(body)
    assert lay.issuer_parent == "UBND TỈNH HÀ TĨNH"
    assert lay.issuer_name == "ỦY BAN NHÂN DÂN\nPHƯỜNG THÀNH SEN"  # the body, the unit under it
    assert lay.number_line == "Số: 12/BC-UBND"
    assert lay.place_date == "Thành Sen, ngày 05 tháng 12 năm 2026"
    assert lay.kind == "BÁO CÁO"
    assert lay.summary == body["document"]["summary"]
    intro = lay.intro[0].text
    assert intro.startswith("Thực hiện nhiệm vụ")
    assert words.period_words(body["period"]) in intro and intro.endswith("như sau:")
    assert [s.heading for s in lay.sections] == [
        "I. KẾT QUẢ THỰC HIỆN",
        "II. KHÓ KHĂN, VƯỚNG MẮC",
        "III. ĐỀ XUẤT, KIẾN NGHỊ",
    ]
    # section I: the JSON's figures, formatted
    t = body["totals"]
    text = " ".join(_texts(lay.sections[0].blocks))
    assert t["required"] == 8 and t["on_time"] == 1 and t["late"] == 1  # the scene's
    assert f"phải phát {vn_number(t['required'])} lượt" in text
    assert f"{vn_number(t['on_time'])} lượt phát đúng giờ" in text
    assert f"Tỷ lệ thực hiện đạt {vn_number(t['compliance_pct'])}%" in text
    assert f"tổng thời lượng đã phát {vn_number(t['minutes_aired'])} phút" in text
    assert "Tiếp âm" in text and "thông báo khẩn" in text
    station = body["stations"][0]
    assert station["offline"]  # the scene's station never reported its health
    assert f"Đài mất kết nối: {station['name']} ({station['code']})." in text
    assert f"cả {t['due']} lượt đều đã đến hạn" in text and t["pending"] == 0
    (campaigns,) = _tables(lay.sections[0].blocks)
    assert campaigns.title.startswith("Bảng 1.")
    assert campaigns.rows == [
        [
            "1",
            row["name"],
            "–" if row["times_per_week"] is None else str(row["times_per_week"]),
            *_counts(row),
            _pct(row["compliance_pct"]),
        ]
        for row in body["campaigns"]
    ]
    assert campaigns.total[3:] == [*_counts(t), _pct(t["compliance_pct"])]
    assert len(campaigns.widths) == len(campaigns.numeric) == len(campaigns.columns)
    # sections II and III as written, one paragraph per line, markup as text
    assert _texts(lay.sections[1].blocks) == [line for line in ob.DIFFICULTIES.split("\n") if line]
    assert "<b>Đông</b>" in _texts(lay.sections[1].blocks)[1]
    assert _texts(lay.sections[2].blocks) == [ob.PROPOSALS]
    # appendix: one row per station
    assert lay.appendix is not None and lay.appendix.heading == "PHỤ LỤC"
    assert "Kèm theo Báo cáo số 12/BC-UBND ngày 05/12/2026" in lay.appendix.blocks[1].text
    stations, minutes = _tables(lay.appendix.blocks)
    assert [r[1] for r in stations.rows] == [f"{s['name']} ({s['code']})" for s in body["stations"]]
    assert [r[2:] for r in stations.rows] == [
        [*_counts(s), _pct(s["compliance_pct"])] for s in body["stations"]
    ]
    assert [r[2] for r in minutes.rows] == [vn_number(s["minutes_aired"]) for s in body["stations"]]
    # signer, recipients, properties
    assert lay.signer_authority == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"]
    assert lay.signer_title == "PHÓ CHỦ TỊCH" and lay.signer_name == "Nguyễn Thị Hương"
    assert lay.recipients == ["Như trên;", "UBND tỉnh (b/c);", "Lưu: VT."]
    assert lay.created == datetime.fromisoformat(body["generated_at"])
    assert lay.created.tzinfo is not None
    assert lay.author == "ỦY BAN NHÂN DÂN PHƯỜNG THÀNH SEN"
    assert "12/BC-UBND" in lay.title and lay.summary in lay.title
    assert scene.unit in lay.keywords


def test_blank_number_symbol_with_slash_empty_and_long_narrative(scene):
    long = "\n\n".join(f"Đoạn {i}: " + "khó khăn về loa, đường truyền. " * 30 for i in range(25))
    long = long[:20_000]
    body = ob.commune_body(
        scene, number="", symbol="BC/ĐTTH-VHXH", difficulties="", proposals=long, place=""
    )
    lay = layout(body)
    assert lay.number_line == "Số:      /BC/ĐTTH-VHXH"
    assert lay.place_date == "Ngày 05 tháng 12 năm 2026"
    assert _texts(lay.sections[1].blocks) == [NONE_WRITTEN]
    written = _texts(lay.sections[2].blocks)
    assert len(long) == 20_000 and len(written) == 22
    assert written == [part.strip() for part in long.split("\n\n")]  # all of it, nothing cut
    assert "Báo cáo số      /BC/ĐTTH-VHXH" in lay.appendix.blocks[1].text


def test_a_body_without_a_document_is_refused_clearly(scene):
    body = ob.compute(scene, scene.unit)
    with pytest.raises(InvalidInput) as caught:
        layout(body)
    assert "không có phần văn bản" in caught.value.message
    body["document"] = ob.document(format="broadcaster.report-document/9")
    with pytest.raises(InvalidInput):
        layout(body)
    with pytest.raises(InvalidInput):
        layout({**body, "format": "broadcaster.compliance/9"})
    body["document"] = ob.document(date="05/12/2026")
    with pytest.raises(InvalidInput) as caught:
        layout(body)
    assert caught.value.field == "date"


def test_a_report_stored_before_relays_has_no_relay_part(scene):
    body = ob.commune_body(scene)
    body["format"] = "broadcaster.compliance/1"
    text = " ".join(_texts(layout(body).sections[0].blocks))
    assert "Tiếp âm" not in text and "tiếp âm" not in text


def test_a_province_report_aggregates_the_filed_reports_and_names_who_did_not_file(scene):
    ob.aired(scene)
    body, filed = ob.province_body(scene)
    filings = body["document"]["filings"]
    lay = layout(copy.deepcopy(body))
    part = lay.sections[0].blocks
    heads = [p.text for p in part if isinstance(p, Para) and p.bold]
    assert heads[-1] == "5. Tình hình gửi báo cáo của các xã, phường"
    text = " ".join(_texts(part))
    deadline = date.fromisoformat(filings["deadline"]).strftime("%d/%m/%Y")
    assert f"Hạn gửi báo cáo kỳ này là ngày {deadline}" in text
    assert "1 đơn vị gửi báo cáo đúng hạn, 1 đơn vị gửi trễ hạn, 2 đơn vị chưa gửi" in text
    for unit in filings["missing"]:
        assert f"{unit['name']} ({unit['code']})" in text
    aggregate = _tables(part)[-1]
    assert aggregate.rows == [
        [
            "1",
            filed[0]["scope"]["unit"]["name"],
            vn_number(filed[0]["totals"]["stations"]),
            *_counts(filed[0]["totals"]),
            _pct(filed[0]["totals"]["compliance_pct"]),
        ],
        [
            "2",
            filed[1]["scope"]["unit"]["name"],
            vn_number(filed[1]["totals"]["stations"]),
            *_counts(filed[1]["totals"]),
            _pct(filed[1]["totals"]["compliance_pct"]),
        ],
    ]
    agg = filings["aggregate"]
    assert aggregate.total[2:] == [
        vn_number(agg["stations"]),
        *_counts(agg),
        _pct(agg["compliance_pct"]),
    ]
    # appendix: per commune, then the filing of every commune below
    by_commune, _minutes, filing = _tables(lay.appendix.blocks)
    assert [r[1] for r in by_commune.rows] == [c["name"] for c in body["communes"]]
    assert [r[2:] for r in by_commune.rows] == [
        [vn_number(c["stations"]), *_counts(c), _pct(c["compliance_pct"])] for c in body["communes"]
    ]
    states = {row[1]: (row[2], row[3]) for row in filing.rows}
    first, second = filings["units"]
    moment = datetime.fromisoformat(first["filed_at"]).astimezone(words.ZoneInfo(words.VN_ZONE))
    assert states[first["name"]] == ("Đúng hạn", moment.strftime("%d/%m/%Y %H:%M"))
    assert states[second["name"]][0] == "Trễ hạn"
    for unit in filings["missing"]:
        assert states[unit["name"]] == ("Chưa gửi", "")
    assert lay.number_line == "Số: 12/BC-UBND" and lay.issuer_parent == ""
    assert "Ủy ban nhân dân tỉnh Hà Tĩnh" in lay.intro[0].text


def test_relays_and_emergencies_are_the_json_figures(scene):
    body = ob.commune_body(scene)
    body["totals"].update(
        relay_slots=1234,
        relay_required_minutes=18510.0,
        relay_due_minutes=1500.5,
        relay_minutes=1425.25,
        relay_pct=95.0,
    )
    body["relay_campaigns"] = [
        {
            "id": 7,
            "name": "Tiếp âm VOV1",
            "source": "VOV1",
            "start": "05:30",
            "length_minutes": 15,
            "relay_slots": 1234,
            "relay_required_minutes": 18510.0,
            "relay_due_minutes": 1500.5,
            "relay_minutes": 1425.25,
            "relay_pct": 95.0,
        }
    ]
    body["emergencies"].update(sent=2, deliveries=3, aired=2, median_seconds=41.5, max_seconds=90.0)
    lay = layout(body)
    text = " ".join(_texts(lay.sections[0].blocks))
    assert "phải tiếp âm 1.234 lượt với 18.510,0 phút" in text
    assert "1.500,5 phút đã đến hạn" in text
    assert "Đã tiếp âm 1.425,2 phút, đạt 95,0% số phút đã đến hạn" in text  # vn_number's own
    assert "2 thông báo khẩn được gửi tới các đài (3 lượt gửi), đã phát 2 lượt" in text
    assert "trung vị 41,5 giây, lâu nhất 90,0 giây" in text
    relay = next(t for t in _tables(lay.sections[0].blocks) if "tiếp âm" in t.title)
    assert relay.title.startswith("Bảng 2.")
    assert relay.rows == [
        [
            "1",
            "Tiếp âm VOV1",
            "VOV1 05:30",
            "1.234",
            "18.510,0",
            "1.500,5",
            vn_number(1425.25),
            "95,0",
        ]
    ]


def test_the_country_report_lists_provinces(scene):
    body = ob.compute(scene, None)
    body["document"] = ob.document(
        issuer={"parent": "", "name": "Bộ Văn hóa, Thể thao và Du lịch"}, place="Hà Nội"
    )
    lay = layout(body)
    assert lay.issuer_name == "BỘ VĂN HÓA, THỂ THAO VÀ DU LỊCH"
    assert "truyền thanh cơ sở, Bộ Văn hóa, Thể thao và Du lịch báo cáo" in lay.intro[0].text
    text = " ".join(_texts(lay.sections[0].blocks))
    assert f"thuộc {len(body['provinces'])} tỉnh, thành phố" in text
    by_province = _tables(lay.appendix.blocks)[0]
    assert by_province.title == "Bảng PL1. Kết quả phát tin, bài theo tỉnh, thành phố"
    assert [r[1] for r in by_province.rows] == [p["name"] for p in body["provinces"]]
    assert lay.keywords.endswith("VN")
