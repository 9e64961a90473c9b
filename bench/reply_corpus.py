"""Benchmark: how many replies of the reply corpus are classified as labelled.

The corpus (tests/fixtures/mail/replies/<label>/, sources in SOURCES.md there) holds stop
requests, out-of-office notices and human replies, each sent as a plain ``Re:`` reply with
no auto-reply header, so only the text decides. Prints recognised/total per label, then
the samples that were missed and what they were taken for.

    python bench/reply_corpus.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the corpus lives in tests/

from tests.reply_corpus import EXPECTED, LABELS, classify_sample, samples


def main() -> None:
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    misses: list[str] = []
    for sample in samples():
        kind = classify_sample(sample)
        totals[sample.label] += 1
        if kind is EXPECTED[sample.label]:
            hits[sample.label] += 1
        else:
            misses.append(f"  {sample.label}/{sample.name}: taken for {kind.value}")
    for label in LABELS:
        share = hits[label] / totals[label] if totals[label] else 0.0
        print(f"{label:<6} {hits[label]:>3}/{totals[label]:<3} {share:6.1%}")
    if misses:
        print("missed:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
