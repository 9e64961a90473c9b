"""`aicmo campaign list`: every campaign a user can name in the other commands, with its
status; names shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cli import main
from aicmo.cli.common import console
from aicmo.config import get_settings

EVIL = "[bold]Q4[/bold]"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICMO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    monkeypatch.setattr(console, "width", 200)
    assert main(["init"]) == 0


def test_campaigns_are_listed_with_their_status(
    cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["campaign", "list"]) == 0
    assert "No campaigns yet" in capsys.readouterr().out
    for name in ("Spring", EVIL):
        spec = tmp_path / "c.yaml"
        spec.write_text(
            f'name: "{name}"\nsteps:\n  - channel: EMAIL\n'
            "    template: {subject: Hi, body: Hello}\n"
        )
        assert main(["campaign", "create", str(spec)]) == 0
    assert main(["campaign", "start", "Spring"]) == 0
    capsys.readouterr()
    assert main(["campaign", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split("│")[2].strip(): line for line in out.splitlines() if "│" in line}
    assert "ACTIVE" in lines["Spring"] and "DRAFT" in lines[EVIL]  # the name as written
