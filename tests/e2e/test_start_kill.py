"""`campaign start` killed with SIGKILL midway, then run again: the campaign ends with
its whole audience enrolled, nobody twice, nobody lost.

The start commits chunk by chunk; the child process kills itself at the two dangerous
instants: just after a chunk's commit (between chunks), and after a chunk's INSERT but
before its commit (the database must drop that chunk whole).
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import CampaignDB, EnrollmentDB, EventDB, LeadDB
from aicmo.operator_services import campaigns

LEADS = 23
CHUNK = 5

CHILD = """
import os, signal, sys
from aicmo.cam import repository
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services import campaigns

url, where, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
committed = 0

def after_chunk(done, total):
    global committed
    committed += 1
    if where == "after_commit" and committed == 2:
        os.kill(os.getpid(), signal.SIGKILL)

real_insert = repository.insert_enrollments

def insert(db, rows, **kwargs):
    written = real_insert(db, rows, **kwargs)
    if where == "before_commit" and committed == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return written

repository.insert_enrollments = insert
with session_factory(make_engine(url))() as db:
    campaigns.start_campaign(db, "Crash", chunk_size=chunk, on_progress=after_chunk)
"""


def enrollments(db: Session, campaign_id: int) -> tuple[int, int]:
    db.rollback()
    total, distinct = db.execute(
        select(func.count(), func.count(func.distinct(EnrollmentDB.lead_id))).where(
            EnrollmentDB.campaign_id == campaign_id
        )
    ).one()
    return int(total), int(distinct)


@pytest.mark.parametrize("where", ["after_commit", "before_commit"])
def test_a_start_killed_midway_then_run_again_enrolls_everyone_once(
    db: Session, db_url: str, where: str
) -> None:
    db.add_all(
        LeadDB(
            workspace_id=1,
            email=f"k{i}@acme.example",
            email_key=f"k{i}@acme.example",
            grade="A",
            # 12 scored 90 first: the first two chunks are full ones.
            score=90 if i < 12 else (70 if i < 18 else None),
        )
        for i in range(LEADS)
    )
    db.commit()
    steps = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}]
    made = campaigns.create_campaign(db, "Crash", steps=steps, audience={"grade": ["A"]})
    db.commit()

    child = subprocess.run(
        [sys.executable, "-c", CHILD, db_url, where, str(CHUNK)], capture_output=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]

    # Two chunks committed; the third, killed before its commit, left nothing.
    assert enrollments(db, made["id"]) == (2 * CHUNK, 2 * CHUNK)
    campaign = db.get(CampaignDB, made["id"])
    assert campaign is not None and campaign.status == "DRAFT"  # nothing is sent meanwhile
    assert not db.scalar(
        select(func.count()).select_from(EventDB).where(EventDB.campaign_id == made["id"])
    )

    again = campaigns.start_campaign(db, "Crash")
    assert again["enrolled"] == LEADS - 2 * CHUNK
    assert again["status"] == "ACTIVE"
    assert enrollments(db, made["id"]) == (LEADS, LEADS)
