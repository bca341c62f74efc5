"""recordings and relays: a script version may carry a recording; relay sources and campaigns

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

A commune station's day holds more than synthesised announcements: readings recorded by a
person, programmes sent from the province, and relays (tiếp âm) of VOV1 and the
provincial radio at fixed hours. A script version now may carry a recording
(``recording_*``); ``relay_sources`` holds the streams an admin configured; a campaign of
kind ``relay`` airs one of them at a fixed time and length; a relay's slot and airing
carry no script version but the source, and the airing the seconds actually relayed and
which source was used.

On SQLite, making ``airings.script_version_id`` nullable rebuilds the table, so the
append-only guard of 0004 is lifted for the rebuild and put back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
_SQLITE_GUARD = (
    "CREATE TRIGGER airings_no_update BEFORE UPDATE ON airings "
    "BEGIN SELECT RAISE(ABORT, 'airings is append-only: UPDATE refused'); END",
    "CREATE TRIGGER airings_no_delete BEFORE DELETE ON airings "
    "BEGIN SELECT RAISE(ABORT, 'airings is append-only: DELETE refused'); END",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("script_versions") as batch:
        batch.add_column(sa.Column("recording_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("recording_path", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("recording_info", sa.JSON(), nullable=True))
        batch.create_index(
            "ix_script_versions_recording_sha256", ["recording_sha256"], unique=False
        )

    op.create_table(
        "relay_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("backup_url", sa.String(length=1000), nullable=True),
        sa.Column("backup_script_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("checked_at", TS, nullable=True),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("check_detail", sa.String(length=300), nullable=True),
        sa.Column("failing_since", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["backup_script_id"],
            ["scripts.id"],
            name=op.f("fk_relay_sources_backup_script_id_scripts"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["admin_units.id"], name=op.f("fk_relay_sources_unit_id_admin_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_relay_sources_name")),
    )
    with op.batch_alter_table("relay_sources") as batch:
        batch.create_index("ix_relay_sources_unit_id", ["unit_id"], unique=False)

    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "announcement",
                    "relay",
                    name="campaign_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                nullable=False,
                server_default="announcement",
            )
        )
        batch.add_column(sa.Column("relay_source_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("relay_start", sa.Time(), nullable=True))
        batch.add_column(sa.Column("relay_minutes", sa.SmallInteger(), nullable=True))
        batch.create_foreign_key(
            "fk_campaigns_relay_source_id_relay_sources",
            "relay_sources",
            ["relay_source_id"],
            ["id"],
        )
        batch.create_index("ix_campaigns_relay_source_id", ["relay_source_id"], unique=False)

    with op.batch_alter_table("slots") as batch:
        batch.alter_column("script_version_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("relay_source_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_slots_relay_source_id_relay_sources", "relay_sources", ["relay_source_id"], ["id"]
        )

    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS airings_no_update")
        op.execute("DROP TRIGGER IF EXISTS airings_no_delete")
    with op.batch_alter_table("airings") as batch:
        batch.alter_column("script_version_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("relay_source_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("relayed_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("relay_used", sa.String(length=8), nullable=True))
    if _sqlite():
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def downgrade() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS airings_no_update")
        op.execute("DROP TRIGGER IF EXISTS airings_no_delete")
    with op.batch_alter_table("airings") as batch:
        batch.drop_column("relay_used")
        batch.drop_column("relayed_s")
        batch.drop_column("relay_source_id")
    if _sqlite():
        for statement in _SQLITE_GUARD:
            op.execute(statement)
    with op.batch_alter_table("slots") as batch:
        batch.drop_constraint("fk_slots_relay_source_id_relay_sources", type_="foreignkey")
        batch.drop_column("relay_source_id")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_index("ix_campaigns_relay_source_id")
        batch.drop_constraint("fk_campaigns_relay_source_id_relay_sources", type_="foreignkey")
        batch.drop_column("relay_minutes")
        batch.drop_column("relay_start")
        batch.drop_column("relay_source_id")
        batch.drop_column("kind")
    with op.batch_alter_table("relay_sources") as batch:
        batch.drop_index("ix_relay_sources_unit_id")
    op.drop_table("relay_sources")
    with op.batch_alter_table("script_versions") as batch:
        batch.drop_index("ix_script_versions_recording_sha256")
        batch.drop_column("recording_info")
        batch.drop_column("recording_path")
        batch.drop_column("recording_sha256")
