"""A relay's airing report (báo cáo tiếp âm): seconds relayed and the source used.

Only a relay slot takes ``relayed_s`` and ``relay_used``; they are bounded by the slot's
length, stored with the slot's relay source, covered by the chain, and idempotent like
every report. The operator's confirmation of a relay counts its minutes.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.models import Airing, Slot, SlotStatus
from broadcaster.services import airings, chain
from broadcaster.services.audit import system_actor
from tests.agent.relayworld import add_relay
from tests.api.test_station_api import post, report


def relay_slot(world, seconds: int = 600) -> int:
    start = utcnow().replace(microsecond=0) - timedelta(seconds=seconds + 60)
    return add_relay(world, start, seconds, url="http://127.0.0.1:9/vov1")


def stored(world, report_id: str) -> Airing:
    with world.factory() as s:
        return s.scalar(select(Airing).where(Airing.report_id == report_id))


def test_a_relay_report_keeps_its_seconds_source_and_relay_source(world):
    slot_id = relay_slot(world)
    body = report(slot_id, seconds=600, relayed_s=590, relay_used="backup", note="mất 10 giây")
    r = post(world, {"reports": [body]})
    assert r.status_code == 200, r.get_json()
    airing = stored(world, body["id"])
    with world.factory() as s:
        slot = s.get(Slot, slot_id)
        assert slot.status is SlotStatus.AIRED
        assert airing.relay_source_id == slot.relay_source_id is not None
    assert (airing.relayed_s, airing.relay_used) == (590, "backup")
    assert airing.script_version_id is None
    # the same report again is a duplicate; the same id with other seconds is refused
    again = post(world, {"reports": [body]})
    assert again.get_json()["duplicates"] == 1
    changed = post(world, {"reports": [{**body, "relayed_s": 600}]})
    assert changed.status_code == 422
    assert "khác nội dung" in changed.get_json()["error"]["message"]
    with world.factory() as s:
        assert chain.verify(s, world.station).ok


def test_partial_and_failed_relays_are_taken(world):
    slot_id = relay_slot(world)
    partial = report(slot_id, status="partial", seconds=600, relayed_s=200, relay_used="main")
    failed = report(slot_id, status="failed", seconds=30, relayed_s=0, note="luồng chính: im")
    r = post(world, {"reports": [partial, failed]})
    assert r.status_code == 200, r.get_json()
    assert [stored(world, b["id"]).relayed_s for b in (partial, failed)] == [200, 0]
    assert stored(world, failed["id"]).relay_used is None
    with world.factory() as s:
        assert s.get(Slot, slot_id).status is SlotStatus.PLANNED  # not aired
        assert chain.verify(s, world.station).ok


def test_relay_fields_are_refused_on_other_slots_and_out_of_bounds(world):
    slot_id = relay_slot(world, seconds=600)
    cases = {
        "not a relay": (
            "không phải lượt tiếp âm",
            report(world.slots[0], relayed_s=20),
        ),
        "not a relay, source": (
            "không phải lượt tiếp âm",
            report(world.slots[0], relay_used="main"),
        ),
        "too long": ("từ 0 đến 660", report(slot_id, relayed_s=661)),
        "negative": ("quá nhỏ", report(slot_id, relayed_s=-1)),
        "fraction": ("số nguyên", report(slot_id, relayed_s=12.5)),
        "source": ("giá trị", report(slot_id, relay_used="radio")),
    }
    for name, (words, bad) in cases.items():
        r = post(world, {"reports": [bad]})
        assert r.status_code == 422, name
        error = r.get_json()["error"]
        assert words in json.dumps(error, ensure_ascii=False), (name, error)
    # the bound itself is taken
    assert post(world, {"reports": [report(slot_id, relayed_s=660)]}).status_code == 200
    with world.factory() as s:
        assert s.scalar(select(Airing.relayed_s).where(Airing.slot_id == world.slots[0])) is None


def test_the_operator_confirms_a_relay_with_its_minutes(world):
    slot_id = relay_slot(world, seconds=600)
    with transaction(world.factory) as s:
        result = airings.confirm(
            s, system_actor(), world.station, slot_id, report_id=str(uuid.uuid4())
        )
    with world.factory() as s:
        airing = s.scalar(select(Airing).where(Airing.seq == result.seq))
        assert (airing.relayed_s, airing.source, str(airing.status)) == (600, "manual", "aired")
        assert airing.relay_source_id is not None
        assert chain.verify(s, world.station).ok
    with transaction(world.factory) as s:
        airings.confirm(s, system_actor(), world.station, slot_id, status="failed")
    with world.factory() as s:
        rows = s.scalars(select(Airing.relayed_s).where(Airing.slot_id == slot_id)).all()
    assert sorted(rows) == [0, 600]


def test_the_openapi_document_describes_the_relay_fields(world):
    document = world.client().get("/api/v1/openapi.json").get_json()
    fields = document["components"]["schemas"]["AiringIn"]["properties"]
    assert "relayed_s" in fields and "relay_used" in fields
    used = json.dumps(fields["relay_used"])
    assert all(name in used for name in ("main", "backup", "file"))
    assert "tiếp âm" in json.dumps(fields["relayed_s"], ensure_ascii=False)
