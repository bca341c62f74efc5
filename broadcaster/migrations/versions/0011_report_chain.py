"""report chain: stored reports chained at insert, the head signed outside the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

A stored report's digest alone could be recomputed by whoever rewrote its body.
Now each report takes the next place in one chain (``chain_seq``, ``prev_sha256``,
``chain_sha256``) and ``report_chain_head`` holds the chain's head signed with a
key derived from the instance secret (broadcaster/reports/seal.py). Reports
stored before this revision are chained here, in the order they were stored,
and the head is signed with the secret the application hands over (or, from the
``alembic`` command line, the configured one).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0006's guards: lifted while the earlier reports get their place, then put back
_SQLITE_GUARD = (
    "CREATE TRIGGER compliance_reports_no_update BEFORE UPDATE ON compliance_reports "
    "BEGIN SELECT RAISE(ABORT, 'compliance_reports is immutable: UPDATE refused'); END",
    "CREATE TRIGGER compliance_reports_no_delete BEFORE DELETE ON compliance_reports "
    "BEGIN SELECT RAISE(ABORT, 'compliance_reports is immutable: DELETE refused'); END",
)


def _chain_earlier_reports(bind) -> None:
    from broadcaster.db import utcnow
    from broadcaster.reports.seal import GENESIS, SealKey, link

    rows = bind.execute(sa.text("SELECT id, body_sha256 FROM compliance_reports ORDER BY id")).all()
    if not rows:
        return
    secret = context.config.attributes.get("secret_key")
    if secret is None:
        from broadcaster.config import load_settings

        secret = load_settings().secret_key
    key = SealKey.from_secret(secret)
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute(
            "ALTER TABLE compliance_reports DISABLE TRIGGER compliance_reports_no_update_delete"
        )
    else:
        op.execute("DROP TRIGGER compliance_reports_no_update")
        op.execute("DROP TRIGGER compliance_reports_no_delete")
    prev = GENESIS
    for seq, (report_id, body_sha256) in enumerate(rows, start=1):
        chain = link(seq, prev, body_sha256)
        bind.execute(
            sa.text(
                "UPDATE compliance_reports SET chain_seq = :seq, prev_sha256 = :prev, "
                "chain_sha256 = :chain WHERE id = :id"
            ),
            {"seq": seq, "prev": prev, "chain": chain, "id": report_id},
        )
        prev = chain
    if postgres:
        op.execute(
            "ALTER TABLE compliance_reports ENABLE TRIGGER compliance_reports_no_update_delete"
        )
    else:
        for statement in _SQLITE_GUARD:
            op.execute(statement)
    now = utcnow() if postgres else utcnow().replace(tzinfo=None)
    bind.execute(
        sa.text(
            "INSERT INTO report_chain_head (id, seq, chain_sha256, key_id, signature, updated_at) "
            "VALUES (1, :seq, :chain, :key_id, :signature, :now)"
        ),
        {
            "seq": len(rows),
            "chain": prev,
            "key_id": key.id,
            "signature": key.sign(len(rows), prev),
            "now": now,
        },
    )


def upgrade() -> None:
    op.add_column("compliance_reports", sa.Column("chain_seq", sa.Integer(), nullable=True))
    op.add_column(
        "compliance_reports", sa.Column("prev_sha256", sa.String(length=64), nullable=True)
    )
    op.add_column(
        "compliance_reports", sa.Column("chain_sha256", sa.String(length=64), nullable=True)
    )
    op.create_index(
        "uq_compliance_reports_chain_seq", "compliance_reports", ["chain_seq"], unique=True
    )
    op.create_table(
        "report_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("chain_sha256", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_chain_head")),
    )
    _chain_earlier_reports(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the stored reports' chain is never dropped by a downgrade")
