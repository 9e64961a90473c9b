"""The rate windows' indexes carry the attempt's status, so counting a window reads the
index alone (no table row per attempt counted).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_outreach_messages_mailbox_created": ["mailbox_id", "created_at"],
    "ix_outreach_messages_channel": ["workspace_id", "channel", "created_at"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="outreach_messages")
        op.create_index(name, "outreach_messages", [*columns, "status"], unique=False)


def downgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="outreach_messages")
        op.create_index(name, "outreach_messages", columns, unique=False)
