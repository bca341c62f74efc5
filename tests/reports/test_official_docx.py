"""The official report as DOCX, read back with python-docx: heading, sections, tables equal to
the JSON, signer and recipients, fonts and margins, and the same bytes on every build."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph

from broadcaster.reports.fields import vn_number
from broadcaster.reports.official import MOTTO, NATION, NONE_WRITTEN, layout
from broadcaster.reports.official_docx import to_docx
from tests.reports import official_bodies as ob


def _open(body: dict):
    return Document(io.BytesIO(to_docx(layout(body))))


def _cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def _lines(cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text]


def _paragraph(doc, text: str):
    return next(p for p in doc.paragraphs if p.text == text)


def _sizes(paragraph) -> set[float]:
    return {run.font.size.pt for run in paragraph.runs if run.text}


def _table_after(doc, title: str):
    """The Word table printed under the bold title ``title``."""
    found = False
    for block in doc.iter_inner_content():
        if found:
            assert isinstance(block, DocxTable), f"no table under {title!r}"
            return block
        found = isinstance(block, DocxParagraph) and block.text == title
    raise AssertionError(f"no table titled {title!r}")


def test_the_docx_has_the_official_layout_and_the_json_figures(scene):
    ob.aired(scene)
    body = ob.commune_body(scene)
    doc = _open(body)
    # A4, margins 20/20/30/15 mm
    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin)] == [20, 20]
    assert [round(m.mm) for m in (section.left_margin, section.right_margin)] == [30, 15]
    # the heading: issuing body and number left, the nation right
    left, right = doc.tables[0].rows[0].cells
    assert _lines(left) == [
        "UBND TỈNH HÀ TĨNH",
        "ỦY BAN NHÂN DÂN\nPHƯỜNG THÀNH SEN",
        "Số: 12/BC-UBND",
    ]
    assert _lines(right) == [NATION, MOTTO, "Thành Sen, ngày 05 tháng 12 năm 2026"]
    name = left.paragraphs[1]
    assert all(run.bold for run in name.runs) and _sizes(name) == {13}
    nation, motto, place = (p for p in right.paragraphs if p.text)
    assert all(r.bold for r in nation.runs) and _sizes(nation) == {13}
    assert all(r.bold for r in motto.runs) and _sizes(motto) == {14}
    assert all(r.italic for r in place.runs) and _sizes(place) == {14}
    rules = [
        p
        for p in (*left.paragraphs, *right.paragraphs)
        if p._p.find(f".//{qn('w:pBdr')}") is not None
    ]
    assert len(rules) == 2  # under the issuing body and under the motto
    # title and summary, centred and bold
    for text in ("BÁO CÁO", body["document"]["summary"]):
        paragraph = _paragraph(doc, text)
        assert paragraph.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert all(run.bold for run in paragraph.runs)
    texts = [p.text for p in doc.paragraphs]
    headings = ["I. KẾT QUẢ THỰC HIỆN", "II. KHÓ KHĂN, VƯỚNG MẮC", "III. ĐỀ XUẤT, KIẾN NGHỊ"]
    assert [texts.index(h) for h in headings] == sorted(texts.index(h) for h in headings)
    for heading in headings:
        assert all(run.bold for run in _paragraph(doc, heading).runs)
    for line in ob.DIFFICULTIES.split("\n"):
        assert not line or line in texts  # markup printed as written
    assert (
        "Đường truyền Internet tại nhà văn hóa thôn <b>Đông</b> chập chờn & hay mất kết nối."
        in texts
    )
    assert ob.PROPOSALS in texts
    intro = _paragraph(doc, layout(body).intro[0].text)
    assert intro.style.name == "Normal" and intro.paragraph_format.first_line_indent is None
    # Bảng 1: the JSON's figures, header repeated, numbers right, total bold
    table = _table_after(doc, "Bảng 1. Kết quả phát tin, bài theo chiến dịch")
    assert table.style.name == "Table Grid"
    rows = _cells(table)
    assert rows[0][:4] == ["TT", "Chiến dịch", "Số lần/tuần", "Phải phát"]
    keys = ("required", "due", "on_time", "late", "partial", "failed", "missed")
    for row, campaign in zip(rows[1:-1], body["campaigns"], strict=True):
        assert row[1] == campaign["name"]
        assert row[3:10] == [vn_number(campaign[k]) for k in keys]
        assert row[10] == vn_number(campaign["compliance_pct"])
    totals = body["totals"]
    assert rows[-1][1] == "Tổng cộng" and rows[-1][3:10] == [vn_number(totals[k]) for k in keys]
    header = table.rows[0]._tr
    assert header.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
    assert all(r.bold for c in table.rows[-1].cells for p in c.paragraphs for r in p.runs)
    assert table.rows[1].cells[3].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert {r.font.size.pt for c in table.rows[1].cells for p in c.paragraphs for r in p.runs} == {
        11
    }
    # appendix after a page break: one row per station
    stations = _table_after(doc, "Bảng PL1. Kết quả phát tin, bài theo đài")
    assert [r[1] for r in _cells(stations)[1:-1]] == [
        f"{s['name']} ({s['code']})" for s in body["stations"]
    ]
    assert doc.element.body.xpath(".//w:br[@w:type='page']")
    # the signer on the right, "Nơi nhận" on the left
    sign_left, sign_right = _signature(doc)
    assert _lines(sign_right) == [
        "TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "Nguyễn Thị Hương",
    ]
    assert all(r.bold for p in sign_right.paragraphs for r in p.runs if r.text)
    assert _lines(sign_left) == ["Nơi nhận:", "- Như trên;", "- UBND tỉnh (b/c);", "- Lưu: VT."]
    label = sign_left.paragraphs[0]
    assert all(r.bold and r.italic for r in label.runs) and _sizes(label) == {12}
    assert _sizes(sign_left.paragraphs[1]) == {11}


def _signature(doc):
    """The borderless table whose right cell ends with the signer's name."""
    for table in doc.tables:
        cells = table.rows[0].cells
        if len(cells) == 2 and cells[0].paragraphs[0].text == "Nơi nhận:":
            return cells
    raise AssertionError("no signature block")


def test_times_new_roman_everywhere_and_the_body_at_14_pt(scene):
    doc = _open(ob.commune_body(scene))
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 14
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    for script in ("ascii", "hAnsi", "eastAsia", "cs"):
        assert fonts.get(qn(f"w:{script}")) == "Times New Roman"
    default = doc.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}"
    )
    assert {key.split("}")[1] for key in default.attrib} == {"ascii", "hAnsi", "eastAsia", "cs"}
    assert set(default.attrib.values()) == {"Times New Roman"}
    assert normal.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert round(normal.paragraph_format.first_line_indent.cm, 2) == 1.0
    assert normal.paragraph_format.space_after.pt == 6
    assert 1.0 <= normal.paragraph_format.line_spacing <= 1.15
    # no run names another font; every size is one the decree allows here
    runs = [r for p in doc.element.body.iter(qn("w:r")) for r in [p]]
    assert not [r for r in runs if r.find(f"{qn('w:rPr')}/{qn('w:rFonts')}") is not None]
    sizes = {int(sz.get(qn("w:val"))) / 2 for sz in doc.element.body.iter(qn("w:sz"))}
    assert sizes <= {2, 6, 11, 12, 13, 14}
    # page numbers from page 2: a PAGE field in the header, none on the first page
    section = doc.sections[0]
    assert section.different_first_page_header_footer
    assert "PAGE" in "".join(section.header._element.itertext())
    assert not "".join(section.first_page_header._element.itertext()).strip()


def test_empty_and_long_narrative_symbol_with_slash(scene):
    long = "\n".join(f"{i:03d}. " + "Đài xã mất điện kéo dài, loa hỏng; " * 20 for i in range(40))
    long = long[:20_000]
    body = ob.commune_body(
        scene, number="", symbol="BC/ĐTTH-VHXH", difficulties="", proposals="   ", place="Kỳ Anh"
    )
    doc = _open(body)
    texts = [p.text for p in doc.paragraphs]
    ii, iii = texts.index("II. KHÓ KHĂN, VƯỚNG MẮC"), texts.index("III. ĐỀ XUẤT, KIẾN NGHỊ")
    assert texts[ii + 1] == NONE_WRITTEN and texts[iii + 1] == NONE_WRITTEN
    left, _right = doc.tables[0].rows[0].cells
    assert _lines(left)[-1] == "Số:      /BC/ĐTTH-VHXH"
    body = ob.commune_body(scene, difficulties=long)
    texts = [p.text for p in _open(body).paragraphs]
    written = [line.strip() for line in long.split("\n")]
    assert len(long) == 20_000 and all(line in texts for line in written)
    assert sum(len(line) for line in written) + len(written) - 1 >= 20_000 - 40


def test_the_same_body_gives_the_same_bytes(scene):
    ob.aired(scene)
    body, _filed = ob.province_body(scene)
    first, second = to_docx(layout(body)), to_docx(layout(body))
    assert first == second
    created = datetime.fromisoformat(body["generated_at"])
    props = Document(io.BytesIO(first)).core_properties
    assert props.created == props.modified == created  # aware, read back in UTC
    assert props.author == "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH" and props.revision == 1
    assert props.title.startswith("Báo cáo số 12/BC-UBND")
    with zipfile.ZipFile(io.BytesIO(first)) as package:
        names = package.namelist()
        assert names[0] == "[Content_Types].xml"
        assert "docProps/thumbnail.jpeg" not in names
        stamp = (*created.timetuple()[:5], created.second // 2 * 2)  # zip: 2-second steps
        assert {info.date_time for info in package.infolist()} == {stamp}
    # another body (a changed narrative) gives other bytes
    body["document"]["proposals"] = "Khác."
    assert to_docx(layout(body)) != first


def test_the_province_docx_lists_the_filings(scene):
    ob.aired(scene)
    body, _filed = ob.province_body(scene)
    doc = _open(body)
    filings = body["document"]["filings"]
    lay = layout(body)
    title = lay.appendix.blocks[-1].title
    rows = _cells(_table_after(doc, title))
    assert rows[1:-1] == lay.appendix.blocks[-1].rows
    states = {row[1]: row[2] for row in rows[1:-1]}
    assert [states[u["name"]] for u in filings["units"]] == ["Đúng hạn", "Trễ hạn"]
    assert [states[u["name"]] for u in filings["missing"]] == ["Chưa gửi", "Chưa gửi"]
    aggregate = _table_after(doc, "Bảng 2. Tổng hợp số liệu từ báo cáo đã gửi")
    assert _cells(aggregate)[-1][3] == vn_number(filings["aggregate"]["required"])


# the schema's order of the properties Word is strict about (ECMA-376 Part 1, §17)
_ORDER = {
    "pPr": (
        "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
        "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap "
        "overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd snapToGrid "
        "spacing ind contextualSpacing mirrorIndents suppressOverlap jc textDirection "
        "textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange"
    ),
    "tblPr": (
        "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize "
        "tblW jc tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook "
        "tblCaption tblDescription tblPrChange"
    ),
    "rPr": (
        "rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss "
        "imprint noProof snapToGrid vanish webHidden color spacing w kern position sz szCs "
        "highlight u effect bdr shd fitText vertAlign rtl cs em lang eastAsianLayout "
        "specVanish oMath"
    ),
    "trPr": (
        "cnfStyle divId gridBefore gridAfter wBefore wAfter cantSplit trHeight tblHeader "
        "tblCellSpacing jc hidden ins del trPrChange"
    ),
}


def test_the_xml_keeps_the_schema_order_word_requires(scene):
    ob.aired(scene)
    body, _filed = ob.province_body(scene)
    with zipfile.ZipFile(io.BytesIO(to_docx(layout(body)))) as package:
        parts = [
            package.read(n)
            for n in package.namelist()
            if n == "word/styles.xml" or n.startswith(("word/document", "word/header"))
        ]
    from lxml import etree

    checked = 0
    for part in parts:
        root = etree.fromstring(part)
        for name, order in _ORDER.items():
            rank = {tag: i for i, tag in enumerate(order.split())}
            for element in root.iter(qn(f"w:{name}")):
                tags = [etree.QName(child).localname for child in element]
                assert all(tag in rank for tag in tags), (name, tags)
                assert tags == sorted(tags, key=rank.__getitem__), (name, tags)
                checked += 1
    assert checked > 100
