"""SQLAlchemy 2 rows. ``…DB`` names are ORM rows only; services never return them.

Every owned row carries ``workspace_id`` so an agency can run clients apart in one
installation. Each invariant that the database can hold is a constraint here, named
after it. The events table is append-only (triggers in the migration refuse deletes and
rewrites; only personal fields may be blanked, for erasure).

One module per table group (``base``, ``accounts``, ``leads``, ``campaigns``,
``channels``, ``messages``, ``webhooks``, ``analytics``, ``ops``); this package is the
one place callers import rows from, and importing it registers every table on
``Base.metadata`` (what Alembic compares the migrations with).
"""

from __future__ import annotations

from aicmo.cam.db_models.accounts import (
    ApiKeyDB,
    LoginFailureDB,
    MembershipDB,
    UserDB,
    UserSessionDB,
    WorkspaceDB,
)
from aicmo.cam.db_models.analytics import METRIC_COLUMNS, CostRateDB, MetricsDailyDB
from aicmo.cam.db_models.base import DEFAULT_WORKSPACE_ID, Base
from aicmo.cam.db_models.campaigns import CampaignDB, EnrollmentDB, OperatorTaskDB, SequenceConfigDB
from aicmo.cam.db_models.channels import ChannelConfigDB, LinkedInAccountDB, MailboxDB
from aicmo.cam.db_models.leads import LeadDB, LeadNoteDB, LeadTagDB, SuppressionDB
from aicmo.cam.db_models.messages import EventDB, InboundMessageDB, OutreachMessageDB, ReplyDB
from aicmo.cam.db_models.ops import IdempotencyKeyDB, MaintenanceRunDB, WorkerDB
from aicmo.cam.db_models.webhooks import (
    WebhookAttemptDB,
    WebhookDeliveryDB,
    WebhookEndpointDB,
    WebhookSubscriptionDB,
)

__all__ = [
    "DEFAULT_WORKSPACE_ID",
    "METRIC_COLUMNS",
    "ApiKeyDB",
    "Base",
    "CampaignDB",
    "ChannelConfigDB",
    "CostRateDB",
    "EnrollmentDB",
    "EventDB",
    "IdempotencyKeyDB",
    "InboundMessageDB",
    "LeadDB",
    "LeadNoteDB",
    "LeadTagDB",
    "LinkedInAccountDB",
    "LoginFailureDB",
    "MailboxDB",
    "MaintenanceRunDB",
    "MembershipDB",
    "MetricsDailyDB",
    "OperatorTaskDB",
    "OutreachMessageDB",
    "ReplyDB",
    "SequenceConfigDB",
    "SuppressionDB",
    "UserDB",
    "UserSessionDB",
    "WebhookAttemptDB",
    "WebhookDeliveryDB",
    "WebhookEndpointDB",
    "WebhookSubscriptionDB",
    "WorkerDB",
    "WorkspaceDB",
]
