"""The ``aicmo`` command line: thin commands over the service layer."""

from __future__ import annotations

import sys

from aicmo.cli import abtest as _abtest  # noqa: F401  (registers `aicmo campaign ab`)
from aicmo.cli import access as _access  # noqa: F401  (registers workspace, user, apikey)
from aicmo.cli import analytics as _analytics  # noqa: F401  (registers `aicmo costs`, `aicmo attribution`)
from aicmo.cli import demo as _demo  # noqa: F401  (registers `aicmo demo`)
from aicmo.cli import metrics as _metrics  # noqa: F401  (registers `aicmo metrics`, `aicmo retention`)
from aicmo.cli import people as _people  # noqa: F401  (registers `aicmo tasks`, `aicmo linkedin`)
from aicmo.cli import replies as _replies  # noqa: F401  (registers `aicmo reply`)
from aicmo.cli import reports as _reports  # noqa: F401  (registers `aicmo report`, `aicmo digest`)
from aicmo.cli import sending as _sending  # noqa: F401  (registers the sending commands)
from aicmo.cli import webhooks as _webhooks  # noqa: F401  (registers `aicmo webhook`)
from aicmo.cli.common import EXIT_FAILED, EXIT_UNUSABLE, err_console, esc, file_problem
from aicmo.cli.main import app
from aicmo.errors import AicmoError, ImportFileError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; our errors become a red line and an exit code, never a traceback.

    Exit codes: 0 success, 1 an operation failed (or an import rejected rows, or a check
    said no), 2 unusable input (bad usage, a file that cannot be read or used), 3 an
    import stopped by an error (the batches before it are kept; run it again).
    """
    try:
        app(args=argv, prog_name="aicmo")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ImportFileError as exc:
        err_console.print(f"[bold red]error:[/] {esc(exc.message)}", soft_wrap=True)
        return EXIT_UNUSABLE
    except AicmoError as exc:
        err_console.print(f"[bold red]error:[/] {esc(exc.message)}", soft_wrap=True)
        return EXIT_FAILED
    except OSError as exc:  # a path the user gave: missing, a folder, not readable or writable
        err_console.print(f"[bold red]error:[/] {esc(file_problem(exc))}", soft_wrap=True)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130
    return 0


def run() -> None:
    sys.exit(main())


__all__ = ["app", "main", "run"]
