"""The REST API, ``/api/v1``: thin routes over the service layer.

Every route but ``/healthz``, the unsubscribe pages and the provider webhooks needs an
API key; the key's workspace bounds every query and its role bounds every change
(viewer reads, operator runs outreach, admin manages keys). Errors are RFC 9457 problem
details; lists are cursor-paginated; POSTs that create or send honour
``Idempotency-Key``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from aicmo.web.api import (
    analytics,
    campaigns,
    leads,
    problems,
    replies,
    reports,
    route,
    session,
    settings,
    webhooks,
    workspace,
)

PREFIX = "/api/v1"


def install(app: FastAPI) -> None:
    problems.install(app)
    route.install(app)
    router = APIRouter(prefix=PREFIX)
    router.include_router(leads.router)
    router.include_router(campaigns.router)
    router.include_router(reports.router)
    router.include_router(replies.router)
    router.include_router(workspace.router)
    router.include_router(webhooks.router)
    router.include_router(settings.router)
    router.include_router(session.router)
    router.include_router(analytics.router)
    app.include_router(router)


__all__ = ["PREFIX", "install"]
