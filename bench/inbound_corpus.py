"""Benchmark: inbound mail classification on the corpus of real public samples.

Reads tests/fixtures/mail/corpus/SOURCES.md (file, true kind, failed or complained-about
recipients) and prints, per kind, how many samples were recognised: by aicmo's classifier,
and by flufl.bounce alone (the bounce library aicmo builds on) on the same files. Then the
number of non-replies aicmo would record as a person's reply (must be 0).

Recognised means:
- hard / soft / delay: a bounce whose every event is hard (resp. soft) and whose recipients
  are exactly the expected ones (a report naming nobody must still carry a reference to
  our Message-ID, through which the service finds the lead);
- complaint / optout: a complaint (resp. unsubscribe) naming exactly the expected
  recipients, or naming nobody but carrying our Message-ID when the report names nobody;
- auth_failure, autoreply, human: the right kind.
flufl.bounce only knows bounces and has no notion of a soft final failure: a hard sample
counts for it when its permanent set equals the expected recipients, a delay when its
temporary set does, a soft one when either does; autoreply and human count when it finds no
failure; other kinds are outside what it does ("-").

    python bench/inbound_corpus.py [--verbose]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from flufl.bounce import all_failures

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mail" / "corpus"
RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KINDS = ("hard", "soft", "delay", "complaint", "optout", "auth_failure", "autoreply", "human")

_EXPECTED_KIND: dict[str, InboundKind] = {
    "hard": InboundKind.BOUNCE,
    "soft": InboundKind.BOUNCE,
    "delay": InboundKind.BOUNCE,
    "complaint": InboundKind.COMPLAINT,
    "optout": InboundKind.UNSUBSCRIBE_REQUEST,
    "auth_failure": InboundKind.AUTH_FAILURE_REPORT,
    "autoreply": InboundKind.AUTO_REPLY,
    "human": InboundKind.REPLY,
}
_EXPECTED_EVENT: dict[str, EventType] = {
    "hard": EventType.BOUNCED_HARD,
    "soft": EventType.BOUNCED_SOFT,
    "delay": EventType.BOUNCED_SOFT,
    "complaint": EventType.COMPLAINED,
    "optout": EventType.UNSUBSCRIBED,
}


@dataclass(frozen=True, slots=True)
class Sample:
    path: Path
    kind: str
    recipients: frozenset[str]


def load_corpus(root: Path = CORPUS) -> list[Sample]:
    """The samples listed in the corpus's SOURCES.md table."""
    samples: list[Sample] = []
    for line in (root / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[1] not in KINDS:
            continue
        samples.append(Sample(root / cells[0], cells[1], frozenset(cells[2].lower().split())))
    return samples


def aicmo_recognises(sample: Sample, result: InboundResult) -> bool:
    """Whether ``result`` is what ``sample`` truly is (see the module docstring)."""
    if result.kind is not _EXPECTED_KIND[sample.kind]:
        return False
    wanted = _EXPECTED_EVENT.get(sample.kind)
    if wanted is None:
        return True
    if any(e.type is not wanted for e in result.events):
        return False
    named = {e.recipient for e in result.events if e.recipient}
    if sample.recipients:
        return named == sample.recipients
    return not named and bool(result.references)


def flufl_recognises(sample: Sample, raw: bytes) -> bool | None:
    """Whether flufl.bounce alone finds what ``sample`` is; ``None`` outside its scope."""
    try:
        temporary, permanent = all_failures(message_from_bytes(raw))
    except Exception:
        temporary, permanent = frozenset(), frozenset()
    temp = {a.decode("ascii", "replace").lower() for a in temporary}
    perm = {a.decode("ascii", "replace").lower() for a in permanent}
    if sample.kind == "hard":
        return perm == sample.recipients and not temp
    if sample.kind == "delay":
        return temp == sample.recipients
    if sample.kind == "soft":
        return sample.recipients in (perm, temp, perm | temp)
    if sample.kind in {"autoreply", "human"}:
        return not temp and not perm
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    ours: dict[str, list[bool]] = {k: [] for k in KINDS}
    theirs: dict[str, list[bool]] = {k: [] for k in KINDS}
    taken_for_replies: list[str] = []
    for sample in load_corpus():
        raw = sample.path.read_bytes()
        result = classify_message(raw, RECEIVED)
        ok = aicmo_recognises(sample, result)
        ours[sample.kind].append(ok)
        if sample.kind != "human" and result.kind is InboundKind.REPLY:
            taken_for_replies.append(sample.path.name)
        flufl_ok = flufl_recognises(sample, raw)
        if flufl_ok is not None:
            theirs[sample.kind].append(flufl_ok)
        if args.verbose and not ok:
            got = [(e.type.value, e.recipient) for e in result.events]
            print(f"  miss {sample.kind}/{sample.path.name}: {result.kind.value} {got}")
    print(f"{'kind':<14}{'aicmo':>12}{'flufl.bounce':>16}")
    for kind in KINDS:
        total = len(ours[kind])
        if not total:
            continue
        mine = f"{sum(ours[kind])}/{total}"
        other = f"{sum(theirs[kind])}/{total}" if theirs[kind] else "-"
        print(f"{kind:<14}{mine:>12}{other:>16}")
    print(f"non-replies recorded as replies: {len(taken_for_replies)}")
    for name in taken_for_replies:
        print(f"  {name}")


if __name__ == "__main__":
    main()
