"""``/api/v1/channels`` and ``/api/v1/mailboxes``: the sending set-up.

Everyone in the workspace may read it (what limits hold, which mailboxes send); only an
admin changes it. Mailbox secrets go in and never come out: answers say "set" or
"not set".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aicmo.operator_services.channels import config as channel_config
from aicmo.operator_services.channels import linkedin_accounts, mailboxes
from aicmo.web.api.deps import DB, Admin, Viewer, respond
from aicmo.web.api.leads import actor
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute
from aicmo.web.api.schemas import (
    ChannelConfig,
    ChannelConfigPatch,
    LinkedInAccount,
    LinkedInAccountIn,
    Mailbox,
    MailboxIn,
)

router = APIRouter(tags=["settings"], responses=responses(401, 403, 422), route_class=ServiceRoute)


@router.get("/channels", response_model=list[ChannelConfig])
def list_channels(db: DB, principal: Viewer) -> list[dict[str, Any]]:
    return channel_config.list_channel_configs(db, workspace_id=principal.workspace_id)


@router.patch(
    "/channels/{channel}",
    response_model=ChannelConfig,
    summary="Switch a channel on or off, change its rate limits and retries",
    responses=responses(404),
)
def update_channel(
    channel: str, body: ChannelConfigPatch, db: DB, principal: Admin
) -> dict[str, Any]:
    return channel_config.update_channel_config(
        db,
        channel,
        workspace_id=principal.workspace_id,
        actor=actor(principal),
        **body.model_dump(exclude_unset=True),
    )


@router.get("/mailboxes", response_model=list[Mailbox])
def list_mailboxes(db: DB, principal: Viewer) -> list[dict[str, Any]]:
    return mailboxes.list_mailboxes(db, workspace_id=principal.workspace_id)


@router.post(
    "/mailboxes",
    status_code=201,
    response_model=Mailbox,
    summary="Add a sender mailbox (SMTP out, IMAP in); secrets are stored encrypted",
    responses=responses(409),
)
def add_mailbox(request: Request, body: MailboxIn, db: DB, principal: Admin) -> JSONResponse:
    fields = body.model_dump(exclude_unset=True)
    # The replay check compares bodies without their secrets (never stored in clear).
    payload = {k: v for k, v in fields.items() if not k.endswith("_password")}
    return respond(
        request,
        db,
        principal,
        payload,
        lambda: mailboxes.add_mailbox(
            db, workspace_id=principal.workspace_id, actor=actor(principal), **fields
        ),
        Mailbox,
        status_code=201,
    )


@router.get("/linkedin-accounts", response_model=list[LinkedInAccount])
def list_linkedin_accounts(db: DB, principal: Viewer) -> list[dict[str, Any]]:
    return linkedin_accounts.list_linkedin_accounts(db, workspace_id=principal.workspace_id)


@router.post(
    "/linkedin-accounts",
    status_code=201,
    response_model=LinkedInAccount,
    summary="Add a LinkedIn provider account (Unipile); the API key is stored encrypted",
    responses=responses(409),
)
def add_linkedin_account(body: LinkedInAccountIn, db: DB, principal: Admin) -> dict[str, Any]:
    fields = body.model_dump()
    return linkedin_accounts.add_linkedin_account(
        db, fields.pop("name"), workspace_id=principal.workspace_id, **fields
    )


@router.post(
    "/linkedin-accounts/{name}/resume",
    response_model=LinkedInAccount,
    summary="Resume an account that was paused (after the provider restricted it)",
    responses=responses(404),
)
def resume_linkedin_account(name: str, db: DB, principal: Admin) -> dict[str, Any]:
    return linkedin_accounts.resume_linkedin_account(db, name, workspace_id=principal.workspace_id)
