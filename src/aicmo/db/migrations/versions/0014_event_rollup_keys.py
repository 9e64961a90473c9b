"""Events carry the rollup row they count in (step, variant, mailbox), so the daily
rollups can be rebuilt from the events table alone and land in the same rows as the
incremental bumps did.

Existing events take the step, variant and mailbox of their attempt (``message_id``),
which is what the incremental path used for them. The three columns then join the
append-only trigger's immutable list.

Also ``maintenance_runs``: when the daily retention prune last ran (claimed by one worker).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IMMUTABLE = (
    "id, workspace_id, type, occurred_at, recorded_at, channel, source,"
    " lead_id, campaign_id, message_id, actor"
)
_KEYS = ("step_index", "variant", "mailbox_id")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _no_rewrite(columns: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS events_no_rewrite" + (" ON events" if _postgresql() else ""))
    if _postgresql():
        op.execute(
            f"CREATE TRIGGER events_no_rewrite BEFORE UPDATE OF {columns} ON events "
            "FOR EACH ROW EXECUTE FUNCTION aicmo_events_append_only()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER events_no_rewrite BEFORE UPDATE OF {columns} ON events "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (a batch rebuild would drop the triggers).
    op.add_column("events", sa.Column("step_index", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("variant", sa.String(40), nullable=True))
    op.add_column("events", sa.Column("mailbox_id", sa.Integer(), nullable=True))
    # The new columns are not in the trigger's list yet, so this update is allowed.
    op.execute(
        "UPDATE events SET"
        " step_index = (SELECT m.step_index FROM outreach_messages m"
        " WHERE m.id = events.message_id),"
        " variant = (SELECT m.variant FROM outreach_messages m"
        " WHERE m.id = events.message_id),"
        " mailbox_id = (SELECT m.mailbox_id FROM outreach_messages m"
        " WHERE m.id = events.message_id)"
        " WHERE message_id IS NOT NULL"
    )
    _no_rewrite(_IMMUTABLE + ", " + ", ".join(_KEYS))
    op.create_table(
        "maintenance_runs",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("last_run_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_maintenance_runs"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_runs")
    _no_rewrite(_IMMUTABLE)
    for name in reversed(_KEYS):
        # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35), keeping the triggers.
        op.execute(f"ALTER TABLE events DROP COLUMN {name}")
