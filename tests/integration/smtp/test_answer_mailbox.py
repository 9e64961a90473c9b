"""An answer to a reply leaves from the mailbox the conversation used (not the one the
rotation would pick next), threaded, through a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.errors import MailboxesDisabledError
from aicmo.operator_services.channels.mailboxes import add_mailbox, set_mailbox_enabled
from aicmo.operator_services.crm.answers import answer_reply, get_reply
from aicmo.operator_services.crm.replies import list_replies
from aicmo.operator_services.inbound.processing import process_inbound_message
from tests.integration.smtp.conftest import StartServer

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEAD = "jane.doe@example.org"


def test_the_answer_leaves_from_the_conversations_mailbox_threaded(
    db: Session, smtp_server: StartServer
) -> None:
    server = smtp_server("plain")
    for name in ("alex", "sam"):
        add_mailbox(
            db,
            name,
            f"{name}@agency.example",
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            smtp_security="none",
        )
    lead_id = ops.create_lead(db, email=LEAD, first_name="Jane")["id"]
    first = ops.send_outreach_message(db, lead_id, "Hi Jane", "Hello", now=T0)
    ours = db.get(OutreachMessageDB, first["message_id"])
    assert ours is not None and ours.rfc_message_id
    assert server.received[0].mail_from == "alex@agency.example"  # sam is next in rotation

    reply = EmailMessage()
    reply["From"] = f"Jane <{LEAD}>"
    reply["To"] = "alex@agency.example"
    reply["Subject"] = "Re: Hello"
    reply["Date"] = format_datetime(T0)
    reply["Message-ID"] = "<r1@example.org>"
    reply["In-Reply-To"] = ours.rfc_message_id
    reply.set_content("Interesting, tell me more.")
    process_inbound_message(db, reply.as_bytes(), received_at=T0 + timedelta(hours=1))
    [row] = list_replies(db)
    assert "mailbox alex (alex@agency.example)" in get_reply(db, row["id"])["answer"]["via"]

    sent = answer_reply(db, row["id"], "Gladly.", now=T0 + timedelta(hours=2))
    assert sent["success"] and sent["transport"] == "smtp", sent
    [_, answer] = server.received
    assert answer.mail_from == "alex@agency.example" and answer.rcpt_tos == [LEAD]
    msg = email.message_from_bytes(answer.content, policy=email.policy.default)
    assert msg["In-Reply-To"] == "<r1@example.org>"
    assert str(msg["References"]).split() == [ours.rfc_message_id, "<r1@example.org>"]
    assert msg["Subject"] == "Re: Hello"

    # With the conversation's mailbox off, the answer waits: no other address answers.
    set_mailbox_enabled(db, "alex", False)
    with pytest.raises(MailboxesDisabledError, match="alex"):
        answer_reply(db, row["id"], "Still there?", now=T0 + timedelta(hours=3))
    assert len(server.received) == 2
    assert len(ops.get_outreach_history(db, lead_id=lead_id)) == 2
