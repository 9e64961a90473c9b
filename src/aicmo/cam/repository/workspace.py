"""Workspaces and their per-channel settings (workspaces, channel_configs)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aicmo.cam.db_models import WorkspaceDB


def get_workspace(db: Session, workspace_id: int) -> WorkspaceDB | None:
    """One workspace (primary key; the session's identity map first)."""
    return db.get(WorkspaceDB, workspace_id)
