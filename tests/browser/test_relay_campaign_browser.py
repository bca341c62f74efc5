"""An approver creates a relay campaign (tiếp âm) in a real browser: the kind chosen shows
its own fields only, the source is picked by name, a bad time is said beside its field."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.db import transaction
from broadcaster.models import Campaign, CampaignKind, RelaySource, Slot
from tests.browser.conftest import sign_in


def test_an_approver_creates_a_relay_by_choosing_its_kind(page, live):
    with transaction(live.factory) as s:
        s.add(RelaySource(name="VOV1", url="http://127.0.0.1:9/vov1.mp3"))
    sign_in(page, live, "duyet")
    page.goto(live.at("/campaigns/new"))
    assert page.locator("#relay").is_hidden() and page.locator("#scripts").is_visible()
    page.check("#kind-relay")
    assert page.locator("#relay").is_visible() and page.locator("#scripts").is_hidden()
    page.fill("#name", "Tiếp âm VOV1 buổi sáng")
    page.select_option("#relay_source", label="VOV1")
    page.fill("#relay_start", "25:00")
    page.fill("#relay_minutes", "30")
    ends = local_today(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=30)
    page.fill("#ends_on", ends.isoformat())
    search = page.locator("input.unit-search")  # the province, picked by name
    search.fill("ha tinh")
    page.locator("ul.unit-results li[role=option][data-code='42']").wait_for()
    search.press("ArrowDown")
    search.press("Enter")
    page.locator(".unit-chips li[data-code='42']").wait_for()
    page.click("#campaign-save")
    error = page.locator("#relay_start-error")
    error.wait_for()
    assert "25:00" in error.inner_text()
    assert page.locator("#kind-relay").is_checked() and page.locator("#relay").is_visible()
    page.fill("#relay_start", "06:00")
    page.click("#campaign-save")
    page.locator("#campaign-name").wait_for()
    assert page.locator("#campaign-relay-source").inner_text() == "VOV1"
    assert page.locator("#campaign-relay-time").inner_text() == "06:00"
    assert page.locator("#campaign-relay-minutes").inner_text() == "30 phút"
    with live.factory() as s:
        c = s.scalar(select(Campaign))
        assert c.kind is CampaignKind.RELAY and c.relay_minutes == 30
        assert s.scalar(select(Slot).where(Slot.campaign_id == c.id)) is not None
