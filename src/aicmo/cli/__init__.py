"""The ``aicmo`` command line: thin commands over the service layer."""

from __future__ import annotations

import sys

from rich.console import Console

from aicmo.cli import access as _access  # noqa: F401  (registers workspace, user, apikey)
from aicmo.cli import demo as _demo  # noqa: F401  (registers `aicmo demo`)
from aicmo.cli import people as _people  # noqa: F401  (registers `aicmo tasks`, `aicmo linkedin`)
from aicmo.cli import sending as _sending  # noqa: F401  (registers the sending commands)
from aicmo.cli.main import app
from aicmo.errors import AicmoError, ImportFileError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; our errors become a red line and an exit code, never a traceback.

    Exit codes: 0 success, 1 an operation failed (or an import rejected rows),
    2 unusable input (bad usage, an import file that cannot be read).
    """
    err = Console(stderr=True, highlight=False)
    try:
        app(args=argv, prog_name="aicmo")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ImportFileError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        return 2
    except AicmoError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return 130
    return 0


def run() -> None:
    sys.exit(main())


__all__ = ["app", "main", "run"]
