"""The first admin, created by `aicmo init` when the installation has no account yet."""

from __future__ import annotations

import os
import sys

import typer

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cli.common import console, db_session, esc
from aicmo.operator_services import accounts


def first_admin() -> None:
    """After `aicmo init`: create the first admin if there is none.

    The password comes from AICMO_ADMIN_PASSWORD or a prompt (never argv); the address
    from AICMO_ADMIN_EMAIL or a prompt, where an empty answer skips. With neither and no
    terminal, say how to create one later.
    """
    with db_session() as db:
        if accounts.count_users(db) > 0:
            return
        email = os.environ.get("AICMO_ADMIN_EMAIL", "").strip()
        password = os.environ.get("AICMO_ADMIN_PASSWORD") or None
        interactive = sys.stdin.isatty()
        if not email and interactive:
            email = typer.prompt(
                "Email of the first admin (empty to skip)", default="", show_default=False
            ).strip()
        if email and password is None and interactive:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        if not email or password is None:
            console.print(
                "No admin account yet. Create one with "
                "[bold]aicmo user add YOU@YOUR.DOMAIN --role admin[/] "
                "(or set AICMO_ADMIN_EMAIL and AICMO_ADMIN_PASSWORD and run `aicmo init`)."
            )
            return
        user = accounts.add_user(
            db, email, password, role="admin", workspace_id=DEFAULT_WORKSPACE_ID
        )
    console.print(f"Admin {esc(user['email'])} created in workspace default.")
