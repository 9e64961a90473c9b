"""Campaign files that are wrong in every way a file can be: each is a ValidationError
that names the place, found at create time, never a hang, a traceback or a crash at
`campaign start`."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.errors import ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.campaigns import create_campaign, parse_campaign_yaml
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults

STEPS = "steps:\n  - channel: EMAIL\n    template: {subject: Hi, body: Hello}\n"

ALIAS_BOMB = (
    "name: bomb\n"
    + STEPS
    + "settings:\n"
    + '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
)


def load(db: Session, text: str) -> dict[str, Any]:
    return create_campaign(db, **parse_campaign_yaml(text))


def test_an_alias_bomb_is_refused_at_once(db: Session) -> None:
    started = time.monotonic()
    with pytest.raises(ValidationError, match=r"expands to more than 4 MiB through YAML aliases"):
        load(db, ALIAS_BOMB)
    assert time.monotonic() - started < 5


def test_a_few_aliases_are_fine(db: Session) -> None:
    text = (
        "name: reuse\n"
        "steps:\n"
        "  - channel: EMAIL\n"
        "    template: &t {subject: Hi, body: Hello}\n"
        "  - channel: EMAIL\n"
        "    delay_hours: 48\n"
        "    template: *t\n"
    )
    assert load(db, text)["status"] == "DRAFT"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: loop\n" + STEPS + "settings: &s {again: *s}\n", "contains itself"),
        ("name: deep\n" + STEPS + "settings: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        ("name: deep\n" + STEPS + "settings: " + "[" * 60 + "]" * 60 + "\n", "nested more"),
        ("name: when\n" + STEPS + "settings: {day: 2026-01-05}\n", "settings.day is a date"),
        ("name: bad date\n" + STEPS + "settings: {day: 2026-13-45}\n", "YAML cannot read"),
        ("name: bin\n" + STEPS + "settings: {k: !!binary aGk=}\n", "is a bytes"),
        ("name: nan\n" + STEPS + "settings: {k: .nan}\n", "finite number"),
        ("name: key\n" + STEPS + "settings: {1: a}\n", "key 1"),
        ("name: [a]\n" + STEPS, "needs a name"),
        ("name: d\ndescription: [1, 2]\n" + STEPS, "description must be text"),
        ("name: s\nsettings: 5\n" + STEPS, "settings must be a mapping"),
        ("name: s\nsettings: {audience: {}}\n" + STEPS, "top of the campaign file"),
        ("name: w\nsettings: {window: {timezone: 5}}\n" + STEPS, "timezone"),
        ("name: w\nsettings: {window: {days: mon}}\n" + STEPS, "days must be a list"),
        ("name: w\nsettings: {window: {start: 900}}\n" + STEPS, "in quotes"),
        ("name: w\nsettings: {window: {jitter_seconds: 1e9}}\n" + STEPS, "jitter_seconds"),
        ("name: w\nsettings: {window: {hours: 3}}\n" + STEPS, "unknown settings.window"),
        ("name: a\naudience: A\n" + STEPS, "audience must be a mapping"),
        ("name: a\naudience: {grade: 5}\n" + STEPS, "audience.grade must be a word"),
        ("name: a\naudience: {grade: [A, Z]}\n" + STEPS, "unknown grade 'Z'"),
        ("name: a\naudience: {stage: [nope]}\n" + STEPS, "unknown stage"),
        ("name: a\naudience: {tag: [a, {b: c}]}\n" + STEPS, "audience.tag must be"),
        ("name: a\naudience: {tag: []}\n" + STEPS, "audience.tag must be"),
        ("name: a\naudience: {min_score: high}\n" + STEPS, "min_score"),
        ("name: a\naudience: {min_score: 99999999999999999999999}\n" + STEPS, "min_score"),
        ("name: a\naudience: {lead_ids: [1, x]}\n" + STEPS, "lead_ids"),
        ("name: a\naudience: {lead_ids: [99999999999999999999]}\n" + STEPS, "lead_ids"),
        (
            "name: late\nsteps:\n  - channel: EMAIL\n    delay_hours: 1e20\n"
            "    template: {subject: Hi, body: Hello}\n",
            "delay_hours",
        ),
        ("name: seq\nsequence: [a]\n", "sequence must be the name"),
    ],
)
def test_a_wrong_campaign_file_is_a_clear_error(db: Session, text: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        load(db, text)


def test_a_list_of_tags_means_any_of_them_from_create_to_start(db: Session) -> None:
    ensure_workspace_defaults(db)
    ops.create_lead(db, email="a@acme.example", tags=["expo"])
    ops.create_lead(db, email="b@acme.example", tags=["vip"])
    ops.create_lead(db, email="c@acme.example", tags=["other"])
    load(db, "name: tagged\naudience: {tag: [Expo, vip], grade: [a, b, c, d]}\n" + STEPS)
    assert campaigns.validate_campaign(db, "tagged")["leads"] == 2
    assert campaigns.start_campaign(db, "tagged")["enrolled"] == 2


def test_one_tag_grade_or_stage_is_a_list_of_one(db: Session) -> None:
    ensure_workspace_defaults(db)
    ops.create_lead(db, email="a@acme.example", tags=["expo"])
    created = load(db, "name: one\naudience: {tag: expo, stage: new}\n" + STEPS)
    assert created["settings"]["audience"] == {"tag": ["expo"], "stage": ["NEW"]}
    assert campaigns.start_campaign(db, "one")["enrolled"] == 1
