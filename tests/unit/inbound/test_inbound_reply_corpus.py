"""The reply corpus (tests/fixtures/mail/replies): stop requests, out-of-office notices and
human replies, each sent as a plain ``Re:`` reply with no auto-reply header.

Only the text can tell them apart here. A human reply taken for either would be the worst
outcome for a person who answered, so every human sample must stay a reply; the few
notices no text rule can tell from a person are pinned as known misses (strict: the test
fails if one starts being recognised, so the list stays true).
"""

from __future__ import annotations

from datetime import date

import pytest
from tests.reply_corpus import (
    EXPECTED,
    OURS,
    RECEIVED,
    Sample,
    as_plain_reply,
    classify_sample,
    samples,
)

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound import InboundKind, classify_message

#: Notices that say nothing a rule could read without mistaking people for notices: a
#: joke with no absence in it, and a dialogue full of questions.
KNOWN_MISSES = frozenset(
    {
        "ooo/en_moneycoutts_sunbed",
        "ooo/en_foodprocessing_troy_mcclure",
    }
)


def _params() -> list[object]:
    params: list[object] = []
    for sample in samples():
        key = f"{sample.label}/{sample.name}"
        marks = (
            [pytest.mark.xfail(strict=True, reason="known miss: nothing to read in the text")]
            if key in KNOWN_MISSES
            else []
        )
        params.append(pytest.param(sample, id=key, marks=marks))
    return params


@pytest.mark.parametrize("sample", _params())
def test_each_reply_is_classified_as_labelled_from_its_text_alone(sample: Sample) -> None:
    assert classify_sample(sample) is EXPECTED[sample.label]


def test_the_corpus_covers_every_label_and_the_tester_languages() -> None:
    names = {f"{s.label}/{s.name}" for s in samples()}

    for label in EXPECTED:
        assert any(name.startswith(f"{label}/") for name in names)
    for prefix in ("stop/zh_", "stop/pt_", "stop/de_", "ooo/zh_", "ooo/de_", "ooo/pt_"):
        assert any(name.startswith(prefix) for name in names), prefix
    assert names >= KNOWN_MISSES


def test_a_notice_read_from_the_text_keeps_its_return_date() -> None:
    text = (
        "I am currently away returning to the office on May 5th. I will have limited access "
        "to email and will respond to you upon my return."
    )

    result = classify_message(as_plain_reply(text), RECEIVED, our_domains=OURS)

    assert result.kind is InboundKind.AUTO_REPLY
    event = result.events[0]
    assert event.type is EventType.AUTO_REPLY_RECEIVED
    assert event.detail["return_date"] == date(2027, 5, 5).isoformat()
    assert any(signal.startswith("text: ") for signal in event.detail["signals"])


def test_a_stop_request_inside_a_notice_is_a_stop_request() -> None:
    text = (
        "I am out of the office until 3 December with limited access to email.\n"
        "Please unsubscribe me from this list."
    )

    result = classify_message(as_plain_reply(text), RECEIVED, our_domains=OURS)

    assert result.kind is InboundKind.UNSUBSCRIBE_REQUEST
