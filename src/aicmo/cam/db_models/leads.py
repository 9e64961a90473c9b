"""The people outreach is about: leads with their tags and notes, and the suppression
list of whom never to contact.

The listing and search indexes follow ``LeadDB``: they are expressions of its columns.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.db.expressions import byte_order, desc_nulls_last
from aicmo.db.types import JSONType


class LeadDB(Base):
    """A person in the mini-CRM."""

    __tablename__ = "leads"
    __table_args__ = (
        # Dedupe: one lead per normalised email / LinkedIn profile per workspace.
        UniqueConstraint("workspace_id", "email_key", name="uq_leads_workspace_email"),
        UniqueConstraint("workspace_id", "linkedin_key", name="uq_leads_workspace_linkedin"),
        # The listing indexes (grade, stage, score, search) follow the class: they are
        # expressions of its columns.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    email: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    seniority: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(200))
    company_size: Mapped[int | None] = mapped_column(Integer)
    linkedin_url: Mapped[str | None] = mapped_column(String(1000))
    linkedin_key: Mapped[str | None] = mapped_column(String(400))
    linkedin_id: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2000))
    form_url: Mapped[str | None] = mapped_column(String(2000))
    phone: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20), default="NEW", server_default="NEW")
    owner: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deal_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    grade: Mapped[str | None] = mapped_column(String(1))
    score: Mapped[int | None] = mapped_column(Integer)
    grade_reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    graded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list[LeadTagDB]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadTagDB.tag_key"
    )
    note_rows: Mapped[list[LeadNoteDB]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadNoteDB.id"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


def _best_first(*columns: Any) -> list[Any]:
    """Index columns that end in the listing's order: best score first, then by id."""
    return [LeadDB.workspace_id, *columns, desc_nulls_last(LeadDB.score), LeadDB.id]


# Listing: every filter the API and `aicmo leads list` offer reads leads in the order it
# returns them, and stops after a page (no sort of the workspace's leads).
Index("ix_leads_workspace_grade", *_best_first(LeadDB.grade))
Index("ix_leads_workspace_stage", *_best_first(LeadDB.stage))
Index("ix_leads_workspace_score", *_best_first())
# Search: a case-insensitive prefix of email, first name, last name or company, each a
# range of its index (repository.leads.search_condition).
for _name in ("email", "first_name", "last_name", "company"):
    Index(
        f"ix_leads_search_{_name}",
        LeadDB.workspace_id,
        byte_order(func.lower(getattr(LeadDB, _name))),
    )


class LeadTagDB(Base):
    """A tag on a lead; a table (not a JSON list) so enrolment by tag uses an index."""

    __tablename__ = "lead_tags"
    # With lead_id, the leads carrying a tag are read from the index alone.
    __table_args__ = (Index("ix_lead_tags_workspace_tag", "workspace_id", "tag_key", "lead_id"),)

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    tag_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100))
    workspace_id: Mapped[int] = workspace_fk()

    lead: Mapped[LeadDB] = relationship(back_populates="tag_rows")


class LeadNoteDB(Base):
    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lead: Mapped[LeadDB] = relationship(back_populates="note_rows")


class SuppressionDB(Base):
    """Never contact: an address, a whole domain, a LinkedIn profile, or an erased hash."""

    __tablename__ = "suppressions"
    __table_args__ = (
        # Invariant 2 is checked against this table before every send.
        UniqueConstraint("workspace_id", "kind", "value", name="uq_suppressions_entry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(400))
    reason: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
