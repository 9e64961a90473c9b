"""Run an ASGI app on a real loopback port (uvicorn in a thread) for the length of a test."""

from __future__ import annotations

from aicmo.web.background import serve_in_background as serve

__all__ = ["serve"]
