"""Bidirectional control characters (U+202A–U+202E, U+2066–U+2069) make a title display
reversed; every title and name refuses them, naming the field, and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from broadcaster.db import transaction
from broadcaster.errors import InvalidInput
from broadcaster.library import ScriptText
from broadcaster.models import Emergency, Script, Station, User
from broadcaster.services import emergency, scripts, stations, users
from broadcaster.services.cadence import parse_name
from broadcaster.services.units import get_unit
from broadcaster.vntext import BIDI_CONTROLS, bidi_controls

REVERSED = "Thông báo \u202ehtgnoht\u202c về dịch vụ công"  # RLO … PDF
ISOLATED = "Tin \u2067mới\u2069"


def test_the_set_is_exactly_the_embeddings_overrides_and_isolates():
    assert sorted(f"{ord(c):04X}" for c in BIDI_CONTROLS) == [
        "202A", "202B", "202C", "202D", "202E", "2066", "2067", "2068", "2069",
    ]  # fmt: skip
    assert bidi_controls("Hà Tĩnh \u200b\u200d") == []  # zero-width space and joiner are not
    assert bidi_controls(REVERSED) == ["U+202E", "U+202C"]


def _count(factory, model) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("text", [REVERSED, ISOLATED])
def test_services_refuse_them_naming_the_field(factory, actor, ha_tinh, text):
    attempts = [
        (
            lambda s: scripts.save_text(
                s, actor, ScriptText(slug="tin", title=text, body="Kính thưa bà con."),
                get_unit(s, "42"),
            ),
            "Tiêu đề tin bài 'tin'",
            Script,
        ),
        (
            lambda s: scripts.save_text(
                s, actor, ScriptText(slug="tin", title="Tin", body=f"Kính thưa {text}."),
                get_unit(s, "42"),
            ),
            "Nội dung tin bài 'tin'",
            Script,
        ),
        (
            lambda s: emergency.send(
                s, actor, None, title=text, body="Bão sắp đổ bộ.", unit_codes=["42"]
            ),
            "Tiêu đề tin khẩn cấp",
            Emergency,
        ),
        (
            lambda s: stations.add_station(s, actor, "18073", code="x-18073", name=text),
            "Tên đài",
            Station,
        ),
        (
            lambda s: users.add_user(
                s, actor, "nguoimoi", "editor", "mat-khau-dai-1", "42", full_name=text
            ),
            "Họ tên",
            User,
        ),
        (lambda s: parse_name(text), "Tên chiến dịch", None),
    ]  # fmt: skip
    for attempt, field, model in attempts:
        before = _count(factory, model) if model else 0
        with pytest.raises(InvalidInput) as refused, transaction(factory) as s:
            attempt(s)
        assert refused.value.message.startswith(f"{field} có ký tự điều khiển hướng chữ (U+20")
        if model:
            assert _count(factory, model) == before, field


def test_a_library_file_with_one_is_refused_with_its_name(cli, ha_tinh, tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "tin.md").write_text(
        f"---\ntitle: {REVERSED}\n---\nKính thưa bà con.\n", encoding="utf-8"
    )
    result = cli("scripts", "import", str(folder), "--unit", "42")
    assert result.exit_code == 2, result.output
    assert "Tiêu đề tin bài 'tin' có ký tự điều khiển hướng chữ (U+202C, U+202E)" in result.output
