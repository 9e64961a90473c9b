"""Command groups: workspace, user, apikey — who may use the API (and, later, the pages).

Passwords are read from a prompt, from stdin (``--password-stdin``, for scripts) or, for
``aicmo init``'s first admin, from ``AICMO_ADMIN_PASSWORD``: never from argv, where any
local user could read them in the process list and the shell keeps them in its history.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.table import Table

from aicmo.cli.common import WorkspaceOpt, console, db_session, err_console, esc
from aicmo.cli.main import app
from aicmo.errors import ValidationError
from aicmo.operator_services import accounts

workspace_app = typer.Typer(
    help="Workspaces: one per client of an agency, each with its own leads.",
    no_args_is_help=True,
)
user_app = typer.Typer(
    help="People who sign in, and their role per workspace.", no_args_is_help=True
)
apikey_app = typer.Typer(
    help="API keys: one workspace and one role each; the secret is shown once.",
    no_args_is_help=True,
)
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")

RoleOpt = Annotated[str, typer.Option(help="viewer (reads), operator (runs outreach), admin")]
NameOpt = Annotated[str | None, typer.Option(help="Display name")]
#: Never a password on argv (the process list shows it): stdin for scripts, else a prompt.
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts)")
]


def _read_password(from_stdin: bool, *, env: str | None = None) -> str | None:
    """A password from stdin, the environment, or a hidden prompt; None if none is to be had."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ValidationError("no password on stdin", field="password")
        return line
    if env and os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        return None
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@workspace_app.command("create")
def workspace_create(
    slug: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, dashes")],
    name: NameOpt = None,
) -> None:
    """Create a workspace with its defaults (channel limits, default sequence, ICP)."""
    with db_session() as db:
        ws = accounts.create_workspace(db, slug, name)
    console.print(f"Workspace [bold]{esc(ws['slug'])}[/] created (id {ws['id']}).")


@workspace_app.command("list")
def workspace_list() -> None:
    """Every workspace of this installation."""
    with db_session() as db:
        rows = accounts.list_workspaces(db)
    table = Table("id", "slug", "name")
    for ws in rows:
        table.add_row(str(ws["id"]), esc(ws["slug"]), esc(ws["name"]))
    console.print(table)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The person's email (their login)")],
    role: RoleOpt = "operator",
    workspace: WorkspaceOpt = "default",
    name: NameOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Give a person a role in a workspace (a new account asks for a password)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        password = None
        if not accounts.user_exists(db, email):
            password = _read_password(password_stdin)
            if password is None:
                raise ValidationError(
                    "a new user needs a password: run this in a terminal, or pipe it in "
                    "with --password-stdin",
                    field="password",
                )
        user = accounts.add_user(db, email, password, role=role, workspace_id=ws.id, name=name)
    what = "created" if user["created"] else "updated"
    console.print(f"User {esc(user['email'])} {what}: {user['role']} in workspace {esc(ws.slug)}.")


@user_app.command("password")
def user_password(
    email: Annotated[str, typer.Argument(help="The person's email")],
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Set a new password for a person."""
    password = _read_password(password_stdin)
    if password is None:
        raise ValidationError(
            "run this in a terminal, or pipe the password in with --password-stdin",
            field="password",
        )
    with db_session() as db:
        accounts.set_password(db, email, password)
    console.print("Password changed.")


@user_app.command("list")
def user_list(workspace: WorkspaceOpt = "default") -> None:
    """The people of a workspace and their roles."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rows = accounts.list_members(db, ws.id)
    table = Table("id", "email", "name", "role", "disabled")
    for u in rows:
        table.add_row(
            str(u["id"]),
            esc(u["email"]),
            esc(u["name"] or ""),
            u["role"],
            "yes" if u["disabled"] else "",
        )
    console.print(table)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'hubspot sync'")],
    role: RoleOpt = "operator",
    workspace: WorkspaceOpt = "default",
) -> None:
    """Create a key; it is printed once (store it now: only a digest is kept)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        key = accounts.create_api_key(db, workspace_id=ws.id, name=name, role=role)
    err_console.print(
        f"API key #{key['id']} ({key['role']}, workspace {esc(ws.slug)}). "
        "Store it now; it will not be shown again:"
    )
    # The key alone on stdout, so `KEY=$(aicmo apikey create x)` works.
    print(key["key"])


@apikey_app.command("list")
def apikey_list(workspace: WorkspaceOpt = "default") -> None:
    """The workspace's keys: prefix, role, last use (never the secret)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rows = accounts.list_api_keys(db, ws.id)
    table = Table("id", "name", "prefix", "role", "created", "last used", "revoked")
    for k in rows:
        table.add_row(
            str(k["id"]),
            esc(k["name"]),
            k["prefix"],
            k["role"],
            f"{k['created_at']:%Y-%m-%d %H:%M}",
            f"{k['last_used_at']:%Y-%m-%d %H:%M}" if k["last_used_at"] else "never",
            f"{k['revoked_at']:%Y-%m-%d %H:%M}" if k["revoked_at"] else "",
        )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `aicmo apikey list`)")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Revoke a key at once: its next request gets 401."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        accounts.revoke_api_key(db, ws.id, key_id)
    console.print(f"API key #{key_id} revoked.")
