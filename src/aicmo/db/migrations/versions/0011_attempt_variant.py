"""Each attempt names the A/B variant of its step that it sent (None outside a test), so
the events and rollups it produces, and the replies matched to it, count for that arm.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a metadata-only change on both databases, whatever the size.
    op.add_column("outreach_messages", sa.Column("variant", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_messages") as batch:
        batch.drop_column("variant")
