"""The official report as a Word document (python-docx), laid out per Nghị định 30/2020/NĐ-CP.

A4, margins 20/20/30/15 mm (top, bottom, left, right); Times New Roman everywhere (set on
the document defaults and the Normal style, for Latin, East Asian and complex scripts, so
Word substitutes nothing); body 14 pt, justified, first line indented 1 cm, 6 pt after.
The heading is a borderless two-column table (issuing body and number on the left, the
national name, motto and place and date on the right), each short rule an empty paragraph
with a top border. Tables are real Word tables ("Table Grid", 11 pt, heading row bold and
repeated on every page, numbers right-aligned, the total row bold). Page numbers sit in the
header from page 2 (a PAGE field). Everything is text, so the official edits it in Word.

The bytes are the same on every build of the same :class:`~broadcaster.reports.official.
Layout`: the core properties carry ``layout.created`` (created and modified), and the zip
is rewritten with that moment on every entry, in a fixed order and compression.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from broadcaster.reports.official import MOTTO, NATION, RECIPIENTS_LABEL, Layout, Para, Table

FONT = "Times New Roman"
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH = PAGE_WIDTH - MARGINS["left"] - MARGINS["right"]  # 165 mm
BODY_PT, HEADING_PT, TABLE_PT, RECIPIENTS_PT = 14, 13, 11, 11
LINE_SPACING = 1.1
# the issuing body's column of the heading; the rest must hold the national name on one
# line (13 pt bold: ~96 mm, and Word keeps 1.9 mm of margin on each side of a cell)
HEAD_LEFT = Mm(64)
SIGN_LEFT = Mm(75)  # "Nơi nhận" beside the signer
_CELL_MARGIN = Mm(1.9)  # Word's default left and right cell margin (0.08 in)
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
# what may follow <w:pBdr> in <w:pPr> and <w:tblBorders> in <w:tblPr> (Word wants the
# schema's order)
_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
_AFTER_TBLBORDERS = (
    "w:shd",
    "w:tblLayout",
    "w:tblCellMar",
    "w:tblLook",
    "w:tblCaption",
    "w:tblDescription",
    "w:tblPrChange",
)


# --- styles --------------------------------------------------------------------------------


def _fonts(rpr) -> None:
    """Times New Roman for every script on ``rpr`` (theme fonts removed: they win in Word)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for key in list(fonts.attrib):
        if key.endswith("Theme") or key.endswith("theme"):
            del fonts.attrib[key]
    for name in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{name}"), FONT)


def _styles(document) -> None:
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(qn("w:rPrDefault") + "/" + qn("w:rPr"))
        if rpr is not None:
            _fonts(rpr)
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _fonts(normal.element.get_or_add_rPr())
    rpr = normal.element.get_or_add_rPr()
    complex_size = OxmlElement("w:szCs")  # the size for complex scripts too, right after w:sz
    complex_size.set(qn("w:val"), str(BODY_PT * 2))
    rpr.find(qn("w:sz")).addnext(complex_size)
    lang = OxmlElement("w:lang")  # Word checks the spelling as Vietnamese
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)
    fmt = normal.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.first_line_indent = Cm(1)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    fmt.line_spacing = LINE_SPACING
    fmt.widow_control = True


def _page(document) -> None:
    section = document.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance = section.footer_distance = Mm(10)
    # page numbers from page 2, centred in the header (the first page's header is empty)
    section.different_first_page_header_footer = True
    _plain(section.first_page_header.paragraphs[0])  # defined and empty: no number on page 1
    paragraph = section.header.paragraphs[0]
    _plain(paragraph, WD_ALIGN_PARAGRAPH.CENTER)
    _field(paragraph, "PAGE", "2", HEADING_PT)


def _field(paragraph, instruction: str, shown: str, size: float) -> None:
    """A Word field (PAGE) as its three runs: begin, instruction, the value shown, end."""

    def run_with(*elements):
        run = paragraph.add_run()
        run.font.size = Pt(size)
        for element in elements:
            run._r.append(element)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run_with(text)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    paragraph.add_run(shown).font.size = Pt(size)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


# --- paragraphs ----------------------------------------------------------------------------


def _plain(paragraph, alignment=WD_ALIGN_PARAGRAPH.CENTER, after: float = 0):
    """A paragraph without the body's indent, with its own alignment and spacing."""
    fmt = paragraph.paragraph_format
    fmt.alignment = alignment
    fmt.first_line_indent = Cm(0)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(after)
    fmt.line_spacing = 1.0
    return paragraph


def _text(paragraph, text: str, size: float, *, bold=False, italic=False) -> None:
    """``text`` as runs (a newline is a line break inside the paragraph)."""
    for index, line in enumerate(text.split("\n")):
        if index:
            paragraph.runs[-1].add_break()  # a line break inside the paragraph
        run = paragraph.add_run(line)
        run.font.size = Pt(size)
        run.bold = bold or None
        run.italic = italic or None


def _line(
    container,
    text: str,
    size: float,
    *,
    bold=False,
    italic=False,
    after: float = 0,
    alignment=WD_ALIGN_PARAGRAPH.CENTER,
):
    paragraph = _plain(container.add_paragraph(), alignment, after)
    _text(paragraph, text, size, bold=bold, italic=italic)
    return paragraph


def _rule(container, width, available) -> None:
    """A short horizontal rule (NĐ30: under the issuing body, the motto and the summary):
    an empty paragraph, indented to ``width`` centred in ``available``, with a top border."""
    paragraph = _plain(container.add_paragraph())
    side = max((available - width) // 2, 0)
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = side
    fmt.line_spacing = Pt(4)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.space_before = Pt(3)  # clear of the descenders above (ệ, ụ, ợ)
    borders = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        top.set(qn(f"w:{key}"), value)
    borders.append(top)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_PBDR)
    run = paragraph.add_run("")
    run.font.size = Pt(2)


def _para(document, para: Para, *, center_plain: bool = False) -> None:
    paragraph = document.add_paragraph()
    if not para.indent:
        paragraph.paragraph_format.first_line_indent = Cm(0)
        if center_plain:
            paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _text(paragraph, para.text, BODY_PT, bold=para.bold, italic=para.italic)


# --- tables --------------------------------------------------------------------------------


def _borderless(table) -> None:
    """No borders, fixed layout (the heading's and the signature's tables)."""
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.insert_element_before(borders, *_AFTER_TBLBORDERS)


def _fixed(table, widths) -> None:
    table.autofit = False  # <w:tblLayout w:type="fixed"/>
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _two_columns(document, left_width):
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borderless(table)
    _fixed(table, [left_width, TEXT_WIDTH - left_width])
    _unsplit(table.rows[0])
    left, right = table.rows[0].cells
    return left, right


def _unsplit(row) -> None:
    """A row is never cut by a page break (the signature block stays whole)."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _cell_paragraph(cell, index: int):
    return cell.paragraphs[0] if index == 0 else cell.add_paragraph()


def _table(document, table: Table) -> None:
    if table.title:
        _line(
            document, table.title, BODY_PT, bold=True, after=3
        ).paragraph_format.keep_with_next = True
    columns = len(table.columns)
    widths = table.widths if len(table.widths) == columns else [1.0] * columns
    numeric = table.numeric if len(table.numeric) == columns else [False] * columns
    scale = sum(widths)
    emus = [int(TEXT_WIDTH * width / scale) for width in widths]
    rows = [table.columns, *table.rows] + ([table.total] if table.total else [])
    grid = document.add_table(rows=len(rows), cols=columns)
    grid.style = document.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed(grid, emus)
    for row in grid.rows:
        _unsplit(row)
    repeat = OxmlElement("w:tblHeader")  # the heading row again on every page
    repeat.set(qn("w:val"), "true")
    grid.rows[0]._tr.get_or_add_trPr().append(repeat)  # after w:cantSplit, as the schema wants
    last = len(rows) - 1
    for r, (row, cells) in enumerate(zip(grid.rows, rows, strict=True)):
        heading = r == 0
        bold = heading or (table.total is not None and r == last)
        for c, (cell, text) in enumerate(zip(row.cells, cells, strict=True)):
            if heading:
                alignment = WD_ALIGN_PARAGRAPH.CENTER
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            elif numeric[c]:
                alignment = WD_ALIGN_PARAGRAPH.RIGHT
            elif c == 0:
                alignment = WD_ALIGN_PARAGRAPH.CENTER
            else:
                alignment = WD_ALIGN_PARAGRAPH.LEFT
            paragraph = _plain(cell.paragraphs[0], alignment)
            _text(paragraph, str(text), TABLE_PT, bold=bold)
    document.add_paragraph().paragraph_format.space_after = Pt(0)


# --- the document --------------------------------------------------------------------------


def _heading(document, layout: Layout) -> None:
    left, right = _two_columns(document, HEAD_LEFT)
    inner_left = HEAD_LEFT - 2 * _CELL_MARGIN
    inner_right = TEXT_WIDTH - HEAD_LEFT - 2 * _CELL_MARGIN
    left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
    right.paragraphs[0]._p.getparent().remove(right.paragraphs[0]._p)
    if layout.issuer_parent:
        _line(left, layout.issuer_parent, HEADING_PT)
    _line(left, layout.issuer_name, HEADING_PT, bold=True)
    _rule(left, Mm(25), inner_left)
    _line(left, layout.number_line, HEADING_PT, after=0)
    _line(right, NATION, HEADING_PT, bold=True)
    _line(right, MOTTO, BODY_PT, bold=True)
    _rule(right, Mm(62), inner_right)
    _line(right, layout.place_date, BODY_PT, italic=True)


def _signature(document, layout: Layout) -> None:
    left, right = _two_columns(document, SIGN_LEFT)
    first = left.paragraphs[0]
    _plain(first, WD_ALIGN_PARAGRAPH.LEFT)
    _text(first, RECIPIENTS_LABEL, 12, bold=True, italic=True)
    for recipient in layout.recipients:
        _line(left, f"- {recipient}", RECIPIENTS_PT, alignment=WD_ALIGN_PARAGRAPH.LEFT)
    lines = [*layout.signer_authority, layout.signer_title]
    lines = [line for line in lines if line] or [""]
    for index, line in enumerate(lines):
        paragraph = _plain(_cell_paragraph(right, index))
        _text(paragraph, line, BODY_PT, bold=True)
    for _ in range(4):  # the space for the signature and the seal
        _line(right, "", BODY_PT)
    _line(right, layout.signer_name, BODY_PT, bold=True)


def _properties(document, layout: Layout) -> None:
    props = document.core_properties
    moment = _moment(layout)
    props.title = layout.title
    props.subject = layout.subject
    props.author = layout.author
    props.keywords = layout.keywords
    props.last_modified_by = layout.author
    props.comments = ""
    props.category = ""
    props.revision = 1
    props.created = props.modified = props.last_printed = moment.astimezone(UTC).replace(
        tzinfo=None
    )
    package = document.part.package
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:  # the template's picture, not this report
            package.rels.pop(key)


def _moment(layout: Layout) -> datetime:
    created = layout.created or datetime(2000, 1, 1, tzinfo=UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _stable_zip(data: bytes, moment: datetime) -> bytes:
    """The package again, every entry dated ``moment`` (its own clock), in the same order,
    deflated the same way: the same document gives the same bytes."""
    stamp = moment.timetuple()[:6] if moment.year >= 1980 else _FIXED_DATE
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        names = source.namelist()
        names.sort(key=lambda name: name != "[Content_Types].xml")  # stable: first, the rest
        with zipfile.ZipFile(out, "w") as target:
            for name in names:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o644 << 16
                target.writestr(info, source.read(name), compresslevel=6)
    return out.getvalue()


def to_docx(layout: Layout) -> bytes:
    """The official report as DOCX bytes, the same on every build of the same layout."""
    document = Document()
    _styles(document)
    _page(document)
    _heading(document, layout)
    _line(document, "", BODY_PT)
    _line(document, layout.kind, BODY_PT, bold=True)
    _line(document, layout.summary, BODY_PT, bold=True)
    _rule(document, Mm(40), TEXT_WIDTH)
    _line(document, "", 6)
    for para in layout.intro:
        _para(document, para)
    for section in layout.sections:
        heading = document.add_paragraph()
        heading.paragraph_format.keep_with_next = True
        _text(heading, section.heading, BODY_PT, bold=True)
        for block in section.blocks:
            if isinstance(block, Table):
                _table(document, block)
            else:
                _para(document, block)
    _signature(document, layout)
    if layout.appendix is not None:
        paragraph = _plain(document.add_paragraph())
        paragraph.add_run().add_break(WD_BREAK.PAGE)
        _line(document, layout.appendix.heading, BODY_PT, bold=True, after=3)
        for block in layout.appendix.blocks:
            if isinstance(block, Table):
                _table(document, block)
            else:
                _para(document, block, center_plain=True)
    _properties(document, layout)
    raw = io.BytesIO()
    document.save(raw)
    return _stable_zip(raw.getvalue(), _moment(layout))
