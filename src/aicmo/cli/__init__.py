"""The ``aicmo`` command line: thin commands over the service layer."""

from __future__ import annotations

import sys

from rich.console import Console

from aicmo.cli.main import app
from aicmo.errors import AicmoError, ImportFileError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; our errors become a red line and an exit code, never a traceback."""
    err = Console(stderr=True)
    try:
        app(args=argv, prog_name="aicmo", standalone_mode=False)
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except ImportFileError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        return 2
    except AicmoError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return 130
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.Exit):
            return int(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            return 1
        raise
    return 0


def run() -> None:
    sys.exit(main())


__all__ = ["app", "main", "run"]
