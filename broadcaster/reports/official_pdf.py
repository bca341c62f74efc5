"""The official report (:class:`~broadcaster.reports.official.Layout`) as PDF (fpdf2).

The layout of Nghị định 30/2020/NĐ-CP, Phụ lục I, as the DOCX draws it: A4,
margins 20 mm top and bottom, 30 mm left, 15 mm right; the heading block at
13 pt in two columns (the issuing body and the number on the left, the national
name, motto and place/date on the right); the body at 14 pt, justified, first
lines indented 1 cm; tables with their heading row on every page; the signer on
the right beside "Nơi nhận" on the left; the appendix on a new page; page
numbers at the top centre from page 2.

The serif is the one :mod:`broadcaster.reports.fonts` finds (Liberation Serif,
Times-metric, when installed; else DejaVu Serif), embedded as a subset. The
same layout gives the same bytes: the dates are the layout's ``created``, the
producer is fixed, and fpdf2's /ID is a digest of the file itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fpdf import FPDF, FontFace
from fpdf.enums import Align

from broadcaster.reports import fonts
from broadcaster.reports.official import (
    MOTTO,
    NATION,
    RECIPIENTS_LABEL,
    Layout,
    Para,
    Section,
    Table,
)

FAMILY = "Serif"
PRODUCER = "broadcaster"
BODY_PT = 14.0
HEADING_PT = 13.0
TABLE_PT = 12.0
RECIPIENTS_PT = 11.0
LINE = 1.2  # line height, as a multiple of the font size
INDENT = 10.0  # mm, the first line of a paragraph
AFTER = 6 * 25.4 / 72  # 6 pt between paragraphs, in mm
MARGINS = {"top": 20.0, "bottom": 20.0, "left": 30.0, "right": 15.0}
LEFT_COLUMN = 68.0  # mm: the issuing body, the number, "Nơi nhận"
SIGNATURE_SPACE = 26.0  # mm between the signer's title and name: signature and seal
_NO_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # a layout without a moment still builds the same
_PADDING = (0.8, 1.2)
_KINDS = {"XÃ", "PHƯỜNG", "THỊ", "ĐẶC", "HUYỆN", "QUẬN", "THÀNH", "TỈNH"}  # where a name breaks


def _mm(points: float) -> float:
    return points * 25.4 / 72


class _OfficialPDF(FPDF):
    def __init__(self, serif: fonts.Serif) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        for style, path in serif.paths().items():
            self.add_font(FAMILY, style, str(path))
        self.set_margins(MARGINS["left"], MARGINS["top"], MARGINS["right"])
        self.set_auto_page_break(True, margin=MARGINS["bottom"])
        self.c_margin = 0  # text starts at the margin, as Word's does

    def header(self) -> None:
        """The page number at the top centre, from the second page on."""
        if self.page_no() < 2:
            return
        self.set_font(FAMILY, "", HEADING_PT)
        self.set_xy(self.l_margin, 10)
        self.cell(self.epw, _mm(HEADING_PT), str(self.page_no()), align="C")
        self.set_xy(self.l_margin, self.t_margin)


def _lines(
    pdf: FPDF, text: str, *, x: float, width: float, style: str = "", size: float = HEADING_PT
) -> None:
    """Centred lines (``text`` may hold "\\n") in a column from ``x`` of ``width``; a line
    too long for it is cut in two of about the same length."""
    pdf.set_font(FAMILY, style, size)
    for line in (part for given in text.split("\n") for part in _balanced(pdf, given, width)):
        pdf.set_x(x)
        pdf.multi_cell(width, _mm(size) * LINE, line, align="C", new_x="LEFT", new_y="NEXT")


def _balanced(pdf: FPDF, line: str, width: float) -> list[str]:
    """``line`` as is when it fits ``width``, else cut before the unit's kind ("ỦY BAN NHÂN
    DÂN" / "XÃ ĐẬU LIÊU") or at the space that makes the longer half shortest."""
    words = line.split(" ")
    if pdf.get_string_width(line) <= width or len(words) < 2:
        return [line]
    cuts = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    for first, second in cuts:  # before the unit's kind, when both halves fit
        if (
            second.split(" ")[0] in _KINDS
            and max(map(pdf.get_string_width, (first, second))) <= width
        ):
            return [first, second]
    return list(min(cuts, key=lambda cut: max(map(pdf.get_string_width, cut))))


def _rule(pdf: FPDF, centre: float, length: float, gap: float = 1.0) -> None:
    """A thin horizontal rule of ``length`` centred on ``centre``, just under the text."""
    y = pdf.get_y() + gap
    pdf.set_line_width(0.3)
    pdf.line(centre - length / 2, y, centre + length / 2, y)
    pdf.set_y(y + gap)


def _fitting(pdf: FPDF, text: str, style: str, width: float, sizes: tuple[float, ...]) -> float:
    """The largest of ``sizes`` at which ``text`` fits on one line of ``width``."""
    for size in sizes:
        pdf.set_font(FAMILY, style, size)
        if pdf.get_string_width(text) <= width:
            return size
    return sizes[-1]


def _heading(pdf: FPDF, layout: Layout) -> None:
    """The two columns: issuing body and number | national name, motto and place/date."""
    top, left = pdf.get_y(), pdf.l_margin
    right_x, right_w = left + LEFT_COLUMN, pdf.epw - LEFT_COLUMN
    centre_left, centre_right = left + LEFT_COLUMN / 2, right_x + right_w / 2
    if layout.issuer_parent:
        _lines(pdf, layout.issuer_parent, x=left, width=LEFT_COLUMN)
    _lines(pdf, layout.issuer_name, x=left, width=LEFT_COLUMN, style="B")
    last = layout.issuer_name.split("\n")[-1]
    pdf.set_font(FAMILY, "B", HEADING_PT)
    _rule(pdf, centre_left, max(15.0, min(pdf.get_string_width(last), LEFT_COLUMN) * 0.4))
    left_end = pdf.get_y()

    pdf.set_y(top)
    size = _fitting(pdf, NATION, "B", right_w, (HEADING_PT, 12.0, 11.0))
    _lines(pdf, NATION, x=right_x, width=right_w, style="B", size=size)
    _lines(pdf, MOTTO, x=right_x, width=right_w, style="B", size=BODY_PT)
    pdf.set_font(FAMILY, "B", BODY_PT)
    _rule(pdf, centre_right, min(pdf.get_string_width(MOTTO), right_w))
    right_end = pdf.get_y()

    row = max(left_end, right_end) + 2.0
    pdf.set_y(row)
    _lines(pdf, layout.number_line, x=left, width=LEFT_COLUMN)
    number_end = pdf.get_y()
    pdf.set_y(row)
    _lines(pdf, layout.place_date, x=right_x, width=right_w, style="I", size=BODY_PT)
    pdf.set_y(max(number_end, pdf.get_y()) + 6.0)


def _title(pdf: FPDF, layout: Layout) -> None:
    """ "BÁO CÁO", the summary under it and a short rule, centred and bold."""
    _lines(pdf, layout.kind, x=pdf.l_margin, width=pdf.epw, style="B", size=BODY_PT)
    _lines(pdf, layout.summary, x=pdf.l_margin, width=pdf.epw, style="B", size=BODY_PT)
    pdf.set_font(FAMILY, "B", BODY_PT)
    widest = max(pdf.get_string_width(line) for line in layout.summary.split("\n") or [""])
    _rule(pdf, pdf.l_margin + pdf.epw / 2, max(20.0, min(widest, pdf.epw) / 3))
    pdf.ln(6.0)


def _para(pdf: FPDF, para: Para, *, size: float = BODY_PT) -> None:
    """Running text: justified, its first line indented, flowing over pages."""
    style = ("B" if para.bold else "") + ("I" if para.italic else "")
    pdf.set_font(FAMILY, style, size)
    with (
        pdf.text_columns(text_align=Align.J, line_height=LINE) as columns,
        columns.paragraph(
            first_line_indent=INDENT if para.indent else 0, bottom_margin=AFTER
        ) as paragraph,
    ):
        paragraph.write(para.text)


def _table(pdf: FPDF, table: Table) -> None:
    """A title in bold, then the table: heading row on every page, numbers on the right,
    the total row bold."""
    count = len(table.columns)
    numeric = list(table.numeric) + [False] * (count - len(table.numeric))
    widths = table.widths if len(table.widths) == count else [1.0] * count
    columns = [pdf.epw * w / sum(widths) for w in widths]
    size = _table_size(pdf, table, columns)
    line = _mm(size) * LINE + 2 * _PADDING[0]
    if pdf.will_page_break(_mm(BODY_PT) * LINE * 2 + line * 3):  # the title keeps its rows
        pdf.add_page()
    if table.title:  # centred, as the DOCX has it
        _lines(pdf, table.title, x=pdf.l_margin, width=pdf.epw, style="B", size=BODY_PT)
        pdf.ln(1)
    pdf.set_font(FAMILY, "", size)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=widths,
        text_align=["RIGHT" if flag else "LEFT" for flag in numeric],
        headings_style=FontFace(emphasis="BOLD"),
        line_height=_mm(size) * LINE,
        padding=_PADDING,
        repeat_headings=1,
        width=pdf.epw,
        align="LEFT",
    ) as drawn:
        heading = drawn.row()
        pdf.set_font(FAMILY, "B", size)
        for name, width in zip(table.columns, columns, strict=True):
            heading.cell(_heading_cell(pdf, name, width), align="CENTER")
        pdf.set_font(FAMILY, "", size)
        for cells in table.rows:
            drawn.row(cells)
        if table.total is not None:
            drawn.row(table.total, style=FontFace(emphasis="BOLD"))
    pdf.ln(AFTER)


def _words(cell: str) -> list[str]:
    """The pieces a cell's line may break between: at spaces, and after a "/"."""
    return [piece for word in cell.split() for piece in re.split(r"(?<=/)", word) if piece]


def _table_size(pdf: FPDF, table: Table, widths: list[float]) -> float:
    """The largest table size (12 pt down to 9) at which no word is cut inside its column:
    a wide table is set smaller rather than break a word in the middle."""
    rows = [("B", table.columns), *(("", row) for row in table.rows)]
    if table.total:
        rows.append(("B", table.total))

    def fits(size: float) -> bool:
        for style, cells in rows:
            pdf.set_font(FAMILY, style, size)
            for cell, width in zip(cells, widths, strict=False):
                room = width - 2 * _PADDING[1]
                if any(pdf.get_string_width(word) > room for word in _words(cell)):
                    return False
        return True

    size = TABLE_PT
    while size > 9.0 and not fits(size):
        size -= 0.5
    return size


def _heading_cell(pdf: FPDF, name: str, width: float) -> str:
    """A column's name with a line break after "/" in a word too wide for it ("lần/tuần")."""
    room = width - 2 * _PADDING[1]
    return " ".join(
        word.replace("/", "/\n") if pdf.get_string_width(word) > room else word
        for word in name.split(" ")
    )


def _section(pdf: FPDF, section: Section, *, centred: bool = False) -> None:
    if pdf.will_page_break(_mm(BODY_PT) * LINE * 3):  # a heading never ends a page
        pdf.add_page()
    if centred:
        _lines(pdf, section.heading, x=pdf.l_margin, width=pdf.epw, style="B", size=BODY_PT)
        pdf.ln(AFTER)
    else:
        _para(pdf, Para(section.heading, bold=True))
    for block in section.blocks:
        if isinstance(block, Table):
            _table(pdf, block)
        elif centred and not block.indent:  # the appendix's title lines
            style = ("B" if block.bold else "") + ("I" if block.italic else "")
            _lines(pdf, block.text, x=pdf.l_margin, width=pdf.epw, style=style, size=BODY_PT)
        else:
            _para(pdf, block)


def _signature(pdf: FPDF, layout: Layout) -> None:
    """The signer on the right, "Nơi nhận" and the recipients at 11 pt on the left."""
    step = _mm(BODY_PT) * LINE
    signer = (len(layout.signer_authority) + 2) * step + SIGNATURE_SPACE
    recipients = _mm(RECIPIENTS_PT) * LINE * (len(layout.recipients) + 1) + step
    if pdf.will_page_break(min(max(signer, recipients), pdf.eph)):
        pdf.add_page()
    pdf.ln(2.0)
    top, left = pdf.get_y(), pdf.l_margin
    right_x, right_w = left + LEFT_COLUMN, pdf.epw - LEFT_COLUMN
    for line in layout.signer_authority:
        _lines(pdf, line, x=right_x, width=right_w, style="B", size=BODY_PT)
    _lines(pdf, layout.signer_title, x=right_x, width=right_w, style="B", size=BODY_PT)
    pdf.set_y(pdf.get_y() + SIGNATURE_SPACE)
    _lines(pdf, layout.signer_name, x=right_x, width=right_w, style="B", size=BODY_PT)
    signer_page, signer_end = pdf.page, pdf.get_y()

    pdf.page = signer_page
    pdf.set_xy(left, top + _mm(BODY_PT) * 0.2)
    pdf.set_font(FAMILY, "BI", 12.0)
    pdf.cell(LEFT_COLUMN, _mm(12.0) * LINE, RECIPIENTS_LABEL, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", RECIPIENTS_PT)
    for recipient in layout.recipients:
        pdf.multi_cell(
            LEFT_COLUMN - 4,
            _mm(RECIPIENTS_PT) * LINE,
            f"- {recipient}",
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if pdf.page == signer_page:
        pdf.set_y(max(pdf.get_y(), signer_end))


def to_pdf(layout: Layout, serif: fonts.Serif | None = None) -> bytes:
    """The official document as PDF bytes; the same layout gives the same bytes."""
    pdf = _OfficialPDF(serif or fonts.serif())
    pdf.set_lang("vi")
    pdf.set_title(layout.title or layout.kind)
    pdf.set_subject(layout.subject)
    pdf.set_author(layout.author)
    pdf.set_keywords(layout.keywords)
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_creation_date(layout.created or _NO_DATE)
    pdf.add_page()
    _heading(pdf, layout)
    _title(pdf, layout)
    for para in layout.intro:
        _para(pdf, para)
    for section in layout.sections:
        _section(pdf, section)
    _signature(pdf, layout)
    if layout.appendix is not None:
        pdf.add_page()
        _section(pdf, layout.appendix, centred=True)
    return bytes(pdf.output())
