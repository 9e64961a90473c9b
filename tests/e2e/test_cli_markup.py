"""Data is shown as it is: Rich markup, emoji codes and control characters in a lead, a
file name or a CSV header are text, never markup, never a crash, never a clickable link."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cli import main
from aicmo.cli.common import console, err_console
from aicmo.config import get_settings

EVIL = "[/bad][link=https://evil.example]x[/link]"
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "title",
    "seniority",
    "industry",
    "phone",
    "country",
    "owner",
    "source",
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICMO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    # Terminals: a hyperlink would be an escape sequence ("\x1b]8;"); wide enough for
    # every column of `leads list`.
    monkeypatch.setattr(console, "width", 200)
    monkeypatch.setattr(err_console, "width", 200)
    assert main(["init"]) == 0


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and "MarkupError" not in text, text
    assert "\x1b]8;" not in text  # no OSC 8 hyperlink
    return code, text


def test_every_data_printing_command_shows_markup_as_text(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fields = [f"{name}={EVIL}" for name in TEXT_FIELDS]
    code, out = run(capsys, "lead", "add", "email=jo@acme.example", *fields, "--tag", EVIL)
    assert code == 0, out
    assert out.count(EVIL) >= len(TEXT_FIELDS) + 1  # lead show's table: every field, literally
    custom = tmp_path / "custom.csv"
    custom.write_text(f'email,custom:x,notes\njo@acme.example,"{EVIL}","{EVIL}"\n')
    assert run(capsys, "leads", "import", str(custom))[0] == 0
    assert run(capsys, "lead", "note", "jo@acme.example", EVIL, "--author", EVIL)[0] == 0

    code, out = run(capsys, "lead", "show", "jo@acme.example")
    assert code == 0
    # fields, tag, custom field, two notes and an author
    assert out.count(EVIL) >= len(TEXT_FIELDS) + 5, out

    for argv in (
        ("leads", "list"),
        ("leads", "list", "--search", "jo"),  # a prefix of the email
        ("leads", "grade", "--show", "5"),
    ):
        code, out = run(capsys, *argv)
        assert code == 0, out
        assert "[/bad][link=htt" in out  # cut to the column's width, but as written

    code, out = run(capsys, "lead", "set", "jo@acme.example", f"title={EVIL}!")
    assert code == 0 and f"{EVIL}!" in out
    code, out = run(capsys, "lead", "tag", "jo@acme.example", "more")
    assert code == 0 and EVIL in out

    code, out = run(capsys, "suppress", "add", "[/b]@x.example")
    assert code in (0, 1) and "[/b]" in out  # refused or added: shown as typed, no crash
    code, out = run(capsys, "suppress", "check", f"{EVIL}@x.example")
    assert "[/bad]" in out

    campaign = tmp_path / "c.yaml"
    campaign.write_text(
        f'name: "{EVIL}"\n'
        f'description: "{EVIL}"\n'
        "steps:\n  - channel: EMAIL\n    template: {subject: Hi, body: Hello}\n"
        f'audience: {{tag: "{EVIL}"}}\n'
    )
    code, out = run(capsys, "campaign", "create", str(campaign))
    assert code == 0 and EVIL in out, out
    assert run(capsys, "campaign", "validate", EVIL)[0] == 0
    for command in (("campaign", "start", EVIL), ("campaign", "status", EVIL)):
        code, out = run(capsys, *command)
        assert code == 0 and EVIL in out, out


def test_markup_in_a_csv_header_and_rows_is_reported_as_text(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(f"email,{EVIL},company\nann@acme.example,1,{EVIL}\nnope,2,x\n")
    code, out = run(capsys, "leads", "import", str(csv_file))
    assert code == 1  # one row rejected, nothing else went wrong
    assert f"{EVIL} → custom:{EVIL}" in out
    assert "nope" in out and "Rejected rows" in out


def test_an_error_about_a_file_name_with_markup_is_printed(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, "leads", "import", "/tmp/[/x]")
    assert code == 2 and "no such file: /tmp/[/x]" in out


def test_control_characters_and_emoji_codes_are_shown_not_sent(
    cli: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, "lead", "add", "email=e@acme.example", "company=:smile: Inc")
    assert code == 0 and ":smile: Inc" in out
    code, out = run(capsys, "leads", "import", str(tmp_path / "a\x1b[31mred.csv"))
    assert code == 2
    assert "\x1b[31m" not in out and "a\\x1b[31mred.csv" in out
