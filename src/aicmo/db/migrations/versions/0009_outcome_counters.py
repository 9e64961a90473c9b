"""The daily rollups count outcomes too: positive replies, meetings, tasks done, forms
submitted (Phase C's rates come from these rows, never from a scan of the events).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("positive_replied", "meetings", "tasks_done", "forms_submitted")


def upgrade() -> None:
    with op.batch_alter_table("metrics_daily") as batch:
        for name in _COUNTERS:
            batch.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )


def downgrade() -> None:
    with op.batch_alter_table("metrics_daily") as batch:
        for name in reversed(_COUNTERS):
            batch.drop_column(name)
