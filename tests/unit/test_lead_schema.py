"""The lead field table agrees with the model, and every list derived from it holds."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from aicmo.cam.db_models import LeadDB
from aicmo.cam.domain import lead_fields as F
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.lead_fields import Kind, Use

#: Kinds the CSV import reads without a parser of VALUE_PARSERS (see ``parse_row``).
_IMPORT_OWN_KINDS = {Kind.TEXT, Kind.EMAIL, Kind.LINKEDIN, Kind.FULL_NAME, Kind.TAGS, Kind.NOTE}


def test_every_column_of_leads_is_in_the_table_and_every_column_of_the_table_in_leads() -> None:
    model = set(cast(Table, LeadDB.__table__).columns.keys())
    table = set(F.COLUMNS)
    assert not model - table, f"add these columns of LeadDB to FIELDS: {sorted(model - table)}"
    assert not table - model, f"FIELDS names columns LeadDB lacks: {sorted(table - model)}"


def test_field_names_are_unique() -> None:
    assert len(F.BY_NAME) == len(F.FIELDS)


def test_the_export_keeps_its_column_order() -> None:
    # The CSV export is read by spreadsheets and other tools: a new field may come
    # anywhere, but the columns that exist keep their order.
    contract = (
        "id", "email", "first_name", "last_name", "company", "title", "seniority", "industry",
        "company_size", "linkedin_url", "website", "form_url", "phone", "country", "timezone",
        "stage", "grade", "score", "tags", "owner", "source", "deal_value", "created_at",
        "updated_at",
    )  # fmt: skip
    assert [c for c in F.EXPORT_COLUMNS if c in contract] == list(contract)
    assert all(c == "tags" or c in F.COLUMNS for c in F.EXPORT_COLUMNS)


def test_import_targets_have_header_spellings_and_are_read_by_the_import() -> None:
    for name in F.IMPORT_FIELDS:
        spec = F.BY_NAME[name]
        assert Use.IMPORT in spec.uses, name
        assert spec.kind in _IMPORT_OWN_KINDS or spec.kind in L.VALUE_PARSERS, name


def test_the_import_writes_only_columns_and_reads_back_what_it_compares() -> None:
    assert set(F.IMPORTED_COLUMNS) <= set(F.COLUMNS)
    assert {"email_key", "linkedin_key", "custom_fields"} <= set(F.IMPORTED_COLUMNS)
    assert {n for n in F.IMPORT_FIELDS if F.BY_NAME[n].is_column} <= set(F.IMPORTED_COLUMNS)


def test_every_editable_field_has_a_normaliser() -> None:
    for name in F.EDITABLE_FIELDS:
        kind = F.BY_NAME[name].kind
        assert (
            kind in {Kind.TEXT, Kind.CUSTOM}
            or kind in L.VALUE_PARSERS
            or (kind in L.IDENTITY_PARSERS)
        ), name


def test_identity_fields_name_their_key_column() -> None:
    for spec in F.FIELDS:
        if spec.kind in L.IDENTITY_PARSERS:
            assert spec.key is not None
            assert F.BY_NAME[spec.key].kind is Kind.KEY


def test_the_lead_dict_and_templates_see_columns_and_tags() -> None:
    assert all(k == "tags" or k in F.COLUMNS for k in F.RECORD_KEYS)
    shown = {f.name for f in F.FIELDS if Use.TEMPLATE in f.uses}
    assert shown <= set(F.RECORD_KEYS)
    assert "custom" in F.TEMPLATE_FIELDS
    assert "custom_fields" not in F.TEMPLATE_FIELDS
