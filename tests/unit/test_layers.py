"""The code's imports match the layers drawn in docs/architecture.md: every import of the
package points to the importer's own layer or one below it, none hides inside a function,
and the channels never reach up to the services that call them."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: Top to bottom; a module belongs to the first (longest) prefix that names it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "entry points",
        (
            "aicmo.__main__",
            "aicmo.cli",
            "aicmo.web",
            "aicmo.worker",
            "aicmo.demo_site",
            "aicmo.cam.outreach",
            "aicmo.cam.auto",
            "aicmo.cam.operator_services",
        ),
    ),
    ("composition root", ("aicmo.bootstrap",)),
    ("services", ("aicmo.operator_services",)),
    (
        "adapters",
        (
            "aicmo.cam.repository",
            "aicmo.cam.db_models",
            "aicmo.db",
            "aicmo.transports",
            "aicmo.crypto",
            "aicmo.cam.unsubscribe_token",
        ),
    ),
    ("domain", ("aicmo.cam.domain", "aicmo.cam.inbound", "aicmo.cam.forms")),
    ("foundation", ("aicmo.config", "aicmo.errors", "aicmo.data", "aicmo.cam", "aicmo")),
)

#: The service modules a channel may use (below the channels); the services that call the
#: channels (outreach, the engine, sequencing) are above them.
CHANNEL_DEPENDENCIES = frozenset(
    {
        "aicmo.operator_services.channels",
        "aicmo.operator_services.campaigns",
        "aicmo.operator_services.crm.events",
        "aicmo.operator_services.crm.replies",
        "aicmo.operator_services.crm.suppression",
        "aicmo.operator_services.crm.workspace",
        "aicmo.operator_services.engine.progress",
        "aicmo.operator_services.leads",
        "aicmo.operator_services.uow",
    }
)


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            named = module == prefix or module.startswith(prefix + ".")
            if named and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    assert best is not None, module
    return best[0]


def modules() -> Iterator[tuple[str, ast.Module, Path]]:
    for path in sorted((SRC / "aicmo").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), ast.parse(path.read_text(encoding="utf-8")), path


def imports(tree: ast.Module) -> Iterator[tuple[str, ast.stmt]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not node.level, f"line {node.lineno}: a relative import (use the full path)"
            name = node.module or ""
            if name.startswith("aicmo"):
                yield name, node
                # ``from aicmo.x import y`` may name a module y: its layer counts too.
                for alias in node.names:
                    yield f"{name}.{alias.name}", node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("aicmo"):
                    yield alias.name, node


def known(name: str, all_modules: set[str]) -> str | None:
    """The module an imported name refers to (the longest module prefix), if ours."""
    while name and name not in all_modules:
        name = name.rpartition(".")[0]
    return name or None


ALL = {name for name, _, _ in modules()}


PARSED = {name: (tree, path) for name, tree, path in modules()}


@pytest.mark.parametrize("module", sorted(PARSED))
def test_imports_point_down(module: str) -> None:
    tree, path = PARSED[module]
    mine = layer_of(module)
    for name, node in imports(tree):
        target = known(name, ALL)
        if target is None or target == module:
            continue
        theirs = layer_of(target)
        assert theirs >= mine, (
            f"{path.name}:{node.lineno}: {module} ({LAYERS[mine][0]}) imports {target} "
            f"({LAYERS[theirs][0]}), a higher layer"
        )


#: Third-party packages that may be imported on first use: drawing charts and PDFs costs
#: about a second of import, which every CLI command (and every CLI test) would pay.
LAZY_THIRD_PARTY = ("matplotlib", "fpdf")


def _lazy_allowed(node: ast.Import | ast.ImportFrom) -> bool:
    names = (
        [node.module or ""]
        if isinstance(node, ast.ImportFrom)
        else [alias.name for alias in node.names]
    )
    return all(name.split(".")[0] in LAZY_THIRD_PARTY for name in names)


def test_no_import_hides_inside_a_function() -> None:
    hidden = [
        f"{module}:{inner.lineno}"
        for module, tree, _ in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom) and not _lazy_allowed(inner)
    ]
    assert hidden == []


def test_the_cli_starts_without_the_chart_and_pdf_libraries() -> None:
    """The lazy imports stay lazy: nothing imports them at start-up again."""
    code = (
        "import sys, aicmo.cli, aicmo.web.app; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {LAZY_THIRD_PARTY!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_the_cli_starts_without_the_web_app() -> None:
    """`aicmo serve` hands uvicorn the app's factory by name, so the other commands do not
    import FastAPI, its schemas and every route (about half a second each)."""
    code = (
        "import sys, aicmo.cli.main; "
        "print(sorted(m for m in sys.modules if m == 'aicmo.web.app' "
        "or m.split('.')[0] == 'fastapi'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_channels_use_only_the_services_below_them() -> None:
    for module, tree, path in modules():
        if not module.startswith("aicmo.operator_services.channels"):
            continue
        for name, node in imports(tree):
            target = known(name, ALL)
            if target is None or not target.startswith("aicmo.operator_services"):
                continue
            allowed = any(
                target == dep or target.startswith(dep + ".") for dep in CHANNEL_DEPENDENCIES
            )
            assert allowed, f"{path.name}:{node.lineno}: a channel imports {target}"


def test_the_services_below_the_channels_do_not_import_them() -> None:
    sending = (
        "aicmo.operator_services.channels.base",
        "aicmo.operator_services.channels.registry",
    )
    for module, tree, path in modules():
        if not any(
            module == dep or module.startswith(dep + ".") for dep in CHANNEL_DEPENDENCIES
        ) or module.startswith("aicmo.operator_services.channels"):
            continue
        for name, node in imports(tree):
            target = known(name, ALL) or ""
            assert not target.startswith(sending), f"{path.name}:{node.lineno} imports {target}"
