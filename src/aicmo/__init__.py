"""aicmo: a self-hosted, multi-channel outreach engine with a mini-CRM inside."""

__version__ = "0.1.0"
