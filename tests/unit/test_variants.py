"""A/B variants in a step: validation, the per-lead assignment, and the sequence an
enrollment really runs."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest
from scipy import stats

from aicmo.cam.domain.sequencing import (
    assign_variant,
    assign_variants,
    dump_steps,
    parse_steps,
    variant_of,
    variant_record,
)
from aicmo.errors import ValidationError


def step(variants: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "channel": "EMAIL",
        "template": {"subject": "Hi {{ first_name }}", "body": "Hello"},
        "variants": variants,
        **extra,
    }


TWO: list[dict[str, Any]] = [{"name": "A"}, {"name": "B", "subject": "Quick question", "weight": 1}]


def test_a_variant_overrides_only_what_it_names() -> None:
    seq = parse_steps(
        [
            step(
                [
                    {"name": "A"},
                    {"name": "B", "body": "Other body", "delay_hours": 5},
                    {"name": "C", "channel": "LINKEDIN", "fallback": ["EMAIL"]},
                ]
            )
        ]
    )
    (s,) = seq.steps
    assert s.for_variant("A").template_for("EMAIL") == s.template_for("EMAIL")
    b = s.for_variant("B")
    assert b.template_for("EMAIL").body == "Other body"
    assert b.template_for("EMAIL").subject == "Hi {{ first_name }}"
    assert b.delay_hours == 5
    c = s.for_variant("C")
    assert (c.channel, c.fallback) == ("LINKEDIN", ("EMAIL",))
    assert s.for_variant(None) is s
    with pytest.raises(ValidationError, match="no variant 'Z'"):
        s.for_variant("Z")


def test_subject_override_reaches_every_template_that_has_a_subject() -> None:
    seq = parse_steps(
        [
            {
                "channel": "EMAIL",
                "fallback": ["LINKEDIN"],
                "template": {
                    "EMAIL": {"subject": "Hi", "body": "mail"},
                    "LINKEDIN": {"body": "dm"},
                },
                "variants": [{"name": "A"}, {"name": "B", "subject": "Yo", "body": "new"}],
            }
        ]
    )
    b = seq.steps[0].for_variant("B")
    assert b.template_for("EMAIL").subject == "Yo"
    assert b.template_for("LINKEDIN").subject is None
    assert b.template_for("LINKEDIN").body == "new"


@pytest.mark.parametrize(
    ("variants", "message", "field"),
    [
        ([{"name": "A"}], "needs at least two", "steps[0].variants"),
        ([{"name": "A"}, {"name": "A"}], "unique: A used twice", "steps[0].variants"),
        (
            [{"name": "A"}, {"name": "B", "weight": 0}],
            r"variants\[1\].weight must be a positive number",
            "steps[0].variants[1].weight",
        ),
        (
            [{"name": "A"}, {"name": "B", "weight": -2}],
            "must be a positive number",
            "steps[0].variants[1].weight",
        ),
        ([{"name": "A b"}, {"name": "B"}], "1 to 20 letters", "steps[0].variants[0].name"),
        ([{"name": str(i)} for i in range(6)], "at most 5 variants", "steps[0].variants"),
        (
            [{"name": "A"}, {"name": "B", "channel": "FAX"}],
            "unknown channel 'FAX'",
            "steps[0].variants[1].channel",
        ),
        (
            [{"name": "A"}, {"name": "B", "body": "  "}],
            "variant 'B': .*body must not be empty",
            None,
        ),
        (
            [{"name": "A"}, {"name": "B", "body": "x", "template": {"body": "y"}}],
            "either a whole template or subject/body",
            None,
        ),
        ([{"name": "A"}, {"name": "B", "colour": "red"}], "unknown field 'colour'", None),
        (
            [{"name": "A"}, {"name": "B", "delay_hours": -1}],
            "delay_hours",
            "steps[0].variants[1].delay_hours",
        ),
    ],
)
def test_bad_variants_are_refused_with_step_and_field(
    variants: list[dict[str, Any]], message: str, field: str | None
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        parse_steps([step(variants)])
    assert info.value.message.startswith("step 0: ")
    if field is not None:
        assert info.value.field == field


def test_a_variant_that_moves_to_a_channel_without_a_template_is_refused() -> None:
    raw = {
        "channel": "EMAIL",
        "template": {"EMAIL": {"subject": "Hi", "body": "mail"}},
        "variants": [{"name": "A"}, {"name": "B", "channel": "LINKEDIN"}],
    }
    with pytest.raises(ValidationError, match=r"variant 'B': .*no template for channel LINKEDIN"):
        parse_steps([raw])


def test_the_record_must_fit_the_enrollment_column() -> None:
    long = [{"name": "a" * 20}, {"name": "b"}]
    with pytest.raises(ValidationError, match="more than 40 characters") as info:
        parse_steps([step(long), step(long)])
    assert info.value.field == "steps"


def test_variants_round_trip_through_storage() -> None:
    seq = parse_steps([step(TWO)])
    assert parse_steps(dump_steps(seq)) == seq


def test_assignment_is_the_documented_sha256_bucket() -> None:
    (s,) = parse_steps([step([{"name": "A", "weight": 3}, {"name": "B", "weight": 1}])]).steps
    for lead in range(200):
        digest = hashlib.sha256(f"12:0:{lead}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        assert assign_variant(12, 0, lead, s) == ("A" if u < 0.75 else "B")


def test_assignment_follows_the_weights_and_is_stable() -> None:
    seq = parse_steps(
        [step([{"name": "A", "weight": 2}, {"name": "B"}, {"name": "C", "weight": 1}])]
    )
    n = 6000
    counts = Counter(variant_of(assign_variants(5, seq, lead), 0) for lead in range(n))
    expected = {"A": 0.5, "B": 0.25, "C": 0.25}
    chi2 = stats.chisquare([counts[k] for k in expected], [n * p for p in expected.values()]).pvalue
    assert chi2 > 0.001
    assert [assign_variants(5, seq, lead) for lead in range(50)] == [
        assign_variants(5, seq, lead) for lead in range(50)
    ]
    # Another campaign splits the same leads independently.
    same = sum(assign_variants(5, seq, lead) == assign_variants(6, seq, lead) for lead in range(n))
    assert same < 0.5 * n


def test_several_steps_are_recorded_and_run_per_lead() -> None:
    seq = parse_steps(
        [
            step(TWO),
            {"channel": "EMAIL", "delay_hours": 24, "template": {"subject": "x", "body": "y"}},
            step([{"name": "long"}, {"name": "short", "body": "Short."}], delay_hours=48),
        ]
    )
    records = {assign_variants(1, seq, lead) for lead in range(100)}
    assert records == {"0:A,2:long", "0:A,2:short", "0:B,2:long", "0:B,2:short"}
    run = seq.with_variants("0:B,2:short")
    assert run.steps[0].template_for("EMAIL").subject == "Quick question"
    assert run.steps[1] == seq.steps[1]
    assert run.steps[2].template_for("EMAIL").body == "Short."
    assert seq.with_variants(None) is seq
    # A choice the definition no longer has: the step runs as defined.
    assert seq.with_variants("0:gone,2:short").steps[0] == seq.steps[0]
    assert seq.with_variants("0:gone,2:short").steps[2].template_for("EMAIL").body == "Short."
    assert variant_of("0:B,2:short", 2) == "short"
    assert variant_of("0:B,2:short", 1) is None
    assert variant_record({2: "x", 0: "y"}) == "0:y,2:x"
    assert variant_record({}) is None


def test_a_sequence_without_variants_assigns_nothing() -> None:
    seq = parse_steps([{"channel": "EMAIL", "template": {"subject": "a", "body": "b"}}])
    assert assign_variants(1, seq, 1) is None
