"""Dashboard: the settings pages (mailboxes, LinkedIn accounts, channel limits, the
ideal-customer profile, the suppression list, users and API keys, webhooks).

Everyone in the workspace may read them; changes need the REST API's role for the same
change: an operator for suppression and the profile, an admin for the sending set-up
(mailboxes, LinkedIn accounts, limits), people, keys and webhooks, checked on every POST
whatever the page showed. Secrets go in and never come back out: a mailbox password or a
provider key is only ever "set"; an API key's or a webhook's secret is shown once, in the
answer to the POST that made it, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from aicmo.cam.domain.access import Role
from aicmo.cam.domain.webhooks import WEBHOOK_EVENTS, DeliveryStatus
from aicmo.errors import AicmoError, ValidationError
from aicmo.operator_services import accounts, webhooks
from aicmo.operator_services.channels import config as channel_config
from aicmo.operator_services.channels import linkedin_accounts, mailboxes
from aicmo.operator_services.crm import suppression
from aicmo.operator_services.crm.workspace import get_icp, icp_to_yaml, parse_icp_yaml, set_icp
from aicmo.operator_services.inbound.connection_check import check_mailbox_connection
from aicmo.operator_services.leads import grade_leads
from aicmo.web.api.deps import DB, Id
from aicmo.web.api.leads import actor
from aicmo.web.pages.base import SignedIn, Viewer, change, render, see_other, whole_number

router = APIRouter()
T = TypeVar("T")

#: The sub-pages: (path, label, role needed to see the page).
SECTIONS: tuple[tuple[str, str, Role], ...] = (
    ("/settings/mailboxes", "Mailboxes", Role.VIEWER),
    ("/settings/linkedin", "LinkedIn accounts", Role.VIEWER),
    ("/settings/limits", "Channel limits", Role.VIEWER),
    ("/settings/icp", "Ideal customer", Role.VIEWER),
    ("/settings/suppression", "Suppression list", Role.VIEWER),
    ("/settings/access", "Users and API keys", Role.ADMIN),
    ("/settings/webhooks", "Webhooks", Role.ADMIN),
)
SUPPRESSION_PAGE = 50
Text = Annotated[str, Form(max_length=5000)]
Secret = Annotated[str, Form(max_length=4096)]


def _page(
    request: Request,
    viewer: Viewer,
    template: str,
    title: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    sections = [(href, label) for href, label, role in SECTIONS if viewer.may(role)]
    return render(
        request,
        template,
        viewer,
        {"title": title, "sections": sections, **context},
        status_code=status_code,
    )


def _int(field: str, value: str, *, default: int | None = None) -> int:
    """A whole number from a form field (``default`` for an empty one)."""
    number = whole_number(field, value)
    if number is None:
        if default is None:
            raise ValidationError(f"{field} is required: type a whole number", field=field)
        return default
    return number


def _typed_numbers(fields: dict[str, str]) -> dict[str, Any]:
    """The fields a person filled in, as whole numbers; an empty one is left out, so the
    service's own default holds."""
    return {field: _int(field, value) for field, value in fields.items() if value.strip()}


def _opt(value: str) -> str | None:
    return value.strip() or None


# --- the sub-pages ---------------------------------------------------------------------------


def _mailboxes(db: Session, viewer: Viewer) -> dict[str, Any]:
    return {"mailboxes": mailboxes.list_mailboxes(db, workspace_id=viewer.workspace_id)}


def _linkedin(db: Session, viewer: Viewer) -> dict[str, Any]:
    ws = viewer.workspace_id
    return {"accounts": linkedin_accounts.list_linkedin_accounts(db, workspace_id=ws)}


def _limits(db: Session, viewer: Viewer) -> dict[str, Any]:
    ws = viewer.workspace_id
    return {"channels": channel_config.list_channel_configs(db, workspace_id=ws)}


def _suppression(db: Session, viewer: Viewer, q: str = "", page: int = 1) -> dict[str, Any]:
    page = max(1, page)
    rows = suppression.list_suppressions(
        db,
        workspace_id=viewer.workspace_id,
        limit=SUPPRESSION_PAGE + 1,
        offset=(page - 1) * SUPPRESSION_PAGE,
        search=q or None,
    )
    more = len(rows) > SUPPRESSION_PAGE
    return {
        "entries": rows[:SUPPRESSION_PAGE],
        "total": suppression.count_suppressions(db, workspace_id=viewer.workspace_id),
        "q": q,
        "page": page,
        "next_page": page + 1 if more else None,
        "prev_page": page - 1 if page > 1 else None,
    }


def _access(db: Session, viewer: Viewer) -> dict[str, Any]:
    return {
        "members": accounts.list_members(db, viewer.workspace_id),
        "keys": accounts.list_api_keys(db, viewer.workspace_id),
        "roles": [r.value for r in Role],
    }


def _webhooks(db: Session, viewer: Viewer) -> dict[str, Any]:
    return {
        "endpoints": webhooks.list_webhooks(db, workspace_id=viewer.workspace_id),
        "event_names": [e.name for e in WEBHOOK_EVENTS],
    }


#: What each sub-page shows: (template, title, the figures it reads, the role that may
#: change it). The roles are the REST API's: the sending set-up (mailboxes, provider
#: accounts, limits), people, keys and webhooks are an admin's; suppression an operator's.
_DATA: dict[str, tuple[str, str, Callable[..., dict[str, Any]], Role]] = {
    "mailboxes": ("settings_mailboxes.html", "Mailboxes", _mailboxes, Role.ADMIN),
    "linkedin": ("settings_linkedin.html", "LinkedIn accounts", _linkedin, Role.ADMIN),
    "limits": ("settings_limits.html", "Channel limits", _limits, Role.ADMIN),
    "suppression": (
        "settings_suppression.html",
        "Suppression list",
        _suppression,
        Role.OPERATOR,
    ),
    "access": ("settings_access.html", "Users and API keys", _access, Role.ADMIN),
    "webhooks": ("settings_webhooks.html", "Webhooks", _webhooks, Role.ADMIN),
}


def _section(
    request: Request,
    viewer: Viewer,
    db: Session,
    name: str,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    shown_once: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
) -> HTMLResponse:
    """A sub-page; with ``error``, again after a refused change (422, the transaction
    rolled back, what was typed kept in ``form``); ``shown_once`` is a secret made by this
    very request (an API key, a webhook's signing secret)."""
    if error is not None:
        db.rollback()
    template, title, data, changer = _DATA[name]
    context = {
        **data(db, viewer, **(query or {})),
        "can_change": viewer.may(changer),
        "error": error,
        "form": form or {},
        "new_key": shown_once,
        "created": shown_once,
    }
    status = 422 if error is not None else 200
    return _page(request, viewer, template, title, context, status_code=status)


def _change(
    request: Request,
    viewer: Viewer,
    db: Session,
    name: str,
    run: Callable[[], T],
    done: Callable[[T], Response],
    form: dict[str, Any] | None = None,
) -> Response:
    """A change posted from a sub-page, checked against the role ``_DATA`` gives that
    sub-page (the one its ``can_change`` shows); a refusal shows the sub-page again with
    the service's message and what was typed."""
    return change(
        viewer,
        _DATA[name][3],
        run,
        done=done,
        failed=lambda err: _section(request, viewer, db, name, error=err.message, form=form),
    )


# --- mailboxes -------------------------------------------------------------------------------


@router.get("/settings")
def settings_home(viewer: SignedIn) -> RedirectResponse:
    return RedirectResponse("/settings/mailboxes", status_code=303)


@router.get("/settings/mailboxes", response_class=HTMLResponse)
def mailboxes_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    return _section(request, viewer, db, "mailboxes")


@router.post("/settings/mailboxes", response_model=None)
def add_mailbox(
    request: Request,
    viewer: SignedIn,
    db: DB,
    name: Text = "",
    from_address: Text = "",
    from_name: Text = "",
    reply_to: Text = "",
    smtp_host: Text = "",
    smtp_port: Text = "",
    smtp_security: Text = "starttls",
    smtp_username: Text = "",
    smtp_password: Secret = "",
    imap_host: Text = "",
    imap_port: Text = "",
    imap_security: Text = "tls",
    imap_username: Text = "",
    imap_password: Secret = "",
    imap_folder: Text = "INBOX",
    daily_cap: Text = "50",
    hourly_cap: Text = "20",
    min_gap_seconds: Text = "0",
    allow_plaintext: Annotated[bool, Form()] = False,
) -> Response:
    # Everything but the passwords comes back into the form after an error.
    form: dict[str, Any] = {
        k: v for k, v in locals().items() if isinstance(v, str) and not k.endswith("password")
    }
    form["allow_plaintext"] = allow_plaintext
    return _change(
        request,
        viewer,
        db,
        "mailboxes",
        lambda: mailboxes.add_mailbox(
            db,
            name,
            from_address,
            from_name=_opt(from_name),
            reply_to=_opt(reply_to),
            smtp_host=_opt(smtp_host),
            smtp_port=_int("smtp_port", smtp_port) if smtp_port.strip() else None,
            smtp_security=smtp_security,
            smtp_username=_opt(smtp_username),
            smtp_password=smtp_password or None,
            imap_host=_opt(imap_host),
            imap_port=_int("imap_port", imap_port) if imap_port.strip() else None,
            imap_security=imap_security,
            imap_username=_opt(imap_username),
            imap_password=imap_password or None,
            imap_folder=imap_folder,
            daily_cap=_int("daily_cap", daily_cap, default=50),
            hourly_cap=_int("hourly_cap", hourly_cap, default=20),
            min_gap_seconds=_int("min_gap_seconds", min_gap_seconds, default=0),
            allow_plaintext=allow_plaintext,
            workspace_id=viewer.workspace_id,
            actor=actor(viewer.principal),
        ),
        lambda mb: see_other(
            "/settings/mailboxes",
            f"Mailbox {mb['name']} added. Press “Test connection” to check its servers.",
        ),
        form,
    )


@router.post("/settings/mailboxes/{mailbox_id}/enabled")
def set_mailbox_enabled(
    mailbox_id: Id,
    viewer: SignedIn,
    db: DB,
    enabled: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    viewer.require(Role.ADMIN)
    mb = mailboxes.set_mailbox_enabled(
        db, mailbox_id, enabled, workspace_id=viewer.workspace_id, actor=actor(viewer.principal)
    )
    flash = f"Mailbox {mb['name']} is {'enabled' if enabled else 'disabled'}."
    if not enabled and mailboxes.every_mailbox_disabled(db, workspace_id=viewer.workspace_id):
        flash += " Every mailbox is disabled: email waits until one is enabled."
    return see_other("/settings/mailboxes", flash)


@router.post("/settings/mailboxes/{mailbox_id}/password", response_model=None)
def set_mailbox_password(
    request: Request,
    mailbox_id: Id,
    viewer: SignedIn,
    db: DB,
    protocol: Text = "smtp",
    password: Secret = "",
    allow_plaintext: Annotated[bool, Form()] = False,
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "mailboxes",
        lambda: mailboxes.set_mailbox_secret(
            db,
            mailbox_id,
            password,
            protocol=protocol,
            allow_plaintext=allow_plaintext,
            workspace_id=viewer.workspace_id,
            actor=actor(viewer.principal),
        ),
        lambda mb: see_other(
            "/settings/mailboxes",
            f"{protocol.upper()} password of {mb['name']} changed (stored encrypted). "
            "Test the connection to check it.",
        ),
    )


@router.post("/settings/mailboxes/{mailbox_id}/test", response_class=HTMLResponse)
def test_mailbox(request: Request, mailbox_id: Id, viewer: SignedIn, db: DB) -> HTMLResponse:
    """An htmx fragment: each step of the SMTP and IMAP sessions, as it went."""
    viewer.require(Role.ADMIN)
    try:
        report: dict[str, Any] | None = check_mailbox_connection(
            db, mailbox_id, workspace_id=viewer.workspace_id
        )
        error = None
    except AicmoError as err:
        db.rollback()
        report, error = None, err.message
    return render(request, "settings_mailbox_test.html", viewer, {"report": report, "error": error})


# --- LinkedIn accounts -----------------------------------------------------------------------


@router.get("/settings/linkedin", response_class=HTMLResponse)
def linkedin_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    return _section(request, viewer, db, "linkedin")


@router.post("/settings/linkedin", response_model=None)
def add_linkedin(
    request: Request,
    viewer: SignedIn,
    db: DB,
    name: Text = "",
    base_url: Text = "",
    account_ref: Text = "",
    api_key: Secret = "",
    invites_per_day: Text = "",
    invites_per_week: Text = "",
    messages_per_day: Text = "",
) -> Response:
    form = {k: v for k, v in locals().items() if isinstance(v, str) and k != "api_key"}
    caps = {
        "invites_per_day": invites_per_day,
        "invites_per_week": invites_per_week,
        "messages_per_day": messages_per_day,
    }
    return _change(
        request,
        viewer,
        db,
        "linkedin",
        lambda: linkedin_accounts.add_linkedin_account(
            db,
            name,
            base_url=base_url,
            account_ref=account_ref,
            api_key=api_key,
            workspace_id=viewer.workspace_id,
            **_typed_numbers(caps),
        ),
        lambda account: see_other(
            "/settings/linkedin", f"LinkedIn account {account['name']} added."
        ),
        form,
    )


@router.post("/settings/linkedin/resume")
def resume_linkedin(viewer: SignedIn, db: DB, name: Text = "") -> RedirectResponse:
    viewer.require(Role.ADMIN)
    account = linkedin_accounts.resume_linkedin_account(db, name, workspace_id=viewer.workspace_id)
    return see_other("/settings/linkedin", f"LinkedIn account {account['name']} resumed.")


# --- channel limits --------------------------------------------------------------------------


@router.get("/settings/limits", response_class=HTMLResponse)
def limits_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    return _section(request, viewer, db, "limits")


@router.post("/settings/limits/{channel}", response_model=None)
def update_limits(
    request: Request,
    channel: str,
    viewer: SignedIn,
    db: DB,
    rate_limit_per_hour: Text = "",
    rate_limit_per_day: Text = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "limits",
        lambda: channel_config.update_channel_config(
            db,
            channel,
            workspace_id=viewer.workspace_id,
            actor=actor(viewer.principal),
            rate_limit_per_hour=_int("rate_limit_per_hour", rate_limit_per_hour),
            rate_limit_per_day=_int("rate_limit_per_day", rate_limit_per_day),
            enabled=enabled,
        ),
        lambda after: see_other(
            "/settings/limits",
            f"{after['channel']}: {after['rate_limit_per_hour']}/hour, "
            f"{after['rate_limit_per_day']}/day, {'on' if after['enabled'] else 'off'}.",
        ),
    )


# --- ideal-customer profile ------------------------------------------------------------------


@router.get("/settings/icp", response_class=HTMLResponse)
def icp_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    text = icp_to_yaml(get_icp(db, viewer.workspace_id))
    return _page(
        request,
        viewer,
        "settings_icp.html",
        "Ideal customer",
        {"yaml": text, "can_change": viewer.may(Role.OPERATOR), "error": None},
    )


@router.post("/settings/icp", response_model=None)
def save_icp(
    request: Request,
    viewer: SignedIn,
    db: DB,
    icp_yaml: Annotated[str, Form(max_length=1_000_000)] = "",
) -> Response:
    viewer.require(Role.OPERATOR)
    try:
        icp = parse_icp_yaml(icp_yaml)
        set_icp(db, icp, workspace_id=viewer.workspace_id, actor=actor(viewer.principal))
    except AicmoError as err:
        db.rollback()
        return _page(
            request,
            viewer,
            "settings_icp.html",
            "Ideal customer",
            {"yaml": icp_yaml, "can_change": True, "error": err.message},
            status_code=422,
        )
    result = grade_leads(db, workspace_id=viewer.workspace_id)
    return see_other(
        "/settings/icp",
        f"Ideal-customer profile saved; {result.get('graded', 0)} lead(s) regraded, "
        f"{result.get('changed', 0)} changed.",
    )


# --- suppression list ------------------------------------------------------------------------


@router.get("/settings/suppression", response_class=HTMLResponse)
def suppression_page(
    request: Request, viewer: SignedIn, db: DB, q: str = "", page: int = 1
) -> HTMLResponse:
    query = {"q": q.strip()[:200], "page": page}
    return _section(request, viewer, db, "suppression", query=query)


@router.post("/settings/suppression", response_model=None)
def add_suppression(
    request: Request,
    viewer: SignedIn,
    db: DB,
    value: Text = "",
    note: Text = "",
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "suppression",
        lambda: suppression.add_suppression(
            db,
            value,
            note=_opt(note),
            actor=actor(viewer.principal),
            workspace_id=viewer.workspace_id,
        ),
        lambda entry: see_other(
            "/settings/suppression",
            f"{entry['value']} {'added to' if entry['created'] else 'was already on'} "
            "the suppression list.",
        ),
        {"value": value, "note": note},
    )


@router.post("/settings/suppression/remove")
def remove_suppression(
    viewer: SignedIn, db: DB, value: Text = "", kind: Text = ""
) -> RedirectResponse:
    viewer.require(Role.OPERATOR)
    entry = suppression.remove_suppression(
        db,
        value,
        kind=_opt(kind),
        actor=actor(viewer.principal),
        workspace_id=viewer.workspace_id,
    )
    return see_other(
        "/settings/suppression",
        f"{entry['value']} removed from the suppression list: it may be contacted again.",
    )


# --- users and API keys ----------------------------------------------------------------------


@router.get("/settings/access", response_class=HTMLResponse)
def access_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    viewer.require(Role.ADMIN)
    return _section(request, viewer, db, "access")


@router.post("/settings/access/users", response_model=None)
def add_user(
    request: Request,
    viewer: SignedIn,
    db: DB,
    email: Text = "",
    name: Text = "",
    password: Secret = "",
    role: Text = "viewer",
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "access",
        lambda: accounts.add_user(
            db,
            email,
            password or None,
            role=role,
            workspace_id=viewer.workspace_id,
            name=_opt(name),
        ),
        lambda user: see_other(
            "/settings/access",
            f"{user['email']} "
            f"{'added' if user['created'] else '(an existing account) given access'} "
            f"as {user['role']}.",
        ),
        {"email": email, "name": name, "role": role},
    )


@router.post("/settings/access/users/{user_id}/role", response_model=None)
def change_role(
    request: Request, user_id: Id, viewer: SignedIn, db: DB, role: Text = ""
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "access",
        lambda: _set_member_role(db, viewer, user_id, role),
        lambda user: see_other("/settings/access", f"{user['email']} is now {user['role']}."),
    )


def _set_member_role(db: Session, viewer: Viewer, user_id: int, role: str) -> dict[str, Any]:
    """Another member's new role: never one's own, so a workspace keeps an admin."""
    if user_id == viewer.principal.user_id:
        raise ValidationError(
            "you cannot change your own role (the workspace could be left without an "
            "admin); ask another admin",
            field="role",
        )
    member = next(
        (m for m in accounts.list_members(db, viewer.workspace_id) if m["id"] == user_id),
        None,
    )
    if member is None:
        raise ValidationError("no such member of this workspace", field="user")
    return accounts.add_user(db, member["email"], None, role=role, workspace_id=viewer.workspace_id)


@router.post("/settings/access/keys", response_model=None)
def create_key(
    request: Request,
    viewer: SignedIn,
    db: DB,
    name: Text = "",
    role: Text = "viewer",
) -> Response:
    return _change(
        request,
        viewer,
        db,
        "access",
        lambda: accounts.create_api_key(
            db,
            workspace_id=viewer.workspace_id,
            name=name,
            role=role,
            created_by=viewer.principal.user_id,
        ),
        # The secret is in this answer only (never stored in clear, never in a URL or a flash).
        lambda key: _section(request, viewer, db, "access", shown_once=key),
        {"key_name": name},
    )


@router.post("/settings/access/keys/{key_id}/revoke")
def revoke_key(key_id: Id, viewer: SignedIn, db: DB) -> RedirectResponse:
    viewer.require(Role.ADMIN)
    key = accounts.revoke_api_key(db, viewer.workspace_id, key_id)
    return see_other("/settings/access", f"API key {key['name']} ({key['prefix']}) revoked.")


# --- webhooks --------------------------------------------------------------------------------


@router.get("/settings/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    viewer.require(Role.ADMIN)
    return _section(request, viewer, db, "webhooks")


@router.post("/settings/webhooks", response_model=None)
def register_webhook(
    request: Request,
    viewer: SignedIn,
    db: DB,
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    events: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = (events or [])[:100]
    return _change(
        request,
        viewer,
        db,
        "webhooks",
        lambda: webhooks.register_webhook(
            db, url, chosen, workspace_id=viewer.workspace_id, description=_opt(description)
        ),
        # The signing secret is in this answer only.
        lambda created: _section(request, viewer, db, "webhooks", shown_once=created),
        {"url": url, "description": description, "events": chosen},
    )


@router.get("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
def webhook_page(
    request: Request, endpoint_id: Id, viewer: SignedIn, db: DB, status: str = ""
) -> HTMLResponse:
    viewer.require(Role.ADMIN)
    endpoint = webhooks.get_webhook(db, endpoint_id, workspace_id=viewer.workspace_id)
    deliveries = webhooks.list_deliveries(
        db, endpoint_id, workspace_id=viewer.workspace_id, limit=50, status=status or None
    )
    return _page(
        request,
        viewer,
        "settings_webhook.html",
        f"Webhook #{endpoint_id}",
        {
            "endpoint": endpoint,
            "deliveries": deliveries,
            "status": status,
            "statuses": [s.value for s in DeliveryStatus],
        },
    )


@router.post("/settings/webhooks/{endpoint_id}/{action}")
def webhook_action(endpoint_id: Id, action: str, viewer: SignedIn, db: DB) -> RedirectResponse:
    viewer.require(Role.ADMIN)
    ws = viewer.workspace_id
    if action == "disable":
        webhooks.disable_webhook(db, endpoint_id, workspace_id=ws, actor=actor(viewer.principal))
        return see_other(f"/settings/webhooks/{endpoint_id}", "Endpoint disabled.")
    if action == "enable":
        webhooks.enable_webhook(db, endpoint_id, workspace_id=ws)
        return see_other(f"/settings/webhooks/{endpoint_id}", "Endpoint enabled.")
    if action == "remove":
        out = webhooks.delete_webhook(db, endpoint_id, workspace_id=ws)
        return see_other("/settings/webhooks", f"Endpoint {out['url']} removed.")
    raise ValidationError(f"unknown action {action!r}", field="action")


@router.post("/settings/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
def replay_delivery(endpoint_id: Id, delivery_id: Id, viewer: SignedIn, db: DB) -> RedirectResponse:
    viewer.require(Role.ADMIN)
    webhooks.replay_delivery(db, endpoint_id, delivery_id, workspace_id=viewer.workspace_id)
    return see_other(
        f"/settings/webhooks/{endpoint_id}",
        f"Delivery #{delivery_id} queued again: it is sent at the worker's next tick.",
    )
