"""The words of the official report (báo cáo): heading lines, section I from the figures,
the narrative of sections II and III, and the appendix tables.

Every figure is the stored body's own number, formatted with
:func:`broadcaster.reports.fields.vn_number` (percentages with one decimal and "%");
nothing is recomputed here. Dates follow Nghị định 30/2020/NĐ-CP, Phụ lục I: a day
below 10 and the months 1 and 2 take a leading zero ("ngày 05 tháng 02 năm 2026").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from broadcaster.reports.export import VN_ZONE
from broadcaster.reports.fields import has_relays, vn_number
from broadcaster.reports.official import NONE_WRITTEN, Para, Table

NUMBER_BLANK = " " * 6  # "Số:      /BC-UBND": the number is written by hand when signed
MAX_NAMED_OFFLINE = 20  # offline stations named in section I; the appendix has them all
_ROMAN = ("I", "II", "III", "IV")
STATES = {"on_time": "Đúng hạn", "late": "Trễ hạn", "missing": "Chưa gửi"}
COUNT_HEADS = ["Phải phát", "Đã đến hạn", "Đúng giờ", "Trễ giờ", "Phát dở", "Lỗi", "Bỏ lỡ"]
_COUNT_KEYS = ("required", "due", "on_time", "late", "partial", "failed", "missed")


# --- words for numbers, dates and periods ------------------------------------------------


def num(value) -> str:
    """A count or minutes as Vietnamese write it; a null figure is "–"."""
    return "–" if value is None else vn_number(value, 1)


def pct(value) -> str:
    """A percentage with one decimal and "%" ("87,5%"); null (nothing due) is "–"."""
    return "–" if value is None else f"{vn_number(float(value), 1)}%"


def pct_cell(value) -> str:
    """A percentage in a table whose heading already says "(%)"."""
    return "–" if value is None else vn_number(float(value), 1)


def nd30_date(day: date) -> str:
    """``ngày 05 tháng 12 năm 2026``: a day below 10 and months 1–2 with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def vn_time(iso: str | None) -> str:
    """A stored UTC moment in Vietnam's time, ``dd/mm/yyyy HH:MM``."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(VN_ZONE))
    return moment.strftime("%d/%m/%Y %H:%M")


def period_words(period: dict) -> str:
    """The period as a sentence names it: "tháng 11 năm 2026", "quý IV năm 2026"…"""
    kind, key = period.get("kind"), str(period.get("key") or "")
    match = re.fullmatch(r"(\d{4})(?:-(Q|H)?(\d{1,2}))?", key)
    if kind != "custom" and match:
        year, part = match.group(1), match.group(3)
        if kind == "month" and part:
            return f"tháng {int(part)} năm {year}"
        if kind == "quarter" and part:
            return f"quý {_ROMAN[int(part) - 1]} năm {year}"
        if kind == "half" and part:
            return f"6 tháng {'đầu' if part == '1' else 'cuối'} năm {year}"
        if kind == "year":
            return f"năm {year}"
    return f"từ ngày {short_date(period.get('from'))} đến ngày {short_date(period.get('to'))}"


def period_span(period: dict) -> str:
    """``(từ ngày 15/10/2026 đến ngày 14/11/2026)`` — empty for a range, already in words."""
    if period.get("kind") == "custom":
        return ""
    return f" (từ ngày {short_date(period.get('from'))} đến ngày {short_date(period.get('to'))})"


def number_line(number: str, symbol: str) -> str:
    """``Số: 12/BC-UBND``; a number below 10 gets its leading zero (NĐ30: from 01);
    blank leaves room to write it by hand."""
    number = (number or "").strip()
    if number.isdigit() and int(number) < 10:
        number = f"{int(number):02d}"
    return f"Số: {number}/{symbol}" if number else f"Số:{NUMBER_BLANK}/{symbol}"


def one_line(text: str) -> str:
    return " ".join((text or "").split())


# --- the levels of the report --------------------------------------------------------------


def scope_level(body: dict) -> str:
    """``country``, ``province`` or ``commune``: whose report this is."""
    unit = (body.get("scope") or {}).get("unit")
    if unit is None:
        return "country"
    return "province" if unit.get("level") == 1 else "commune"


def below_words(level: str) -> str:
    """The units directly below: the country's provinces, a province's communes."""
    return "tỉnh, thành phố" if level == "country" else "xã, phường"


def subject(body: dict, issuer_name: str) -> str:
    """Who reports, as running text names it: "Ủy ban nhân dân xã Đậu Liêu"."""
    unit = (body.get("scope") or {}).get("unit")
    issuer = one_line(issuer_name)
    if unit and issuer.upper().startswith("ỦY BAN NHÂN DÂN"):
        name = unit.get("name") or ""
        kind = (unit.get("kind") or "").strip()
        if kind and not name.lower().startswith(kind.lower()):
            name = f"{kind} {name}"
        return f"Ủy ban nhân dân {name[:1].lower()}{name[1:]}"
    return issuer


# --- narrative (sections II and III) -------------------------------------------------------


def narrative(text: str) -> list[Para]:
    """The official's text, one paragraph per line, as plain text (markup stays text)."""
    lines = [line.strip() for line in (text or "").replace("\r\n", "\n").split("\n")]
    paras = [Para(line) for line in lines if line]
    return paras or [Para(NONE_WRITTEN)]


# --- section I ----------------------------------------------------------------------------


def count_cells(row: dict) -> list[str]:
    return [num(row.get(key)) for key in _COUNT_KEYS]


def stations_para(body: dict, level: str) -> Para:
    totals, offline = body.get("totals") or {}, body.get("offline") or {}
    stations = totals.get("stations") or 0
    text = f"Trong kỳ báo cáo có {num(stations)} đài truyền thanh cơ sở được theo dõi"
    if level == "province":
        text += f", thuộc {num(len(body.get('communes') or []))} xã, phường"
    elif level == "country":
        text += f", thuộc {num(len(body.get('provinces') or []))} tỉnh, thành phố"
    count = offline.get("count") or 0
    if not stations:
        return Para(text + ".")
    if not count:
        return Para(text + ". Tại thời điểm lập số liệu, tất cả các đài đều có kết nối.")
    minutes = (body.get("rules") or {}).get("offline_after_minutes")
    text += (
        f". Tại thời điểm lập số liệu, {num(count)} đài mất kết nối (quá {num(minutes)} phút "
        "không báo về máy chủ)"
    )
    if offline.get("never_seen"):
        text += f", trong đó {num(offline['never_seen'])} đài chưa từng kết nối"
    names = [
        f"{row.get('name')} ({row.get('code')})"
        for row in body.get("stations") or []
        if row.get("offline")
    ]
    if names:
        shown = names[:MAX_NAMED_OFFLINE]
        more = len(names) - len(shown)
        text += (
            ". Đài mất kết nối: " + "; ".join(shown) + (f" và {num(more)} đài khác" if more else "")
        )
    return Para(text + ".")


def announcements_paras(body: dict) -> list[Para]:
    t = body.get("totals") or {}
    campaigns = body.get("campaigns") or []
    text = (
        f"Theo kế hoạch, các đài phải phát {num(t.get('required'))} lượt tin, bài của "
        f"{num(len(campaigns))} chiến dịch tuyên truyền"
    )
    if t.get("pending"):
        text += (
            f"; trong đó {num(t.get('due'))} lượt đã đến hạn, {num(t['pending'])} lượt chưa "
            "đến giờ phát tại thời điểm lập số liệu"
        )
    elif t.get("required"):
        text += f", cả {num(t.get('due'))} lượt đều đã đến hạn tại thời điểm lập số liệu"
    if t.get("unplaced"):
        text += f" ({num(t['unplaced'])} lượt không xếp được giờ phát)"
    paras = [Para(text + ".")]
    if not t.get("due"):
        paras.append(Para("Trong kỳ không có lượt phát nào đã đến hạn."))
        return paras
    paras.append(
        Para(
            f"Kết quả: {num(t.get('on_time'))} lượt phát đúng giờ, {num(t.get('late'))} lượt "
            f"phát trễ giờ, {num(t.get('partial'))} lượt phát dở, {num(t.get('failed'))} lượt "
            f"phát lỗi, {num(t.get('missed'))} lượt bỏ lỡ. Tỷ lệ thực hiện đạt "
            f"{pct(t.get('compliance_pct'))} số lượt đã đến hạn (tỷ lệ đúng giờ "
            f"{pct(t.get('on_time_pct'))}); tổng thời lượng đã phát {num(t.get('minutes_aired'))}"
            f" phút. Trong số lượt đã phát, {num(t.get('aired_agent'))} lượt do thiết bị tự "
            f"báo, {num(t.get('aired_manual'))} lượt do cán bộ xác nhận."
        )
    )
    return paras


def campaigns_table(body: dict, number: int) -> Table:
    rows = [
        [
            str(index),
            row.get("name") or "",
            num(row.get("times_per_week")),
            *count_cells(row),
            pct_cell(row.get("compliance_pct")),
        ]
        for index, row in enumerate(body.get("campaigns") or [], start=1)
    ]
    totals = body.get("totals") or {}
    return Table(
        title=f"Bảng {number}. Kết quả phát tin, bài theo chiến dịch",
        columns=["TT", "Chiến dịch", "Số lần/tuần", *COUNT_HEADS, "Tỷ lệ (%)"],
        rows=rows,
        total=["", "Tổng cộng", "", *count_cells(totals), pct_cell(totals.get("compliance_pct"))],
        widths=[0.6, 3.2, 1, *[1.1] * 7, 1.1],
        numeric=[False, False, True, *[True] * 7, True],
    )


def relays_paras(body: dict, number: int) -> tuple[list[Para], Table | None]:
    t = body.get("totals") or {}
    if not t.get("relay_slots"):
        return [Para("Trong kỳ không có lượt tiếp âm nào phải phát.")], None
    paras = [
        Para(
            f"Các đài phải tiếp âm {num(t.get('relay_slots'))} lượt với "
            f"{num(t.get('relay_required_minutes'))} phút; trong đó "
            f"{num(t.get('relay_due_minutes'))} phút đã đến hạn. Đã tiếp âm "
            f"{num(t.get('relay_minutes'))} phút, đạt {pct(t.get('relay_pct'))} số phút đã "
            "đến hạn. Số liệu tiếp âm tính riêng, không tính vào số lượt phát tin, bài ở trên."
        )
    ]
    campaigns = body.get("relay_campaigns") or []
    if not campaigns:
        return paras, None
    rows = [
        [
            str(index),
            row.get("name") or "",
            " ".join(part for part in (row.get("source") or "", row.get("start") or "") if part),
            num(row.get("relay_slots")),
            num(row.get("relay_required_minutes")),
            num(row.get("relay_due_minutes")),
            num(row.get("relay_minutes")),
            pct_cell(row.get("relay_pct")),
        ]
        for index, row in enumerate(campaigns, start=1)
    ]
    table = Table(
        title=f"Bảng {number}. Kết quả tiếp âm",
        columns=[
            "TT",
            "Chương trình tiếp âm",
            "Nguồn, giờ",
            "Số lượt",
            "Phút phải phát",
            "Phút đã đến hạn",
            "Phút đã tiếp âm",
            "Tỷ lệ (%)",
        ],
        rows=rows,
        total=[
            "",
            "Tổng cộng",
            "",
            *(
                num(t.get(k))
                for k in (
                    "relay_slots",
                    "relay_required_minutes",
                    "relay_due_minutes",
                    "relay_minutes",
                )
            ),
            pct_cell(t.get("relay_pct")),
        ],
        widths=[0.6, 3, 2.2, 1, 1.3, 1.3, 1.3, 1.1],
        numeric=[False, False, False, True, True, True, True, True],
    )
    return paras, table


def emergencies_para(body: dict) -> Para:
    e = body.get("emergencies") or {}
    if not e.get("sent"):
        return Para("Trong kỳ không có thông báo khẩn nào được gửi tới các đài.")
    text = (
        f"Trong kỳ có {num(e.get('sent'))} thông báo khẩn được gửi tới các đài "
        f"({num(e.get('deliveries'))} lượt gửi), đã phát {num(e.get('aired'))} lượt"
    )
    if e.get("median_seconds") is not None:
        text += (
            f"; thời gian từ khi gửi đến khi phát: trung vị {num(e['median_seconds'])} giây, "
            f"lâu nhất {num(e.get('max_seconds'))} giây"
        )
    return Para(text + ".")


def filings_blocks(body: dict, filings: dict, level: str, number: int) -> list[Para | Table]:
    units, missing = filings.get("units") or [], filings.get("missing") or []
    on_time = sum(1 for unit in units if unit.get("on_time"))
    below = below_words(level)
    blocks: list[Para | Table] = [
        Para(
            f"Hạn gửi báo cáo kỳ này là ngày {short_date(filings.get('deadline'))}. Trong "
            f"{num(len(units) + len(missing))} {below} có đài truyền thanh, "
            f"{num(on_time)} đơn vị gửi báo cáo đúng hạn, {num(len(units) - on_time)} đơn vị "
            f"gửi trễ hạn, {num(len(missing))} đơn vị chưa gửi."
        )
    ]
    agg = filings.get("aggregate") or {}
    if units:
        blocks.append(
            Para(
                f"Tổng hợp từ {num(agg.get('units'))} báo cáo đã gửi ({num(agg.get('stations'))}"
                f" đài): phải phát {num(agg.get('required'))} lượt, đã đến hạn "
                f"{num(agg.get('due'))} lượt, đúng giờ {num(agg.get('on_time'))} lượt, trễ giờ "
                f"{num(agg.get('late'))} lượt; tỷ lệ thực hiện {pct(agg.get('compliance_pct'))}"
                + (
                    f"; đã tiếp âm {num(agg.get('relay_minutes'))} trong "
                    f"{num(agg.get('relay_due_minutes'))} phút đã đến hạn "
                    f"({pct(agg.get('relay_pct'))})"
                    if agg.get("relay_due_minutes")
                    else ""
                )
                + f". Chi tiết tại Bảng {number}."
            )
        )
        rows = [
            [
                str(i),
                u.get("name") or "",
                num((u.get("totals") or {}).get("stations")),
                *count_cells(u.get("totals") or {}),
                pct_cell((u.get("totals") or {}).get("compliance_pct")),
            ]
            for i, u in enumerate(units, start=1)
        ]
        blocks.append(
            Table(
                title=f"Bảng {number}. Tổng hợp số liệu từ báo cáo đã gửi",
                columns=["TT", "Đơn vị", "Số đài", *COUNT_HEADS, "Tỷ lệ (%)"],
                rows=rows,
                total=[
                    "",
                    "Tổng cộng",
                    num(agg.get("stations")),
                    *count_cells(agg),
                    pct_cell(agg.get("compliance_pct")),
                ],
                widths=[0.6, 3, 0.9, *[1.1] * 7, 1.1],
                numeric=[False, False, True, *[True] * 7, True],
            )
        )
    if missing:
        names = "; ".join(f"{m.get('name')} ({m.get('code')})" for m in missing)
        blocks.append(Para(f"Các đơn vị chưa gửi báo cáo: {names}."))
    else:
        blocks.append(Para("Tất cả các đơn vị đã gửi báo cáo."))
    return blocks


def results(body: dict, document: dict) -> list[Para | Table]:
    """Section I: numbered parts, each a bold heading and its paragraphs and tables."""
    level = scope_level(body)
    parts: list[tuple[str, list[Para | Table]]] = []
    tables = 0
    parts.append(("Hệ thống đài truyền thanh cơ sở", [stations_para(body, level)]))
    blocks: list[Para | Table] = announcements_paras(body)
    if body.get("campaigns"):
        tables += 1
        blocks.append(Para(f"Kết quả theo từng chiến dịch tại Bảng {tables}."))
        blocks.append(campaigns_table(body, tables))
    parts.append(("Phát tin, bài tuyên truyền", blocks))
    if has_relays(body):
        paras, table = relays_paras(body, tables + 1)
        if table is not None:
            tables += 1
            paras.append(table)
        parts.append(("Tiếp âm đài cấp trên", paras))
    parts.append(("Phát thông báo khẩn", [emergencies_para(body)]))
    filings = document.get("filings")
    if filings:
        parts.append(
            (
                f"Tình hình gửi báo cáo của các {below_words(level)}",
                filings_blocks(body, filings, level, tables + 1),
            )
        )
    out: list[Para | Table] = []
    for index, (heading, part) in enumerate(parts, start=1):
        out.append(Para(f"{index}. {heading}", bold=True))
        out.extend(part)
    return out
