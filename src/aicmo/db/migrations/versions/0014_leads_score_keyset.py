"""Leads by (workspace, score, id): a campaign's start reads its audience best first in
keyset chunks, one score at a time and by id within it, straight from this index (no
sort of the whole audience per chunk, no audience held in memory).

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_workspace_score", "leads", ["workspace_id", "score", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_score", table_name="leads")
