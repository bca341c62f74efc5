"""An emergency sent from the admin reaches a running station agent: the approver picks
the commune, sees how the text will be read and hears it, sends, and watches the
station's row turn to "aired" without reloading."""

from __future__ import annotations

from sqlalchemy import select

from broadcaster.agent import AgentConfig
from broadcaster.agent.players import FileSinkPlayer
from broadcaster.db import transaction
from broadcaster.models import Airing, Emergency, Slot, Station, StationStatus
from broadcaster.services import chain, tokens
from broadcaster.services.audit import system_actor
from tests.agent.live import AgentThread, wait_for
from tests.browser.conftest import sign_in


def _seen(live) -> bool:
    with live.factory() as s:
        return s.get(StationStatus, _station_id(s)) is not None


def _station_id(s) -> int:
    return s.scalar(select(Station.id).where(Station.code == "18073"))


def test_an_emergency_reaches_a_running_agent(page, live, tmp_path):
    with transaction(live.factory) as s:
        token = tokens.issue(s, system_actor(), "18073").token
    agent = AgentThread(
        AgentConfig(
            server=live.url,
            token=token,
            station="18073",
            folder=tmp_path / "agent",
            poll_s=1.0,
            heartbeat_s=1.0,
        ),
        FileSinkPlayer(tmp_path / "sink", speed=50.0),
    )
    try:
        wait_for(lambda: _seen(live), timeout=60, what="the agent's first heartbeat")
        sign_in(page, live, "duyet")
        page.goto(live.at("/emergency/new"))
        page.fill("#title", "Cảnh báo lũ quét")
        page.fill("#body", "Bà con vùng trũng di chuyển ngay đến nơi an toàn trước 17 giờ.")
        search = page.locator("input.unit-search")
        search.fill("18073")
        page.locator("ul.unit-results li[role=option][data-code='18073']").click()
        page.locator(".unit-chips li[data-code='18073']").wait_for()
        page.fill("#repeat", "1")
        # before sending: what the voice will read, then the audio; nothing is sent yet
        page.get_by_role("button", name="Xem cách đọc").click()
        spoken = page.locator("#spoken")
        spoken.wait_for()
        assert "mười bảy giờ" in spoken.inner_text()
        page.get_by_role("button", name="Nghe thử").click()
        page.locator("#listen-audio").wait_for(timeout=60_000)
        assert "Giọng đọc ngoại tuyến" in page.locator("#listen-status").inner_text()
        with live.factory() as s:
            assert s.scalars(select(Emergency)).first() is None
        assert page.locator("#title").input_value() == "Cảnh báo lũ quét"  # kept as typed
        page.click("#emergency-send")
        page.locator("#emergency-watch").wait_for(timeout=60_000)  # rendered, then sent
        row = page.locator("#emergency-deliveries tr[data-station='18073']")
        # emergency.js refreshes the table: no reload here
        row.and_(page.locator("[data-status=aired]")).wait_for(timeout=90_000)
        assert page.locator("#total-aired").inner_text().strip().startswith("1")
    finally:
        agent.stop()
    with live.factory() as s:
        sent = s.scalars(select(Emergency)).one()
        slot = s.scalars(select(Slot).where(Slot.emergency_id == sent.id)).one()
        aired = s.scalars(select(Airing).where(Airing.slot_id == slot.id)).all()
        assert [a.status for a in aired] == ["aired"] and aired[0].source == "agent"
        assert chain.verify(s, "18073").ok
