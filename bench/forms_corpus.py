"""Measurement: what the contact-form channel makes of the real-world form pages.

Every page fixture of ``tests/fixtures/forms`` (their sources: SOURCES.md there; what
each must become: corpus.json) is served by the loopback form site and sent to through
the real channel (``send_outreach_message``, a fresh SQLite database), then checked:

* submit: SENT, POSTed once, message and the sender's email or phone in it, the fields
  corpus.json names filled with the sender's values, no honeypot filled;
* task: an operator task and nothing posted; no_form: "no contact form", nothing posted.

It also asks the dry run (``aicmo form check``) about each page and counts the pages where
it decides as the send did. Prints recognised/total per expected verdict.

    python bench/forms_corpus.py [--json]

Run it against another checkout's code (e.g. before a change) with that checkout's
``src`` first on PYTHONPATH; the pages and expectations are always this tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT))  # the tests package (fixtures, loopback site); src stays first

_TMP = tempfile.mkdtemp(prefix="aicmo-forms-")
os.environ["AICMO_DATA_DIR"] = _TMP
os.environ["AICMO_DATABASE_URL"] = f"sqlite:///{_TMP}/aicmo.db"
os.environ.setdefault("AICMO_SECRET_KEY", "bench-secret-key-bench-secret-key-0123456789")
os.environ["AICMO_ALLOW_LOOPBACK"] = "1"
os.environ["AICMO_FORM_DOMAIN_GAP_HOURS"] = "0"

from tests.form_corpus import PAGES, SENDER_ENV, send_page, wrong_fields  # noqa: E402

os.environ.update(SENDER_ENV)

from tests.form_sites import HONEYPOTS, FormSites, create_form_sites  # noqa: E402
from tests.http_server import serve  # noqa: E402

from aicmo.bootstrap import initialize  # noqa: E402
from aicmo.config import get_settings  # noqa: E402
from aicmo.db.connect import make_engine, session_factory  # noqa: E402
from aicmo.operator_services.channels import contact_form  # noqa: E402

VERDICTS = ("submit", "task", "no_form")


def dry_run_decision(url: str) -> str:
    """What ``aicmo form check`` says about the page (older code has no ``decision``)."""
    try:
        report = contact_form.inspect_site(url, explicit=True)
    except TypeError:  # before the dry run shared the send's plan
        report = contact_form.inspect_site(url)
    if "decision" in report:
        return str(report["decision"])
    if report["form"] is None:
        return "task" if report["blockers"] else "no_form"
    return "submit" if report["would_submit"] else "task"


def measure() -> dict[str, Any]:
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    initialize(settings, engine)
    sites = FormSites()
    pages: dict[str, dict[str, Any]] = {}
    with serve(create_form_sites(sites)) as base, session_factory(engine)() as db:
        for number, name in enumerate(sorted(PAGES)):
            expect = PAGES[name]["expect"]
            dry = dry_run_decision(f"{base}/{name}/")
            outcome = send_page(db, sites, base, name, f"owner{number}@site.example")
            problems: list[str] = []
            if outcome.decision != expect:
                problems.append(f"became {outcome.decision}: {outcome.error or outcome.status}")
            elif expect == "submit":
                problems += wrong_fields(name, outcome)
            elif outcome.posts:
                problems.append("posted to")
            honeypots = [
                k for post in outcome.posts for k, v in post.fields if k in HONEYPOTS and v
            ]
            pages[name] = {
                "expect": expect,
                "decision": outcome.decision,
                "dry_run": dry,
                "right": not problems,
                "problems": problems,
                "honeypots_filled": len(honeypots),
            }
    engine.dispose()
    summary = {
        verdict: {
            "recognised": sum(1 for p in pages.values() if p["expect"] == verdict and p["right"]),
            "total": sum(1 for p in pages.values() if p["expect"] == verdict),
        }
        for verdict in VERDICTS
    }
    summary["honeypots_filled"] = {
        "pages": sum(1 for p in pages.values() if p["honeypots_filled"]),
        "total": len(pages),
    }
    summary["dry_run_agrees"] = {
        "pages": sum(1 for p in pages.values() if p["dry_run"] == p["decision"]),
        "total": len(pages),
    }
    return {"summary": summary, "pages": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print everything as JSON")
    args = parser.parse_args()
    result = measure()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, page in result["pages"].items():
        if not page["right"] or page["dry_run"] != page["decision"]:
            why = "; ".join(page["problems"]) or f"dry run says {page['dry_run']}"
            print(f"  {name}: expected {page['expect']}: {why}")
    summary = result["summary"]
    for verdict in VERDICTS:
        print(f"{verdict:8} {summary[verdict]['recognised']}/{summary[verdict]['total']}")
    filled, agree = summary["honeypots_filled"], summary["dry_run_agrees"]
    print(f"honeypot filled on {filled['pages']}/{filled['total']} pages")
    print(f"dry run decides as the send on {agree['pages']}/{agree['total']} pages")


if __name__ == "__main__":
    main()
