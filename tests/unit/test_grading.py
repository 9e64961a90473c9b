from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain.grading import ICP, Engagement, LeadProfile, RoleRule, default_icp, grade_lead


def test_a_vp_at_a_target_company_is_an_a_with_its_reasons() -> None:
    lead = LeadProfile(
        title="VP of Sales",
        industry="Computer Software",
        company_size=200,
        has_email=True,
        has_linkedin=True,
    )
    result = grade_lead(default_icp(), lead)
    assert result.grade == "A"
    assert result.score == 80
    assert "+30 title is VP (VP of Sales)" in result.reasons
    assert "+20 industry is Computer Software" in result.reasons
    assert "+20 company size 200 in target range" in result.reasons


def test_keywords_match_whole_words_only() -> None:
    # "cto" must not match inside "director", nor "vp" inside "mvp".
    icp = ICP(
        roles=[
            RoleRule(label="CTO", keywords=["cto"], points=40),
            RoleRule(label="VP", keywords=["vp"], points=30),
        ]
    )
    assert grade_lead(icp, LeadProfile(title="Director")).score == 0
    assert grade_lead(icp, LeadProfile(title="MVP Builder")).score == 0
    assert grade_lead(icp, LeadProfile(title="CTO / Co-founder")).score == 40


def test_title_and_seniority_do_not_add_up_the_best_one_counts() -> None:
    lead = LeadProfile(title="VP Marketing", seniority="vp")
    result = grade_lead(default_icp(), lead)
    assert result.score == 30
    assert len([r for r in result.reasons if "VP" in r or "vp" in r]) == 1


def test_hard_bounce_costs_fifty_points_and_caps_the_grade_at_d() -> None:
    lead = LeadProfile(
        title="CEO", industry="SaaS", company_size=50, has_email=True, has_linkedin=True
    )
    before = grade_lead(default_icp(), lead)
    after = grade_lead(default_icp(), lead, Engagement(hard_bounces=1))
    assert before.grade == "A"
    assert after.grade == "D"
    assert after.score == before.score - 50
    assert "-50 hard bounce" in after.reasons


@pytest.mark.parametrize("engagement", [Engagement(unsubscribed=1), Engagement(complained=1)])
def test_a_lead_who_said_stop_is_never_above_d(engagement: Engagement) -> None:
    lead = LeadProfile(title="CEO", industry="SaaS", company_size=50, has_email=True)
    assert grade_lead(default_icp(), lead, engagement).grade == "D"


def test_a_reply_raises_the_score() -> None:
    lead = LeadProfile(title="Manager", has_email=True)
    assert grade_lead(default_icp(), lead, Engagement(replied=1)).score == 10 + 5 + 25


def test_an_empty_profile_still_explains_itself() -> None:
    result = grade_lead(ICP(), LeadProfile())
    assert result.score == 0 and result.grade == "D"
    assert result.reasons == ("+0 nothing in the profile matches",)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="a >= b >= c"):
        ICP.model_validate({"thresholds": {"a": 10, "b": 50, "c": 25}})


def test_unknown_icp_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="titels"):
        ICP.model_validate({"titels": []})


profiles = st.builds(
    LeadProfile,
    title=st.none() | st.text(max_size=40),
    seniority=st.none() | st.sampled_from(["vp", "c_suite", "manager", "intern", ""]),
    industry=st.none() | st.text(max_size=20),
    company_size=st.none() | st.integers(min_value=0, max_value=10**6),
    country=st.none() | st.text(max_size=10),
    has_email=st.booleans(),
    has_linkedin=st.booleans(),
)
engagements = st.builds(
    Engagement,
    replied=st.integers(0, 3),
    clicked=st.integers(0, 3),
    opened=st.integers(0, 3),
    soft_bounces=st.integers(0, 5),
    hard_bounces=st.integers(0, 2),
    complained=st.integers(0, 1),
    unsubscribed=st.integers(0, 1),
)


@given(profiles, engagements)
def test_score_is_always_between_0_and_100_and_grade_matches(
    lead: LeadProfile, eng: Engagement
) -> None:
    icp = default_icp()
    result = grade_lead(icp, lead, eng)
    assert 0 <= result.score <= 100
    assert result.grade in "ABCD"
    assert result.reasons
    if not (eng.hard_bounces or eng.complained or eng.unsubscribed):
        t = icp.thresholds
        expected = (
            "A"
            if result.score >= t.a
            else "B"
            if result.score >= t.b
            else "C"
            if result.score >= t.c
            else "D"
        )
        assert result.grade == expected
