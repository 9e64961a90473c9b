"""The form fixtures as a corpus: what each page must become, and a way to see what it
does become through the real send (loopback site, real database) or the dry run.

Shared by the integration tests and ``bench/forms_corpus.py``; the expectations live in
``tests/fixtures/forms/corpus.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from tests.form_sites import FIXTURES, HONEYPOTS, FormSites, Posted

CORPUS: dict[str, Any] = json.loads((FIXTURES / "corpus.json").read_text(encoding="utf-8"))
PAGES: dict[str, dict[str, Any]] = CORPUS["pages"]
SENDER_ENV: dict[str, str] = CORPUS["sender"]
MESSAGE = "Hello, I would like to talk about your work."
SUBJECT = "A question"
_FIRST, _, _LAST = SENDER_ENV["AICMO_SENDER_NAME"].partition(" ")
#: What the sender's settings put in a field of each role.
ROLE_VALUES = {
    "first_name": _FIRST,
    "last_name": _LAST,
    "full_name": SENDER_ENV["AICMO_SENDER_NAME"],
    "email": SENDER_ENV["AICMO_SENDER_EMAIL"],
    "phone": SENDER_ENV["AICMO_SENDER_PHONE"],
    "city": SENDER_ENV["AICMO_SENDER_CITY"],
    "state": SENDER_ENV["AICMO_SENDER_STATE"],
    "subject": SUBJECT,
    "message": MESSAGE,
    "answer": "10",
}


@dataclass
class Outcome:
    """What the channel did with one page: ``submit``, ``task``, ``no_form`` or ``refuse``."""

    decision: str
    status: str
    error: str = ""
    posts: list[Posted] = field(default_factory=list)


def send_page(db: Session, sites: FormSites, base: str, name: str, email: str) -> Outcome:
    """Send to a lead whose form page is the fixture ``name`` (the real channel)."""
    before = len(sites.posts)
    person = ops.create_lead(db, email=email, form_url=f"{base}/{name}/")
    result = ops.send_outreach_message(db, person["id"], MESSAGE, SUBJECT, channel="CONTACT_FORM")
    [row] = ops.get_outreach_history(db, lead_id=person["id"])
    error = row["error"] or ""
    if result.get("outcome") == "TASK":
        decision = "task"
    elif error.startswith("permanent: no contact form"):
        decision = "no_form"
    elif (row["details"] or {}).get("action"):
        decision = "submit"
    else:
        decision = "refuse"
    return Outcome(decision, result["status"], error, sites.posts[before:])


def wrong_fields(name: str, outcome: Outcome) -> list[str]:
    """Why a submission was not the right one ([] when it was)."""
    page = PAGES[name]
    if outcome.status != "SENT":
        return [f"status {outcome.status}: {outcome.error}"]
    if len(outcome.posts) != 1:
        return [f"{len(outcome.posts)} POSTs recorded (the form must be POSTed once)"]
    posted = outcome.posts[0]
    values = [v for _, v in posted.fields]
    problems = [f"honeypot {k!r} filled" for k, v in posted.fields if k in HONEYPOTS and v]
    if page.get("message", True) and not any(MESSAGE[:30] in v for v in values):
        problems.append("the message is not in the payload")
    if ROLE_VALUES["email"] not in values and ROLE_VALUES["phone"] not in values:
        problems.append("neither the sender's email nor phone is in the payload")
    for field_name, role in page.get("fields", {}).items():
        if posted.get(field_name) != ROLE_VALUES[role]:
            problems.append(f"{field_name} = {posted.get(field_name)!r}, not the {role}")
    return problems
