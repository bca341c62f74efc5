"""What a stored report's figures must satisfy: the levels agree, and a recount agrees.

:func:`agreement` reads the body alone. Every row's derived figures follow from
its counts (due, missed, the percentages); totals, provinces, communes,
stations, campaigns, weeks, station × campaign rows and the weekly detail sum to
the same totals; each commune and province is the sum of its stations, each
station the sum of its campaigns, each station × campaign the sum of its weeks;
the emergencies, offline, "behind" and stamp sections follow from their rows.

:func:`recount` holds the body against the same report computed again from the
log as of the report's moment. What the airing log alone decides (the
``FROM_LOG`` figures, and emergencies aired and how fast) must match in every
section, or the log changed; what the plan decides (required, pending,
unplaced) may differ when slots were re-planned later, and is told as a note.

Relays (format /2 on) are checked the same way: in every row relayed ≤ due ≤
required minutes, the relay slots add up from station to commune, province and
total (and over weeks and relay campaigns), and on a recount the relayed minutes
must match while required and due minutes may have moved with the plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from broadcaster.reports.compliance import _pct, most_behind
from broadcaster.reports.fields import COUNT_FIELDS, has_relays

FROM_LOG = ("on_time", "late", "partial", "failed", "aired_agent", "aired_manual", "minutes_aired")
FROM_PLAN = ("required", "pending", "unplaced", "due")
# the whole counts, which add up exactly from level to level (not minutes, rounded; not ratios)
_NOT_SUMMED = ("minutes_aired", "compliance_pct", "on_time_pct")
SUMMED = tuple(f for f in COUNT_FIELDS if f not in _NOT_SUMMED)
_SHOWN = 5  # differing rows named per section; the rest are counted
# relays (format /2 on): minutes are rounded, so only the slots add up exactly
RELAY_FROM_LOG = ("relay_minutes",)
RELAY_FROM_PLAN = ("relay_slots", "relay_required_minutes", "relay_due_minutes", "relay_pct")

# section: (its name in a message, the key of a row)
SECTIONS: dict[str, tuple[str, Callable[[dict], object]]] = {
    "provinces": ("tỉnh", lambda r: r["code"]),
    "communes": ("xã", lambda r: r["code"]),
    "stations": ("đài", lambda r: r["code"]),
    "campaigns": ("chiến dịch", lambda r: r["id"]),
    "weeks": ("tuần", lambda r: r["week"]),
    "station_campaigns": (
        "đài × chiến dịch",
        lambda r: f"{r['station_code']} × {r['campaign_id']}",
    ),
    "detail": (
        "đài × chiến dịch × tuần",
        lambda r: f"{r['station_code']} × {r['campaign_id']} × {r['week']}",
    ),
}
# the sections whose rows carry the relay figures
RELAY_SECTIONS: dict[str, tuple[str, Callable[[dict], object]]] = {
    **{k: SECTIONS[k] for k in ("provinces", "communes", "stations", "weeks")},
    "relay_campaigns": ("chiến dịch tiếp âm", lambda r: r["id"]),
}


def _rows(body: dict, section: str) -> list[dict]:
    return body.get(section) or []


def _derived(row: dict) -> list[str]:
    """The row's figures that do not follow from its own counts."""
    wrong = []
    due = row["required"] - row["pending"]
    if row["due"] != due:
        wrong.append(f"due {row['due']} ≠ required − pending = {due}")
    missed = due - row["on_time"] - row["late"] - row["partial"] - row["failed"]
    if row["missed"] != missed:
        wrong.append(f"missed {row['missed']} ≠ {missed}")
    if row["aired_agent"] + row["aired_manual"] != row["on_time"] + row["late"]:
        wrong.append("aired_agent + aired_manual ≠ on_time + late")
    whole = np.asarray([due])
    for name, part in (
        ("compliance_pct", row["on_time"] + row["late"]),
        ("on_time_pct", row["on_time"]),
    ):
        expected = _pct(np.asarray([part]), whole)[0]
        if row[name] != expected:
            wrong.append(f"{name} {row[name]} ≠ {expected}")
    return wrong


def _sum(rows: Iterable[dict]) -> dict[str, int]:
    out = dict.fromkeys(SUMMED, 0)
    for row in rows:
        for name in SUMMED:
            out[name] += row[name]
    return out


def _differs(a: dict, b: dict, names: Iterable[str]) -> list[str]:
    return [f"{n} {a[n]} ≠ {b[n]}" for n in names if a[n] != b[n]]


def _named(problems: list[str], label: str, wrong: list[tuple[object, str]]) -> None:
    for key, what in wrong[:_SHOWN]:
        problems.append(f"{label} {key}: {what}" if key != "" else f"{label}: {what}")
    if len(wrong) > _SHOWN:
        problems.append(f"{label}: còn {len(wrong) - _SHOWN} dòng khác cũng sai")


def agreement(body: dict) -> list[str]:
    """Every way the body's figures disagree with each other (empty: they agree)."""
    problems: list[str] = []
    totals = body["totals"]
    wrong = [("", "; ".join(w)) for w in [_derived(totals)] if w]
    _named(problems, "dòng tổng cộng", wrong)
    for section, (label, key) in SECTIONS.items():
        wrong = [(key(r), "; ".join(w)) for r in _rows(body, section) if (w := _derived(r))]
        _named(problems, label, wrong)

    stations = _rows(body, "stations")
    if totals["stations"] != len(stations):
        problems.append(
            f"dòng tổng cộng: {totals['stations']} đài nhưng danh sách có {len(stations)}"
        )
    for section, (label, _key) in SECTIONS.items():
        if section == "detail" and body.get("detail") is None:
            continue
        summed = _sum(_rows(body, section))
        if wrong := _differs(summed, totals, SUMMED):
            problems.append(f"tổng các dòng {label} khác dòng tổng cộng: " + ", ".join(wrong))

    def parts_of(whole_section: str, part_section: str, whole_key, part_key, count=None) -> None:
        label = SECTIONS[whole_section][0]
        groups: dict[object, list[dict]] = defaultdict(list)
        for row in _rows(body, part_section):
            groups[part_key(row)].append(row)
        wrong = []
        for row in _rows(body, whole_section):
            parts = groups.pop(whole_key(row), [])
            diff = _differs(row, _sum(parts), SUMMED)
            if count is not None and row[count] != len(parts):
                diff.append(f"{count} {row[count]} ≠ {len(parts)}")
            if diff:
                wrong.append((whole_key(row), "khác tổng của nó: " + ", ".join(diff)))
        wrong += [(k, f"có trong {SECTIONS[part_section][0]} nhưng không có dòng") for k in groups]
        _named(problems, label, wrong)

    parts_of("communes", "stations", lambda r: r["code"], lambda r: r["unit_code"], "stations")
    parts_of("provinces", "stations", lambda r: r["code"], lambda r: r["province_code"], "stations")
    parts_of("stations", "station_campaigns", lambda r: r["code"], lambda r: r["station_code"])
    if body.get("detail") is not None:
        pair = SECTIONS["station_campaigns"][1]
        parts_of("station_campaigns", "detail", pair, pair)

    problems += _sections(body, stations)
    if has_relays(body):
        problems += _relay_agreement(body)
    return problems


def _relay_derived(row: dict) -> str | None:
    due, required = row["relay_due_minutes"], row["relay_required_minutes"]
    if not 0 <= row["relay_minutes"] <= due <= required:
        return "tiếp âm: cần 0 ≤ phút đã tiếp âm ≤ phút đến hạn ≤ phút phải phát"
    if (row["relay_pct"] is None) != (due == 0):
        return f"tiếp âm: tỷ lệ {row['relay_pct']} với {due} phút đến hạn"
    return None


def _relay_agreement(body: dict) -> list[str]:
    """The relay figures: each row's own order, and the relay slots summed level to level."""
    problems: list[str] = []
    totals = body["totals"]
    _named(problems, "dòng tổng cộng", [("", w) for w in [_relay_derived(totals)] if w])
    for section, (label, key) in RELAY_SECTIONS.items():
        rows = _rows(body, section)
        _named(problems, label, [(key(r), w) for r in rows if (w := _relay_derived(r))])
        summed = sum(r["relay_slots"] for r in rows)
        if summed != totals["relay_slots"]:
            problems.append(
                f"tiếp âm: tổng các dòng {label} ({summed} lượt) khác dòng tổng cộng "
                f"({totals['relay_slots']} lượt)"
            )
    for section, part in (("communes", "unit_code"), ("provinces", "province_code")):
        parts: dict[str, int] = defaultdict(int)
        for row in _rows(body, "stations"):
            parts[row[part]] += row["relay_slots"]
        wrong = [
            (r["code"], f"tiếp âm: {r['relay_slots']} lượt ≠ {parts[r['code']]} của các đài")
            for r in _rows(body, section)
            if r["relay_slots"] != parts[r["code"]]
        ]
        _named(problems, SECTIONS[section][0], wrong)
    return problems


def _sections(body: dict, stations: list[dict]) -> list[str]:
    """Emergencies, offline, behind and the stamp against their own rows."""
    problems = []
    em = body["emergencies"]
    items = em["items"]
    if (em["sent"], em["deliveries"], em["aired"]) != (
        len(items),
        sum(i["stations"] for i in items),
        sum(i["aired"] for i in items),
    ):
        problems.append("tin khẩn cấp: số tin, lượt gửi hoặc lượt phát khác tổng các tin")
    offline = [s for s in stations if s["offline"]]
    if body["offline"] != {
        "count": len(offline),
        "never_seen": sum(1 for s in offline if s["last_seen_at"] is None),
        "stations": [s["code"] for s in offline],
    }:
        problems.append("đài mất kết nối: khác danh sách đài")
    expected = [
        (s["code"], s["missed"] + s["partial"] + s["failed"]) for s in most_behind(stations)
    ]
    if [(b["station_code"], b["missing"]) for b in body["behind"]] != expected:
        problems.append("các đài chậm nhất: khác danh sách đài")
    heads = body["stamp"]["heads"]
    if (body["stamp"]["stations"], body["stamp"]["rows"]) != (
        len(heads),
        sum(seq for seq, _h in heads.values()),
    ):
        problems.append("dấu chuỗi băm: số đài hoặc số dòng khác các đầu chuỗi")
    return problems


def recount(body: dict, again: dict) -> tuple[list[str], list[str]]:
    """``(problems, notes)``: the body against ``again``, the same report recounted."""
    problems: list[str] = []
    notes: list[str] = []
    pairs = [("dòng tổng cộng", {"": body["totals"]}, {"": again["totals"]})]
    for section, (label, key) in SECTIONS.items():
        if section == "detail" and body.get("detail") is None:
            continue
        pairs.append(
            (
                label,
                {key(r): r for r in _rows(body, section)},
                {key(r): r for r in _rows(again, section)},
            )
        )
    for label, before, now in pairs:
        _compare(label, before, now, FROM_LOG, FROM_PLAN, problems, notes)
    if has_relays(body):
        _compare(
            "dòng tổng cộng (tiếp âm)",
            {"": body["totals"]},
            {"": again["totals"]},
            RELAY_FROM_LOG,
            RELAY_FROM_PLAN,
            problems,
            notes,
        )
        for section, (label, key) in RELAY_SECTIONS.items():
            before = {key(r): r for r in _rows(body, section)}
            now = {key(r): r for r in _rows(again, section)}
            _compare(
                f"{label} (tiếp âm)", before, now, RELAY_FROM_LOG, RELAY_FROM_PLAN, problems, notes
            )
    problems += _emergencies(body["emergencies"], again["emergencies"], notes)
    return problems, notes


def _compare(label, before, now, log_fields, plan_fields, problems, notes) -> None:
    """One section's rows, stored against recounted: what the log decides must match
    (a problem), what the plan decides may have moved (a note)."""
    log_wrong, plan_changed = [], []
    for k in sorted(before.keys() | now.keys(), key=str):
        old, new = before.get(k), now.get(k)
        if old is None or new is None:
            row = old or new
            if any(row[n] for n in log_fields):
                where = "không còn khi đếm lại" if new is None else "có khi đếm lại"
                log_wrong.append(
                    (k, f"{where} ({', '.join(f'{n} {row[n]}' for n in log_fields if row[n])})")
                )
            elif row[plan_fields[0]]:
                plan_changed.append((k, "có trong một bên, không có trong bên kia"))
            continue
        if diff := [f"{n} {old[n]} → {new[n]}" for n in log_fields if old[n] != new[n]]:
            log_wrong.append((k, "đếm lại khác báo cáo ở " + ", ".join(diff)))
        if diff := [f"{n} {old[n]} → {new[n]}" for n in plan_fields if old[n] != new[n]]:
            plan_changed.append((k, "kế hoạch đã đổi sau khi lập: " + ", ".join(diff)))
    _named(problems, label, log_wrong)
    _named(notes, label, plan_changed)


def _emergencies(before: dict, now: dict, notes: list[str]) -> list[str]:
    aired = ("aired", "median_seconds", "max_seconds")
    problems = []
    if diff := [f"{n} {before[n]} → {now[n]}" for n in aired if before[n] != now[n]]:
        problems.append("tin khẩn cấp: đếm lại khác báo cáo ở " + ", ".join(diff))
    old = {i["id"]: i for i in before["items"]}
    for item in now["items"]:
        was = old.pop(item["id"], None)
        if was is None or [was[n] for n in aired] != [item[n] for n in aired]:
            problems.append(f"tin khẩn cấp số {item['id']}: đếm lại khác báo cáo")
        elif was["stations"] != item["stations"]:
            notes.append(f"tin khẩn cấp số {item['id']}: số đài nhận đã đổi")
    problems += [f"tin khẩn cấp số {i}: không còn khi đếm lại" for i in old]
    return problems
