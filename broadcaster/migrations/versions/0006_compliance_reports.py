"""compliance reports: stored, immutable, stamped with the airing chain heads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

# A stored report is evidence: like the airing log, the database refuses to change it.
_PG_GUARD = """
CREATE FUNCTION compliance_reports_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'compliance_reports is immutable: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER compliance_reports_no_update_delete BEFORE UPDATE OR DELETE
    ON compliance_reports FOR EACH ROW EXECUTE FUNCTION compliance_reports_immutable();
CREATE TRIGGER compliance_reports_no_truncate BEFORE TRUNCATE ON compliance_reports
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_reports_immutable();
"""
_SQLITE_GUARD = (
    "CREATE TRIGGER compliance_reports_no_update BEFORE UPDATE ON compliance_reports "
    "BEGIN SELECT RAISE(ABORT, 'compliance_reports is immutable: UPDATE refused'); END",
    "CREATE TRIGGER compliance_reports_no_delete BEFORE DELETE ON compliance_reports "
    "BEGIN SELECT RAISE(ABORT, 'compliance_reports is immutable: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "compliance_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_key", sa.String(length=32), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("cutoff_day", sa.SmallInteger(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("generated_at", TS, nullable=False),
        sa.Column("generated_by", sa.String(length=120), nullable=False),
        sa.Column("schedule_key", sa.String(length=80), nullable=True),
        sa.Column("stations", sa.Integer(), nullable=False),
        sa.Column("compliance_pct", sa.Double(), nullable=True),
        sa.Column("heads_sha256", sa.String(length=64), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_reports")),
        sa.UniqueConstraint("schedule_key", name=op.f("uq_compliance_reports_schedule_key")),
    )
    op.create_index(
        "ix_compliance_reports_scope", "compliance_reports", ["unit_code", "period_from"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("stored compliance reports are never dropped by a downgrade")
