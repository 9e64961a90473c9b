"""Workspaces and their per-channel settings (workspaces, channel_configs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import ChannelConfigDB, WorkspaceDB


def get_workspace(db: Session, workspace_id: int) -> WorkspaceDB | None:
    """One workspace (primary key; the session's identity map first)."""
    return db.get(WorkspaceDB, workspace_id)


def configured_channels(db: Session, workspace_id: int) -> set[str]:
    """Channels that have a config row (uq_channel_configs_channel, index-only)."""
    return set(
        db.scalars(
            select(ChannelConfigDB.channel).where(ChannelConfigDB.workspace_id == workspace_id)
        )
    )


def lock_workspace(db: Session, workspace_id: int) -> None:
    """Hold the workspace's row (primary key, FOR UPDATE on PostgreSQL) until the
    transaction ends: the weekly digest's claim is taken under it, so two workers never
    both find the slot free. SQLite needs no row lock (the caller holds the write lock)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(WorkspaceDB.id).where(WorkspaceDB.id == workspace_id).with_for_update())
