"""A/B test statistics: is one variant really better, and how sure are we?

Pure: no I/O, no clock, no database; counts in, a :class:`Verdict` out. Only the standard
library (``math.lgamma``, ``math.erfc``, ``statistics.NormalDist``), so the runtime needs
no scipy; the tests check every figure against scipy.

What is computed, for arms ``A`` (the control, the first variant) and ``B`` (any other):

- **Rate and 95 % interval per arm**: Wilson score interval (no continuity correction),
  which stays inside [0, 1] and behaves at 0 and n successes, unlike the Wald interval.
- **Interval for the difference** ``rate(B) - rate(A)``: Newcombe's hybrid score method
  (method 10 of Newcombe 1998), built from the two Wilson intervals.
- **The test** (two-sided, H0: equal rates):

  - Fisher's exact test when any expected cell of the 2x2 table is below 5
    (the classic condition under which the normal approximation is not trusted);
    the p-value is the sum of the hypergeometric probabilities of every table no more
    likely than the observed one, as ``scipy.stats.fisher_exact`` computes it;
  - otherwise the pooled two-proportion z-test:
    ``z = (pB - pA) / sqrt(p (1 - p) (1/nA + 1/nB))`` with ``p`` the pooled rate,
    ``p-value = erfc(|z| / sqrt 2)``.

- **More than two arms**: each challenger is compared with the control only, at
  ``alpha / (k - 1)`` (Bonferroni), so the chance of any false winner stays <= alpha.

The peeking rule is a **fixed horizon**: the sample per arm is computed before the test
from the baseline rate and the smallest effect worth finding (alpha 0.05, power 0.8)::

    n = ceil( (z(1 - a/2) sqrt(2 pbar qbar) + z(1 - b) sqrt(p1 q1 + p2 q2))^2 / d^2 )
    p1 = baseline, p2 = baseline + d, pbar = (p1 + p2) / 2, q = 1 - p

No verdict is given before every arm has reached ``n``; the counts used are those on the
first day every arm had reached it (:func:`freeze_at_horizon`), so looking again later
neither changes the verdict nor adds chances of a false winner. docs/ab-testing.md says
why this rule and not a sequential test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import NormalDist
from typing import Any

from aicmo.errors import ValidationError

__all__ = [
    "ALPHA",
    "METRICS",
    "POWER",
    "ABSettings",
    "Arm",
    "ArmStats",
    "Comparison",
    "DailyCount",
    "Plan",
    "Verdict",
    "ab_settings",
    "compare_rates",
    "evaluate",
    "fisher_exact",
    "freeze_at_horizon",
    "newcombe_interval",
    "planned_sample_per_arm",
    "step_verdict",
    "two_proportion_z_test",
    "wilson_interval",
]

#: Chance of declaring a winner when the variants are in fact equal.
ALPHA = 0.05
#: Chance of finding an effect of the planned size when it is there.
POWER = 0.8
#: Below this expected count in any cell the z-test is not trusted: Fisher's exact test.
MIN_EXPECTED_CELL = 5.0
#: Relative tolerance for "no more likely than the observed table" (scipy uses 1e-7 too).
_FISHER_RTOL = 1e-7
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Arm:
    """One variant's counts: leads who got the step, and how many of them did the thing."""

    name: str
    trials: int
    successes: int

    def __post_init__(self) -> None:
        if self.trials < 0 or self.successes < 0:
            raise ValidationError(f"variant {self.name!r}: counts cannot be negative")
        if self.successes > self.trials:
            raise ValidationError(
                f"variant {self.name!r}: {self.successes} successes out of {self.trials}"
                " leads is more than all of them; the metric and its denominator do not match"
            )

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What the test is planned to find: the fixed horizon comes from these.

    Args:
        baseline_rate: the rate expected of the control, ``0 < baseline_rate < 1``.
        min_effect: the smallest absolute lift worth finding (0.02 = two points),
            ``0 < baseline_rate + min_effect < 1``.
        alpha: two-sided false-winner rate, before the Bonferroni split.
        power: chance of finding ``min_effect`` when it is real.
    """

    baseline_rate: float = 0.03
    min_effect: float = 0.02
    alpha: float = ALPHA
    power: float = POWER

    def __post_init__(self) -> None:
        if not 0.0 < self.baseline_rate < 1.0:
            raise ValidationError(
                f"baseline_rate must be between 0 and 1 (a share, 0.03 = 3 %),"
                f" got {self.baseline_rate!r}",
                field="baseline_rate",
            )
        if not self.min_effect > 0.0 or not self.baseline_rate + self.min_effect < 1.0:
            raise ValidationError(
                "min_effect must be a positive lift that keeps baseline_rate + min_effect"
                f" below 1 (0.02 = two points), got {self.min_effect!r}",
                field="min_effect",
            )
        if not 0.0 < self.alpha < 0.5:
            raise ValidationError(f"alpha must be in (0, 0.5), got {self.alpha!r}", field="alpha")
        if not 0.5 <= self.power < 1.0:
            raise ValidationError(f"power must be in [0.5, 1), got {self.power!r}", field="power")


@dataclass(frozen=True, slots=True)
class ArmStats:
    name: str
    trials: int
    successes: int
    rate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """One challenger against the control, at the (Bonferroni-split) level ``alpha``."""

    control: str
    challenger: str
    #: ``"fisher"`` or ``"z"``: which test produced ``p_value``.
    test: str
    p_value: float
    #: ``rate(challenger) - rate(control)`` and its Newcombe interval.
    difference: float
    diff_low: float
    diff_high: float
    alpha: float
    significant: bool


@dataclass(frozen=True, slots=True)
class DailyCount:
    """One arm's counts on one day (the rollups' grain)."""

    day: date
    arm: str
    trials: int
    successes: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the counts say.

    ``status`` is one of ``"winner"`` (``winner`` names it), ``"no_difference"`` (the
    planned sample was reached and no arm is better), ``"not_enough_data"``
    (``more_per_arm`` leads more are needed in the smallest arm) or ``"no_test"`` (fewer
    than two arms).
    """

    status: str
    text: str
    arms: tuple[ArmStats, ...]
    planned_per_arm: int
    more_per_arm: int = 0
    winner: str | None = None
    comparisons: tuple[Comparison, ...] = field(default_factory=tuple)


#: The outcome counters a test can be judged on (rollup columns), and how verdicts name them.
METRICS: dict[str, str] = {
    "positive_replied": "positive replies",
    "replied": "replies",
    "meetings": "meetings booked",
}
_SETTINGS_KEYS = ("baseline_rate", "min_effect", "metric", "auto_winner")


@dataclass(frozen=True, slots=True)
class ABSettings:
    """A campaign's ``settings.ab_test``: the plan, the metric that decides, and whether
    new enrollments go to a step's winner once there is one."""

    plan: Plan = field(default_factory=Plan)
    metric: str = "positive_replied"
    auto_winner: bool = False


def ab_settings(settings: Mapping[str, Any]) -> ABSettings:
    """The A/B settings of a campaign, from ``settings.ab_test``.

    Raises:
        ValidationError: ``ab_test`` is not a mapping, has unknown keys, or values out of
            range (the field is named).
    """
    raw = settings.get("ab_test") or {}
    if not isinstance(raw, dict):
        raise ValidationError(
            "settings.ab_test must be a mapping, e.g. {baseline_rate: 0.03, min_effect: 0.02}",
            field="settings.ab_test",
        )
    unknown = sorted(set(map(str, raw)) - set(_SETTINGS_KEYS))
    if unknown:
        raise ValidationError(
            f"unknown settings.ab_test keys {unknown}; use {', '.join(_SETTINGS_KEYS)}",
            field="settings.ab_test",
        )
    values: dict[str, float] = {}
    for key in ("baseline_rate", "min_effect"):
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(
                f"settings.ab_test.{key} must be a number (a share: 0.03 = 3 %), got {value!r}",
                field=f"settings.ab_test.{key}",
            )
        values[key] = float(value)
    metric = raw.get("metric", "positive_replied")
    if metric not in METRICS:
        raise ValidationError(
            f"settings.ab_test.metric must be one of {', '.join(METRICS)}, got {metric!r}",
            field="settings.ab_test.metric",
        )
    auto = raw.get("auto_winner", False)
    if not isinstance(auto, bool):
        raise ValidationError(
            f"settings.ab_test.auto_winner must be true or false, got {auto!r}",
            field="settings.ab_test.auto_winner",
        )
    try:
        plan = Plan(**values)
    except ValidationError as err:
        raise ValidationError(err.message, field=f"settings.ab_test.{err.field}") from err
    return ABSettings(plan=plan, metric=str(metric), auto_winner=auto)


def step_verdict(
    daily: Iterable[DailyCount], arms: Sequence[str], plan: Plan, metric: str
) -> tuple[date | None, Verdict]:
    """The verdict on one step: its counts frozen at the horizon (or to date), evaluated.

    Args:
        daily: the step's counts per day and arm (``successes`` = the ``metric`` counter).
        arms: the step's variant names, the control first.
        metric: a key of :data:`METRICS`.
    """
    horizon, counts = freeze_at_horizon(daily, arms, planned_sample_per_arm(plan, len(arms)))
    return horizon, evaluate(counts, plan, metric=METRICS[metric])


def _z(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def wilson_interval(
    successes: int, trials: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for one proportion; ``(0.0, 1.0)`` when ``trials`` is 0."""
    if trials == 0:
        return (0.0, 1.0)
    z = _z(0.5 + confidence / 2)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials)) / (1 + z2n)
    # Exact ends at 0 and n successes (the formula gives them up to rounding).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def newcombe_interval(
    control: Arm, challenger: Arm, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``rate(challenger) - rate(control)``."""
    l1, u1 = wilson_interval(control.successes, control.trials, confidence=confidence)
    l2, u2 = wilson_interval(challenger.successes, challenger.trials, confidence=confidence)
    p1, p2 = control.rate, challenger.rate
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return (max(-1.0, low), min(1.0, high))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the table ``[[a, b], [c, d]]``.

    The p-value sums the probability of every table with the same margins that is no
    more likely than the observed one (``scipy.stats.fisher_exact(..., "two-sided")``).
    """
    if min(a, b, c, d) < 0:
        raise ValidationError("a 2x2 table cannot hold negative counts")
    row1, row2, col1 = a + b, c + d, a + c
    total = row1 + row2
    if row1 == 0 or row2 == 0 or col1 == 0 or col1 == total:
        return 1.0
    lo, hi = max(0, col1 - row2), min(col1, row1)
    denom = _log_comb(total, row1)

    def logp(x: int) -> float:
        return _log_comb(col1, x) + _log_comb(total - col1, row1 - x) - denom

    observed = logp(a)
    limit = observed + math.log1p(_FISHER_RTOL)
    p = sum(math.exp(lp) for lp in (logp(x) for x in range(lo, hi + 1)) if lp <= limit)
    return min(1.0, p)


def two_proportion_z_test(control: Arm, challenger: Arm) -> tuple[float, float]:
    """Pooled two-proportion z-test: ``(z, two-sided p)``; ``(0.0, 1.0)`` if undefined."""
    n1, n2 = control.trials, challenger.trials
    if n1 == 0 or n2 == 0:
        return (0.0, 1.0)
    pooled = (control.successes + challenger.successes) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0.0:
        return (0.0, 1.0)
    z = (challenger.rate - control.rate) / se
    return (z, math.erfc(abs(z) / math.sqrt(2)))


def compare_rates(control: Arm, challenger: Arm) -> tuple[str, float]:
    """The switch rule: Fisher if any expected cell < 5, else the z-test. ``(test, p)``."""
    n1, n2 = control.trials, challenger.trials
    total = n1 + n2
    hits = control.successes + challenger.successes
    if n1 == 0 or n2 == 0:
        return ("fisher", 1.0)
    expected = (
        n * col / total for n in (n1, n2) for col in (hits, total - hits)
    )  # row total x column total / grand total
    if min(expected) < MIN_EXPECTED_CELL:
        p = fisher_exact(
            control.successes,
            n1 - control.successes,
            challenger.successes,
            n2 - challenger.successes,
        )
        return ("fisher", p)
    return ("z", two_proportion_z_test(control, challenger)[1])


def planned_sample_per_arm(plan: Plan, arms: int = 2) -> int:
    """Leads per arm for ``plan`` (formula in the module docstring), Bonferroni-split."""
    if arms < 2:
        return 0
    alpha = plan.alpha / (arms - 1)
    p1 = plan.baseline_rate
    p2 = p1 + plan.min_effect
    pbar = (p1 + p2) / 2
    za, zb = _z(1 - alpha / 2), _z(plan.power)
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil((root / plan.min_effect) ** 2)


def freeze_at_horizon(
    daily: Iterable[DailyCount], arms: Sequence[str], per_arm: int
) -> tuple[date | None, list[Arm]]:
    """The counts the verdict is taken on: through the first day every arm had ``per_arm``.

    Whether the horizon is reached depends only on how many leads got the step, never on
    the outcomes, so stopping there is a fixed-horizon test; a look on any later day gets
    the same counts, hence the same verdict. Before the horizon the counts to date are
    returned with ``None`` for the day.

    An arm's successes are capped at its trials: a counter of events (two replies from one
    lead) can outrun the leads, and a rate above 1 means nothing.
    """
    by_day: dict[date, dict[str, tuple[int, int]]] = {}
    for row in daily:
        if row.arm not in arms:
            continue
        cell = by_day.setdefault(row.day, {})
        t, s = cell.get(row.arm, (0, 0))
        cell[row.arm] = (t + row.trials, s + row.successes)
    totals = dict.fromkeys(arms, (0, 0))
    for day in sorted(by_day):
        for name, (t, s) in by_day[day].items():
            tt, ss = totals[name]
            totals[name] = (tt + t, ss + s)
        if arms and per_arm > 0 and all(totals[name][0] >= per_arm for name in arms):
            return day, [_arm(name, *totals[name]) for name in arms]
    return None, [_arm(name, *totals[name]) for name in arms]


def _arm(name: str, trials: int, successes: int) -> Arm:
    return Arm(name, trials, min(successes, trials))


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _points(diff: float) -> str:
    return f"{diff * 100:+.1f}"


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _arm_stats(arm: Arm) -> ArmStats:
    low, high = wilson_interval(arm.successes, arm.trials)
    return ArmStats(arm.name, arm.trials, arm.successes, arm.rate, low, high)


def _compare(control: Arm, challenger: Arm, alpha: float) -> Comparison:
    test, p = compare_rates(control, challenger)
    low, high = newcombe_interval(control, challenger, confidence=1 - alpha)
    return Comparison(
        control=control.name,
        challenger=challenger.name,
        test=test,
        p_value=p,
        difference=challenger.rate - control.rate,
        diff_low=low,
        diff_high=high,
        alpha=alpha,
        significant=p < alpha,
    )


def _detail(better: Arm, worse: Arm, comp: Comparison, metric: str) -> str:
    sign = 1 if better.name == comp.challenger else -1
    low, high = sorted((sign * comp.diff_low, sign * comp.diff_high))
    level = round((1 - comp.alpha) * 100, 1)
    test = "Fisher's exact test" if comp.test == "fisher" else "two-proportion z-test"
    return (
        f"{_pct(better.rate)} vs {_pct(worse.rate)} {metric}, {_p_text(comp.p_value)}"
        f" ({test}), {level:g}% CI for the difference {_points(low)} to {_points(high)}"
        " points"
    )


def evaluate(arms: Sequence[Arm], plan: Plan, *, metric: str = "positive replies") -> Verdict:
    """The verdict on ``arms`` (the first is the control) under the fixed-horizon ``plan``.

    Args:
        arms: the counts at the horizon (see :func:`freeze_at_horizon`), control first.
        plan: baseline and smallest effect; fixes the sample per arm.
        metric: what ``successes`` count, for the sentence ("positive replies").

    Returns:
        A :class:`Verdict`; no test is run, and no p-value given, before every arm has
        reached the planned sample.
    """
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValidationError(f"variant names must be unique, got {names}")
    stats = tuple(_arm_stats(a) for a in arms)
    per_arm = planned_sample_per_arm(plan, len(arms))
    if len(arms) < 2:
        return Verdict("no_test", "no test: this step has fewer than two variants", stats, 0)
    smallest = min(a.trials for a in arms)
    if smallest < per_arm:
        more = per_arm - smallest
        return Verdict(
            "not_enough_data",
            f"not enough data: about {more} more leads per arm"
            f" (planned {per_arm} per arm, the smallest arm has {smallest})",
            stats,
            per_arm,
            more_per_arm=more,
        )
    alpha = plan.alpha / (len(arms) - 1)
    control, challengers = arms[0], arms[1:]
    comps = tuple(_compare(control, c, alpha) for c in challengers)
    by_name = {a.name: a for a in arms}
    better = [c for c in comps if c.significant and c.difference > 0]
    if better:
        best = max(better, key=lambda c: by_name[c.challenger].rate)
        winner = by_name[best.challenger]
        vs = "" if len(arms) == 2 else f" than {control.name}"
        text = f"{winner.name} is better{vs}: {_detail(winner, control, best, metric)}"
        return Verdict("winner", text, stats, per_arm, winner=winner.name, comparisons=comps)
    if all(c.significant and c.difference < 0 for c in comps):
        closest = max(comps, key=lambda c: c.difference)
        loser = by_name[closest.challenger]
        text = f"{control.name} is better: {_detail(control, loser, closest, metric)}"
        return Verdict("winner", text, stats, per_arm, winner=control.name, comparisons=comps)
    closest = min(comps, key=lambda c: c.p_value)
    level = round((1 - closest.alpha) * 100, 1)
    text = (
        f"no difference found at the planned sample ({per_arm} per arm):"
        f" {', '.join(f'{a.name} {_pct(a.rate)}' for a in arms)} {metric},"
        f" smallest {_p_text(closest.p_value)};"
        f" {level:g}% CI for {closest.challenger} - {closest.control}"
        f" {_points(closest.diff_low)} to {_points(closest.diff_high)} points"
    )
    return Verdict("no_difference", text, stats, per_arm, comparisons=comps)
