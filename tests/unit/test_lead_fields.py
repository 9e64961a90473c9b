from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain import leads as L
from aicmo.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("https://www.linkedin.com/in/Jane-Doe/", "in:jane-doe"),
        ("linkedin.com/in/jane-doe?trk=public", "in:jane-doe"),
        ("  https://fr.linkedin.com/in/jane-doe?originalSubdomain=fr  ", "in:jane-doe"),
        ("http://m.linkedin.com/in/JANE-DOE", "in:jane-doe"),
        ("/in/jane-doe", "in:jane-doe"),
        ("https://www.linkedin.com/in/j%C3%B6rg-m%C3%BCller", "in:jörg-müller"),
        ("https://www.linkedin.com/sales/lead/ACwAAA123,NAME_SEARCH,x1", "sales:acwaaa123"),
    ],
)
def test_linkedin_urls_of_one_profile_share_a_key(raw: str, key: str) -> None:
    assert L.normalize_linkedin_url(raw)[1] == key


@pytest.mark.parametrize(
    "raw",
    [
        "https://example.com/in/x",
        "https://www.linkedin.com/company/acme",
        "not a url",
        "https://linkedin.com.evil.example/in/x",
    ],
)
def test_things_that_are_not_profiles_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        L.normalize_linkedin_url(raw)


def test_email_key_ignores_case_and_surrounding_space() -> None:
    assert L.normalize_email("  Jane.Doe@Example.COM ")[1] == "jane.doe@example.com"


@pytest.mark.parametrize(
    "raw", ["jane", "jane@", "@example.com", "jane doe@example.com", "a@b@example.com"]
)
def test_bad_emails_are_refused_with_the_address_named(raw: str) -> None:
    with pytest.raises(ValidationError, match="invalid email"):
        L.normalize_email(raw)


@pytest.mark.parametrize(
    "value", ["Jane\r\nBcc: x@example.com", "Jane\nDoe", "Jane\x00", "Jane\u2028"]
)
def test_control_characters_are_refused_in_single_line_fields(value: str) -> None:
    with pytest.raises(ValidationError, match="control character"):
        L.check_single_line("first_name", value)


@given(st.text())
def test_a_checked_single_line_value_never_holds_a_line_break(value: str) -> None:
    try:
        out = L.check_single_line("subject", value, max_len=10_000)
    except ValidationError:
        return
    assert "\r" not in out and "\n" not in out


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("250", 250),
        ("1,000", 1000),
        ("51-200", 51),
        ("10001+", 10001),
        ("5K", 5000),
        ("11 - 50", 11),
    ],
)
def test_company_sizes_are_read_from_the_usual_spellings(raw: str, size: int) -> None:
    assert L.parse_company_size(raw) == size


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("12000", "12000.00"),
        ("$12,000.50", "12000.50"),
        ("€ 12.000,50", "12000.50"),
        ("1,5", "1.50"),
    ],
)
def test_deal_values_are_read_from_money_spellings(raw: str, amount: str) -> None:
    assert L.parse_deal_value(raw) == Decimal(amount)


@pytest.mark.parametrize(
    ("raw", "stage"),
    [
        ("new", "NEW"),
        ("Closed Won", "WON"),
        ("ATTEMPTED_TO_CONTACT", "CONTACTED"),
        ("Meeting booked", "MEETING"),
        ("qualified", "QUALIFIED"),
        ("unqualified", "LOST"),
    ],
)
def test_crm_stage_words_map_to_our_stages(raw: str, stage: str) -> None:
    assert L.parse_stage(raw).value == stage


def test_unknown_stage_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match="NEW, CONTACTED"):
        L.parse_stage("maybe later")


def test_tags_are_split_trimmed_and_deduplicated() -> None:
    assert L.split_tags(" saas, SaaS ; founders|  vip ") == ["saas", "founders", "vip"]


def test_full_names_split_both_ways() -> None:
    assert L.split_full_name("Jane van Dyke") == ("Jane", "van Dyke")
    assert L.split_full_name("Doe, John") == ("John", "Doe")


def test_api_fields_are_strict() -> None:
    with pytest.raises(ValidationError) as err:
        L.normalize_lead_fields({"emial": "x@example.com"})
    assert err.value.field == "emial"
    with pytest.raises(ValidationError):
        L.normalize_lead_fields({"company_size": -3})
    out = L.normalize_lead_fields(
        {"email": "A@Example.com", "website": "acme.example", "stage": "won"}
    )
    assert out == {
        "email": "A@example.com",
        "email_key": "a@example.com",
        "website": "https://acme.example",
        "stage": "WON",
    }


@given(st.emails() | st.text(max_size=40))
def test_the_email_fast_path_agrees_with_email_validator(value: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        expected: str | None = validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = L.normalize_email(value)[0]
    except ValidationError:
        got = None
    if expected is not None and L._CONTROL_RE.search(value.strip()):
        expected = None  # we refuse control characters before asking the library
    assert got == expected


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))])
@pytest.mark.parametrize("field", ["first_name", "last_name", "company"])
def test_bidirectional_controls_are_refused_with_the_field_and_the_character(
    field: str, char: str
) -> None:
    with pytest.raises(ValidationError, match=f"{field} contains a bidirectional") as err:
        L.check_single_line(field, f"Jane{char}Doe")
    assert f"U+{ord(char):04X}" in err.value.message and err.value.field == field


@pytest.mark.parametrize("value", ["\u200fשרה כהן", "Ali\u200e (Acme)", "سارة", "Zoë Łukasz"])
def test_right_to_left_names_and_their_marks_are_kept(value: str) -> None:
    """U+200E/U+200F reorder no letters and real right-to-left text carries them."""
    assert L.check_single_line("first_name", value) == value
