"""The appendix of the official report (phụ lục): the figures of every station (a commune's
report), commune (a province's) or province (the country's), and for a report with filings
the filing of every unit below. Every cell is the stored body's number, formatted."""

from __future__ import annotations

from broadcaster.reports.fields import has_relays
from broadcaster.reports.official import Para, Table
from broadcaster.reports.official_content import (
    COUNT_HEADS,
    STATES,
    below_words,
    count_cells,
    num,
    pct_cell,
    scope_level,
    short_date,
    vn_time,
)


def _level_rows(body: dict, level: str) -> tuple[str, str, list[dict]]:
    if level == "country":
        return "tỉnh, thành phố", "Tỉnh, thành phố", body.get("provinces") or []
    if level == "province":
        return "xã, phường", "Xã, phường", body.get("communes") or []
    return "đài", "Đài truyền thanh", body.get("stations") or []


def appendix_tables(body: dict, document: dict) -> list[Para | Table]:
    level = scope_level(body)
    words, head, rows = _level_rows(body, level)
    with_stations = level != "commune"
    first = ["TT", head] + (["Số đài"] if with_stations else [])
    number = 0
    blocks: list[Para | Table] = []
    if rows:
        number += 1
        blocks.append(
            Table(
                title=f"Bảng PL{number}. Kết quả phát tin, bài theo {words}",
                columns=[*first, *COUNT_HEADS, "Tỷ lệ (%)"],
                rows=[
                    [str(i), _row_name(row, level)]
                    + ([num(row.get("stations"))] if with_stations else [])
                    + [*count_cells(row), pct_cell(row.get("compliance_pct"))]
                    for i, row in enumerate(rows, start=1)
                ],
                total=_total(body, with_stations),
                widths=[0.6, 3] + ([0.9] if with_stations else []) + [1.1] * 8,
                numeric=[False, False] + ([True] if with_stations else []) + [True] * 8,
            )
        )
        number += 1
        relays = has_relays(body)
        relay_heads = [
            "Tiếp âm: số lượt",
            "Tiếp âm: phút phải phát",
            "Tiếp âm: phút đã đến hạn",
            "Phút đã tiếp âm",
            "Tiếp âm: tỷ lệ (%)",
        ]
        columns = ["TT", head, "Số phút đã phát"] + (relay_heads if relays else [])
        if level == "commune":
            columns.append("Kết nối")
        t = body.get("totals") or {}
        blocks.append(
            Table(
                title=f"Bảng PL{number}. Thời lượng đã phát"
                + (" và tiếp âm" if relays else "")
                + f" theo {words}",
                columns=columns,
                rows=[
                    [str(i), _row_name(row, level), num(row.get("minutes_aired"))]
                    + (_relay_cells(row) if relays else [])
                    + ([_connection(row)] if level == "commune" else [])
                    for i, row in enumerate(rows, start=1)
                ],
                total=["", "Tổng cộng", num(t.get("minutes_aired"))]
                + (_relay_cells(t) if relays else [])
                + ([""] if level == "commune" else []),
                widths=[0.6, 3, 1.2]
                + ([1.2] * 5 if relays else [])
                + ([1.4] if level == "commune" else []),
                numeric=[False, False, True]
                + ([True] * 5 if relays else [])
                + ([False] if level == "commune" else []),
            )
        )
    filings = document.get("filings")
    if filings:
        number += 1
        blocks.append(filing_table(filings, level, number))
    if not blocks:
        blocks.append(Para("Không có đài truyền thanh nào trong phạm vi báo cáo.", indent=False))
    return blocks


def _row_name(row: dict, level: str) -> str:
    return f"{row.get('name')} ({row.get('code')})" if level == "commune" else row.get("name", "")


def _relay_cells(row: dict) -> list[str]:
    return [
        num(row.get("relay_slots")),
        num(row.get("relay_required_minutes")),
        num(row.get("relay_due_minutes")),
        num(row.get("relay_minutes")),
        pct_cell(row.get("relay_pct")),
    ]


def _connection(row: dict) -> str:
    if not row.get("offline"):
        return "Bình thường"
    return "Chưa từng kết nối" if not row.get("last_seen_at") else "Mất kết nối"


def _total(body: dict, with_stations: bool) -> list[str]:
    t = body.get("totals") or {}
    return (
        ["", "Tổng cộng"]
        + ([num(t.get("stations"))] if with_stations else [])
        + [*count_cells(t), pct_cell(t.get("compliance_pct"))]
    )


def filing_table(filings: dict, level: str, number: int) -> Table:
    """Every unit below: its filing state, when it filed (Vietnam time), its figures."""
    rows: list[tuple[str, list[str]]] = []
    for unit in filings.get("units") or []:
        t = unit.get("totals") or {}
        state = STATES["on_time" if unit.get("on_time") else "late"]
        rows.append(
            (
                str(unit.get("code")),
                [
                    unit.get("name") or "",
                    state,
                    vn_time(unit.get("filed_at")),
                    num(t.get("required")),
                    num(t.get("due")),
                    num(t.get("on_time")),
                    num(t.get("late")),
                    pct_cell(t.get("compliance_pct")),
                ],
            )
        )
    for unit in filings.get("missing") or []:
        rows.append(
            (
                str(unit.get("code")),
                [unit.get("name") or "", STATES["missing"], "", "", "", "", "", ""],
            )
        )
    rows.sort(key=lambda pair: pair[0])
    agg = filings.get("aggregate") or {}
    return Table(
        title=f"Bảng PL{number}. Tình hình gửi báo cáo của các {below_words(level)} "
        f"(hạn gửi {short_date(filings.get('deadline'))})",
        columns=[
            "TT",
            "Đơn vị",
            "Tình trạng",
            "Thời điểm gửi (giờ Việt Nam)",
            "Phải phát",
            "Đã đến hạn",
            "Đúng giờ",
            "Trễ giờ",
            "Tỷ lệ (%)",
        ],
        rows=[[str(i), *cells] for i, (_code, cells) in enumerate(rows, start=1)],
        total=[
            "",
            "Tổng cộng (đã gửi)",
            "",
            "",
            *(num(agg.get(k)) for k in ("required", "due", "on_time", "late")),
            pct_cell(agg.get("compliance_pct")),
        ],
        widths=[0.6, 2.6, 1.2, 1.7, 1.1, 1.1, 1.1, 1.1, 1.1],
        numeric=[False, False, False, False, True, True, True, True, True],
    )
