"""Every statement on the campaign-management rows, one module per table group.

Services call these named functions (``from aicmo.cam import repository as repo``, then
``repo.get_lead(...)``); they build no queries of their own. Each docstring names the
index the statement uses, what it locks, and why it is written as it is where the
planner needs help (literals for partial indexes). ``aicmo.db.bulk`` stays the
many-row writer for the engine's hot path.
"""

from __future__ import annotations

from aicmo.cam.repository.common import dialect_insert, now_or, rowcount
from aicmo.cam.repository.events import add_event, engagement_for
from aicmo.cam.repository.leads import (
    LEAD_IMPORT_COLUMNS,
    add_tags,
    existing_notes,
    find_lead,
    get_lead,
    insert_leads,
    lead_ids_by_keys,
    lead_query,
    leads_by_keys,
    refresh_lead_stats,
    tags_for,
)
from aicmo.cam.repository.metrics import bump_metric, metric_totals
from aicmo.cam.repository.suppression import suppression_hits
from aicmo.cam.repository.workspace import get_workspace

__all__ = [
    "LEAD_IMPORT_COLUMNS",
    "add_event",
    "add_tags",
    "bump_metric",
    "dialect_insert",
    "engagement_for",
    "existing_notes",
    "find_lead",
    "get_lead",
    "get_workspace",
    "insert_leads",
    "lead_ids_by_keys",
    "lead_query",
    "leads_by_keys",
    "metric_totals",
    "now_or",
    "refresh_lead_stats",
    "rowcount",
    "suppression_hits",
    "tags_for",
]
