"""SQL stays in the repository: the services listed here build no queries of their own.

The list names the service modules whose statements have moved into
``aicmo.cam.repository``; a module joins it when its own move is done.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import aicmo.cam.repository
import aicmo.operator_services

#: Service modules that call named repository functions instead of building statements.
SQL_FREE_SERVICES = (
    "crm/events",
    "ops/health",
    "inbound/processing",
    "inbound/imap_poll",
    "channels/mailboxes",
    "metrics",
    "crm/privacy",
    "engine/progress",
    "crm/suppression",
    "channels/tasks",
    "inbound/unsubscribe",
    "crm/workspace",
    "webhooks",
    "analytics/performance",
    "analytics/report",
    "analytics/render",
    "analytics/charts",
    "analytics/digest",
    "crm/replies",
    "crm/answers",
    "campaign_lists",
    "analytics/abtest",
    "analytics/winners",
    "analytics/costs",
    "analytics/attribution",
    "analytics/rollups",
    "analytics/steps",
    "crm/retention",
    "analytics/overview",
    "analytics/campaign_view",
)
STATEMENT_BUILDERS = {"select", "update", "delete", "insert"}


def test_every_repository_module_imports() -> None:
    names = [m.name for m in pkgutil.iter_modules(aicmo.cam.repository.__path__)]
    assert {"leads", "events", "suppression", "tasks", "attempts"} <= set(names)
    for name in names:
        importlib.import_module(f"aicmo.cam.repository.{name}")


def test_the_package_re_exports_what_it_lists() -> None:
    for name in aicmo.cam.repository.__all__:
        assert hasattr(aicmo.cam.repository, name), name


@pytest.mark.parametrize("module", SQL_FREE_SERVICES)
def test_service_builds_no_statements(module: str) -> None:
    path = Path(aicmo.operator_services.__path__[0]) / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        and node.module.split(".")[0] == "sqlalchemy"
        for alias in node.names
    }
    assert not imported & STATEMENT_BUILDERS, f"{module} imports {imported & STATEMENT_BUILDERS}"
