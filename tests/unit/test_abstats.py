"""The A/B statistics against scipy, at the edges, and by simulation.

The simulations are seeded; their tolerances are binomial (the 99.9th percentile of the
number of false winners a test at exactly alpha would give), so they do not flake.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from aicmo.cam.domain.abstats import (
    Arm,
    DailyCount,
    Plan,
    compare_rates,
    evaluate,
    fisher_exact,
    freeze_at_horizon,
    newcombe_interval,
    planned_sample_per_arm,
    two_proportion_z_test,
    wilson_interval,
)
from aicmo.errors import ValidationError

TABLES = [
    (3, 7, 9, 1),
    (8, 2, 1, 5),
    (0, 10, 4, 6),
    (1, 99, 7, 93),
    (12, 388, 25, 375),
    (0, 5, 0, 5),
    (5, 0, 5, 0),
    (2, 3, 3, 2),
    (30, 970, 30, 970),
    (0, 1, 1, 0),
]


@pytest.mark.parametrize("table", TABLES)
def test_fisher_matches_scipy_two_sided(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    expected = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue
    assert fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_fisher_matches_scipy_on_any_small_table(a: int, b: int, c: int, d: int) -> None:
    expected = stats.fisher_exact([[a, b], [c, d]]).pvalue
    assert fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(32, 1000, 61, 1000), (120, 400, 100, 400), (5, 50, 15, 60)]
)
def test_z_test_matches_the_pooled_chi_square(x1: int, n1: int, x2: int, n2: int) -> None:
    # The pooled z-test is the 2x2 chi-square test without continuity correction (z^2 = chi2).
    chi2, p, _, _ = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    z, pz = two_proportion_z_test(Arm("A", n1, x1), Arm("B", n2, x2))
    assert z * z == pytest.approx(chi2, rel=1e-9)
    assert pz == pytest.approx(p, rel=1e-9)
    assert z > 0 if x2 / n2 > x1 / n1 else z < 0


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (1, 1), (32, 1000), (499, 500)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(ci.low, abs=1e-12)
    assert high == pytest.approx(ci.high, abs=1e-12)


def test_newcombe_reproduces_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II example (a):
    # 56/70 vs 48/80, difference 0.2000, method 10 interval 0.0524 to 0.3339.
    low, high = newcombe_interval(Arm("A", 80, 48), Arm("B", 70, 56))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_switch_rule_uses_fisher_only_when_an_expected_cell_is_below_five() -> None:
    # Expected successes per arm (8 + 1) * 100 / 200 = 4.5 < 5: Fisher.
    assert compare_rates(Arm("A", 100, 8), Arm("B", 100, 1))[0] == "fisher"
    # (8 + 2) * 100 / 200 = 5: z-test.
    test, p = compare_rates(Arm("A", 100, 8), Arm("B", 100, 2))
    assert test == "z"
    assert p == pytest.approx(two_proportion_z_test(Arm("A", 100, 8), Arm("B", 100, 2))[1])


def test_edge_counts_give_defined_answers() -> None:
    assert compare_rates(Arm("A", 0, 0), Arm("B", 0, 0)) == ("fisher", 1.0)
    assert compare_rates(Arm("A", 50, 0), Arm("B", 50, 0)) == ("fisher", 1.0)
    assert compare_rates(Arm("A", 50, 50), Arm("B", 50, 50)) == ("fisher", 1.0)
    assert two_proportion_z_test(Arm("A", 0, 0), Arm("B", 10, 3)) == (0.0, 1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0
    low, high = newcombe_interval(Arm("A", 0, 0), Arm("B", 0, 0))
    assert -1.0 <= low < 0.0 < high <= 1.0
    # All successes in one arm, none in the other: decisive, and the interval excludes 0.
    test, p = compare_rates(Arm("A", 8, 0), Arm("B", 8, 8))
    assert test == "fisher"
    assert p == pytest.approx(stats.fisher_exact([[0, 8], [8, 0]]).pvalue)
    assert newcombe_interval(Arm("A", 30, 0), Arm("B", 30, 30))[0] > 0.8


def test_bad_counts_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="more than all"):
        Arm("A", 3, 4)
    with pytest.raises(ValidationError, match="negative"):
        Arm("A", -1, 0)
    with pytest.raises(ValidationError, match="baseline_rate"):
        Plan(baseline_rate=0.0)
    with pytest.raises(ValidationError, match="min_effect"):
        Plan(baseline_rate=0.9, min_effect=0.2)
    with pytest.raises(ValidationError, match="unique"):
        evaluate([Arm("A", 1, 0), Arm("A", 1, 0)], Plan())


def test_planned_sample_gives_the_stated_power() -> None:
    plan = Plan(baseline_rate=0.10, min_effect=0.05)
    n = planned_sample_per_arm(plan)
    # The normal-approximation formula (Fleiss, no continuity correction), from scipy.
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    p1, p2 = 0.10, 0.15
    root = za * math.sqrt(2 * 0.125 * 0.875) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    assert n == math.ceil((root / 0.05) ** 2) == 686
    rng = np.random.default_rng(20261207)
    runs = 3000
    a = rng.binomial(n, 0.10, runs)
    b = rng.binomial(n, 0.15, runs)
    found = sum(
        compare_rates(Arm("A", n, int(x)), Arm("B", n, int(y)))[1] < 0.05
        for x, y in zip(a, b, strict=True)
    )
    low = stats.binom.ppf(0.001, runs, 0.8)
    assert found >= low
    # Bonferroni for three arms: a larger sample per arm.
    assert planned_sample_per_arm(plan, 3) > n


def test_no_verdict_before_the_planned_sample() -> None:
    plan = Plan(baseline_rate=0.03, min_effect=0.02)
    n = planned_sample_per_arm(plan)
    verdict = evaluate([Arm("A", n - 420, 10), Arm("B", n, 200)], plan)
    assert verdict.status == "not_enough_data"
    assert verdict.more_per_arm == 420
    assert verdict.comparisons == ()
    assert verdict.text.startswith("not enough data: about 420 more leads per arm")


def test_a_clear_winner_is_named_with_rates_p_and_interval() -> None:
    plan = Plan(baseline_rate=0.03, min_effect=0.02)
    n = planned_sample_per_arm(plan)
    verdict = evaluate([Arm("A", n, round(0.032 * n)), Arm("B", n, round(0.061 * n))], plan)
    assert verdict.status == "winner"
    assert verdict.winner == "B"
    (comp,) = verdict.comparisons
    assert comp.significant
    assert comp.diff_low > 0
    assert verdict.text.startswith("B is better: 6.1% vs 3.2% positive replies, p ")
    assert "95% CI for the difference +" in verdict.text
    # The control can win too.
    flipped = evaluate([Arm("A", n, round(0.061 * n)), Arm("B", n, round(0.032 * n))], plan)
    assert (flipped.status, flipped.winner) == ("winner", "A")
    assert flipped.text.startswith("A is better: 6.1% vs 3.2%")


def test_equal_arms_at_the_horizon_report_no_difference() -> None:
    plan = Plan(baseline_rate=0.03, min_effect=0.02)
    n = planned_sample_per_arm(plan)
    verdict = evaluate([Arm("A", n, 45), Arm("B", n, 47)], plan, metric="replies")
    assert verdict.status == "no_difference"
    assert verdict.winner is None
    assert verdict.text.startswith(f"no difference found at the planned sample ({n} per arm)")


def _aa_winners(runs: int, n: int, rate: float, arms: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    plan = Plan(baseline_rate=rate, min_effect=0.03)
    counts = rng.binomial(n, rate, (runs, arms))
    return sum(
        evaluate([Arm(chr(65 + i), n, int(x)) for i, x in enumerate(row)], plan).status == "winner"
        for row in counts
    )


@pytest.mark.parametrize(("rate", "arms"), [(0.05, 2), (0.02, 2), (0.05, 3)])
def test_aa_tests_declare_winners_at_most_at_alpha(rate: float, arms: int) -> None:
    runs = 2000
    n = planned_sample_per_arm(Plan(baseline_rate=rate, min_effect=0.03), arms)
    winners = _aa_winners(runs, n, rate, arms, seed=7)
    assert winners <= stats.binom.ppf(0.999, runs, 0.05)


def _peeking_run(
    rng: np.random.Generator, plan: Plan, per_day: int, days: int
) -> tuple[bool, bool]:
    """One A/A experiment looked at daily: (naive declared a winner, our rule did)."""
    n = planned_sample_per_arm(plan)
    start = date(2026, 1, 1)
    daily: list[DailyCount] = []
    naive = rule = False
    for i in range(days):
        day = start + timedelta(days=i)
        for arm in ("A", "B"):
            hits = int(rng.binomial(per_day, plan.baseline_rate))
            daily.append(DailyCount(day, arm, per_day, hits))
        # Naive: test the counts to date at every look, stop at the first p < 0.05.
        _, to_date = freeze_at_horizon(daily, ["A", "B"], per_arm=10**9)
        naive = naive or compare_rates(to_date[0], to_date[1])[1] < 0.05
        # The rule: the verdict at every look, taken on the counts frozen at the horizon.
        _, frozen = freeze_at_horizon(daily, ["A", "B"], per_arm=n)
        rule = rule or evaluate(frozen, plan).status == "winner"
    return naive, rule


def test_peeking_every_day_keeps_alpha_under_the_rule_but_not_naively() -> None:
    plan = Plan(baseline_rate=0.10, min_effect=0.10)  # 199 per arm
    n = planned_sample_per_arm(plan)
    per_day, days = 10, math.ceil(n / 10) + 10  # looks continue ten days past the horizon
    rng = np.random.default_rng(42)
    runs = 1000
    results = [_peeking_run(rng, plan, per_day, days) for _ in range(runs)]
    naive = sum(r[0] for r in results)
    rule = sum(r[1] for r in results)
    tolerance = stats.binom.ppf(0.999, runs, 0.05)
    assert rule <= tolerance
    assert naive > 2 * tolerance  # about 25 looks: false winners several times alpha


def test_freeze_takes_the_first_day_every_arm_reached_the_horizon() -> None:
    d0 = date(2026, 3, 1)
    daily = [
        DailyCount(d0, "A", 60, 3),
        DailyCount(d0, "B", 40, 9),
        DailyCount(d0 + timedelta(days=1), "A", 60, 1),
        DailyCount(d0 + timedelta(days=1), "B", 70, 2),
        DailyCount(d0 + timedelta(days=2), "A", 500, 400),
        DailyCount(d0 + timedelta(days=2), "B", 500, 0),
        DailyCount(d0 + timedelta(days=1), "C", 5, 5),  # not an arm of this test
    ]
    day, arms = freeze_at_horizon(daily, ["A", "B"], per_arm=100)
    assert day == d0 + timedelta(days=1)
    assert arms == [Arm("A", 120, 4), Arm("B", 110, 11)]
    day, arms = freeze_at_horizon(daily[:2], ["A", "B"], per_arm=100)
    assert day is None
    assert arms == [Arm("A", 60, 3), Arm("B", 40, 9)]
    # Two replies from one lead: the rate is capped at 1, never an error.
    day, arms = freeze_at_horizon([DailyCount(d0, "A", 2, 3)], ["A", "B"], per_arm=100)
    assert arms == [Arm("A", 2, 2), Arm("B", 0, 0)]
