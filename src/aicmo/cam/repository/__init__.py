"""Every statement on the campaign-management rows, one module per table group.

Services call these named functions (``from aicmo.cam import repository as repo``, then
``repo.get_lead(...)``); they build no queries of their own. Each docstring names the
index the statement uses, what it locks, and why it is written as it is where the
planner needs help (literals for partial indexes). ``aicmo.db.bulk`` stays the
many-row writer for the engine's hot path.
"""

from __future__ import annotations

from aicmo.cam.repository.campaigns import (
    delete_enrollments_of_lead,
    due_summary,
    enrollment_ids_of_lead,
    release_claims,
    sequence_config_by_name,
)
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
from aicmo.cam.repository.mailboxes import (
    mailbox_addresses,
    mailbox_by_ref,
    mailbox_id_by_name,
    pollable_mailbox_ids,
    workspace_mailboxes,
)
from aicmo.cam.repository.metrics import bump_metric, metric_totals
from aicmo.cam.repository.suppression import (
    count_suppressions,
    delete_suppressions,
    find_suppression_entry,
    suppression_hits,
    suppression_page,
)
from aicmo.cam.repository.workspace import configured_channels, get_workspace

__all__ = [
    "LEAD_IMPORT_COLUMNS",
    "add_event",
    "add_tags",
    "bump_metric",
    "configured_channels",
    "count_suppressions",
    "delete_enrollments_of_lead",
    "delete_suppressions",
    "dialect_insert",
    "due_summary",
    "engagement_for",
    "enrollment_ids_of_lead",
    "existing_notes",
    "find_lead",
    "find_suppression_entry",
    "get_lead",
    "get_workspace",
    "insert_leads",
    "lead_ids_by_keys",
    "lead_query",
    "leads_by_keys",
    "mailbox_addresses",
    "mailbox_by_ref",
    "mailbox_id_by_name",
    "metric_totals",
    "now_or",
    "pollable_mailbox_ids",
    "refresh_lead_stats",
    "release_claims",
    "rowcount",
    "sequence_config_by_name",
    "suppression_hits",
    "suppression_page",
    "tags_for",
    "workspace_mailboxes",
]
