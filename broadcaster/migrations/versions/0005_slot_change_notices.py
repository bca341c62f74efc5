"""slot change notices (PostgreSQL): NOTIFY broadcaster_slots with each changed station

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

Server processes LISTEN and drop their cached playlists of exactly those stations,
so a pull needs no query at all while nothing changes. Statement-level triggers
with transition tables: a plan writing 200,000 slots sends one notice per station,
not one per row (PostgreSQL also folds identical notices of one transaction).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "broadcaster_slots"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite servers check a fingerprint at each pull instead
    op.execute(
        f"""
CREATE FUNCTION slots_notify_stations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', station_id::text)
    FROM (SELECT DISTINCT station_id FROM changed) AS stations;
    RETURN NULL;
END;
$$;
CREATE TRIGGER slots_notify_insert AFTER INSERT ON slots
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION slots_notify_stations();
CREATE TRIGGER slots_notify_update AFTER UPDATE ON slots
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION slots_notify_stations();
CREATE TRIGGER slots_notify_delete AFTER DELETE ON slots
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION slots_notify_stations();
"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS slots_notify_{event} ON slots")
    op.execute("DROP FUNCTION IF EXISTS slots_notify_stations()")
