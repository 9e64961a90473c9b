"""Channels: how a message reaches a lead (email today; LinkedIn and contact forms next)."""
