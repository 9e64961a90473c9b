"""The API's request and response bodies: what the OpenAPI schema promises.

Responses mirror the service layer's dicts field for field (``tests/unit`` holds them
against the lead schema in ``aicmo.cam.domain.lead_fields``, so a new lead field cannot be
forgotten here). Request bodies forbid unknown keys: a misspelt field is a 422 that names
it, not a silent no-op.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Opaque; absent on the last page. Pages never skip or repeat a row."
    )


class Me(BaseModel):
    workspace_id: int
    workspace: str
    role: Literal["viewer", "operator", "admin"]
    key_id: int | None = None
    user_id: int | None = None


class Note(BaseModel):
    id: int
    body: str
    author: str | None
    created_at: datetime


class Lead(BaseModel):
    id: int
    workspace_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    title: str | None
    seniority: str | None
    industry: str | None
    company_size: int | None
    linkedin_url: str | None
    linkedin_id: str | None
    website: str | None
    form_url: str | None
    phone: str | None
    country: str | None
    timezone: str | None
    stage: str
    grade: str | None
    score: int | None
    grade_reasons: list[str]
    graded_at: datetime | None
    tags: list[str]
    owner: str | None
    source: str | None
    custom_fields: dict[str, Any]
    deal_value: Decimal | None
    created_at: datetime
    updated_at: datetime
    notes: list[Note] | None = None


class LeadFields(_In):
    """Fields a person may set; each is checked as on import (a bad one is named)."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    seniority: str | None = None
    industry: str | None = None
    company_size: int | str | None = None
    linkedin_url: str | None = None
    linkedin_id: str | None = None
    website: str | None = None
    form_url: str | None = None
    phone: str | None = None
    country: str | None = None
    timezone: str | None = None
    stage: str | None = None
    owner: str | None = None
    source: str | None = None
    custom_fields: dict[str, str | int | float | bool | None] | None = None
    deal_value: Decimal | str | None = None


class LeadCreate(LeadFields):
    tags: list[str] = Field(default_factory=list, max_length=100)


class NoteIn(_In):
    body: str = Field(min_length=1, max_length=10_000)


class TagsIn(_In):
    tags: list[str] = Field(min_length=1, max_length=100)


class Attempt(BaseModel):
    """One attempt to reach a lead on one channel: the audit trail's unit."""

    id: int
    lead_id: int | None
    campaign_id: int | None
    step_index: int | None
    variant: str | None = Field(description="The A/B variant of its step (None: no test)")
    channel: str
    message_type: str | None
    status: str
    recipient: str | None
    subject: str | None
    body: str | None
    transport: str | None
    provider_message_id: str | None
    error: str | None
    retry_count: int
    idempotency_key: str
    scheduled_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    replied_at: datetime | None
    bounced_at: datetime | None
    target_domain: str | None
    details: dict[str, Any] | None
    created_at: datetime


class Campaign(BaseModel):
    id: int
    name: str
    description: str | None
    status: str
    sequence_id: int | None
    settings: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CampaignStatus(Campaign):
    enrollments: dict[str, int]
    by_step: dict[int, int]


class LeadProblem(BaseModel):
    lead_id: int
    email: str | None
    problem: str


class CampaignStarted(Campaign):
    enrolled: int
    lead_problems: list[LeadProblem]


class CampaignCheck(BaseModel):
    ok: bool
    errors: list[str]
    lead_problems: list[LeadProblem]
    leads: int


class CampaignIn(_In):
    """The same document as a campaign YAML file (``aicmo campaign create``)."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    steps: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    sequence: str | None = None
    audience: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class Suppression(BaseModel):
    id: int
    kind: str
    value: str
    reason: str
    source: str | None
    note: str | None
    created_at: datetime


class SuppressionCreated(Suppression):
    created: bool


class SuppressionIn(_In):
    value: str = Field(min_length=1, max_length=400)
    kind: str | None = None
    reason: str = "MANUAL"
    note: str | None = Field(default=None, max_length=2000)


class Task(BaseModel):
    id: int
    lead_id: int | None
    campaign_id: int | None
    enrollment_id: int | None
    message_id: int | None
    channel: str
    kind: str
    status: str
    title: str
    body: str | None
    url: str | None
    reason: str | None
    due_at: datetime
    overdue: bool
    completed_at: datetime | None
    note: str | None
    created_at: datetime


class TaskDoneIn(_In):
    note: str | None = Field(default=None, max_length=2000)


class TaskSkipIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class ChannelFigures(BaseModel):
    attempted: int
    sent: int
    failed: int
    unknown: int
    delivered: int
    opened: int
    clicked: int
    replied: int
    auto_replied: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    complained: int
    unsubscribed: int
    delivery_rate: float
    reply_rate: float
    bounce_rate: float
    hard_bounce_rate: float
    complaint_rate: float
    unsubscribe_rate: float
    click_rate: float
    days: int


class ApiKey(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The whole key. Shown this once; only a digest is kept.")


class ApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["viewer", "operator", "admin"] = "operator"


class Member(BaseModel):
    id: int
    email: str
    name: str | None
    role: str
    created_at: datetime
    disabled: bool


class Event(BaseModel):
    """One fact on the audit trail (append-only)."""

    id: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    channel: str | None
    source: str
    lead_id: int | None
    campaign_id: int | None
    message_id: int | None
    actor: str | None
    recipient: str | None
    reason: str | None
    detail: dict[str, Any]


class RowProblem(BaseModel):
    line: int = Field(description="Physical line in the file (the header is line 1)")
    message: str


class ImportResult(BaseModel):
    """The same row report as `aicmo leads import`: every refused row by line."""

    filename: str
    encoding: str
    delimiter: str
    mapping: list[tuple[str, str]]
    rows: int
    created: int
    updated: int
    unchanged: int
    merged_in_file: int
    blank: int
    rejected: int
    warnings: int
    rejected_rows: list[RowProblem] = Field(description="The first 1000 refused rows")
    warning_rows: list[RowProblem]


class ChannelConfig(BaseModel):
    channel: str
    enabled: bool
    rate_limit_per_hour: int
    rate_limit_per_day: int
    per_lead_limit: int
    per_lead_period_hours: int
    min_gap_hours: int
    max_retries: int
    backoff_hours: list[float]
    settings: dict[str, Any]
    updated_at: datetime | None


class ChannelConfigPatch(_In):
    enabled: bool | None = None
    rate_limit_per_hour: int | None = Field(default=None, ge=0)
    rate_limit_per_day: int | None = Field(default=None, ge=0)
    per_lead_limit: int | None = Field(default=None, ge=0)
    per_lead_period_hours: int | None = Field(default=None, ge=0)
    min_gap_hours: int | None = Field(default=None, ge=0)
    max_retries: int | None = Field(default=None, ge=0)
    backoff_hours: list[float] | None = None


class MailboxServer(BaseModel):
    host: str
    port: int | None
    security: str
    username: str | None
    auth: str | None
    secret: Literal["set", "not set"] = Field(description="Secrets are never returned")
    folder: str | None = None
    last_uid: int | None = None
    polled_at: datetime | None = None


class Mailbox(BaseModel):
    id: int
    name: str
    enabled: bool
    from_name: str | None
    from_address: str
    reply_to: str | None
    daily_cap: int
    hourly_cap: int
    min_gap_seconds: int
    smtp: MailboxServer | None
    imap: MailboxServer | None
    dkim: str | None
    created_at: datetime


class MailboxIn(_In):
    """A sender mailbox; passwords and keys are write-only (stored encrypted)."""

    name: str = Field(min_length=1, max_length=100)
    from_address: str
    from_name: str | None = Field(default=None, max_length=200)
    reply_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, max_length=4096)
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_username: str | None = None
    imap_password: str | None = Field(default=None, max_length=4096)
    imap_folder: str = "INBOX"
    daily_cap: int = Field(default=50, ge=0)
    hourly_cap: int = Field(default=20, ge=0)
    min_gap_seconds: int = Field(default=0, ge=0)
    allow_plaintext: bool = Field(
        default=False,
        description="Allow a password over security 'none' to a host other than this one",
    )


class Enrollment(BaseModel):
    """One lead's run through a campaign: where it stands and, once stopped, why."""

    id: int
    campaign_id: int
    lead_id: int
    state: Literal["ACTIVE", "WAITING", "PAUSED", "COMPLETED", "STOPPED", "FAILED"]
    step_index: int
    channel_index: int
    retries: int
    next_run_at: datetime | None
    variant: str | None
    stop_reason: str | None
    last_message_id: int | None
    created_at: datetime


class LinkedInAccount(BaseModel):
    """A LinkedIn provider account; its API key is never returned."""

    id: int
    name: str
    provider: str
    base_url: str
    account_ref: str
    enabled: bool
    status: str
    status_reason: str | None
    invites_per_day: int
    invites_per_week: int
    messages_per_day: int
    polled_until: datetime | None


class LinkedInAccountIn(_In):
    name: str = Field(min_length=1, max_length=100)
    base_url: str = Field(description="The provider's https URL (your Unipile DSN)")
    account_ref: str = Field(min_length=1, max_length=200)
    api_key: str = Field(min_length=1, max_length=4096, description="Write-only")
    invites_per_day: int = Field(default=15, ge=0, le=1000)
    invites_per_week: int = Field(default=80, ge=0, le=1000)
    messages_per_day: int = Field(default=50, ge=0, le=1000)
