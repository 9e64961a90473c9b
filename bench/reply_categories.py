"""Benchmark: precision and recall of the reply-category rules on the labelled corpus.

Every sample of tests/fixtures/mail/replies listed in categories.csv (sources and
licences in SOURCES.md there) is read as the body of a reply with our own message quoted
under it, as it arrives, and categorised by :func:`aicmo.cam.inbound.categories
.categorize_reply`. Prints, per category, precision (of the replies given the category,
how many have it), recall (of the replies that have it, how many got it) and support,
then the confusion pairs and every miss with the rule that fired.

    python bench/reply_categories.py [--subset published|written|all]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the corpus lives in tests/

from tests.reply_corpus import REPLIES, Sample, as_reply_body, categorized_samples

from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.inbound.categories import categorize_reply


def _origins() -> dict[str, str]:
    """Each sample's origin from the tables of SOURCES.md: "published" (a published sample
    or another project's test data: independent of the rules) or "written" (written for
    the test, or a fixture of this project)."""
    origins: dict[str, str] = {}
    section = ""
    for line in (REPLIES / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].endswith(".txt"):
            folder = section if section in {"stop", "ooo", "human", "categorized"} else ""
            key = f"{folder}/{cells[0].removesuffix('.txt')}"
            independent = cells[1] in {"published sample", "test-suite data"}
            origins[key] = "published" if independent else "written"
    return origins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", choices=("all", "published", "written"), default="all")
    args = parser.parse_args()
    origins = _origins()
    chosen: list[Sample] = [
        s
        for s in categorized_samples()
        if args.subset == "all" or origins.get(s.name, "published") == args.subset
    ]
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    right: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for sample in chosen:
        found = categorize_reply(as_reply_body(sample.text))
        got = found.category.value
        predicted[got] += 1
        actual[sample.label] += 1
        if got == sample.label:
            right[got] += 1
        else:
            confusion[(sample.label, got)] += 1
            misses.append(f"  {sample.name}: {sample.label} taken for {got} (rule {found.rule})")
    print(f"{len(chosen)} samples ({args.subset})")
    print(f"{'category':<15} {'precision':>9} {'recall':>7} {'support':>8}")
    for category in ReplyCategory:
        c = category.value
        precision = right[c] / predicted[c] if predicted[c] else float("nan")
        recall = right[c] / actual[c] if actual[c] else float("nan")
        print(f"{c:<15} {precision:>9.2f} {recall:>7.2f} {actual[c]:>8}")
    total = sum(right.values())
    print(f"accuracy {total}/{len(chosen)} = {total / len(chosen):.2f}")
    if confusion:
        print("confusions (labelled -> given):")
        for (want, got), n in confusion.most_common():
            print(f"  {want} -> {got}: {n}")
    if misses:
        print("misses:")
        print("\n".join(misses))


if __name__ == "__main__":
    main()
