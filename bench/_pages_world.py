"""What bench/pages.py adds to bench/_report_world.py's year: people to sign in as,
and a little of what the admin lists show (draft scripts and their audit trail).

Idempotent: a world that has them already is left as it is, so the cached world
stays reusable by bench/report.py too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from broadcaster.db import make_sessionmaker, transaction
from broadcaster.library import ScriptText
from broadcaster.models import AdminUnit, AuditEvent, Campaign, Script, Slot, Station, User
from broadcaster.services import scripts, users
from broadcaster.services.audit import system_actor

PASSWORD = "bench-pages-password"
PROVINCE = "42"  # Hà Tĩnh, as in bench/report.py
DRAFTS = 40
AUDIT_EVENTS = 100_000  # a year of a national admin's trail, spread evenly
_ACTIONS = (
    ("script.save", "script"),
    ("script.approve", "script"),
    ("campaign.edit", "campaign"),
    ("airing.confirm", "station"),
    ("station.windows", "station"),
)


@dataclass(frozen=True)
class Cast:
    """Who signs in, and what the detail pages are about."""

    users: dict[str, str]  # role key -> username
    province: str  # the provincial users' scope
    commune: str  # the operator's commune (has a station with slots)
    station: str  # that station's code
    script_slug: str
    campaign_id: int
    audit_events: int


def _commune_with_slots(session) -> tuple[str, str]:
    """A commune of the province whose station has slots (any, in a --stations world)."""
    row = session.execute(
        select(AdminUnit.code, Station.code)
        .join(Station, Station.unit_id == AdminUnit.id)
        .where(
            AdminUnit.path.startswith(f"/{PROVINCE}/"),
            select(Slot.id).where(Slot.station_id == Station.id).exists(),
        )
        .order_by(Station.code)
        .limit(1)
    ).first()
    if row is None:  # a tiny world with no station in the province
        row = session.execute(
            select(AdminUnit.code, Station.code)
            .join(Station, Station.unit_id == AdminUnit.id)
            .where(select(Slot.id).where(Slot.station_id == Station.id).exists())
            .order_by(Station.code)
            .limit(1)
        ).one()
    return row[0], row[1]


def prepare(engine: Engine, log=print) -> Cast:
    factory = make_sessionmaker(engine)
    actor = system_actor()
    with factory() as s:
        commune, station = _commune_with_slots(s)
    province = PROVINCE
    with factory() as s:
        path = s.scalar(select(AdminUnit.path).where(AdminUnit.code == commune))
    if not path.startswith(f"/{PROVINCE}/"):
        province = path.strip("/").split("/")[0]
    wanted = {
        "admin": ("bench-admin", "admin", None),
        "auditor": ("bench-auditor", "auditor", province),
        "approver": ("bench-approver", "approver", province),
        "editor": ("bench-editor", "editor", province),
        "operator": ("bench-operator", "operator", commune),
    }
    with transaction(factory) as s:
        have = set(s.scalars(select(User.username).where(User.username.like("bench-%"))))
        for name, role, scope in wanted.values():
            if name not in have:
                users.add_user(s, actor, name, role, PASSWORD, scope=scope, full_name=name)
    with factory() as s:
        editor = users.authenticate(s, "bench-editor", PASSWORD)
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == province))
        drafts = s.scalar(select(func.count()).where(Script.slug.like("bench-ban-thao-%")))
    if drafts < DRAFTS:
        log(f"  adding {DRAFTS - drafts} draft scripts (and their audit events)")
        with transaction(factory) as s:
            for n in range(drafts, DRAFTS):
                body = f"Kính thưa bà con! Thông báo số {n + 1} của Ủy ban nhân dân tỉnh."
                text = ScriptText(f"bench-ban-thao-{n + 1}", f"Thông báo số {n + 1}", body)
                scripts.save_text(s, editor, text, unit)
    _audit_trail(factory, log)
    with factory() as s:
        slug = s.scalar(select(Script.slug).order_by(Script.id).limit(1))
        campaign_id = s.scalar(select(Campaign.id).order_by(Campaign.id).limit(1))
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    return Cast(
        users={key: value[0] for key, value in wanted.items()},
        province=province,
        commune=commune,
        station=station,
        script_slug=slug,
        campaign_id=campaign_id,
        audit_events=events,
    )


def _audit_trail(factory, log) -> None:
    """Pad the audit log to AUDIT_EVENTS rows over the world's year (written in bulk:
    what the pages read, not how the rows came)."""
    with factory() as s:
        have = s.scalar(select(func.count()).select_from(AuditEvent))
        codes = s.scalars(select(Station.code).order_by(Station.code)).all()
        actors = dict(s.execute(select(User.username, User.id)).all())
    missing = AUDIT_EVENTS - have
    if missing <= 0:
        return
    log(f"  adding {missing:,} audit events over the year")
    start = datetime(2025, 12, 15, tzinfo=UTC)
    step = timedelta(days=365) / missing
    names = [n for n in ("soan", "duyet", "vanhanh") if n in actors] or list(actors)
    rows = []
    for n in range(missing):
        action, kind = _ACTIONS[n % len(_ACTIONS)]
        who = names[n % len(names)]
        entity = codes[n % len(codes)] if kind == "station" else str(n % 50 + 1)
        rows.append(
            {
                "at": start + step * n,
                "actor_id": actors.get(who),
                "actor": who,
                "action": action,
                "entity_type": kind,
                "entity_id": entity,
                "before": None,
                "after": {"bench": n},
                "note": None,
            }
        )
    with transaction(factory) as s:
        for i in range(0, len(rows), 10_000):
            s.execute(insert(AuditEvent), rows[i : i + 10_000])
