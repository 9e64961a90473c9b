"""A serving process puts the app's own objects out of the cyclic collector's reach
(``aicmo.web.app.serving_app``), and ``aicmo serve`` serves that app; an app built for
a test is left alone. Checked in a process of its own: a freeze is for good."""

from __future__ import annotations

import gc
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aicmo.cli.sending import APP_FACTORY
from aicmo.config import get_settings
from aicmo.web.app import create_app, serving_app

_PROBE = """
import gc
from aicmo.web.app import serving_app
before = gc.get_freeze_count()
app = serving_app()
print(before, gc.get_freeze_count(), type(app).__name__)
"""


def test_a_serving_process_freezes_the_app_out_of_the_collector(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["AICMO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, after, kind = done.stdout.split()
    assert (int(before), kind) == (0, "FastAPI")
    # The app's modules, schemas and routes: tens of thousands of objects, all frozen.
    assert int(after) > 20_000


def test_aicmo_serve_serves_the_serving_app() -> None:
    module, _, name = APP_FACTORY.partition(":")
    assert getattr(importlib.import_module(module), name) is serving_app


def test_an_app_built_for_a_test_freezes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AICMO_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    get_settings.cache_clear()
    frozen = gc.get_freeze_count()
    create_app()
    assert gc.get_freeze_count() == frozen
