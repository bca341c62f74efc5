"""Relay campaigns (tiếp âm) in the campaign form and page: the kind chosen in Vietnamese,
the source by name, the time and length; bad input beside its field; an edited time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.models import (
    AdminUnit,
    AuditEvent,
    Campaign,
    CampaignKind,
    RelaySource,
    Slot,
    Station,
)
from tests.web.conftest import text
from tests.web.test_campaigns import SLUG, approve


@pytest.fixture
def sources(web):
    with transaction(web.factory) as s:
        province = s.scalar(select(AdminUnit.id).where(AdminUnit.code == "42"))
        s.add(RelaySource(name="VOV1", url="http://127.0.0.1:9/vov1.mp3"))
        s.add(
            RelaySource(name="Đài PT-TH Hà Tĩnh", url="http://127.0.0.1:9/ht.mp3", unit_id=province)
        )
        s.add(RelaySource(name="Đài cũ", url="http://127.0.0.1:9/cu.mp3", active=False))


def relay_form(web, **changes) -> dict:
    today = datetime.now(web.settings.tz).date()
    data = {
        "kind": "relay",
        "name": "Tiếp âm VOV1 buổi sáng",
        "relay_source": "VOV1",
        "relay_start": "06:00",
        "relay_minutes": "30",
        "relay_weekdays": [str(d) for d in range(7)],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
        "priority": "normal",
        "targets": "42",
        # what the hidden announcement part of the form still sends: ignored for a relay
        "mode": "times",
        "times_per_week": "3",
        "weekdays": ["0", "1"],
        "preferred": "any",
        "pattern": "",
    }
    data.update(changes)
    return data


def campaigns(web) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count(Campaign.id)))


def test_the_form_offers_both_kinds_in_vietnamese_and_the_sources_by_name(web, sources):
    page = text(web.client("duyet").get("/campaigns/new"))
    assert "Loại chiến dịch" in page
    assert 'id="kind-announcement"' in page and "Tin bài" in page
    assert 'id="kind-relay"' in page and "Tiếp âm" in page
    assert '<option value="VOV1"' in page and '<option value="Đài PT-TH Hà Tĩnh"' in page
    assert "Đài cũ" not in page  # switched off: not offered
    assert "Nguồn tiếp âm" in page and "Thời lượng (phút)" in page


def test_an_approver_creates_a_relay_and_its_page_shows_source_time_and_length(web, sources):
    client = web.client("duyet")
    response = web.post(client, "/campaigns/new", relay_form(web))
    assert response.status_code == 302, text(response)
    campaign_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with web.factory() as s:
        c = s.get(Campaign, campaign_id)
        assert c.kind is CampaignKind.RELAY and c.relay_minutes == 30 and not c.scripts
        assert c.relay_start.strftime("%H:%M") == "06:00" and c.weekdays == list(range(7))
        assert c.times_per_week is None
        slots = s.scalars(select(Slot).where(Slot.campaign_id == campaign_id)).all()
    assert slots and all(
        x.relay_source_id is not None and x.duration_ms == 1_800_000 for x in slots
    )
    page = text(client.get(f"/campaigns/{campaign_id}"))
    assert 'id="campaign-relay-source">VOV1<' in page
    assert 'id="campaign-relay-time">06:00<' in page
    assert 'id="campaign-relay-minutes">30 phút<' in page
    assert 'id="campaign-scripts"' not in page and 'id="campaign-render"' not in page
    assert "Tiếp âm VOV1 06:00–06:30 (T2–CN)" in page
    listing = text(client.get("/campaigns/"))
    assert "Tiếp âm VOV1 06:00–06:30 (T2–CN)" in listing
    # a station's week: a relay is a live stream, never "audio missing"
    with web.factory() as s:
        code = s.scalar(
            select(Station.code)
            .join(Slot, Slot.station_id == Station.id)
            .where(Slot.campaign_id == campaign_id, Slot.status == "planned")
        )
    week = text(client.get(f"/campaigns/{campaign_id}?station={code}"))
    assert 'data-test="audio-live"' in week and "luồng trực tiếp" in week
    assert 'data-test="audio-missing"' not in week

    # editing shows the relay's fields only, and a new time replans
    edit = text(client.get(f"/campaigns/{campaign_id}/edit"))
    assert 'id="relay_start"' in edit and 'id="scripts"' not in edit and 'name="kind"' not in edit
    changed = web.post(
        client, f"/campaigns/{campaign_id}/edit", relay_form(web, relay_start="17:15")
    )
    assert changed.status_code == 302, text(changed)
    with web.factory() as s:
        starts = s.scalars(
            select(Slot.planned_start).where(
                Slot.campaign_id == campaign_id, Slot.status == "planned"
            )
        ).all()
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.edit"))
    assert {t.astimezone(web.settings.tz).strftime("%H:%M") for t in starts} == {"17:15"}
    assert event.before == {"relay_start": "06:00"} and event.after == {"relay_start": "17:15"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"relay_source": ""}, "relay_source"),  # no source
        ({"relay_source": "VOV9"}, "relay_source"),  # unknown
        ({"relay_source": "Đài cũ"}, "relay_source"),  # switched off
        ({"relay_start": "25:00"}, "relay_start"),
        ({"relay_start": ""}, "relay_start"),
        ({"relay_start": "sáu giờ"}, "relay_start"),
        ({"relay_minutes": "0"}, "relay_minutes"),
        ({"relay_minutes": "601"}, "relay_minutes"),
        ({"relay_minutes": "ba mươi"}, "relay_minutes"),
        ({"relay_start": "23:45", "relay_minutes": "30"}, "relay_minutes"),  # past midnight
        ({"relay_weekdays": []}, "relay_weekdays"),
        ({"relay_weekdays": ["9"]}, "relay_weekdays"),
        ({"relay_start": "06\x00"}, "relay_start"),
        ({"targets": ""}, "targets"),
    ],
)
def test_bad_relay_input_is_shown_beside_its_field_and_saves_nothing(web, sources, changes, field):
    response = web.post(web.client("duyet"), "/campaigns/new", relay_form(web, **changes))
    page = text(response)
    assert response.status_code == 400, page
    assert f'id="{field}-error"' in page and f'aria-describedby="{field}-error' in page
    assert "Traceback" not in page
    assert campaigns(web) == 0


def test_announcement_campaigns_are_unchanged(web, sources):
    approve(web)
    response = web.post(
        web.client("duyet"),
        "/campaigns/new",
        relay_form(
            web, kind="announcement", scripts=SLUG, relay_source="VOV1", relay_start="06:00"
        ),
    )
    assert response.status_code == 302, text(response)  # the relay fields are ignored
    with web.factory() as s:
        c = s.scalar(select(Campaign))
        assert c.kind is CampaignKind.ANNOUNCEMENT and c.relay_source_id is None
        assert c.times_per_week == 3 and [cs.script.slug for cs in c.scripts] == [SLUG]
