"""The reply corpus in tests/fixtures/mail/replies, as the classifier sees it.

Each fixture is only the text a person (or a vacation program) wrote. Here it becomes a
plain reply: a ``Re:`` subject, In-Reply-To our message, no ``Auto-Submitted``, no
``X-Autoreply``, no ``Precedence``, and our original quoted below it with its unsubscribe
footer. That is what a reply looks like when a mail server strips the auto-reply headers
or a person pastes a notice by hand, so only the text can tell the three labels apart.
Shared by the corpus tests, ``bench/reply_corpus.py`` and ``bench/reply_categories.py``
(which reads the same texts with the reply category each one should get).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from aicmo.cam.inbound import InboundKind, classify_message

REPLIES = Path(__file__).resolve().parent / "fixtures" / "mail" / "replies"
LABELS = ("stop", "ooo", "human")
#: What each label must be classified as.
EXPECTED: dict[str, InboundKind] = {
    "stop": InboundKind.UNSUBSCRIBE_REQUEST,
    "ooo": InboundKind.AUTO_REPLY,
    "human": InboundKind.REPLY,
}
RECEIVED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SENT = datetime(2026, 11, 30, 10, 2, tzinfo=UTC)
OURS = frozenset({"alex@aicmo.example"})  # our mailbox address

_ORIGINAL = (
    "Hi there,\n\n"
    "ExampleConf 2027 has three sponsorship packages left. Would a short call next week\n"
    "be useful?\n\n"
    "Best,\nAlex\n\n"
    "--\n"
    "Alex Martin | Aicmo Example Ltd | 1 Example Street, Example City\n"
    'To unsubscribe, reply "unsubscribe" or visit https://aicmo.example/u/64xyz\n'
)


@dataclass(frozen=True, slots=True)
class Sample:
    label: str
    name: str
    text: str


def samples() -> list[Sample]:
    """Every fixture, label by label, in file-name order."""
    found: list[Sample] = []
    for label in LABELS:
        for path in sorted((REPLIES / label).glob("*.txt")):
            found.append(Sample(label, path.stem, path.read_text(encoding="utf-8")))
    return found


def as_plain_reply(text: str) -> bytes:
    """``text`` sent as an ordinary reply to our message, with our message quoted."""
    msg = EmailMessage()
    msg["From"] = "Sam Lee <sam.lee@example.net>"
    msg["To"] = "Alex Martin <alex@aicmo.example>"
    msg["Subject"] = "Re: Sponsorship at ExampleConf 2027"
    msg["Date"] = format_datetime(RECEIVED)
    msg["Message-ID"] = "<reply-1@example.net>"
    msg["In-Reply-To"] = "<attempt-64.xyz@aicmo.example>"
    msg["References"] = "<attempt-64.xyz@aicmo.example>"
    attribution = f"On {format_datetime(SENT)}, Alex Martin <alex@aicmo.example> wrote:"
    quoted = "\n".join(f"> {line}".rstrip() for line in _ORIGINAL.split("\n"))
    msg.set_content(f"{text.rstrip()}\n\n{attribution}\n{quoted}\n")
    return msg.as_bytes()


#: The category each sample of the corpus should get (``categories.csv``: every file of the
#: three label folders, plus the ``categorized/`` samples collected for the categories).
CATEGORIES_CSV = REPLIES / "categories.csv"


def categorized_samples() -> list[Sample]:
    """Every sample with its reply category as label, in the order of categories.csv."""
    found: list[Sample] = []
    with CATEGORIES_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            path = REPLIES / row["file"]
            name = row["file"].removesuffix(".txt")
            found.append(Sample(row["category"], name, path.read_text(encoding="utf-8")))
    return found


def as_reply_body(text: str) -> str:
    """``text`` as the body of a reply, with our message quoted under it."""
    attribution = f"On {format_datetime(SENT)}, Alex Martin <alex@aicmo.example> wrote:"
    quoted = "\n".join(f"> {line}".rstrip() for line in _ORIGINAL.split("\n"))
    return f"{text.rstrip()}\n\n{attribution}\n{quoted}\n"


def classify_sample(sample: Sample) -> InboundKind:
    return classify_message(as_plain_reply(sample.text), RECEIVED, our_addresses=OURS).kind
