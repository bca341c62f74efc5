"""What every compliance report shares, light enough for any process to import.

The format name and the Counts fields are the contract of the report's JSON
(docs/compliance.md): the counting writes them, every exporter reads them.
"""

from __future__ import annotations

FORMAT = "broadcaster.compliance/2"
# /1 bodies (stored before relays were counted) are read, exported and verified as they are
FORMATS = ("broadcaster.compliance/1", FORMAT)
COUNT_FIELDS = (
    "required",
    "due",
    "on_time",
    "late",
    "partial",
    "failed",
    "missed",
    "pending",
    "unplaced",
    "aired_agent",
    "aired_manual",
    "minutes_aired",
    "compliance_pct",
    "on_time_pct",
)
# Relays (tiếp âm), their own kind since /2: in totals, provinces, communes, stations,
# weeks and relay_campaigns rows (reports/relays.py)
RELAY_FIELDS = (
    "relay_slots",
    "relay_required_minutes",
    "relay_due_minutes",
    "relay_minutes",
    "relay_pct",
)


def has_relays(report: dict) -> bool:
    """Whether the report counts relays (format /2 on; a /1 body has no such figures)."""
    return report.get("format") != FORMATS[0]


def vn_number(value: float | int | None, decimals: int = 1) -> str:
    """A number as Vietnamese readers write it: ``1.234,5`` (``""`` for null)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
