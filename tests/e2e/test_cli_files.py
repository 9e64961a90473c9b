"""Files the user names on the command line: a missing, binary, misencoded or hostile
file, or a path that cannot be written, is one clear line and exit code 2, never a
traceback; nothing is half-done."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cli import main
from aicmo.config import get_settings

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
STEPS = "steps:\n  - channel: EMAIL\n    template: {subject: Hi, body: Hello}\n"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICMO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    assert main(["init"]) == 0


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file or directory; check the path"),
        ("folder", "is a directory; give a file, not a folder"),
        (PNG, "is a binary file; the campaign file is YAML text"),
        ("name: Café\n".encode("latin-1") + STEPS.encode(), "is not UTF-8 text (byte 0xe9"),
        (b"name: big\n" + b"#" * (2 << 20), "over 1024 KiB, too large for the campaign file"),
        (
            b"name: bomb\n"
            + STEPS.encode()
            + b"settings:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                f"  {c}: &{c} [{', '.join(['*' + p] * 10)}]\n".encode()
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "YAML aliases",
        ),
        (
            b"name: late\nsteps:\n  - {channel: EMAIL, delay_hours: 1e20, template: {body: x}}\n",
            "delay_hours",
        ),
        (b"name: t\naudience: {min_score: lots}\n" + STEPS.encode(), "min_score"),
    ],
    ids=["missing", "folder", "binary", "latin-1", "huge", "alias-bomb", "delay", "audience"],
)
def test_campaign_create_refuses_a_bad_file_with_exit_2(
    cli: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes | str | None,
    words: str,
) -> None:
    path = tmp_path / "campaign.yaml"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code, out = run(capsys, "campaign", "create", str(path))
    assert code == 2 and words in out, out


def test_a_list_of_tags_is_created_and_started(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "lead", "add", "email=a@acme.example", "--tag", "b")[0] == 0
    path = tmp_path / "c.yaml"
    path.write_text("name: tags\naudience: {tag: [a, b]}\n" + STEPS)
    assert run(capsys, "campaign", "create", str(path))[0] == 0
    code, out = run(capsys, "campaign", "start", "tags")
    assert code == 0 and "1 lead(s) enrolled" in out


def test_icp_set_refuses_a_binary_file(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "icp.yaml"
    path.write_bytes(PNG)
    code, out = run(capsys, "icp", "set", str(path))
    assert code == 2 and "is a binary file; the ICP file is YAML text" in out


def test_unwritable_output_paths_are_refused_before_any_work(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("Email\na@acme.example\n")
    nowhere = tmp_path / "no-such-folder" / "out.csv"
    code, out = run(capsys, "leads", "import", str(csv_file), "--rejects", str(nowhere))
    assert code == 2 and "cannot write the rejects file" in out and "check the path" in out
    code, out = run(capsys, "leads", "list")
    assert "a@acme.example" not in out  # refused before anything was imported

    assert run(capsys, "leads", "import", str(csv_file))[0] == 0
    code, out = run(capsys, "leads", "export", str(nowhere))
    assert code == 2 and "cannot write the export file" in out
    code, out = run(capsys, "leads", "export", str(tmp_path))
    assert code == 2 and "give a file, not a folder" in out
    code, out = run(capsys, "lead", "export", "a@acme.example", str(nowhere))
    assert code == 2 and "cannot write the export file" in out
