"""Turning an outreach message into what a channel sends: template rendering and the pure
helpers shared by the transports (SMTP, outbox, LinkedIn, contact forms)."""
