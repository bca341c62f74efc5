"""The campaigns pages: create and edit from the form, pause/resume/end, the week calendar.

Every test runs on SQLite and PostgreSQL (the ``web`` fixture). Scripts are approved
through the services (editor ``bientap`` writes, approver ``duyet`` approves), then the
pages are driven as a browser would, and the database and audit log are read back.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    AuditEvent,
    Campaign,
    CampaignScript,
    CampaignStatus,
    CampaignTarget,
    Priority,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services import scripts, users
from tests.web.conftest import PASSWORD, text

SLUG = "dich-vu-cong"


def approve(web, slug: str = SLUG, title: str = "Dịch vụ công trực tuyến") -> None:
    with transaction(web.factory) as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        approver = users.authenticate(s, "duyet", PASSWORD)
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        body = "Kính thưa bà con, hãy dùng dịch vụ công trực tuyến. " * 4
        scripts.save_text(s, editor, ScriptText(slug=slug, title=title, body=body), unit)
        scripts.submit(s, editor, slug)
        scripts.approve(s, approver, slug)


def today(web) -> date:
    return datetime.now(web.settings.tz).date()


def form(web, **changes) -> dict:
    data = {
        "name": "Tuyên truyền dịch vụ công",
        "scripts": SLUG,
        "mode": "times",
        "times_per_week": "3",
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "preferred": "any",
        "pattern": "",
        "starts_on": today(web).isoformat(),
        "ends_on": (today(web) + timedelta(days=60)).isoformat(),
        "priority": "normal",
        "targets": "42",
    }
    data.update(changes)
    return data


def campaign_count(web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(Campaign.id)))


def slots_of(web, campaign_id: int) -> list[Slot]:
    with web.factory() as s:
        return list(s.scalars(select(Slot).where(Slot.campaign_id == campaign_id)))


def create(web, client=None, **changes) -> int:
    client = client or web.client("duyet")
    response = web.post(client, "/campaigns/new", form(web, **changes))
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_approver_creates_a_campaign_and_the_calendar_shows_its_slots(web):
    approve(web)
    client = web.client("duyet")
    page = text(client.get("/campaigns/new"))
    assert "data-unit-picker" in page and f'value="{SLUG}"' in page
    campaign_id = create(web, client)
    slots = slots_of(web, campaign_id)
    assert slots and len({s.station_id for s in slots}) == 69
    with web.factory() as s:
        c = s.get(Campaign, campaign_id)
        assert c.times_per_week == 3 and c.status is CampaignStatus.ACTIVE
        assert s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "campaign.create", AuditEvent.entity_id == str(campaign_id)
            )
        )
    # the calendar of the week holding the first slot, for that slot's station
    with web.factory() as s:
        first = s.execute(
            select(Slot.planned_start, Slot.station_id)
            .where(Slot.campaign_id == campaign_id, Slot.planned_start.is_not(None))
            .order_by(Slot.planned_start)
        ).first()
        code = s.get(Station, first.station_id).code
    local = first.planned_start.astimezone(web.settings.tz)
    week = week_label(local.date())
    page = text(client.get(f"/campaigns/{campaign_id}?week={week}&station={code}"))
    assert f'data-station="{code}"' in page
    assert f'data-day="{local.date().isoformat()}"' in page
    assert local.strftime("%H:%M") in page and 'data-test="slot"' in page
    assert "đã lên lịch" in page and 'id="station-counts"' in page
    # its script by title, linked, not by its code
    assert f'<a href="/scripts/{SLUG}">Dịch vụ công trực tuyến</a>' in page
    listing = text(client.get("/campaigns/"))
    assert "Tuyên truyền dịch vụ công" in listing and "3 lần/tuần" in listing


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scripts": "khong-co"}, "scripts"),
        ({"times_per_week": "0"}, "times_per_week"),
        ({"times_per_week": "99"}, "times_per_week"),
        ({"times_per_week": "ba"}, "times_per_week"),
        ({"mode": "pattern", "pattern": "T9 25:00"}, "pattern"),
        ({"mode": "pattern", "pattern": "T2 25:00"}, "pattern"),
        ({"mode": "pattern", "pattern": "T2 12:00"}, "pattern"),  # outside every window
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["9"]}, "weekdays"),
        ({"ends_on": "2020-01-01", "starts_on": "2020-02-01"}, "ends_on"),
        ({"ends_on": "31/02/2027"}, "ends_on"),
        ({"ends_on": ""}, "ends_on"),
        ({"starts_on": "hôm qua"}, "starts_on"),
        ({"targets": "99999"}, "targets"),
        ({"targets": ""}, "targets"),
        ({"targets": "42, 18073"}, "targets"),  # 18073 lies inside 42
        ({"name": ""}, "name"),
        ({"name": "Tên\x00độc"}, "name"),
        ({"name": "x" * 10_000}, "name"),
        ({"pattern": "T2\x00", "mode": "pattern"}, "pattern"),
        ({"targets": "4" * 10_000}, "targets"),
        ({"priority": "khẩn"}, "priority"),
        ({"scripts": [f"tin-{n}" for n in range(5000)]}, "scripts"),
        ({"weekdays": ["0" * 50]}, "weekdays"),
        ({"preferred": "đêm"}, "preferred"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_saves_nothing(web, changes, field):
    approve(web)
    client = web.client("duyet")
    response = web.post(client, "/campaigns/new", form(web, **changes))
    page = text(response)
    assert response.status_code == 400, page
    assert f'id="{field}-error"' in page
    assert f'aria-describedby="{field}-error' in page
    assert campaign_count(web) == 0


def test_the_form_shows_back_what_was_typed(web):
    approve(web)
    response = web.post(
        web.client("duyet"), "/campaigns/new", form(web, name="Chiến dịch A", times_per_week="0")
    )
    page = text(response)
    assert response.status_code == 400 and 'value="Chiến dịch A"' in page and 'value="0"' in page


def test_a_target_outside_the_scope_is_refused_beside_the_field(web):
    # duyet's scope is Hà Tĩnh: a province of its own would be outside, so is the country
    approve(web)
    with transaction(web.factory) as s:
        s.add(
            AdminUnit(
                code="01",
                name="Thành phố Hà Nội",
                kind="thành phố",
                level=1,
                path="/01/",
                codename="ha_noi",
                name_folded="thanh pho ha noi",
            )
        )
    response = web.post(web.client("duyet"), "/campaigns/new", form(web, targets="01"))
    assert response.status_code == 400 and 'id="targets-error"' in text(response)
    assert "ngoài phạm vi" in text(response)
    assert campaign_count(web) == 0


@pytest.mark.parametrize("username", ["bientap", "kiemtra"])
def test_editor_and_auditor_read_but_cannot_change(web, username):
    approve(web)
    campaign_id = create(web)
    client = web.client(username)
    assert client.get("/campaigns/").status_code == 200
    page = text(client.get(f"/campaigns/{campaign_id}"))
    assert "Tuyên truyền dịch vụ công" in page and 'id="campaign-actions"' not in page
    assert client.get("/campaigns/new").status_code == 403
    assert web.post(client, "/campaigns/new", form(web, name="Lén")).status_code == 403
    assert web.post(client, f"/campaigns/{campaign_id}/pause").status_code == 403
    edit = web.post(client, f"/campaigns/{campaign_id}/edit", form(web, name="Lén"))
    assert edit.status_code == 403
    assert campaign_count(web) == 1
    with web.factory() as s:
        c = s.get(Campaign, campaign_id)
        assert c.status is CampaignStatus.ACTIVE and c.name == "Tuyên truyền dịch vụ công"


def test_operator_is_refused_everywhere(web):
    approve(web)
    campaign_id = create(web)
    client = web.client("daixa")
    for url in ("/campaigns/", f"/campaigns/{campaign_id}", "/campaigns/new"):
        assert client.get(url).status_code == 403, url
    assert web.post(client, f"/campaigns/{campaign_id}/pause").status_code == 403


def test_unknown_and_absurd_ids_are_404(web):
    client = web.client("duyet")
    for url in ("/campaigns/999", "/campaigns/99999999999999", "/campaigns/999/edit"):
        assert client.get(url).status_code == 404, url
    assert web.post(client, "/campaigns/999/pause").status_code == 404
    approve(web)
    campaign_id = create(web, client)
    assert web.post(client, f"/campaigns/{campaign_id}/explode").status_code == 404


def test_pause_cancels_future_slots_and_resume_plans_them_again(web):
    approve(web)
    client = web.client("duyet")
    campaign_id = create(web, client)
    planned = [s for s in slots_of(web, campaign_id) if s.status is SlotStatus.PLANNED]
    assert planned
    response = web.post(client, f"/campaigns/{campaign_id}/pause", {"reason": "Họp khẩn"})
    assert response.status_code == 302
    with web.factory() as s:
        assert s.get(Campaign, campaign_id).status is CampaignStatus.PAUSED
    after = {s.id: s.status for s in slots_of(web, campaign_id)}
    assert all(after[s.id] is SlotStatus.CANCELLED for s in planned)
    page = text(client.get(f"/campaigns/{campaign_id}"))
    assert 'data-status="paused"' in page and "Đã tạm dừng" in page
    assert web.post(client, f"/campaigns/{campaign_id}/pause").status_code == 409
    assert web.post(client, f"/campaigns/{campaign_id}/resume").status_code == 302
    with web.factory() as s:
        assert s.get(Campaign, campaign_id).status is CampaignStatus.ACTIVE
        actions = set(
            s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(campaign_id)))
        )
        note = s.scalar(select(AuditEvent.note).where(AuditEvent.action == "campaign.pause"))
    assert {"campaign.create", "campaign.pause", "campaign.resume"} <= actions
    assert note == "Họp khẩn"
    again = [s for s in slots_of(web, campaign_id) if s.status is SlotStatus.PLANNED]
    assert len(again) == len(planned)


def test_end_stops_the_campaign_and_edit_is_then_refused(web):
    approve(web)
    client = web.client("duyet")
    campaign_id = create(web, client)
    assert web.post(client, f"/campaigns/{campaign_id}/end").status_code == 302
    with web.factory() as s:
        c = s.get(Campaign, campaign_id)
        assert c.status is CampaignStatus.ENDED and c.ends_on == today(web)
    assert client.get(f"/campaigns/{campaign_id}/edit").status_code == 409


def test_edit_changes_the_cadence_and_plans_again(web):
    approve(web)
    client = web.client("duyet")
    campaign_id = create(web, client)
    page = text(client.get(f"/campaigns/{campaign_id}/edit"))
    assert 'value="Tuyên truyền dịch vụ công"' in page and 'value="42"' in page
    response = web.post(
        client,
        f"/campaigns/{campaign_id}/edit",
        form(web, mode="pattern", pattern="T2 06:00, T5 17:30"),
    )
    assert response.status_code == 302, text(response)
    with web.factory() as s:
        c = s.get(Campaign, campaign_id)
        assert c.times_per_week is None and c.pattern == [[0, "06:00"], [3, "17:30"]]
        edit = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.edit"))
        assert edit is not None and "pattern" in edit.after
    local = [
        s.planned_start.astimezone(web.settings.tz)
        for s in slots_of(web, campaign_id)
        if s.status is SlotStatus.PLANNED
    ]
    assert local and all(
        (t.weekday(), t.strftime("%H:%M")) in {(0, "06:00"), (3, "17:30")} for t in local
    )


def test_a_refused_edit_changes_nothing(web):
    approve(web)
    client = web.client("duyet")
    campaign_id = create(web, client)
    before = sorted((s.id, s.status) for s in slots_of(web, campaign_id))
    response = web.post(
        client, f"/campaigns/{campaign_id}/edit", form(web, name="Mới", times_per_week="99")
    )
    assert response.status_code == 400 and 'id="times_per_week-error"' in text(response)
    with web.factory() as s:
        assert s.get(Campaign, campaign_id).name == "Tuyên truyền dịch vụ công"
    assert sorted((s.id, s.status) for s in slots_of(web, campaign_id)) == before


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("week=2026-W99", 400),
        ("week=%00", 400),
        ("week=" + "9" * 1000, 400),
        ("station=%00", 404),
        ("station=nope", 404),
        ("station=" + "1" * 1000, 404),
        ("page=-3", 200),
        ("page=99999999999", 200),
    ],
)
def test_calendar_refuses_bad_arguments_without_error(web, query, status):
    approve(web)
    campaign_id = create(web)
    assert web.client("duyet").get(f"/campaigns/{campaign_id}?{query}").status_code == status


def test_list_filters_by_status_and_refuses_an_unknown_one(web):
    approve(web)
    client = web.client("duyet")
    first = create(web, client, name="Chiến dịch một")
    create(web, client, name="Chiến dịch hai")
    web.post(client, f"/campaigns/{first}/pause")
    paused = text(client.get("/campaigns/?status=paused"))
    assert "Chiến dịch một" in paused and "Chiến dịch hai" not in paused
    assert client.get("/campaigns/?status=%00").status_code == 400


def test_a_campaign_of_another_province_is_neither_listed_nor_shown(web):
    approve(web)
    mine = create(web, name="Của Hà Tĩnh")
    with transaction(web.factory) as s:
        other = AdminUnit(
            code="01",
            name="Thành phố Hà Nội",
            kind="thành phố",
            level=1,
            path="/01/",
            codename="ha_noi",
            name_folded="thanh pho ha noi",
        )
        s.add(other)
        s.flush()
        script_id = s.scalar(select(Campaign).where(Campaign.id == mine)).scripts[0].script_id
        c = Campaign(
            name="Của Hà Nội",
            priority=Priority.NORMAL,
            times_per_week=2,
            weekdays=[0, 2],
            preferred="any",
            pattern=[],
            starts_on=today(web),
            ends_on=today(web) + timedelta(days=30),
        )
        c.scripts = [CampaignScript(script_id=script_id, position=0)]
        c.targets = [CampaignTarget(unit_id=other.id)]
        s.add(c)
        s.flush()
        theirs = c.id
    for username in ("duyet", "bientap", "kiemtra"):
        client = web.client(username)
        listing = text(client.get("/campaigns/"))
        assert "Của Hà Tĩnh" in listing and "Của Hà Nội" not in listing, username
        assert client.get(f"/campaigns/{theirs}").status_code == 403, username
    client = web.client("duyet")
    assert client.get(f"/campaigns/{theirs}/edit").status_code == 403
    assert web.post(client, f"/campaigns/{theirs}/pause").status_code == 403
    with web.factory() as s:
        assert s.get(Campaign, theirs).status is CampaignStatus.ACTIVE
    admin = text(web.client("quantri").get("/campaigns/"))
    assert "Của Hà Tĩnh" in admin and "Của Hà Nội" in admin


def test_calendar_refuses_a_station_outside_the_campaign_or_the_scope(web):
    approve(web)
    campaign_id = create(web, targets="18073")
    client = web.client("duyet")
    page = text(client.get(f"/campaigns/{campaign_id}"))
    assert 'data-station="18073"' in page and 'data-station="18100"' not in page
    assert client.get(f"/campaigns/{campaign_id}?station=18100").status_code == 404


def test_a_saved_campaign_has_its_audio_made_at_once_in_the_background(web):
    approve(web)
    web.app.config["RENDER_AFTER_SAVE"] = True
    campaign_id = create(web)
    for thread in web.app.extensions.get("broadcaster.render_threads", []):
        thread.join(120)
    soon = [s for s in slots_of(web, campaign_id) if _within_48_hours(s)]
    assert soon, "the plan put nothing in the next 48 hours"
    assert all(s.audio_asset_id is not None for s in soon)
    later = [s for s in slots_of(web, campaign_id) if not _within_48_hours(s)]
    assert all(s.audio_asset_id is None for s in later)  # the scheduler's, nearer the time


def test_render_now_says_what_it_did(web):
    approve(web)
    campaign_id = create(web)
    soon = [s for s in slots_of(web, campaign_id) if _within_48_hours(s)]
    client = web.client("duyet")
    first = web.post(client, f"/campaigns/{campaign_id}/render", follow_redirects=True)
    assert first.status_code == 200
    assert f"Đã tạo âm thanh cho {len(soon)} lượt phát trong 48 giờ tới." in text(first)
    again = web.post(client, f"/campaigns/{campaign_id}/render", follow_redirects=True)
    assert "Mọi lượt phát trong 48 giờ tới đã có âm thanh." in text(again)
    assert web.post(web.client("kiemtra"), f"/campaigns/{campaign_id}/render").status_code == 403


def _within_48_hours(slot) -> bool:
    from broadcaster.clock import utcnow

    return slot.planned_start < utcnow() + timedelta(hours=48)


@pytest.mark.parametrize(
    ("changes", "field", "english"),
    [
        ({"times_per_week": "99"}, "times_per_week", "At most 14 times per week"),
        ({"mode": "pattern", "pattern": "T2 12:00"}, "pattern", "outside the broadcast windows"),
        ({"ends_on": "2027-01-01", "starts_on": "2027-02-01"}, "ends_on", "is before the start"),
        ({"targets": "42, 18073"}, "targets", "is already inside 'Hà Tĩnh'"),
        ({"preferred": "đêm"}, "preferred", "Preferred window 'đêm' is not valid"),
    ],
)
def test_errors_are_in_the_readers_language_without_flags(web, changes, field, english):
    approve(web)
    client = web.client("duyet")
    web.post(client, "/lang", {"lang": "en"})
    page = text(web.post(client, "/campaigns/new", form(web, **changes)))
    beside = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, re.S)
    assert beside is not None, page
    shown = html.unescape(beside[1])
    assert english in shown and "--" not in shown, shown
    assert "(--" not in page
