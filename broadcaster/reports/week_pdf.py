"""A station's weekly broadcast schedule (lịch phát sóng tuần) as an A4 PDF to pin on the
commune's notice board: the station, its commune, the week's dates and, day by day,
everything that will air — relays (tiếp âm), recordings, synthesised items, emergencies —
with its times, length and kind.

It is written in Vietnamese whatever the admin's language (it is for the commune's
people), with the compliance PDF's page, font (DejaVu Sans, embedded: every Vietnamese
letter) and table style, so both print alike. The caller gathers the slots; this module
knows nothing of the database or the web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from broadcaster.reports.export_pdf import _HEADING, _PADDING, PDF_FONT, _ReportPDF

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
# mm: day, time, length, kind, title, campaign (A4's 186 mm between margins)
_WIDTHS = (20, 28, 22, 22, 58, 36)
KINDS = {
    "relay": "Tiếp âm",
    "recording": "Ghi âm",
    "speech": "Tin đọc máy",
    "emergency": "Khẩn cấp",
}


@dataclass(frozen=True)
class ScheduledItem:
    """One airing on the schedule, its time already local; ``kind`` one of :data:`KINDS`
    (a relay's title is its source's name: VOV1)."""

    at: datetime
    title: str
    campaign: str | None = None
    kind: str = "speech"
    duration_ms: int = 0


def length_text(duration_ms: int) -> str:
    """30 phút, 1 phút 5 giây, 45 giây."""
    seconds = round(duration_ms / 1000)
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest} giây"
    return f"{minutes} phút" + (f" {rest} giây" if rest else "")


@dataclass(frozen=True)
class WeekSchedule:
    station_name: str
    station_code: str
    commune: str
    province: str | None
    monday: date
    items: Sequence[ScheduledItem]
    printed_at: datetime  # local


def week_dates(monday: date) -> str:
    sunday = monday + timedelta(days=6)
    return f"từ Thứ Hai {monday:%d/%m/%Y} đến Chủ nhật {sunday:%d/%m/%Y}"


def _rows(schedule: WeekSchedule) -> list[list[str]]:
    by_day: dict[date, list[ScheduledItem]] = {}
    for item in sorted(schedule.items, key=lambda i: i.at):
        by_day.setdefault(item.at.date(), []).append(item)
    rows = []
    for offset in range(7):
        day = schedule.monday + timedelta(days=offset)
        label = f"{WEEKDAYS[offset]}\n{day:%d/%m}"
        items = by_day.get(day, [])
        if not items:
            rows.append([label, "", "", "", "Không có lượt phát", ""])
        for n, item in enumerate(items):
            end = item.at + timedelta(milliseconds=item.duration_ms)
            rows.append(
                [
                    label if n == 0 else "",
                    f"{item.at:%H:%M} – {end:%H:%M}",  # to the minute on paper
                    length_text(item.duration_ms),
                    KINDS.get(item.kind, item.kind),
                    item.title,
                    "Tin khẩn cấp" if item.kind == "emergency" else (item.campaign or ""),
                ]
            )
    return rows


def build(schedule: WeekSchedule) -> bytes:
    """The schedule as PDF bytes (A4 portrait; the table's heading repeats on each page)."""
    footer = (
        f"Lịch phát sóng tuần · {schedule.station_name} · "
        f"in lúc {schedule.printed_at:%H:%M %d/%m/%Y}"
    )
    pdf = _ReportPDF(footer)
    pdf.set_title(f"Lịch phát sóng tuần {schedule.monday:%d/%m/%Y} – {schedule.station_name}")
    pdf.set_creator("broadcaster")
    pdf.add_page()
    pdf.set_font(PDF_FONT, "B", 16)
    pdf.multi_cell(0, 9, "LỊCH PHÁT SÓNG TUẦN", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(PDF_FONT, "B", 13)
    pdf.multi_cell(0, 7, schedule.station_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(PDF_FONT, "", 11)
    place = schedule.commune + (f", {schedule.province}" if schedule.province else "")
    pdf.multi_cell(0, 6, place, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0, 6, "Tuần " + week_dates(schedule.monday), align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    pdf.set_font(PDF_FONT, size=10)
    with pdf.table(
        col_widths=_WIDTHS,
        text_align=("LEFT", "CENTER", "RIGHT", "LEFT", "LEFT", "LEFT"),
        headings_style=_HEADING,
        line_height=pdf.font_size * 1.6,
        padding=_PADDING,
        repeat_headings=1,
        width=pdf.epw,
    ) as table:
        table.row(["Ngày", "Giờ", "Thời lượng", "Loại", "Nội dung phát", "Chương trình"])
        for row in _rows(schedule):
            table.row(row)
    pdf.ln(3)
    pdf.set_font(PDF_FONT, "", 9)
    pdf.multi_cell(
        0,
        5,
        "Giờ phát theo lịch đã duyệt lúc in lịch này; tin khẩn cấp có thể được phát "
        "thêm ngoài lịch. Tiếp âm: phát trực tiếp chương trình của đài cấp trên (VOV1, "
        "đài tỉnh) đúng giờ ghi trên lịch.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
