"""Administrative units: the official import, idempotency and lookups."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from broadcaster.db import transaction
from broadcaster.errors import InvalidInput, NotFound
from broadcaster.models import AdminUnit, AuditEvent
from broadcaster.services import units


def _count(session, **where) -> int:
    stmt = select(func.count()).select_from(AdminUnit).filter_by(**where)
    return session.scalar(stmt)


def test_whole_country_is_34_provinces_and_3321_communes(factory, actor):
    with transaction(factory) as s:
        result = units.import_units(s, actor)
    assert (result.provinces, result.communes, result.created) == (34, 3321, 3355)
    with factory() as s:
        assert _count(s, level=1) == 34
        assert _count(s, level=2) == 3321
        ha_tinh = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        assert ha_tinh.name == "Hà Tĩnh"
        communes = s.scalars(select(AdminUnit).where(AdminUnit.parent_id == ha_tinh.id)).all()
        assert len(communes) == 69
        assert all(c.path == f"/42/{c.code}/" and len(c.code) == 5 for c in communes)
        assert {c.kind for c in communes} <= {"xã", "phường"}


def test_reimport_changes_nothing(factory, actor):
    with transaction(factory) as s:
        units.import_units(s, actor, "Hà Tĩnh")
    with factory() as s:
        before = s.execute(select(AdminUnit.id, AdminUnit.updated_at).order_by("id")).all()
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    with transaction(factory) as s:
        again = units.import_units(s, actor, "ha tinh")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 70)
    with factory() as s:
        assert s.execute(select(AdminUnit.id, AdminUnit.updated_at).order_by("id")).all() == before
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_reimport_repairs_a_changed_name(factory, actor):
    with transaction(factory) as s:
        units.import_units(s, actor, "42")
        s.execute(update(AdminUnit).where(AdminUnit.code == "18073").values(name="sai tên"))
    with transaction(factory) as s:
        result = units.import_units(s, actor, "42")
    assert (result.created, result.updated) == (0, 1)
    with factory() as s:
        assert s.scalar(select(AdminUnit.name).where(AdminUnit.code == "18073")) == (
            "Phường Thành Sen"
        )


@pytest.mark.parametrize(
    "query",
    ["Hà Tĩnh", "ha tinh", "HA_TINH", "Tỉnh Hà Tĩnh", "tinh ha tinh", "42", "042", " Hà  Tĩnh "],
)
def test_province_names_with_or_without_diacritics(query):
    assert units.resolve_province(query).code == "42"


@pytest.mark.parametrize(
    ("query", "code"),
    [("Thành phố Hà Nội", "01"), ("ha noi", "01"), ("TP Hồ Chí Minh", "79"), ("Đà Nẵng", "48")],
)
def test_city_names(query, code):
    assert units.resolve_province(query).code == code


def test_unknown_province_suggests_close_names():
    with pytest.raises(NotFound, match=r"Không tìm thấy tỉnh/thành phố 'Ha Tin'\.\s.*Hà Tĩnh"):
        units.resolve_province("Ha Tin")
    with pytest.raises(NotFound):
        units.resolve_province("Atlantis")


def test_get_unit_by_code_or_name(factory, actor):
    with transaction(factory) as s:
        units.import_units(s, actor, "Hà Tĩnh")
    with factory() as s:
        assert units.get_unit(s, "18073").name == "Phường Thành Sen"
        assert units.get_unit(s, "phuong thanh sen").code == "18073"
        assert units.get_unit(s, "Hà Tĩnh").code == "42"
        with pytest.raises(NotFound, match="units import"):
            units.get_unit(s, "Phường Không Có")
        with pytest.raises(InvalidInput):
            units.get_unit(s, "   ")
        listed = units.list_units(s, "42")
        assert len(listed) == 69 and all(u.parent_code == "42" for u in listed)
