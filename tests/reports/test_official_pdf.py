"""The official report as PDF: read back with pypdf, rendered with Debian's pdftoppm.

The serif is Liberation Serif (Times-metric) when it is installed: as root on
Debian the tests install ``fonts-liberation2``; elsewhere the font test skips and
the others run with DejaVu Serif, unless ``BROADCASTER_REQUIRE_FONTS=1``.
``BROADCASTER_SCREENSHOTS=1`` writes docs/screenshots/report-official.png.
"""

from __future__ import annotations

import io
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image
from pypdf import PdfReader

from broadcaster.reports import fonts
from broadcaster.reports.official import (
    MOTTO,
    NATION,
    NONE_WRITTEN,
    Layout,
    Para,
    Section,
    Table,
    layout,
)
from broadcaster.reports.official_pdf import to_pdf
from tests.debian import apt_install, require_program
from tests.reports import official_bodies as bodies

MM = 72 / 25.4  # PDF points in a millimetre
A4 = (595.28, 841.89)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "report-official.png"


@pytest.fixture(scope="module")
def serif() -> fonts.Serif:
    """The serif the PDFs embed; Liberation Serif installed first where we may."""
    found = fonts.serif()
    if not found.metric_compatible:
        apt_install(["fonts-liberation2"])
        fonts.serif.cache_clear()
        found = fonts.serif()
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


def _text(pdf: bytes) -> str:
    """The document's words in order, without the page numbers (each page's first line)."""
    pages = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        first, _, rest = page.extract_text().partition("\n")
        assert number == 1 or first.strip() == str(number)
        pages.append(page.extract_text() if number == 1 else rest)
    return _flat(" ".join(pages))


def _lines_at(page) -> list[tuple[float, float, str]]:
    """(x, y, text) of every piece of text on the page, in points from the bottom left."""
    found: list[tuple[float, float, str]] = []

    def visit(text, cm, tm, _font, _size):
        if text.strip():
            found.append((cm[0] * tm[4] + cm[4], cm[3] * tm[5] + cm[5], text))

    page.extract_text(visitor_text=visit)
    return found


def _hand_layout(difficulties: list[Para] | None = None, rows: int = 3) -> Layout:
    table = Table(
        "Bảng 1. Kết quả theo chiến dịch",
        ["Chiến dịch", "Phải phát", "Đúng giờ", "Tỷ lệ (%)"],
        [[f"Chiến dịch số {i}", "1.234", "1.200", "97,2"] for i in range(rows)],
        ["Tổng cộng", "3.702", "3.600", "97,2"],
        [3, 1, 1, 1],
        [False, True, True, True],
    )
    return Layout(
        issuer_parent="UBND TỈNH HÀ TĨNH",
        issuer_name="ỦY BAN NHÂN DÂN\nXÃ ĐẬU LIÊU",
        number_line="Số: 12/BC-UBND",
        place_date="Đậu Liêu, ngày 05 tháng 12 năm 2026",
        kind="BÁO CÁO",
        summary="Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở tháng 12 năm 2026",
        intro=[Para("Ủy ban nhân dân xã báo cáo kết quả như sau:")],
        sections=[
            Section("I. KẾT QUẢ THỰC HIỆN", [Para("Đã phát 3.600 lượt đúng giờ."), table]),
            Section("II. KHÓ KHĂN, VƯỚNG MẮC", difficulties or [Para(NONE_WRITTEN)]),
            Section("III. ĐỀ XUẤT, KIẾN NGHỊ", [Para(NONE_WRITTEN)]),
        ],
        appendix=Section("PHỤ LỤC", [table]),
        signer_authority=["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"],
        signer_title="PHÓ CHỦ TỊCH",
        signer_name="Nguyễn Thị Hương",
        recipients=["Như trên;", "Lưu: VT."],
        title="Báo cáo số 12/BC-UBND",
        created=datetime(2026, 12, 5, 1, 30, tzinfo=UTC),
    )


def test_a_commune_report_reads_back_with_every_part(scene, serif):
    bodies.aired(scene)
    body = bodies.commune_body(scene)
    drawn = layout(body)
    pdf = to_pdf(drawn, serif)
    text = _text(pdf)
    for expected in (
        "ỦY BAN NHÂN DÂN",
        "PHƯỜNG THÀNH SEN",
        "UBND TỈNH HÀ TĨNH",
        NATION,
        MOTTO,
        "Số: 12/BC-UBND",
        "Thành Sen, ngày 05 tháng 12 năm 2026",
        "BÁO CÁO",
        "Kết quả tuyên truyền trên hệ thống truyền thanh cơ sở tháng 12 năm 2026",
        "I. KẾT QUẢ THỰC HIỆN",
        "II. KHÓ KHĂN, VƯỚNG MẮC",
        "III. ĐỀ XUẤT, KIẾN NGHỊ",
        "Một số cụm loa ở thôn Trung Thượng bị hỏng do mưa bão",
        "Đường truyền Internet tại nhà văn hóa thôn <b>Đông</b> chập chờn & hay mất kết nối.",
        bodies.PROPOSALS,
        "TM. ỦY BAN NHÂN DÂN KT. CHỦ TỊCH PHÓ CHỦ TỊCH",
        "Nguyễn Thị Hương",
        "Nơi nhận:",
        "- Như trên;",
        "- UBND tỉnh (b/c);",
        "- Lưu: VT.",
        "PHỤ LỤC",
    ):
        assert _flat(expected) in text, expected
    # every table's figures, as the layout formatted them from the JSON
    tables = [
        block
        for section in [*drawn.sections, drawn.appendix]
        for block in section.blocks
        if isinstance(block, Table)
    ]
    assert tables
    for table in tables:
        assert _flat(table.title) in text
        for row in [*table.rows, *([table.total] if table.total else [])]:
            assert _flat(" ".join(cell for cell in row if cell)) in text, row
    # the appendix starts a page of its own; pages from the second are numbered at the top
    pages = PdfReader(io.BytesIO(pdf)).pages
    appendix = next(i for i, page in enumerate(pages) if "PHỤ LỤC" in page.extract_text())
    assert "Nơi nhận" not in pages[appendix].extract_text()
    for number, page in enumerate(pages[1:], start=2):
        top = max(_lines_at(page), key=lambda item: item[1])
        assert top[2].strip() == str(number)
        assert 10 * MM < A4[1] - top[1] < 20 * MM  # inside the top margin


def test_the_pdf_is_a4_with_the_decrees_margins(serif):
    pdf = to_pdf(_hand_layout(), serif)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert [round(float(v), 2) for v in page.mediabox] == [0, 0, *A4]
    placed = _lines_at(page)
    left = min(x for x, _y, _t in placed)
    assert left == pytest.approx(30 * MM, abs=1.0)  # left margin 30 mm (tables too)
    highest = max(y for _x, y, _t in placed)
    assert A4[1] - 20 * MM - 8 > highest > A4[1] - 20 * MM - 18  # the first line under 20 mm
    # a paragraph's first line is indented 1 cm from the margin
    intro = next(x for x, _y, t in placed if t.startswith("Ủy ban nhân dân xã"))
    assert intro == pytest.approx(40 * MM, abs=1.0)
    # the signer sits right of the recipients, on the same height
    signer = next((x, y) for x, y, t in placed if "TM. ỦY BAN NHÂN DÂN" in t)
    label = next((x, y) for x, y, t in placed if "Nơi nhận" in t)
    assert signer[0] > label[0] + 60 * MM and abs(signer[1] - label[1]) < 5


def test_the_same_layout_gives_the_same_bytes(serif):
    first, second = to_pdf(_hand_layout(), serif), to_pdf(_hand_layout(), serif)
    assert first == second
    assert b"/ID [" in first and b"/Producer (broadcaster)" in first
    assert b"D:20261205013000" in first  # the layout's moment, not the build's
    later = _hand_layout().__class__(**{**_hand_layout().__dict__, "signer_name": "Lê Văn B"})
    assert to_pdf(later, serif) != first


def test_the_embedded_font_is_the_chosen_serif_subset(serif):
    pdf = PdfReader(io.BytesIO(to_pdf(_hand_layout(), serif)))
    embedded: dict[str, bool] = {}
    for page in pdf.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            embedded[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    names, files = set(embedded), sum(embedded.values())
    postscript = {  # fpdf2 leaves the "-" out: LiberationSerif-Bold → LiberationSerifBold
        TTFont(path)["name"].getDebugName(6).replace("-", "") for path in serif.paths().values()
    }
    assert files == len(names) >= 3  # regular, bold, italic at least; every one embedded
    assert {name.split("+", 1)[1] for name in names} <= postscript
    assert all(name.startswith("/") and "+" in name for name in names)  # subsets


def test_the_serif_is_times_metric(serif):
    if not serif.metric_compatible:
        message = (
            "no Times-metric serif (Liberation Serif, Tinos, Times New Roman) is installed "
            "here; the PDF uses DejaVu Serif"
        )
        if os.environ.get("BROADCASTER_REQUIRE_FONTS", "") not in ("", "0"):
            pytest.fail(f"{message}; BROADCASTER_REQUIRE_FONTS is set", pytrace=False)
        pytest.skip(f"SKIPPED, {message}; set BROADCASTER_REQUIRE_FONTS=1 to make this a failure")
    assert serif.family in ("Liberation Serif", "Tinos", "Times New Roman")
    for path in serif.paths().values():
        assert fonts.covers_vietnamese(path)
    # Times New Roman's widths: "n" 500 and "D" 722 thousandths of an em, "Đ" as "D"
    with TTFont(serif.regular) as font:
        widths, cmap, em = font["hmtx"].metrics, font.getBestCmap(), font["head"].unitsPerEm
        assert round(widths[cmap[ord("n")]][0] * 1000 / em) == 500
        assert round(widths[cmap[ord("D")]][0] * 1000 / em) == 722
        assert widths[cmap[ord("Đ")]][0] == widths[cmap[ord("D")]][0]


def test_a_font_without_vietnamese_is_passed_over(tmp_path):
    from fontTools.subset import Options, Subsetter

    dejavu = fonts.dejavu_serif()
    # a "Liberation Serif" folder whose faces lack "ư": not taken, DejaVu Serif is
    for face, name in zip(dejavu.paths().values(), fonts._FAMILIES[0][2], strict=True):
        font = TTFont(face)
        subsetter = Subsetter(Options())
        subsetter.populate(text="abcdefghijklmnopqrstuvwxyz ăâđêôơ")
        subsetter.subset(font)
        font.save(tmp_path / name)
    assert not fonts.covers_vietnamese(tmp_path / "LiberationSerif-Regular.ttf")
    assert fonts.find_serif([tmp_path]).family == "DejaVu Serif"
    # the whole letters: taken
    for face, name in zip(dejavu.paths().values(), fonts._FAMILIES[0][2], strict=True):
        (tmp_path / name).write_bytes(face.read_bytes())
    found = fonts.find_serif([tmp_path])
    assert found.family == "Liberation Serif" and found.regular.parent == tmp_path


def test_an_empty_narrative_reads_none_written(scene, serif):
    body = bodies.commune_body(scene, difficulties="", proposals="  \n ")
    text = _text(to_pdf(layout(body), serif))
    second = text.split("II. KHÓ KHĂN, VƯỚNG MẮC", 1)[1]
    assert second.strip().startswith(f"{NONE_WRITTEN} III. ĐỀ XUẤT, KIẾN NGHỊ {NONE_WRITTEN}")


def test_a_long_narrative_flows_over_pages_with_every_word(scene, serif):
    sentence = "Loa ở thôn Đông Hà hỏng; <script>alert(1)</script> & **đậm** cần thay mới. "
    paragraphs = []
    while sum(map(len, paragraphs)) < 20_000:
        paragraphs.append(f"{len(paragraphs) + 1}. " + sentence * 6)
    difficulties = "\n".join(paragraphs)
    short = to_pdf(layout(bodies.commune_body(scene)), serif)
    pdf = to_pdf(layout(bodies.commune_body(scene, difficulties=difficulties)), serif)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert pages >= len(PdfReader(io.BytesIO(short)).pages) + 4
    text = _text(pdf)
    for paragraph in paragraphs:
        assert _flat(paragraph) in text
    assert text.count("<script>alert(1)</script>") == len(paragraphs) * 6


def test_a_long_table_repeats_its_heading_on_every_page(serif):
    pdf = PdfReader(io.BytesIO(to_pdf(_hand_layout(rows=120), serif)))
    heading = "Chiến dịch Phải phát Đúng giờ Tỷ lệ (%)"
    with_rows = [_flat(p.extract_text()) for p in pdf.pages if "Chiến dịch số" in p.extract_text()]
    assert len(with_rows) >= 4
    assert all(heading in page for page in with_rows)
    text = _text(to_pdf(_hand_layout(rows=120), serif))
    assert all(f"Chiến dịch số {i} 1.234 1.200 97,2" in text for i in range(120))


def test_a_province_report_lists_who_filed(scene, serif):
    bodies.aired(scene)
    body, _filed = bodies.province_body(scene)
    drawn = layout(body)
    text = _text(to_pdf(drawn, serif))
    assert "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH" in text
    for unit in body["document"]["filings"]["units"]:
        assert unit["name"] in text
    for unit in body["document"]["filings"]["missing"]:
        assert unit["name"] in text


def _first_page_png(pdf: bytes, tmp_path: Path, dpi: int) -> Path:
    pdftoppm = require_program(["pdftoppm"], ["poppler-utils"], "BROADCASTER_REQUIRE_PDFTOPPM")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            tmp_path / "page",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return tmp_path / "page.png"


def test_the_first_page_renders(scene, serif, tmp_path):
    bodies.aired(scene)
    png = _first_page_png(to_pdf(layout(bodies.commune_body(scene)), serif), tmp_path, 60)
    with Image.open(png) as image:
        width, height = image.size
        assert abs(width - 210 / 25.4 * 60) < 2 and abs(height - 297 / 25.4 * 60) < 2  # A4
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
        assert dark > 0.01 * image.size[0] * image.size[1]  # text, not a blank page
        # nothing inside the left margin (30 mm), the heading inside the top one's edge
        box = grey.point(lambda v: 255 if v < 128 else 0).getbbox()
        assert box[0] >= round(29 / 25.4 * 60) and box[1] >= round(19 / 25.4 * 60)


@pytest.mark.skipif(
    os.environ.get("BROADCASTER_SCREENSHOTS", "") in ("", "0"),
    reason="BROADCASTER_SCREENSHOTS=1 writes docs/screenshots/report-official.png",
)
def test_screenshot_for_the_docs(scene, serif, tmp_path):
    """The first page of a commune's report at 110 dpi, for the README and docs."""
    bodies.aired(scene)
    png = _first_page_png(to_pdf(layout(bodies.commune_body(scene)), serif), tmp_path, 110)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png.read_bytes())
