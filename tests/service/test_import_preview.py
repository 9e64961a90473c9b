"""The import's preview: what a file would be read as, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.errors import ImportFileError
from aicmo.operator_services.crm.importing import preview_csv


def test_the_preview_gives_each_column_a_sample_and_the_import_s_own_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hubspot.csv"
    path.write_text(
        "\ufeffEmail;Company Name;Lifecycle Stage;custom:Budget;Fav Color\n"
        ";;;;\n"
        "jo@acme.example;Acme;lead;;\n"
        "al@beta.example;Beta;customer;10k;blue\n",
        encoding="utf-8",
    )
    preview = preview_csv(path)
    assert preview["delimiter"] == ";"
    assert preview["encoding"] == "utf-8-sig"
    assert preview["has_identity"] is True
    assert [(c["header"], c["sample"], c["target"]) for c in preview["columns"]] == [
        ("Email", "jo@acme.example", "email"),
        ("Company Name", "Acme", "company"),
        ("Lifecycle Stage", "lead", "stage"),
        ("custom:Budget", "10k", "custom:Budget"),
        ("Fav Color", "blue", "custom:Fav Color"),
    ]


def test_a_file_whose_identity_column_is_not_recognised_is_previewed_for_a_person_to_choose(
    tmp_path: Path,
) -> None:
    path = tmp_path / "own.csv"
    path.write_text("Mail of person,Name\njo@acme.example,Jo\n", encoding="utf-8")
    preview = preview_csv(path)
    assert preview["has_identity"] is False
    assert preview["columns"][0]["target"] == "custom:Mail of person"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"email\n", "has a header but no rows"),
        (b"email,email\na@b.example,c@d.example\n", "repeats the column"),
        ("email\njo@caf\xe9.example\n".encode("latin-1"), "is not valid utf-8"),
        (b"note,other\nhello,there\n", "does not look like a CSV of leads"),
    ],
)
def test_a_file_the_import_cannot_use_is_refused_at_the_preview(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=says):
        preview_csv(path)
