"""The seed document's Python examples, run as written (with a session as `db`/`session`).

`ChannelSequencer` (the seed's quick start) belongs to the outreach engine and is not
exercised here yet.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from aicmo.cam.db_models import LeadDB


def test_outreach_message_is_built_as_in_the_seed() -> None:
    from aicmo.cam.domain import ChannelType, OutreachMessage

    msg = OutreachMessage(
        channel=ChannelType.EMAIL,
        message_type="cold_outreach",
        body="Hi John, I wanted to reach out...",
        subject="Quick question",
    )
    assert msg.channel.value == "EMAIL" and msg.subject == "Quick question"


def test_operator_api_snippets_run_as_written(db: Session, capsys: object) -> None:
    session = db
    session.add(LeadDB(id=123, email="lead123@example.com", email_key="lead123@example.com"))
    session.commit()

    # --- seed: "Use Operator API" ---
    from aicmo import operator_services

    # Send outreach
    result = operator_services.send_outreach_message(
        db=session, lead_id=123, message_body="Let's connect!", subject="Partnership opportunity"
    )

    # Get metrics
    metrics = operator_services.get_channel_metrics(db, campaign_id=42, days=7)
    # --- end ---
    assert result["transport"] == "outbox"  # no mailbox configured: the local outbox, said so
    assert "not delivered" in result["response"]
    assert set(metrics) == {"EMAIL", "LINKEDIN", "CONTACT_FORM"}

    # --- seed: "Issue: Rate limiter blocking" ---
    config = operator_services.get_channel_config(db, "EMAIL")
    print(f"Max per hour: {config['rate_limit_per_hour']}")

    # Increase if needed
    operator_services.update_channel_config(
        db=session, channel_name="EMAIL", rate_limit_per_hour=200
    )
    # --- end ---
    assert operator_services.get_channel_config(db, "EMAIL")["rate_limit_per_hour"] == 200

    # --- seed: "Issue: Sequencer not trying fallback" ---
    from aicmo.cam.db_models import SequenceConfigDB

    seq = db.query(SequenceConfigDB).first()
    print(f"Steps: {len(seq.steps)}")  # type: ignore[union-attr]  # Should be > 1
    # --- end ---
    assert seq is not None
    assert len(seq.steps) > 1

    # --- seed: "METRICS DASHBOARD" ---
    from aicmo import operator_services

    # Get all metrics
    metrics = operator_services.get_channel_metrics(db, days=7)
    from aicmo.operator_services import get_channel_metrics

    metrics = get_channel_metrics(db, campaign_id=42, days=7)

    print("Email:")
    print(f"  Delivery: {metrics['EMAIL']['delivery_rate']:.1f}%")
    print(f"  Reply: {metrics['EMAIL']['reply_rate']:.1f}%")
    print(f"  Bounce: {metrics['EMAIL']['bounce_rate']:.1f}%")
    # --- end ---
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "Max per hour: 100" in out and "Steps: 3" in out and "Delivery: 0.0%" in out


def test_channel_sequencer_quick_start_runs_as_written(capsys: object) -> None:
    # --- seed: "Send via Multi-Channel Sequencer" (no session: the settings' database) ---
    from aicmo.cam.domain import ChannelType, OutreachMessage
    from aicmo.cam.outreach.sequencer import ChannelSequencer

    seq = ChannelSequencer()
    msg = OutreachMessage(
        channel=ChannelType.EMAIL,
        message_type="cold_outreach",
        body="Hi John, I wanted to reach out...",
        subject="Quick question",
    )

    result = seq.execute_sequence(
        message=msg,
        recipient_email="john@example.com",
        recipient_linkedin_id="john-li-id",
        form_url="https://example.com/contact",
    )

    print(f"Success: {result['success']}")
    print(f"Channel: {result['channel_used']}")  # 'EMAIL', 'LINKEDIN', or 'CONTACT_FORM'
    # --- end ---
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "Success: True" in out and "Channel: EMAIL" in out
    assert result["attempts"][0]["transport"] == "outbox"  # no mailbox: said so
