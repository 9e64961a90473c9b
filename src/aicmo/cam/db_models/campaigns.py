"""What the engine runs: sequences, campaigns, each lead's enrollment in a campaign, and
the operator tasks a step waits on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, partial_index, utcnow, workspace_fk
from aicmo.db.types import JSONType


class SequenceConfigDB(Base):
    """A named sequence; ``steps`` is a list of step definitions (see domain.sequences)."""

    __tablename__ = "sequence_configs"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_sequence_configs_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignDB(Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_campaigns_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", server_default="DRAFT")
    sequence_id: Mapped[int | None] = mapped_column(
        ForeignKey("sequence_configs.id", ondelete="RESTRICT")
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class EnrollmentDB(Base):
    """One lead in one campaign: where it stands in the sequence and when it is next due."""

    __tablename__ = "enrollments"
    __table_args__ = (
        # A lead is never in two enrollments of the same campaign.
        UniqueConstraint("campaign_id", "lead_id", name="uq_enrollments_campaign_lead"),
        # Due work: only ACTIVE rows are indexed, so the claim's cost follows the number
        # of due enrollments, not the finished ones piling up.
        partial_index("ix_enrollments_due", "next_run_at", where="state = 'ACTIVE'"),
        Index("ix_enrollments_lead", "workspace_id", "lead_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column()
    #: The A/B variants this lead was given, ``"<step>:<name>"`` pairs joined by ``,``
    #: (see aicmo.cam.domain.sequencing.assign_variants); None when no step has variants.
    variant: Mapped[str | None] = mapped_column(String(40))
    stop_reason: Mapped[str | None] = mapped_column(Text)
    last_message_id: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class OperatorTaskDB(Base):
    """Work a person does for the engine: a LinkedIn touch, a form a robot must not fill.

    The attempt it belongs to stays QUEUED until the task is done (then SENT) or skipped
    (then FAILED, and the sequence falls back); the enrollment waits in state TASK.
    """

    __tablename__ = "operator_tasks"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_operator_tasks_message"),
        partial_index("ix_operator_tasks_open", "workspace_id", "due_at", where="status = 'OPEN'"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    message_id: Mapped[int] = mapped_column(ForeignKey("outreach_messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    #: connect, message, view_profile, submit_form
    kind: Mapped[str] = mapped_column(String(20))
    #: OPEN, DONE, SKIPPED, CANCELLED
    status: Mapped[str] = mapped_column(String(20), default="OPEN")
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
