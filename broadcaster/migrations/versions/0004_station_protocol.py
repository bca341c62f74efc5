"""station protocol: tokens, heartbeats, emergencies, the airing log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

# The airing log is append-only: the database itself refuses to change or remove a row.
_PG_GUARD = """
CREATE FUNCTION airings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'airings is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER airings_no_update_delete BEFORE UPDATE OR DELETE ON airings
    FOR EACH ROW EXECUTE FUNCTION airings_append_only();
CREATE TRIGGER airings_no_truncate BEFORE TRUNCATE ON airings
    FOR EACH STATEMENT EXECUTE FUNCTION airings_append_only();
"""
_SQLITE_GUARD = (
    "CREATE TRIGGER airings_no_update BEFORE UPDATE ON airings "
    "BEGIN SELECT RAISE(ABORT, 'airings is append-only: UPDATE refused'); END",
    "CREATE TRIGGER airings_no_delete BEFORE DELETE ON airings "
    "BEGIN SELECT RAISE(ABORT, 'airings is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    with op.batch_alter_table("audio_assets") as batch:
        batch.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch.create_index("ix_audio_assets_file_sha256", ["file_sha256"])

    op.create_table(
        "emergencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("script_version_id", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.SmallInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["script_version_id"],
            ["script_versions.id"],
            name=op.f("fk_emergencies_script_version_id_script_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_emergencies_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergencies")),
    )
    op.create_table(
        "emergency_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("emergency_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["emergency_id"],
            ["emergencies.id"],
            name=op.f("fk_emergency_targets_emergency_id_emergencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["admin_units.id"], name=op.f("fk_emergency_targets_unit_id_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_targets")),
        sa.UniqueConstraint(
            "emergency_id", "unit_id", name=op.f("uq_emergency_targets_emergency_id")
        ),
    )

    with op.batch_alter_table("slots") as batch:
        batch.alter_column("campaign_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("emergency_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("picked_up_at", TS, nullable=True))
        batch.create_foreign_key(
            "fk_slots_emergency_id_emergencies", "emergencies", ["emergency_id"], ["id"]
        )
        batch.create_index("ix_slots_emergency_id", ["emergency_id"])
        batch.create_index("ix_slots_audio_asset_id", ["audio_asset_id"])

    op.create_table(
        "station_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_station_tokens_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_station_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_station_tokens_station_id"), "station_tokens", ["station_id"])
    op.create_table(
        "station_status",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("free_disk_bytes", sa.BigInteger(), nullable=True),
        sa.Column("last_sync_at", TS, nullable=True),
        sa.Column("player_state", sa.String(length=32), nullable=True),
        sa.Column("clock_drift_s", sa.Double(), nullable=True),
        sa.Column("spool_pending", sa.Integer(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_station_status_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_status")),
    )
    op.create_table(
        "airings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("emergency_id", sa.Integer(), nullable=True),
        sa.Column("script_version_id", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "aired",
                "partial",
                "failed",
                "skipped",
                name="airing_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("audio_sha256", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=120), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_airings_station_id_stations")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_airings_slot_id_slots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_airings")),
        sa.UniqueConstraint("station_id", "seq", name=op.f("uq_airings_station_id")),
        sa.UniqueConstraint("report_id", name=op.f("uq_airings_report_id")),
    )
    op.create_index("ix_airings_station_started", "airings", ["station_id", "started_at"])
    op.create_index(op.f("ix_airings_slot_id"), "airings", ["slot_id"])
    op.create_index(op.f("ix_airings_campaign_id"), "airings", ["campaign_id"])
    op.create_table(
        "airing_chain_heads",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_airing_chain_heads_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_airing_chain_heads")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the airing log is never dropped by a downgrade")
