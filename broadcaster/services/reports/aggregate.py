"""The sum of filed reports' totals: what a province's (the country's) document shows
as its section I, and what ``report verify`` recomputes.

Whole counts (airings, stations, relay slots) are summed exactly. The filed reports
hold their minutes already rounded to tenths, so minutes are summed as whole tenths
(exact, never a float sum) and the percentages are recomputed from the summed counts
with the one rule of every report (:func:`broadcaster.reports.slotcount.pct`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from broadcaster.reports.fields import COUNT_FIELDS, RELAY_FIELDS
from broadcaster.reports.slotcount import pct

MINUTES = ("minutes_aired", "relay_required_minutes", "relay_due_minutes", "relay_minutes")
PERCENTS = ("compliance_pct", "on_time_pct", "relay_pct")
WHOLE = tuple(f for f in (*COUNT_FIELDS, "stations", *RELAY_FIELDS) if f not in MINUTES + PERCENTS)
# a unit's figures as a filing carries them: Counts + stations + RelayCounts
TOTAL_FIELDS = (*COUNT_FIELDS, "stations", *RELAY_FIELDS)


def unit_totals(totals: dict) -> dict:
    """A filed report's totals, as its filing lists them (a /1 body has no relay figures)."""
    return {
        name: totals.get(name, None if name == "relay_pct" else 0)
        if name in RELAY_FIELDS
        else totals[name]
        for name in TOTAL_FIELDS
    }


def _tenths(value) -> int:
    return round(float(value or 0) * 10)


def _one(part: int, whole: int) -> float | None:
    return pct(np.asarray([part]), np.asarray([whole]))[0]


def aggregate(units: Iterable[dict]) -> dict:
    """``Counts + {"stations", "units"} + RelayCounts``: the sum of the units' totals."""
    rows = list(units)
    whole = {name: sum(int(r.get(name) or 0) for r in rows) for name in WHOLE}
    tenths = {name: sum(_tenths(r.get(name)) for r in rows) for name in MINUTES}
    out: dict = {}
    for name in COUNT_FIELDS:
        if name in MINUTES:
            out[name] = tenths[name] / 10.0
        elif name not in PERCENTS:
            out[name] = whole[name]
    out["compliance_pct"] = _one(whole["on_time"] + whole["late"], whole["due"])
    out["on_time_pct"] = _one(whole["on_time"], whole["due"])
    out["stations"] = whole["stations"]
    out["units"] = len(rows)
    out["relay_slots"] = whole["relay_slots"]
    for name in ("relay_required_minutes", "relay_due_minutes", "relay_minutes"):
        out[name] = tenths[name] / 10.0
    out["relay_pct"] = _one(tenths["relay_minutes"], tenths["relay_due_minutes"])
    return out


def differences(stated: dict, units: Iterable[dict]) -> list[str]:
    """The aggregate's figures that are not the sum of the units' (empty: it is)."""
    expected = aggregate(units)
    return [
        f"{name} {stated.get(name)} ≠ {value}"
        for name, value in expected.items()
        if stated.get(name) != value
    ]


def check_filings(session, body: dict) -> list[str]:
    """A stored body's filings, proven (``report verify``): every filed report it names
    is stored with that digest and those totals, and the aggregate is their sum."""
    import json

    from broadcaster.models import ComplianceReport

    filings = (body.get("document") or {}).get("filings")
    if not filings:
        return []
    problems = []
    for unit in filings["units"]:
        row = session.get(ComplianceReport, unit["report_id"])
        if row is None or row.body_sha256 != unit["body_sha256"]:
            problems.append(
                f"báo cáo số {unit['report_id']} của {unit['name']} (đã nộp, được tổng hợp) "
                "không còn hoặc không khớp mã băm đã ghi"
            )
        elif unit_totals(json.loads(row.body)["totals"]) != unit["totals"]:
            problems.append(
                f"số liệu của {unit['name']} khác báo cáo số {unit['report_id']} đã nộp"
            )
    if wrong := differences(filings["aggregate"], [u["totals"] for u in filings["units"]]):
        problems.append(
            "phần tổng hợp các báo cáo đã nộp khác tổng số liệu của các đơn vị: " + ", ".join(wrong)
        )
    return problems
