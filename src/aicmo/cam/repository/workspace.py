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
