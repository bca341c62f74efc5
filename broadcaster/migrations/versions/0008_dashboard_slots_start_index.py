"""slots: an index by planned start (then week) holding what a count of a few days reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The dashboard counts today and this week with the compliance report's statement,
whose slots are chosen by ``planned_start`` in a range OR (``planned_start`` IS
NULL AND ``week`` IN ...) for the unplaced ones. No index led with
``planned_start`` (only station_id, planned_start), so SQLite scanned all 2.6
million slots of a year for every scope: 13.7 s for the country's week, 3.7 s
for one commune (bench/pages.py's world). Led by planned_start then week, both
branches of the OR are index ranges, and with the station, campaign, status and
window end in it the slots table is not visited at all.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_slots_start_week"
COLUMNS = ["planned_start", "week", "station_id", "campaign_id", "status", "window_end"]


def upgrade() -> None:
    op.create_index(NAME, "slots", COLUMNS)


def downgrade() -> None:
    op.drop_index(NAME, table_name="slots")
