"""Who is acting, and the audit trail (nhật ký thao tác) of every change."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.models import AuditEvent, Role


@dataclass(frozen=True)
class Actor:
    """The person or process behind an action.

    A shell operator running the CLI without ``--user`` acts as the system
    (``user_id`` None): they already hold the database, so they may do what an
    admin may. Review actions (submit, approve, reject) always need a user.
    """

    label: str
    user_id: int | None = None
    role: Role | None = None
    scope_path: str | None = None  # None: the whole country
    # where the action came from: the client's address for the admin (behind trusted
    # proxies, the client's own, not the proxy's); None for the CLI and the scheduler
    address: str | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def covers(self, path: str | None) -> bool:
        """Does this actor's scope include a unit with this path (None: nation-wide)?"""
        if self.scope_path is None:
            return True
        return path is not None and path.startswith(self.scope_path)


def system_actor() -> Actor:
    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers and services
        who = "unknown"
    return Actor(label=f"cli:{who}")


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            actor=actor.label,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=before,
            after=after,
            note=note,
            address=actor.address,
        )
    )
