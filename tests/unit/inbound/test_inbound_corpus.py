"""Every real public sample in tests/fixtures/mail/corpus is classified as what it truly is.

The corpus (sisimai's and flufl.bounce's test mail, see its SOURCES.md) holds bounces of
dozens of MTAs and carriers, delays, feedback-loop complaints, a provider opt-out and DMARC
failure reports. For bounces and complaints the failed or complained-about recipient must
be the one the sample names; a report naming nobody must at least carry the Message-ID of
the message it is about, through which the service finds the lead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound import InboundKind, classify_message

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "corpus"
RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

KIND_OF: dict[str, InboundKind] = {
    "hard": InboundKind.BOUNCE,
    "soft": InboundKind.BOUNCE,
    "delay": InboundKind.BOUNCE,
    "complaint": InboundKind.COMPLAINT,
    "optout": InboundKind.UNSUBSCRIBE_REQUEST,
    "auth_failure": InboundKind.AUTH_FAILURE_REPORT,
    "autoreply": InboundKind.AUTO_REPLY,
    "human": InboundKind.REPLY,
}
EVENT_OF: dict[str, EventType] = {
    "hard": EventType.BOUNCED_HARD,
    "soft": EventType.BOUNCED_SOFT,
    "delay": EventType.BOUNCED_SOFT,
    "complaint": EventType.COMPLAINED,
    "optout": EventType.UNSUBSCRIBED,
}


def corpus() -> list[tuple[str, str, frozenset[str]]]:
    """(file, kind, recipients) for every row of the SOURCES.md table."""
    rows: list[tuple[str, str, frozenset[str]]] = []
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1] in KIND_OF:
            rows.append((cells[0], cells[1], frozenset(cells[2].lower().split())))
    return rows


SAMPLES = corpus()


def test_the_corpus_is_large_enough_to_mean_something() -> None:
    count = {kind: sum(1 for _, k, _ in SAMPLES if k == kind) for kind in KIND_OF}
    assert count["hard"] >= 95 and count["soft"] + count["delay"] >= 25
    assert count["complaint"] >= 10 and count["auth_failure"] >= 3
    assert all((CORPUS / name).is_file() for name, _, _ in SAMPLES)
    listed = {name for name, _, _ in SAMPLES}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.eml")}
    assert listed == on_disk, "every sample is listed with its source, and only those"


@pytest.mark.parametrize(("name", "kind", "recipients"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_real_sample_is_classified_as_what_it_is(
    name: str, kind: str, recipients: frozenset[str]
) -> None:
    result = classify_message((CORPUS / name).read_bytes(), RECEIVED)

    assert result.kind is KIND_OF[kind], [(e.type, e.recipient, e.reason) for e in result.events]
    if kind in EVENT_OF:
        assert {e.type for e in result.events} == {EVENT_OF[kind]}
        named = {e.recipient for e in result.events if e.recipient}
        if recipients:
            assert named == recipients
        else:
            assert not named and result.references, "matched through our Message-ID"


def test_no_sample_that_is_not_a_person_writing_is_taken_for_a_reply() -> None:
    taken = [
        name
        for name, kind, _ in SAMPLES
        if kind != "human"
        and classify_message((CORPUS / name).read_bytes(), RECEIVED).kind is InboundKind.REPLY
    ]

    assert taken == []
