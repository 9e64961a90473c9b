"""Every statement on the campaign-management rows, one module per table group.

Services call these named functions (``from aicmo.cam import repository as repo``, then
``repo.get_lead(...)``); they build no queries of their own. Each docstring names the
index the statement uses, what it locks, and why it is written as it is where the
planner needs help (literals for partial indexes). ``aicmo.db.bulk`` stays the
many-row writer for the engine's hot path.
"""

from __future__ import annotations

from aicmo.cam.repository.accounts import (
    all_workspaces,
    api_key_by_public_id,
    clear_login_failures,
    count_login_failure,
    count_users,
    delete_expired_sessions,
    delete_session,
    idempotent_answer,
    login_failures,
    membership,
    prune_idempotency_keys,
    prune_login_failures,
    session_by_digest,
    touch_api_key,
    user_by_email,
    user_workspaces,
    workspace_api_keys,
    workspace_by_slug,
    workspace_members,
)
from aicmo.cam.repository.attempts import (
    attempt_by_rfc_ids,
    blank_lead_attempts,
    count_unknown_attempts,
    latest_sent_email,
    lead_attempts,
    sent_emails_before,
    step_errors,
    unlink_attempts_from_lead_enrollments,
)
from aicmo.cam.repository.campaigns import (
    campaign_page,
    delete_enrollments_of_lead,
    due_summary,
    enrollment_ids_of_lead,
    release_claims,
    sequence_config_by_name,
)
from aicmo.cam.repository.common import dialect_insert, rowcount
from aicmo.cam.repository.events import (
    add_event,
    blank_personal_events,
    count_lead_events,
    engagement_for,
    event_page,
    first_event_type_since,
    lead_events,
)
from aicmo.cam.repository.inbound_messages import (
    blank_lead_inbound,
    inbound_seen,
    lead_inbound_messages,
)
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
from aicmo.cam.repository.tasks import (
    cancel_lead_tasks,
    count_overdue_tasks,
    open_task_summary,
    open_tasks,
    task_page,
    unlink_tasks_from_lead_enrollments,
)
from aicmo.cam.repository.workers import count_paused_linkedin_accounts, recent_workers
from aicmo.cam.repository.workspace import configured_channels, get_workspace

__all__ = [
    "LEAD_IMPORT_COLUMNS",
    "add_event",
    "add_tags",
    "all_workspaces",
    "api_key_by_public_id",
    "attempt_by_rfc_ids",
    "blank_lead_attempts",
    "blank_lead_inbound",
    "blank_personal_events",
    "bump_metric",
    "campaign_page",
    "cancel_lead_tasks",
    "clear_login_failures",
    "configured_channels",
    "count_lead_events",
    "count_login_failure",
    "count_overdue_tasks",
    "count_paused_linkedin_accounts",
    "count_suppressions",
    "count_unknown_attempts",
    "count_users",
    "delete_enrollments_of_lead",
    "delete_expired_sessions",
    "delete_session",
    "delete_suppressions",
    "dialect_insert",
    "due_summary",
    "engagement_for",
    "enrollment_ids_of_lead",
    "event_page",
    "existing_notes",
    "find_lead",
    "find_suppression_entry",
    "first_event_type_since",
    "get_lead",
    "get_workspace",
    "idempotent_answer",
    "inbound_seen",
    "insert_leads",
    "latest_sent_email",
    "lead_attempts",
    "lead_events",
    "lead_ids_by_keys",
    "lead_inbound_messages",
    "lead_query",
    "leads_by_keys",
    "login_failures",
    "mailbox_addresses",
    "mailbox_by_ref",
    "mailbox_id_by_name",
    "membership",
    "metric_totals",
    "open_task_summary",
    "open_tasks",
    "pollable_mailbox_ids",
    "prune_idempotency_keys",
    "prune_login_failures",
    "recent_workers",
    "refresh_lead_stats",
    "release_claims",
    "rowcount",
    "sent_emails_before",
    "sequence_config_by_name",
    "session_by_digest",
    "step_errors",
    "suppression_hits",
    "suppression_page",
    "tags_for",
    "task_page",
    "touch_api_key",
    "unlink_attempts_from_lead_enrollments",
    "unlink_tasks_from_lead_enrollments",
    "user_by_email",
    "user_workspaces",
    "workspace_api_keys",
    "workspace_by_slug",
    "workspace_mailboxes",
    "workspace_members",
]
