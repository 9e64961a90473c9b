"""Lead grading: profile fit plus engagement, with the reasons. Pure: no I/O.

The score is the sum of the matched rules, clamped to 0..100. Each rule that fires adds
one reason ("+30 title is VP"), so an operator can see why a lead is an A or a D.
A lead who unsubscribed, complained or hard-bounced is never above D: they are not to be
contacted, however well they fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RoleRule(BaseModel):
    """Points for a title containing any of the keywords (whole words, any case)."""

    model_config = ConfigDict(extra="forbid")

    label: str
    keywords: list[str] = Field(min_length=1)
    points: int = Field(ge=-100, le=100)


class EngagementWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replied: int = 25
    clicked: int = 10
    opened: int = 0
    soft_bounce: int = -5
    hard_bounce: int = -50
    complained: int = -100
    unsubscribed: int = -100
    #: By the current category of the lead's replies (the rules' or the operator's).
    interested: int = 10
    meeting_booked: int = 25
    not_interested: int = -30
    wrong_person: int = -20


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: int = Field(default=75, ge=0, le=100)
    b: int = Field(default=50, ge=0, le=100)
    c: int = Field(default=25, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.a >= self.b >= self.c:
            raise ValueError("thresholds must satisfy a >= b >= c")
        return self


class ICP(BaseModel):
    """The ideal-customer profile an operator grades leads against (immutable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: list[RoleRule] = Field(default_factory=list)
    seniorities: dict[str, int] = Field(default_factory=dict)
    industries: list[str] = Field(default_factory=list)
    industry_points: int = 20
    company_size_min: int | None = Field(default=None, ge=0)
    company_size_max: int | None = Field(default=None, ge=0)
    company_size_points: int = 20
    countries: list[str] = Field(default_factory=list)
    country_points: int = 10
    reachable_points: int = 5
    engagement: EngagementWeights = Field(default_factory=EngagementWeights)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    def lookup(self) -> _Lookup:
        """Normalised sets and patterns, built once per profile (grading runs per lead)."""
        hit = _LOOKUPS.get(id(self))
        if hit is not None and hit[0] is self:
            return hit[1]
        look = _Lookup(
            roles=tuple((_keywords_re(tuple(r.keywords)), r) for r in self.roles),
            seniorities={_norm(k): v for k, v in self.seniorities.items()},
            industries=frozenset(_norm(i) for i in self.industries),
            countries=frozenset(_norm(c) for c in self.countries),
        )
        if len(_LOOKUPS) >= 8:
            _LOOKUPS.pop(next(iter(_LOOKUPS)))
        _LOOKUPS[id(self)] = (self, look)
        return look

    @model_validator(mode="after")
    def _size_range(self) -> ICP:
        lo, hi = self.company_size_min, self.company_size_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("company_size_min must not exceed company_size_max")
        return self


def default_icp() -> ICP:
    """A B2B-software default: decision makers at 11–1000 people companies."""
    return ICP(
        roles=[
            RoleRule(
                label="C-level or founder",
                keywords=[
                    "ceo",
                    "cto",
                    "coo",
                    "cfo",
                    "cmo",
                    "cro",
                    "chief",
                    "founder",
                    "co-founder",
                    "cofounder",
                    "owner",
                    "president",
                ],
                points=35,
            ),
            RoleRule(label="VP", keywords=["vp", "vice president", "svp", "evp"], points=30),
            RoleRule(label="head or director", keywords=["head", "director"], points=25),
            RoleRule(label="manager or lead", keywords=["manager", "lead"], points=10),
        ],
        seniorities={
            "c_suite": 35,
            "c-suite": 35,
            "founder": 35,
            "owner": 35,
            "partner": 30,
            "vp": 30,
            "head": 25,
            "director": 25,
            "manager": 10,
            "senior": 5,
        },
        industries=[
            "software",
            "computer software",
            "information technology",
            "internet",
            "saas",
            "marketing",
            "financial services",
        ],
        company_size_min=11,
        company_size_max=1000,
        countries=[],
    )


@dataclass(frozen=True, slots=True)
class LeadProfile:
    """The fields of a lead that grading reads."""

    title: str | None = None
    seniority: str | None = None
    industry: str | None = None
    company_size: int | None = None
    country: str | None = None
    has_email: bool = False
    has_linkedin: bool = False


@dataclass(frozen=True, slots=True)
class Engagement:
    """What a lead has done so far, as counts of events."""

    replied: int = 0
    clicked: int = 0
    opened: int = 0
    soft_bounces: int = 0
    hard_bounces: int = 0
    complained: int = 0
    unsubscribed: int = 0
    #: Replies by their current category (a reply categorised "unsubscribe" counts in
    #: ``unsubscribed``: the person asked to hear no more).
    interested: int = 0
    meetings_booked: int = 0
    not_interested: int = 0
    wrong_person: int = 0


@dataclass(frozen=True, slots=True)
class GradeResult:
    score: int
    grade: str
    reasons: tuple[str, ...]


@lru_cache(maxsize=512)
def _keywords_re(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern per rule: any keyword, as a whole word ("cto" not in "director")."""
    alternatives = "|".join(re.escape(k.lower()) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(?:" + alternatives + r")(?![a-z0-9])")


def _norm(text: str | None) -> str:
    return " ".join((text or "").lower().replace("_", " ").split())


#: Recently used profiles and their lookups (an ICP is not hashable; keyed by identity).
_LOOKUPS: dict[int, tuple[ICP, _Lookup]] = {}


@dataclass(frozen=True, slots=True)
class _Lookup:
    roles: tuple[tuple[re.Pattern[str], RoleRule], ...]
    seniorities: dict[str, int]
    industries: frozenset[str]
    countries: frozenset[str]


def _role_points(look: _Lookup, lead: LeadProfile) -> tuple[int, str] | None:
    best: tuple[int, str] | None = None
    title = _norm(lead.title)
    if title:
        for pattern, rule in look.roles:
            if pattern.search(title) and (best is None or rule.points > best[0]):
                best = (rule.points, f"title is {rule.label} ({lead.title})")
    seniority = _norm(lead.seniority)
    if seniority in look.seniorities:
        points = look.seniorities[seniority]
        if best is None or points > best[0]:
            best = (points, f"seniority is {lead.seniority}")
    return best


def _signed(points: int, text: str) -> str:
    return f"{points:+d} {text}"


def grade_lead(icp: ICP, lead: LeadProfile, engagement: Engagement | None = None) -> GradeResult:
    """Score a lead 0..100 against the profile and its engagement, with reasons."""
    eng = engagement or Engagement()
    total = 0
    reasons: list[str] = []

    def add(points: int, text: str) -> None:
        nonlocal total
        if points:
            total += points
            reasons.append(_signed(points, text))

    look = icp.lookup()
    role = _role_points(look, lead)
    if role is not None:
        add(*role)
    if lead.industry and _norm(lead.industry) in look.industries:
        add(icp.industry_points, f"industry is {lead.industry}")
    if lead.company_size is not None and (
        icp.company_size_min is not None or icp.company_size_max is not None
    ):
        lo = icp.company_size_min if icp.company_size_min is not None else 0
        hi = icp.company_size_max
        if lead.company_size >= lo and (hi is None or lead.company_size <= hi):
            add(icp.company_size_points, f"company size {lead.company_size} in target range")
    if lead.country and _norm(lead.country) in look.countries:
        add(icp.country_points, f"country is {lead.country}")
    if lead.has_email:
        add(icp.reachable_points, "has an email address")
    if lead.has_linkedin:
        add(icp.reachable_points, "has a LinkedIn profile")

    w = icp.engagement
    for count, points, text in (
        (eng.replied, w.replied, "replied"),
        (eng.clicked, w.clicked, "clicked a link"),
        (eng.opened, w.opened, "opened a message"),
        (eng.soft_bounces, w.soft_bounce * eng.soft_bounces, f"{eng.soft_bounces} soft bounce(s)"),
        (eng.hard_bounces, w.hard_bounce, "hard bounce"),
        (eng.complained, w.complained, "complained (marked as spam)"),
        (eng.unsubscribed, w.unsubscribed, "unsubscribed"),
        (eng.interested, w.interested, "replied with interest"),
        (eng.meetings_booked, w.meeting_booked, "booked a meeting"),
        (eng.not_interested, w.not_interested, "replied not interested"),
        (eng.wrong_person, w.wrong_person, "replied they are not the right person"),
    ):
        if count:
            add(points, text)

    score = max(0, min(100, total))
    t = icp.thresholds
    do_not_contact = bool(eng.hard_bounces or eng.complained or eng.unsubscribed)
    if do_not_contact:
        grade = "D"
    elif score >= t.a:
        grade = "A"
    elif score >= t.b:
        grade = "B"
    elif score >= t.c:
        grade = "C"
    else:
        grade = "D"
    if not reasons:
        reasons.append("+0 nothing in the profile matches")
    return GradeResult(score=score, grade=grade, reasons=tuple(reasons))
