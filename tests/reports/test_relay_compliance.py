"""Relays (tiếp âm) in the compliance report: their own kind, in every format, both backends.

The scene is last calendar month in province 42: station A's commune runs a 3-a-week
announcement campaign (Monday and Wednesday 06:00, Friday 17:30, planned by the real
planner), and a daily 30-minute relay of VOV1 at 05:30 runs at stations A and B (two
communes). The relay's campaign, slots and reports are written as the planner and
the station API would write them: rows for the campaign and slots, reports through
``airings.ingest`` (the station's chain stays valid).

Station A's relay reports, by day of the month (0-based): every day aired in full
(1,800 s) except day 2 partial (1,200 s), day 4 failed (its 300 s count 0), day 6
nothing, day 8 aired with 1,850 s (capped at the slot's 1,800), day 10 partial 600 s
then aired 1,790 s (the best: 1,790), day 12 cancelled (not required), day 14 aired
1,234 s, day 16 aired without the seconds relayed (its 1,500 s length counts). Station B
relays the first ten days in full and nothing after.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from broadcaster.config import load_settings
from broadcaster.db import transaction, utcnow
from broadcaster.models import (
    AdminUnit,
    AiringStatus,
    Campaign,
    CampaignKind,
    CampaignTarget,
    Priority,
    RelaySource,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.planning import plan
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.reports import checks, compliance, periodic, relays, store
from broadcaster.reports.export import (
    CSV_HEADERS_VI,
    RELAY_LABELS,
    to_csv,
    to_json,
    to_pdf,
    to_xlsx,
)
from broadcaster.reports.fields import COUNT_FIELDS, FORMATS, RELAY_FIELDS, vn_number
from broadcaster.reports.periods import resolve
from broadcaster.reports.seal import SealKey
from broadcaster.reports.slotcount import minutes, pct
from broadcaster.services import airings, users
from broadcaster.webapp import create_app
from tests.api.world import stop_listening
from tests.planning.fixtures import TZ

PATTERN = ((0, "06:00"), (2, "06:00"), (4, "17:30"))
RELAY_MS = 30 * 60_000
KEY = SealKey.from_secret("khóa của máy chủ thử tiếp âm")
PASSWORD = "mat-khau-1"
# station A: day -> [(status, relayed_s), ...]; every other day aired in full
A_REPORTS = {
    2: [("partial", 1200)],
    4: [("failed", 300)],
    6: [],
    8: [("aired", 1850)],
    10: [("partial", 600), ("aired", 1790)],
    12: [],
    14: [("aired", 1234)],
    16: [("aired", None)],  # no relayed_s (as a hand confirmation): its 1,500 s length counts
}
NO_SECONDS_LENGTH = 1500
A_CANCELLED = 12
B_DAYS = 10
# the sections whose rows carry relay figures
RELAY_SECTIONS = ("provinces", "communes", "stations", "weeks", "relay_campaigns")
ANNOUNCEMENT_SECTIONS = (
    "provinces",
    "communes",
    "stations",
    "campaigns",
    "weeks",
    "station_campaigns",
    "detail",
)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


@dataclass
class Month:
    factory: object
    first: date
    last: date
    province: str
    a: tuple[int, str, str]  # station id, station code, commune code
    b: tuple[int, str, str]
    dvctt: int
    relay: int | None = None
    relay_slots: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def period(self):
        return resolve("month", f"{self.first:%Y-%m}", 1)

    @property
    def now(self) -> datetime:
        """When the reports arrive: the morning after the month (or now, if earlier)."""
        return min(utcnow(), at(self.last + timedelta(1), "00:30"))

    def report(self, **kw) -> dict:
        with self.factory() as s:
            return compliance.compute(s, self.period, tz=TZ, **kw)

    def ingest(self, station_id: int, items) -> None:
        """``items``: (slot id, start, seconds, status, relayed_s) reported by the agent."""
        reports = [
            airings.AiringReport(
                id=str(uuid.uuid4()),
                slot_id=slot_id,
                started_at=start,
                ended_at=start + timedelta(seconds=seconds),
                status=AiringStatus(status),
                **({"relayed_s": relayed} if relayed is not None else {}),
            )
            for slot_id, start, seconds, status, relayed in items
        ]
        with transaction(self.factory) as s:
            airings.ingest(s, station_id, reports, now=self.now)


def _previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@pytest.fixture
def month(factory, ha_tinh, campaign) -> Month:
    first, last = _previous_month(utcnow().astimezone(TZ).date())
    with factory() as s:
        rows = s.execute(
            select(Station.id, Station.code, AdminUnit.code, AdminUnit.path)
            .join(AdminUnit, AdminUnit.id == Station.unit_id)
            .order_by(Station.code)
        ).all()
    a = rows[0]
    b = next(r for r in rows if r[2] != a[2])
    dvctt = campaign("DVCTT", a[2], pattern=PATTERN, starts_on=first, ends_on=last)
    scene = Month(
        factory=factory,
        first=first,
        last=last,
        province=a[3].strip("/").split("/")[0],
        a=tuple(a[:3]),
        b=tuple(b[:3]),
        dvctt=dvctt,
    )
    with transaction(factory) as s:
        plan(s, now=at(first, "00:30"), days=scene.days, tz=TZ, campaign_ids=[dvctt])
    # the announcements: the month's first three aired on time, the fourth partly
    with factory() as s:
        slots = s.scalars(
            select(Slot).where(Slot.campaign_id == dvctt).order_by(Slot.planned_start)
        ).all()
    assert len(slots) == _dvctt_required(first, last)
    scene.ingest(
        a[0],
        [
            (slot.id, slot.planned_start, 120, "aired" if n < 3 else "partial", None)
            for n, slot in enumerate(slots[:4])
        ],
    )
    return scene


def _dvctt_required(first: date, last: date) -> int:
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return sum(1 for d in days if d.weekday() in (0, 2, 4))


def add_relays(scene: Month) -> None:
    """The daily 30-minute relay at A and B, and what their agents reported."""
    with transaction(scene.factory) as s:
        source = RelaySource(name="VOV1", url="http://127.0.0.1:9/vov1.mp3")
        s.add(source)
        s.flush()
        province_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == scene.province))
        relay = Campaign(
            name="Tiếp âm VOV1 buổi sáng",
            kind=CampaignKind.RELAY,
            relay_source_id=source.id,
            relay_start=time(5, 30),
            relay_minutes=30,
            priority=Priority.NORMAL,
            weekdays=list(range(7)),
            pattern=[],
            starts_on=scene.first,
            ends_on=scene.last,
        )
        relay.targets = [CampaignTarget(unit_id=province_id)]
        s.add(relay)
        s.flush()
        scene.relay = relay.id
        for station_id in (scene.a[0], scene.b[0]):
            for n in range(scene.days):
                day = scene.first + timedelta(n)
                cancelled = station_id == scene.a[0] and n == A_CANCELLED
                slot = Slot(
                    station_id=station_id,
                    campaign_id=relay.id,
                    relay_source_id=source.id,
                    script_version_id=None,
                    occurrence=f"{week_label(monday_of(day))}@{day.weekday()}-0530",
                    week=week_label(monday_of(day)),
                    planned_start=at(day, "05:30"),
                    window_end=at(day, "06:30"),
                    duration_ms=RELAY_MS,
                    status=SlotStatus.CANCELLED if cancelled else SlotStatus.PLANNED,
                )
                s.add(slot)
                s.flush()
                scene.relay_slots[station_id, n] = slot.id

    def item(station_id, n, status, relayed):
        start = at(scene.first + timedelta(n), "05:30")
        if relayed is None:
            seconds = NO_SECONDS_LENGTH
        else:
            seconds = min(relayed, 1800) if status != "failed" else 30
        return (scene.relay_slots[station_id, n], start, seconds, status, relayed)

    a_items = []
    for n in range(scene.days):
        for status, relayed in A_REPORTS.get(n, [("aired", 1800)]):
            a_items.append(item(scene.a[0], n, status, relayed))
    scene.ingest(scene.a[0], a_items)
    scene.ingest(scene.b[0], [item(scene.b[0], n, "aired", 1800) for n in range(B_DAYS)])


def _a_expected(days: int) -> tuple[int, int]:
    """Station A's (required ms, relayed ms), counted by hand from A_REPORTS."""
    required = (days - 1) * RELAY_MS  # day 12 cancelled
    relayed = 0
    for n in range(days):
        played = [
            NO_SECONDS_LENGTH if r is None else r
            for s, r in A_REPORTS.get(n, [("aired", 1800)])
            if s != "failed"
        ]
        relayed += min(max(played, default=0), 1800) * 1000
    return required, relayed


def _figures(required_ms: int, relayed_ms: int, slots: int) -> dict:
    return {
        "relay_slots": slots,
        "relay_required_minutes": float(minutes(required_ms)),
        "relay_due_minutes": float(minutes(required_ms)),
        "relay_minutes": float(minutes(relayed_ms)),
        "relay_pct": pct(np.asarray([relayed_ms]), np.asarray([required_ms]))[0],
    }


def _relay(row: dict) -> dict:
    return {k: row[k] for k in RELAY_FIELDS}


def _announcements(report: dict) -> dict:
    """Every announcement figure of the report, section by section."""
    out = {"totals": {k: report["totals"][k] for k in COUNT_FIELDS}}
    for section in ANNOUNCEMENT_SECTIONS:
        out[section] = [{k: row[k] for k in COUNT_FIELDS} for row in report[section] or []]
    return out


# --- counting ---------------------------------------------------------------------------


def test_relay_minutes_per_station_and_rolled_up(month):
    before = month.report(unit_code=month.province)
    assert before["totals"]["relay_slots"] == 0 and before["relay_campaigns"] == []
    add_relays(month)
    report = month.report(unit_code=month.province)

    a_required, a_relayed = _a_expected(month.days)
    b_required, b_relayed = month.days * RELAY_MS, B_DAYS * 1800 * 1000
    a = _figures(a_required, a_relayed, month.days - 1)
    b = _figures(b_required, b_relayed, month.days)
    both = _figures(a_required + b_required, a_relayed + b_relayed, 2 * month.days - 1)
    # by hand: the days without a special report and day 8 (capped) in full, plus 2, 10,
    # 14 and 16
    assert a_relayed == (month.days - 8 + 1) * 1_800_000 + (1200 + 1790 + 1234 + 1500) * 1000
    assert a["relay_minutes"] == minutes(a_relayed) and a["relay_pct"] < 100

    stations = {s["code"]: s for s in report["stations"]}
    assert _relay(stations[month.a[1]]) == a
    assert _relay(stations[month.b[1]]) == b
    others = [s for code, s in stations.items() if code not in (month.a[1], month.b[1])]
    assert others and all(s["relay_slots"] == 0 and s["relay_pct"] is None for s in others)
    communes = {c["code"]: c for c in report["communes"]}
    assert _relay(communes[month.a[2]]) == a and _relay(communes[month.b[2]]) == b
    (province,) = report["provinces"]
    assert _relay(province) == both and _relay(report["totals"]) == both
    (relay_campaign,) = report["relay_campaigns"]
    assert _relay(relay_campaign) == both
    assert relay_campaign["source"] == "VOV1" and relay_campaign["start"] == "05:30"
    assert relay_campaign["length_minutes"] == 30
    assert sum(w["relay_slots"] for w in report["weeks"]) == both["relay_slots"]

    # the announcement figures are the same with or without the relays
    assert _announcements(report) == _announcements(before)
    assert [c["id"] for c in report["campaigns"]] == [month.dvctt]
    assert report["totals"]["required"] == _dvctt_required(month.first, month.last)
    assert (report["totals"]["on_time"], report["totals"]["partial"]) == (3, 1)

    # one campaign's report: the relay's has no announcements, the announcement's no relays
    relay_only = month.report(unit_code=month.province, campaign_id=month.relay)
    assert relay_only["totals"]["required"] == 0 and relay_only["campaigns"] == []
    assert _relay(relay_only["totals"]) == both
    dvctt_only = month.report(unit_code=month.province, campaign_id=month.dvctt)
    assert dvctt_only["totals"]["relay_slots"] == 0 and dvctt_only["relay_campaigns"] == []

    # the small public count the dashboard may use gives the same figures
    with month.factory() as s:
        ids = [month.a[0]]
        figures = relays.relay_figures(
            s, month.period, tz=TZ, as_of=utcnow(), grace=compliance.GRACE, station_ids=ids
        )
    assert figures == a


def test_a_slot_still_open_is_pending_and_later_reports_are_not_counted(month):
    """At 06:00 on the month's last day its relay is not yet due (the share is of due
    minutes), and reports received after the report's moment do not count yet."""
    add_relays(month)

    def figures(as_of):
        with month.factory() as s:
            return relays.relay_figures(
                s,
                month.period,
                tz=TZ,
                as_of=as_of,
                grace=compliance.GRACE,
                station_ids=[month.b[0]],
            )

    early = figures(at(month.last, "06:00"))  # the reports arrive the morning after
    assert early["relay_required_minutes"] == month.days * 30
    assert early["relay_due_minutes"] == (month.days - 1) * 30
    assert early["relay_minutes"] == 0 and early["relay_pct"] == 0.0
    later = figures(month.now + timedelta(minutes=1))
    assert later["relay_due_minutes"] == month.days * 30
    assert later["relay_minutes"] == B_DAYS * 30


def test_large_scopes_count_the_same_relays(month, monkeypatch):
    """Above DETAIL_MAX_STATIONS PostgreSQL counts by grouping sets: the relays must not move."""
    add_relays(month)
    now = utcnow()
    small = month.report(unit_code=month.province, as_of=now)
    monkeypatch.setattr(compliance, "DETAIL_MAX_STATIONS", 10)
    large = month.report(unit_code=month.province, as_of=now)
    assert small["detail"] is not None and large["detail"] is None
    assert _relay(large["totals"]) == _relay(small["totals"])
    assert large["totals"]["relay_slots"] == 2 * month.days - 1
    for section in RELAY_SECTIONS:
        assert [_relay(r) for r in large[section]] == [_relay(r) for r in small[section]], section


# --- every format -----------------------------------------------------------------------


def _number(text: str):
    return None if text == "" else float(text)


def test_every_format_shows_the_relay_figures(month):
    add_relays(month)
    report = month.report(unit_code=month.province)
    t = report["totals"]
    station_a = next(s for s in report["stations"] if s["code"] == month.a[1])
    assert t["relay_minutes"] > 0

    # JSON: the same figures back
    assert json.loads(to_json(report))["totals"]["relay_minutes"] == t["relay_minutes"]

    # CSV (Vietnamese headers): the total, station and relay campaign rows
    rows = list(csv.DictReader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    relayed = CSV_HEADERS_VI["relay_minutes"]
    assert relayed == "Tiếp âm: phút đã tiếp âm"
    by_level: dict[str, list[dict]] = {}
    for row in rows:
        by_level.setdefault(row["Cấp"], []).append(row)
    (total,) = by_level["Tổng cộng"]
    assert {k: _number(total[CSV_HEADERS_VI[k]]) for k in RELAY_FIELDS} == _relay(t)
    station_row = next(r for r in by_level["Đài"] if r["Mã"] == month.a[1])
    assert {k: _number(station_row[CSV_HEADERS_VI[k]]) for k in RELAY_FIELDS} == _relay(station_a)
    (relay_row,) = by_level["Chiến dịch tiếp âm"]
    assert _number(relay_row[relayed]) == report["relay_campaigns"][0]["relay_minutes"]
    english = list(csv.DictReader(io.StringIO(to_csv(report, "en").decode("utf-8-sig"))))
    assert _number(english[0]["relay_minutes"]) == t["relay_minutes"]

    # XLSX: the summary, the stations' sheet and the relay sheet
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report)))
    summary = {r[0]: r[1] for r in book["Tổng hợp"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Tiếp âm: phút phải phát"] == t["relay_required_minutes"]
    assert summary["Tiếp âm: phút đã tiếp âm"] == t["relay_minutes"]
    assert summary["Tiếp âm: tỷ lệ (%)"] == t["relay_pct"]
    sheet = book["Đài"]
    header = [c.value for c in sheet[1]]
    lines = {
        line[0]: dict(zip(header, line, strict=True))
        for line in sheet.iter_rows(min_row=2, values_only=True)
    }
    cells = lines[month.a[1]]
    assert {k: cells[RELAY_LABELS[k]] for k in RELAY_FIELDS} == _relay(station_a)
    relay_sheet = list(book["Tiếp âm"].iter_rows(values_only=True))
    relay_header = relay_sheet[0]
    (relay_line,) = [dict(zip(relay_header, r, strict=True)) for r in relay_sheet[1:]]
    assert relay_line["Nguồn tiếp âm"] == "VOV1"
    assert relay_line["Tiếp âm: phút đã tiếp âm"] == t["relay_minutes"]

    # PDF (the data sheet): the totals and the relay section, in Vietnamese numbers
    pages = PdfReader(io.BytesIO(to_pdf(report))).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Tiếp âm (tiếp sóng đài cấp trên)" in text
    assert (
        f"Tiếp âm: phút phải phát {vn_number(t['relay_required_minutes'])} · "
        f"Tiếp âm: phút đã tiếp âm {vn_number(t['relay_minutes'])}"
    ) in text
    assert vn_number(station_a["relay_minutes"]) in text  # A's commune row
    assert "Tiếp âm VOV1 buổi sáng" in text


def test_a_stored_report_with_relays_verifies_and_an_old_body_still_does(month):
    # a body stored before relays were counted (format /1: no relay figures)
    with month.factory() as s:
        old = _as_stored_before_relays(
            compliance.compute(s, month.period, unit_code=month.province, tz=TZ)
        )
    with transaction(month.factory) as s:
        old_info = store.store(s, old, key=KEY, generated_by="kiểm tra")

    add_relays(month)
    with transaction(month.factory) as s:
        info = store.generate(
            s, month.period, unit_code=month.province, key=KEY, generated_by="kiểm tra", tz=TZ
        )
    with month.factory() as s:
        _info, body = store.get(s, info.id)
        result = store.verify(s, info.id, key=KEY)
        old_result = store.verify(s, old_info.id, key=KEY)
        _old_info, old_body = store.get(s, old_info.id)
    assert result.ok, result.problems
    assert old_result.ok, old_result.problems
    assert "relay_minutes" not in old_body["totals"]  # stored as it was, byte for byte
    _a_required, a_relayed = _a_expected(month.days)
    assert body["format"] == FORMATS[1]
    assert body["totals"]["relay_minutes"] == minutes(a_relayed + B_DAYS * 1_800_000)

    # the checks read the relay figures: a body whose figures disagree is named
    wrong = json.loads(json.dumps(body))
    station = next(s for s in wrong["stations"] if s["code"] == month.a[1])
    station["relay_slots"] += 1
    station["relay_minutes"] = station["relay_due_minutes"] + 1
    problems = checks.agreement(wrong)
    assert any("tiếp âm" in p and month.a[1] in p for p in problems), problems
    assert any("tiếp âm" in p and month.a[2] in p for p in problems), problems
    # a recount that relayed less than the body says is a problem, not a note
    with month.factory() as s:
        again = compliance.compute(
            s,
            month.period,
            unit_code=month.province,
            tz=TZ,
            as_of=datetime.fromisoformat(body["as_of"]),
        )
    assert checks.recount(body, again)[0] == []
    next(s for s in again["stations"] if s["code"] == month.b[1])["relay_minutes"] -= 30
    problems, _notes = checks.recount(body, again)
    assert any("relay_minutes" in p and month.b[1] in p for p in problems), problems


def test_the_periodic_month_report_shows_relayed_minutes(month):
    add_relays(month)
    today = utcnow().astimezone(TZ).date()
    run = periodic.run(month.factory, today, tz=TZ, cutoff_day=1, report_day=1, key=KEY)
    assert run.failed == 0 and f"month {month.first:%Y-%m}" in run.periods
    with month.factory() as s:
        listed = store.list_stored(s, unit_code=month.province, kind="month")
        (info,) = [i for i in listed if i.period_key == f"{month.first:%Y-%m}"]
        _info, body = store.get(s, info.id)
        result = store.verify(s, info.id, key=KEY)
    assert result.ok, result.problems
    a_required, a_relayed = _a_expected(month.days)
    expected = _figures(
        a_required + month.days * RELAY_MS,
        a_relayed + B_DAYS * 1_800_000,
        2 * month.days - 1,
    )
    assert _relay(body["totals"]) == expected


def test_the_cli_summary_names_the_relayed_minutes(month, cli):
    add_relays(month)
    result = cli(
        "report",
        "compliance",
        "--period",
        "month",
        "--of",
        f"{month.first:%Y-%m}",
        "--calendar",
        "--unit",
        month.province,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.JSONDecoder().raw_decode(result.stdout)[0]
    t = report["totals"]
    assert f"đã tiếp âm {vn_number(t['relay_minutes'])} phút" in result.output


# --- the web page ---------------------------------------------------------------------


@pytest.fixture
def admin(month, db_url, tmp_path, factory, actor):
    with transaction(factory) as s:
        users.add_user(s, actor, "quantri", "admin", PASSWORD, full_name="Quản trị viên")
    settings = load_settings(
        env={"BROADCASTER_DATABASE_URL": db_url, "BROADCASTER_SECRET_KEY": "test"}, cwd=tmp_path
    )
    app = create_app(settings)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": "quantri", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    yield client
    stop_listening(app)


def _as_stored_before_relays(report: dict) -> dict:
    """The same body as format /1 wrote it: no relay figures anywhere."""
    old = json.loads(json.dumps(report))
    old["format"] = FORMATS[0]
    for row in [old["totals"], *(r for k in RELAY_SECTIONS[:-1] for r in old[k])]:
        for name in RELAY_FIELDS:
            row.pop(name)
    del old["relay_campaigns"]
    return old


def test_the_web_page_and_its_downloads_show_the_relays(month, admin):
    # a report stored before relays were counted still shows and downloads, without them
    # (sealed with the app's key: BROADCASTER_SECRET_KEY "test")
    with transaction(month.factory) as s:
        report = compliance.compute(s, month.period, unit_code=month.province, tz=TZ)
        body = _as_stored_before_relays(report)
        old = store.store(s, body, key=SealKey.from_secret("test"), generated_by="cũ")
    old_page = admin.get(f"/reports/stored/{old.id}")
    assert old_page.status_code == 200
    assert 'id="relays"' not in old_page.get_data(as_text=True)
    old_csv = admin.get(f"/reports/stored/{old.id}.csv").data.decode("utf-8-sig")
    first = next(csv.DictReader(io.StringIO(old_csv)))
    assert first["Tiếp âm: phút đã tiếp âm"] == ""  # the column is there, empty
    assert admin.get(f"/reports/stored/{old.id}.pdf").status_code == 200
    assert admin.get(f"/reports/stored/{old.id}.xlsx").status_code == 200

    add_relays(month)
    query = {"unit": month.province, "kind": "month", "of": f"{month.first:%Y-%m}", "cutoff": "1"}
    report = json.loads(admin.get("/reports/compliance.json", query_string=query).data)
    t = report["totals"]
    page = admin.get("/reports/compliance", query_string=query)
    html = " ".join(page.get_data(as_text=True).split())
    assert page.status_code == 200
    assert "Tiếp âm: phút phải phát / phút đã tiếp âm" in html
    card = html[html.index('id="relay-card"') :]
    card = card[: card.index("</div>")]
    assert (
        f"<strong>{vn_number(t['relay_required_minutes'])} / {vn_number(t['relay_minutes'])}"
        "</strong>" in card
    )
    section = html[html.index('<section id="relays">') :]
    section = section[: section.index("</section>")]
    assert "Tiếp âm VOV1 buổi sáng" in section and "VOV1" in section
    (relay_campaign,) = report["relay_campaigns"]
    assert f'<td class="relayed">{vn_number(relay_campaign["relay_minutes"])}</td>' in section
    for commune in report["communes"]:  # the province's page lists its communes
        if commune["relay_slots"]:
            row = section[section.index(f"<td>{commune['code']}</td>") :]
            row = row[: row.index("</tr>")]
            assert f'<td class="relayed">{vn_number(commune["relay_minutes"])}</td>' in row
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                admin.get("/reports/compliance.csv", query_string=query).data.decode("utf-8-sig")
            )
        )
    )
    assert _number(csv_rows[0]["Tiếp âm: phút đã tiếp âm"]) == t["relay_minutes"]

    # stored: the stored report's page shows the same figures
    page = admin.get("/reports/compliance", query_string=query).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    stored = admin.post("/reports/compliance/store", data={**query, "csrf_token": token})
    assert stored.status_code == 302
    shown = admin.get(stored.headers["Location"]).get_data(as_text=True)
    assert f"{vn_number(t['relay_required_minutes'])} / {vn_number(t['relay_minutes'])}" in shown
    verified = admin.post(
        stored.headers["Location"] + "/verify", data={"csrf_token": token}
    ).get_data(as_text=True)
    assert "Toàn vẹn" in verified
