"""The dashboard: scope, hand-counted figures, agreement with the compliance report.

The scene: one campaign with a fixed pattern (Mon–Thu 06:00, Fri 17:30) at
station 18073 (daixa's commune in Hà Tĩnh), planned by the real planner for last
week and this one. "Today" is fixed to last week's Friday through the app's
``DASHBOARD_TODAY`` key, so last week is "this week" and every window of it has
closed: Mon and Tue aired on time, Wed late, Thu nothing (missed), Fri cut short
(partial); one slot of the week after is unplaced.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    AiringStatus,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Emergency,
    Priority,
    Script,
    ScriptVersion,
    Slot,
    SlotStatus,
    Station,
    StationPresence,
)
from broadcaster.planning import plan
from broadcaster.planning.calendar import monday_of, week_label
from broadcaster.reports import compliance
from broadcaster.reports.periods import custom
from broadcaster.services import airings, dashboard, health, scripts, users
from broadcaster.webapp.dashboard import TODAY_KEY
from tests.planning.fixtures import TZ
from tests.web.conftest import OWN_STATION, PASSWORD, text

PATTERN = ((0, "06:00"), (1, "06:00"), (2, "06:00"), (3, "06:00"), (4, "17:30"))


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=TZ)


def _card(page: str, test: str) -> str:
    match = re.search(rf'data-test="{test}"><span>[^<]*</span><strong>(.*?)</strong>', page)
    assert match, f"no card {test}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


class Scene:
    def __init__(self, web):
        self.web = web
        self.factory = web.factory
        self.monday = monday_of(utcnow().astimezone(TZ).date()) - timedelta(days=7)
        self.friday = self.monday + timedelta(days=4)
        with self.factory() as s:
            editor = users.authenticate(s, "bientap", PASSWORD)
            approver = users.authenticate(s, "duyet", PASSWORD)
        body = " ".join(["Kính thưa bà con."] * 15)
        with transaction(self.factory) as s:
            province = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
            scripts.save_text(
                s, editor, ScriptText(slug="dvctt", title="DVCTT", body=body), province
            )
            scripts.submit(s, editor, "dvctt")
            scripts.approve(s, approver, "dvctt")
        with transaction(self.factory) as s:
            self.script_id = s.scalar(select(Script.id).where(Script.slug == "dvctt"))
            unit_id = s.scalar(select(AdminUnit.id).where(AdminUnit.code == OWN_STATION))
            c = Campaign(
                name="Dịch vụ công trực tuyến",
                priority=Priority.NORMAL,
                times_per_week=None,
                weekdays=[],
                preferred="any",
                pattern=[list(p) for p in PATTERN],
                starts_on=self.monday,
                ends_on=self.monday + timedelta(days=60),
            )
            c.scripts = [CampaignScript(script_id=self.script_id, position=0)]
            c.targets = [CampaignTarget(unit_id=unit_id)]
            s.add(c)
            s.flush()
            self.campaign_id = c.id
            self.station_id = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        with transaction(self.factory) as s:
            plan(s, now=at(self.monday, "00:30"), days=14, tz=TZ)

    def slot(self, day: date) -> Slot:
        lo = at(day, "00:00")
        with self.factory() as s:
            return s.scalars(
                select(Slot).where(
                    Slot.station_id == self.station_id,
                    Slot.campaign_id == self.campaign_id,
                    Slot.planned_start >= lo,
                    Slot.planned_start < lo + timedelta(days=1),
                )
            ).one()

    def report(self, day: date, hhmm: str, minutes: float, status: str = "aired") -> None:
        slot = self.slot(day)
        start = at(day, hhmm)
        with transaction(self.factory) as s:
            airings.ingest(
                s,
                self.station_id,
                [
                    airings.AiringReport(
                        id=str(uuid.uuid4()),
                        slot_id=slot.id,
                        started_at=start,
                        ended_at=start + timedelta(minutes=minutes),
                        status=AiringStatus(status),
                    )
                ],
            )

    def play_the_week(self) -> None:
        d = self.monday
        self.report(d, "06:01", 2)  # on time
        self.report(d + timedelta(1), "06:00", 2)  # on time
        self.report(d + timedelta(2), "09:00", 2)  # late: window 05:30–06:30, +15 min
        # Thursday: nothing -> missed
        self.report(self.friday, "17:30", 0.5, status="partial")
        with transaction(self.factory) as s:  # next week's Tuesday found no room
            slot = s.get(Slot, self.slot(d + timedelta(8)).id)
            slot.status, slot.planned_start, slot.window_end = SlotStatus.UNPLACED, None, None

    def today_is_friday(self) -> None:
        self.web.app.config[TODAY_KEY] = self.friday


@pytest.fixture
def scene(web) -> Scene:
    scene = Scene(web)
    scene.play_the_week()
    scene.today_is_friday()
    return scene


# -- access and bad input -----------------------------------------------------------------


def test_needs_sign_in_and_every_role_sees_its_scope(web):
    anonymous = web.client().get("/dashboard/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for name, stations in (("quantri", "69"), ("kiemtra", "69"), ("bientap", "69"), ("daixa", "1")):
        page = web.client(name).get("/dashboard/")
        assert page.status_code == 200, name
        assert _card(text(page), "offline") == f"{stations} / {stations}", name


def test_operator_sees_only_their_station(web):
    client = web.client("daixa")
    page = text(client.get("/dashboard/"))
    assert 'data-test="unit-18073"' in page and 'data-test="unit-18100"' not in page
    assert client.get("/dashboard/?unit=18100").status_code == 403  # another commune
    assert client.get("/dashboard/?unit=42").status_code == 403  # their province
    assert client.get("/dashboard/?unit=18073").status_code == 200


def test_unit_outside_scope_unknown_or_malformed(web):
    with transaction(web.factory) as s:  # another province, outside Hà Tĩnh's users' scope
        s.add(
            AdminUnit(
                code="01", name="Hà Nội", kind="thành phố trung ương", level=1, path="/01/",
                codename="ha_noi", name_folded="ha noi",
            )
        )  # fmt: skip
    auditor = web.client("kiemtra")
    assert auditor.get("/dashboard/?unit=01").status_code == 403  # Hà Nội
    assert auditor.get("/dashboard/?unit=99999").status_code == 404
    for bad in ("18073%00", "%00", "a" * 10_000, "'; drop table slots; --", "..%2F"):
        assert auditor.get(f"/dashboard/?unit={bad}").status_code in (400, 404), bad
    admin = web.client("quantri")
    assert admin.get("/dashboard/?unit=01").status_code == 200  # no station there: zeros
    page = text(admin.get("/dashboard/?unit=42"))
    assert 'data-test="unit-18073"' in page and 'href="/dashboard/"' in page  # up to the country


def test_no_post(web):
    client = web.client("quantri")
    assert web.post(client, "/dashboard/", {}).status_code == 405


# -- the figures ------------------------------------------------------------------------------


def test_cards_show_the_hand_counted_week_and_day(scene, web):
    page = text(web.client("daixa").get("/dashboard/"))
    assert _card(page, "week-planned") == "5"
    assert _card(page, "week-on-time") == "2"
    assert _card(page, "week-late") == "1"
    assert _card(page, "week-missed") == "1"
    assert _card(page, "week-partial-failed") == "1 / 0"
    assert _card(page, "week-pending") == "0"
    assert _card(page, "week-pct") == "60,0%"  # 3 aired of 5 due
    # today is Friday: one slot, cut short
    assert _card(page, "today-planned") == "1"
    assert _card(page, "today-partial-failed") == "1 / 0"
    assert _card(page, "today-on-time") == "0"
    # the commune's table holds the station itself, linking to its page and airing log
    row = page.split('data-test="unit-18073"')[1].split("</tr>")[0]
    assert 'href="/stations/18073"' in row and "/airings/?" in row and "station=18073" in row


def test_province_table_links_down_to_communes(scene, web):
    page = text(web.client("kiemtra").get("/dashboard/"))
    assert _card(page, "week-planned") == "5" and _card(page, "week-late") == "1"
    row = page.split('data-test="unit-18073"')[1].split("</tr>")[0]
    assert 'href="/dashboard/?unit=18073"' in row
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    # stations, planned, on time, late
    assert [c.strip() for c in cells[1:5]] == ["1", "5", "2", "1"]
    other = page.split('data-test="unit-18100"')[1].split("</tr>")[0]
    assert [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", other, re.S)[1:3]] == ["1", "0"]


def test_week_agrees_with_the_compliance_report(scene, web):
    as_of = utcnow()
    sunday = scene.monday + timedelta(days=6)
    with web.factory() as s:
        province = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        view = dashboard.overview(s, province, tz=TZ, today=scene.friday, as_of=as_of)
        week = custom(scene.monday, sunday)
        report = compliance.compute(s, week, unit_code="42", as_of=as_of, tz=TZ)
        day = custom(scene.friday, scene.friday)
        friday = compliance.compute(s, day, unit_code="42", as_of=as_of, tz=TZ)
    t = report["totals"]
    w = view.week_figures
    assert (w.planned, w.on_time, w.late, w.partial, w.failed, w.missed, w.pending, w.unplaced) == (
        t["required"], t["on_time"], t["late"], t["partial"], t["failed"], t["missed"],
        t["pending"], t["unplaced"],
    )  # fmt: skip
    assert w.compliance_pct == t["compliance_pct"] == 60.0
    f = friday["totals"]
    assert (view.today_figures.planned, view.today_figures.partial) == (f["required"], f["partial"])
    by_commune = {c["code"]: c for c in report["communes"]}
    for row in view.units:
        assert row.figures.planned == by_commune[row.code]["required"], row.code
        assert row.figures.missed == by_commune[row.code]["missed"], row.code


def test_campaign_at_risk_shown_with_why(scene, web):
    page = text(web.client("kiemtra").get("/dashboard/"))
    row = page.split(f'data-test="risk-{scene.campaign_id}"')[1].split("</tr>")[0]
    assert f'href="/campaigns/{scene.campaign_id}"' in row
    assert f"campaign={scene.campaign_id}" in row and "/airings/?" in row  # its week's log
    assert "Dịch vụ công trực tuyến" in row
    assert "2 lượt đã lỡ, dở hoặc lỗi" in row  # Thursday missed, Friday partial
    assert _card(page, "at-risk") == "1"


def test_a_week_on_plan_is_not_at_risk(web):
    scene = Scene(web)
    d = scene.monday
    for n in range(4):
        scene.report(d + timedelta(n), "06:01", 2)
    scene.report(scene.friday, "17:31", 2)
    scene.today_is_friday()
    page = text(web.client("kiemtra").get("/dashboard/"))
    assert 'id="at-risk-none"' in page and _card(page, "week-on-time") == "5"
    assert _card(page, "week-pct") == "100,0%"


def test_unplaced_this_week_and_next(scene, web):
    page = text(web.client("daixa").get("/dashboard/"))
    next_week = week_label(scene.monday + timedelta(days=7))
    key = f'data-test="unplaced-{scene.campaign_id}-{OWN_STATION}-{next_week}"'
    row = page.split(key)[1].split("</tr>")[0]
    assert ">1<" in row and 'href="/stations/18073"' in row
    assert _card(page, "unplaced-total") == "1"
    # another commune's operator sees none of it
    other = text(web.client("daikhac").get("/dashboard/"))
    assert key not in other and 'id="unplaced-none"' in other


def test_offline_stations_counted_with_the_worst_listed(web):
    with transaction(web.factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        health.record_heartbeat(s, sid, None, health.Heartbeat(agent_version="1"), "10.0.0.1")
        other = s.scalar(select(Station.id).where(Station.code == "18100"))
        old = utcnow() - timedelta(hours=2)
        health.record_heartbeat(s, other, None, health.Heartbeat(), "10.0.0.2", now=old)
    page = text(web.client("kiemtra").get("/dashboard/"))
    assert _card(page, "offline") == "68 / 69"
    assert "67 đài chưa từng kết nối" in page
    assert text(web.client("daixa").get("/dashboard/")).count('data-test="offline-') == 0
    own = text(web.client("daixa").get("/dashboard/"))
    assert _card(own, "offline") == "0 / 1" and 'id="offline-none"' in own
    silent = text(web.client("daikhac").get("/dashboard/"))
    assert _card(silent, "offline") == "1 / 1" and 'data-test="offline-18100"' in silent


def test_active_emergencies_in_scope(scene, web):
    from broadcaster.webapp import dashboard as page

    now = utcnow()
    with transaction(web.factory) as s:
        version = s.scalar(
            select(ScriptVersion.id).where(ScriptVersion.script_id == scene.script_id)
        )
        for title, expires, cancelled in (
            ("Bão số 5", now + timedelta(hours=2), None),
            ("Đã hết hạn", now - timedelta(minutes=1), None),
            ("Đã hủy", now + timedelta(hours=2), now),
        ):
            e = Emergency(
                title=title,
                script_version_id=version,
                created_by="duyet",
                created_at=now - timedelta(hours=1),
                expires_at=expires,
                cancelled_at=cancelled,
            )
            s.add(e)
            s.flush()
            s.add(
                Slot(
                    station_id=scene.station_id,
                    emergency_id=e.id,
                    occurrence=f"khan-{e.id}",
                    script_version_id=version,
                    week=week_label(now.astimezone(TZ).date()),
                    planned_start=now,
                    duration_ms=30_000,
                    status=SlotStatus.PLANNED,
                )
            )
    assert _card(text(web.client("daixa").get("/dashboard/")), "emergencies") == "1"
    assert _card(text(web.client("daikhac").get("/dashboard/")), "emergencies") == "0"
    # once every station it reached has aired it, it is no longer "being aired"
    with transaction(web.factory) as s:
        storm = s.scalar(select(Emergency.id).where(Emergency.title == "Bão số 5"))
        slot = s.scalar(select(Slot).where(Slot.emergency_id == storm))
        slot.status = SlotStatus.AIRED
    web.app.extensions[page._CACHE_KEY].items.clear()  # counted again, not the kept figures
    assert _card(text(web.client("daixa").get("/dashboard/")), "emergencies") == "0"


def test_page_renders_in_english_too(scene, web):
    client = web.client("kiemtra")
    assert web.post(client, "/lang", {"lang": "en"}).status_code in (302, 303)
    page = client.get("/dashboard/")
    assert page.status_code == 200 and _card(text(page), "week-planned") == "5"


def test_an_unplaced_slot_counts_in_its_week_not_on_its_monday(scene, web):
    """Compliance dates an unplaced slot to its week's Monday; today's cards leave it out."""
    monday = scene.monday + timedelta(days=7)  # this real week, with the unplaced Tuesday
    with web.factory() as s:
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == OWN_STATION))
        view = dashboard.overview(s, unit, tz=TZ, today=monday)
    assert view.week_figures.unplaced == 1 and view.week_figures.planned == 5
    assert view.today_figures.planned == 1 and view.today_figures.unplaced == 0
    assert [(u.station_code, u.week, u.slots) for u in view.unplaced] == [
        (OWN_STATION, week_label(monday), 1)
    ]


def test_figures_kept_then_counted_again_behind_the_stale_ones(web, monkeypatch):
    from broadcaster.webapp import dashboard as page

    client = web.client("kiemtra")
    assert _card(text(client.get("/dashboard/")), "offline") == "69 / 69"
    with transaction(web.factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        health.record_heartbeat(s, sid, None, health.Heartbeat(), "10.0.0.1")
    assert _card(text(client.get("/dashboard/")), "offline") == "69 / 69"  # fresh: kept
    monkeypatch.setattr(page, "CACHE_SECONDS", -1)
    assert _card(text(client.get("/dashboard/")), "offline") == "69 / 69"  # stale, shown once
    cache = web.app.extensions[page._CACHE_KEY]
    for _ in range(200):  # the background count finishes
        if not cache.refreshing:
            break
        threading.Event().wait(0.05)
    monkeypatch.setattr(page, "CACHE_SECONDS", 30)
    assert _card(text(client.get("/dashboard/")), "offline") == "68 / 69"


def test_stations_waiting_for_emergencies_are_counted_as_connected(web):
    assert _card(text(web.client("kiemtra").get("/dashboard/")), "connected") == "0 / 69"
    with transaction(web.factory) as s:
        health.note_waiting(s, [OWN_STATION, "18100"])
        sid = s.scalar(select(Station.id).where(Station.code == "18100"))
        stale = s.get(StationPresence, sid)
        stale.connected_at = utcnow() - timedelta(minutes=5)  # it stopped waiting long ago
    assert _card(text(web.client("quantri").get("/dashboard/")), "connected") == "1 / 69"
    assert _card(text(web.client("daixa").get("/dashboard/")), "connected") == "1 / 1"
    assert _card(text(web.client("daikhac").get("/dashboard/")), "connected") == "0 / 1"
