"""Administrative units (đơn vị hành chính): the official tree and lookups.

Since 1 July 2025 Vietnam has two tiers: 34 provinces and 3,321 communes
(xã, phường, đặc khu). The official list comes from the ``vietnam-provinces``
package; the tree itself stays general (``level`` and ``path``) so a third
tier can be added without a schema change.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from broadcaster.errors import InvalidInput, NotFound
from broadcaster.models import AdminUnit
from broadcaster.services.audit import Actor, record
from broadcaster.vntext import fold, nfc

Progress = Callable[[int], None]

PROVINCE_LEVEL = 1
COMMUNE_LEVEL = 2


@dataclass(frozen=True)
class UnitRecord:
    """One unit of an official list, before it is stored."""

    code: str
    name: str
    kind: str
    codename: str
    parent_code: str | None


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    kind: str
    level: int
    path: str
    parent_code: str | None


@dataclass(frozen=True)
class ImportResult:
    provinces: int
    communes: int
    created: int
    updated: int
    unchanged: int


def _province_code(code: int) -> str:
    return f"{int(code):02d}"


def _commune_code(code: int) -> str:
    return f"{int(code):05d}"


def official_provinces() -> list[UnitRecord]:
    from vietnam_provinces import Province

    return [
        UnitRecord(_province_code(p.code), nfc(p.name), p.division_type.value, p.codename, None)
        for p in sorted(Province.iter_all(), key=lambda p: int(p.code))
    ]


def official_communes() -> dict[str, list[UnitRecord]]:
    """Communes of the official list, grouped by province code."""
    from vietnam_provinces import Ward

    grouped: dict[str, list[UnitRecord]] = {}
    for w in Ward.iter_all():
        parent = _province_code(w.province_code)
        grouped.setdefault(parent, []).append(
            UnitRecord(
                _commune_code(w.code), nfc(w.name), w.division_type.value, w.codename, parent
            )
        )
    for rows in grouped.values():
        rows.sort(key=lambda r: r.code)
    return grouped


def _province_keys(p: UnitRecord) -> set[str]:
    folded = fold(p.name)
    keys = {p.code, str(int(p.code)), folded, fold(p.codename)}
    for prefix in ("thanh pho ", "tinh "):
        if folded.startswith(prefix):
            keys.add(folded[len(prefix) :])
    return keys


def resolve_province(query: str, provinces: list[UnitRecord] | None = None) -> UnitRecord:
    """Find a province by code or name, with or without diacritics or a "Tỉnh" prefix."""
    provinces = provinces if provinces is not None else official_provinces()
    wanted = fold(query)
    if wanted.isascii() and wanted.isdigit():
        wanted = str(int(wanted))
    for prefix in ("thanh pho ", "tinh ", "tp "):
        if wanted.startswith(prefix):
            wanted = wanted[len(prefix) :]
    for p in provinces:
        if wanted in _province_keys(p):
            return p
    names = {fold(p.name): p.name for p in provinces}
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    if close:
        raise NotFound(
            "Không tìm thấy tỉnh/thành phố '{query}'. Có phải: {close}? "
            "Nhập tên (có hoặc không dấu) hoặc mã (ví dụ: 42 hoặc 'Ha Tinh').",
            field="province",
            query=query,
            close=", ".join(names[c] for c in close),
        )
    raise NotFound(
        "Không tìm thấy tỉnh/thành phố '{query}'. "
        "Nhập tên (có hoặc không dấu) hoặc mã (ví dụ: 42 hoặc 'Ha Tinh').",
        field="province",
        query=query,
    )


def import_units(
    session: Session,
    actor: Actor,
    province: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Load the official provinces and communes; safe to run again.

    New units are inserted, renamed or moved ones updated, the rest untouched.
    ``progress`` is called with the number of units handled since the last call.
    """
    provinces = official_provinces()
    if province:
        provinces = [resolve_province(province, provinces)]
    communes = official_communes()

    existing = {
        row.code: row
        for row in session.execute(
            select(
                AdminUnit.id,
                AdminUnit.code,
                AdminUnit.name,
                AdminUnit.kind,
                AdminUnit.parent_id,
                AdminUnit.path,
                AdminUnit.codename,
                AdminUnit.level,
            )
        )
    }
    created = updated = unchanged = 0

    def sync(records: Iterable[UnitRecord], level: int, parent_ids: dict[str, int]) -> None:
        nonlocal created, updated, unchanged
        records = list(records)
        inserts, updates = [], []
        for r in records:
            parent_id = parent_ids.get(r.parent_code) if r.parent_code else None
            path = f"/{r.parent_code}/{r.code}/" if r.parent_code else f"/{r.code}/"
            wanted = {
                "code": r.code,
                "name": r.name,
                "kind": r.kind,
                "level": level,
                "parent_id": parent_id,
                "path": path,
                "codename": r.codename,
            }
            old = existing.get(r.code)
            if old is None:
                inserts.append({**wanted, "name_folded": fold(r.name)})
            elif any(getattr(old, k) != v for k, v in wanted.items()):
                updates.append({**wanted, "id": old.id, "name_folded": fold(r.name)})
            else:
                unchanged += 1
        if inserts:
            session.execute(insert(AdminUnit), inserts)
        if updates:
            session.execute(update(AdminUnit), updates)
        created += len(inserts)
        updated += len(updates)
        if progress:
            progress(len(records))

    sync(provinces, PROVINCE_LEVEL, {})
    codes = [p.code for p in provinces]
    parent_ids = dict(
        session.execute(select(AdminUnit.code, AdminUnit.id).where(AdminUnit.code.in_(codes))).all()
    )
    commune_count = 0
    for p in provinces:
        rows = communes.get(p.code, [])
        commune_count += len(rows)
        sync(rows, COMMUNE_LEVEL, parent_ids)

    result = ImportResult(len(provinces), commune_count, created, updated, unchanged)
    if created or updated:
        record(
            session,
            actor,
            "units.import",
            "admin_unit",
            provinces[0].code if province else "*",
            after={"created": created, "updated": updated, "unchanged": unchanged},
        )
    return result


def official_total(province: str | None = None) -> int:
    """How many units :func:`import_units` will go through (for progress bars)."""
    provinces = official_provinces()
    if province:
        provinces = [resolve_province(province, provinces)]
    communes = official_communes()
    return len(provinces) + sum(len(communes.get(p.code, [])) for p in provinces)


def _info(unit: AdminUnit, parent_code: str | None) -> UnitInfo:
    return UnitInfo(unit.id, unit.code, unit.name, unit.kind, unit.level, unit.path, parent_code)


def get_unit(session: Session, query: str, *, field: str | None = None) -> AdminUnit:
    """A stored unit by code, or by an unambiguous name (diacritics optional); an error
    is about the input ``field``."""
    query = nfc(query.strip())
    if not query:
        raise InvalidInput("Thiếu mã hoặc tên đơn vị hành chính.", field=field)
    if query.isdigit():
        for code in (query, query.zfill(2), query.zfill(5)):
            unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
            if unit is not None:
                return unit
    folded = fold(query)
    matches = session.scalars(
        select(AdminUnit).where(AdminUnit.name_folded == folded).order_by(AdminUnit.level)
    ).all()
    if not matches:
        for prefix in ("tinh ", "thanh pho "):
            matches = session.scalars(
                select(AdminUnit).where(AdminUnit.name_folded == prefix + folded)
            ).all()
            if matches:
                break
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(f"{u.code} ({u.name})" for u in matches[:5])
        raise InvalidInput(
            "Tên '{query}' trùng nhiều đơn vị: {options}. Hãy dùng mã.",
            field=field,
            query=query,
            options=options,
        )
    raise NotFound(
        "Không tìm thấy đơn vị hành chính '{query}'. "
        "Đã nạp danh mục chưa? (broadcaster units import)",
        field=field,
        query=query,
    )


def list_units(session: Session, parent: str | None = None) -> list[UnitInfo]:
    stmt = select(AdminUnit).order_by(AdminUnit.path)
    parent_code = None
    if parent:
        root = get_unit(session, parent, field="parent")
        parent_code = root.code
        stmt = stmt.where(AdminUnit.parent_id == root.id)
    else:
        stmt = stmt.where(AdminUnit.parent_id.is_(None))
    return [_info(u, parent_code) for u in session.scalars(stmt)]


def count_units(session: Session) -> dict[int, int]:
    """Number of stored units per level."""
    rows = session.execute(select(AdminUnit.level, func.count()).group_by(AdminUnit.level))
    return {level: n for level, n in rows}


# --- the unit tree picker ------------------------------------------------------------------

PICKER_LIMIT = 30  # search results
BRANCH_LIMIT = 200  # children of one unit: the largest province has about 170 communes


@dataclass(frozen=True)
class UnitHit:
    """One unit as the tree picker shows it."""

    code: str
    name: str
    kind: str
    level: int
    parent_code: str | None
    parent_name: str | None
    has_children: bool


def search_units(
    session: Session,
    scope_path: str | None,
    *,
    query: str = "",
    parent: AdminUnit | None = None,
    limit: int = PICKER_LIMIT,
) -> list[UnitHit]:
    """Units inside ``scope_path`` (None: the country) for the picker.

    With ``query``: units whose code starts with it or whose name holds it, diacritics
    optional ("thanh sen" finds "Phường Thành Sen"), provinces first. Without: the
    children of ``parent``, or the top of the scope (the scope's own unit, or every
    province for the country). The caller checks that ``parent`` is inside the scope.
    """
    parent_unit = aliased(AdminUnit)
    child = aliased(AdminUnit)
    has_children = select(child.id).where(child.parent_id == AdminUnit.id).exists()
    stmt = select(AdminUnit, parent_unit.code, parent_unit.name, has_children).outerjoin(
        parent_unit, parent_unit.id == AdminUnit.parent_id
    )
    if scope_path is not None:
        stmt = stmt.where(AdminUnit.path.startswith(scope_path, autoescape=True))
    folded = fold(query)
    code = query.strip()
    if folded or code:
        matches = [AdminUnit.code.startswith(code, autoescape=True)] if code else []
        if folded:
            # fold() keeps letters, digits and single spaces only: nothing LIKE treats specially
            matches.append(AdminUnit.name_folded.contains(folded))
        stmt = stmt.where(or_(*matches)).order_by(AdminUnit.level, AdminUnit.name_folded)
    elif parent is not None:
        stmt = stmt.where(AdminUnit.parent_id == parent.id).order_by(AdminUnit.name_folded)
    elif scope_path is not None:
        stmt = stmt.where(AdminUnit.path == scope_path)
    else:
        stmt = stmt.where(AdminUnit.parent_id.is_(None)).order_by(AdminUnit.name_folded)
    rows = session.execute(stmt.limit(limit))
    return [
        UnitHit(u.code, u.name, u.kind, u.level, pcode, pname, bool(kids))
        for u, pcode, pname, kids in rows
    ]


def find_unit(session: Session, code: str) -> AdminUnit | None:
    """The unit of exactly this code, or None."""
    return session.scalar(select(AdminUnit).where(AdminUnit.code == code))
