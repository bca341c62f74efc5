"""report documents: filings of stored reports up the unit tree, and each unit's remembered
document fields

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A stored report may carry the official document (number, signer, sections II and III)
inside its stamped body; nothing new is needed for that. ``report_filings`` records a
unit's stored report sent (nộp) to the unit above for a period: append-only like the
airing log, a later report of the same unit and period is filed as the next version.
``report_document_defaults`` remembers, per unit ("VN" for the country), the issuer,
symbol, place, signer and recipients of its last stored document.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

# A filing is a record of what was sent and when: the database refuses to change it.
_PG_GUARD = """
CREATE FUNCTION report_filings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report_filings is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER report_filings_no_update_delete BEFORE UPDATE OR DELETE ON report_filings
    FOR EACH ROW EXECUTE FUNCTION report_filings_append_only();
CREATE TRIGGER report_filings_no_truncate BEFORE TRUNCATE ON report_filings
    FOR EACH STATEMENT EXECUTE FUNCTION report_filings_append_only();
"""
_SQLITE_GUARD = (
    "CREATE TRIGGER report_filings_no_update BEFORE UPDATE ON report_filings "
    "BEGIN SELECT RAISE(ABORT, 'report_filings is append-only: UPDATE refused'); END",
    "CREATE TRIGGER report_filings_no_delete BEFORE DELETE ON report_filings "
    "BEGIN SELECT RAISE(ABORT, 'report_filings is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "report_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=16), nullable=True),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_key", sa.String(length=32), nullable=False),
        sa.Column("cutoff_day", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("filed_at", TS, nullable=False),
        sa.Column("filed_by", sa.String(length=120), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["compliance_reports.id"],
            name=op.f("fk_report_filings_report_id_compliance_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_filings")),
        sa.UniqueConstraint("report_id", name=op.f("uq_report_filings_report_id")),
        sa.UniqueConstraint(
            "unit_code",
            "period_kind",
            "period_key",
            "cutoff_day",
            "version",
            name=op.f("uq_report_filings_unit_code"),
        ),
    )
    op.create_index(
        "ix_report_filings_parent",
        "report_filings",
        ["parent_code", "period_kind", "period_key", "cutoff_day"],
    )
    op.create_table(
        "report_document_defaults",
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_report_document_defaults")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_GUARD:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("report filings are never dropped by a downgrade")
