from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain import importing as imp
from aicmo.errors import ImportFileError, ValidationError

APOLLO = [
    "First Name",
    "Last Name",
    "Title",
    "Company",
    "Company Name for Emails",
    "Email",
    "Seniority",
    "Departments",
    "Person Linkedin Url",
    "Company Linkedin Url",
    "Website",
    "City",
    "State",
    "Country",
    "# Employees",
    "Industry",
]
HUBSPOT = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Company Name",
    "Job Title",
    "Phone Number",
    "Website URL",
    "Lead Status",
    "Contact owner",
]
SALES_NAV = ["First Name", "Last Name", "Title", "Company", "Primary Email", "Profile URL"]


def targets(headers: list[str]) -> dict[str, str]:
    return dict(imp.map_columns(headers).describe())


def test_apollo_headers_map_to_lead_fields_and_the_rest_is_kept_as_custom() -> None:
    t = targets(APOLLO)
    assert t["Email"] == "email"
    assert t["Person Linkedin Url"] == "linkedin_url"
    assert t["# Employees"] == "company_size"
    assert t["Company"] == "company"
    assert t["Company Name for Emails"] == "custom:Company Name for Emails"
    assert t["City"] == "custom:City"


def test_hubspot_headers_map() -> None:
    t = targets(HUBSPOT)
    assert (
        t["Company Name"],
        t["Job Title"],
        t["Phone Number"],
        t["Lead Status"],
        t["Contact owner"],
    ) == ("company", "title", "phone", "stage", "owner")
    assert t["Website URL"] == "website"


def test_sales_navigator_headers_map() -> None:
    t = targets(SALES_NAV)
    assert t["Primary Email"] == "email" and t["Profile URL"] == "linkedin_url"


def test_headers_match_whatever_the_case_spacing_or_bom() -> None:
    t = targets(["\ufeffE-Mail", " FIRST_NAME ", "last-name"])
    assert t == {"E-Mail": "email", "FIRST_NAME": "first_name", "last-name": "last_name"}


def test_map_option_overrides_and_skips() -> None:
    overrides = imp.parse_map_option(["Work Mail=email", "Secret=-", "Fav Color=custom:color"])
    t = dict(imp.map_columns(["Work Mail", "Secret", "Fav Color"], overrides).describe())
    assert t == {"Work Mail": "email", "Secret": "-", "Fav Color": "custom:color"}


@pytest.mark.parametrize("spec", ["Work Mail", "=email", "Work Mail=emial"])
def test_bad_map_options_are_explained(spec: str) -> None:
    with pytest.raises(ImportFileError, match="--map"):
        imp.parse_map_option([spec])


def test_a_file_without_identity_column_is_refused_with_a_hint() -> None:
    with pytest.raises(ImportFileError, match="--map"):
        imp.map_columns(["Name", "Company"])


def test_a_file_without_header_row_is_recognised() -> None:
    with pytest.raises(ImportFileError, match="looks like data"):
        imp.map_columns(["jane@example.com", "Jane", "Acme"])


def mapping() -> imp.ColumnMapping:
    return imp.map_columns(
        ["Email", "First Name", "Name", "# Employees", "Stage", "Tags", "Notes", "Shoe"]
    )


def test_a_row_becomes_fields_tags_note_and_custom() -> None:
    row = imp.parse_row(
        mapping(),
        ["Jane@Example.com", "", "Jane Doe", "51-200", "open deal", "a; b", "met at expo", "42"],
    )
    assert row.fields == {
        "email": "Jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "company_size": 51,
        "stage": "QUALIFIED",
    }
    assert row.email_key == "jane@example.com"
    assert row.tags == ["a", "b"]
    assert row.note == "met at expo"
    assert row.custom == {"Shoe": "42"}


def test_a_bad_optional_value_is_a_warning_and_kept() -> None:
    row = imp.parse_row(mapping(), ["j@example.com", "J", "", "lots", "", "", "", ""])
    assert row.custom == {"# Employees": "lots"} or row.custom == {"company_size": "lots"}
    assert any("company size" in w for w in row.warnings)


def test_a_row_with_extra_cells_is_rejected_not_misaligned() -> None:
    with pytest.raises(ValidationError, match="cells but the header has"):
        imp.parse_row(mapping(), ["j@example.com", "J", "", "", "", "", "", "", "extra"])


def test_a_row_with_a_line_break_in_a_name_is_rejected() -> None:
    with pytest.raises(ValidationError, match="first_name contains a control character"):
        imp.parse_row(
            mapping(), ["j@example.com", "J\r\nBcc: x@example.com", "", "", "", "", "", ""]
        )


def test_a_row_without_identity_is_rejected() -> None:
    with pytest.raises(ValidationError, match="nothing identifies"):
        imp.parse_row(mapping(), ["", "Jane", "", "", "", "", "", ""])


@given(st.lists(st.text(max_size=30), min_size=0, max_size=10))
def test_parse_row_either_parses_or_raises_a_validation_error(cells: list[str]) -> None:
    try:
        row = imp.parse_row(mapping(), cells)
    except ValidationError:
        return
    assert row.email_key or row.linkedin_key
