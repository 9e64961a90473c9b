"""Upload folders an earlier server left behind are removed at start-up; recent ones (an
import another process may still run) are kept."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from aicmo.web.import_jobs import LEFTOVER_SECONDS, forget_leftovers


def test_only_old_upload_folders_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    now = time.time()
    old = tmp_path / "aicmo-import-old"
    recent = tmp_path / "aicmo-import-recent"
    other = tmp_path / "someone-elses-old"
    for folder in (old, recent, other):
        folder.mkdir()
        (folder / "upload.csv").write_text("email\n")
    for folder in (old, other):
        os.utime(folder, (now - LEFTOVER_SECONDS - 60, now - LEFTOVER_SECONDS - 60))
    assert forget_leftovers(now) == 1
    assert not old.exists()
    assert recent.exists() and other.exists()
