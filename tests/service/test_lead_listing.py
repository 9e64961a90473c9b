"""Listing leads: what a search matches, and that every filter pages through the same
leads in the same order whichever plan the repository picks (few matches read by their
ids, many read best score first), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.db_models import LeadDB
from aicmo.cam.repository import leads as lead_repo
from aicmo.errors import NotFoundError
from aicmo.operator_services.crm.events import list_events
from aicmo.operator_services.uow import utcnow

PEOPLE = [
    ("jane.doe@acme.example", "Jane", "Doe", "Acme Corp"),
    ("j.smith@globex.example", "John", "Smith", "Globex"),
    ("ann@initech.example", "Ann", "O'Neil", "Initech"),
    ("bob@acme-labs.example", "Bob", "Acme", "Umbrella"),
    ("a_c@under.example", "Zed", "Underscore", "100% Ltd"),
    ("mia@stark.example", "Mía", "Stark", "Stark Industries"),
]


def names(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["email"] for r in rows)


def add_people(db: Session) -> None:
    for email, first, last, company in PEOPLE:
        ops.create_lead(db, email=email, first_name=first, last_name=last, company=company)


def test_search_is_a_case_insensitive_prefix_of_email_names_or_company(db: Session) -> None:
    add_people(db)
    assert names(ops.find_leads(db, search="JANE")) == ["jane.doe@acme.example"]
    assert names(ops.find_leads(db, search="smi")) == ["j.smith@globex.example"]
    assert names(ops.find_leads(db, search="acme")) == [
        "bob@acme-labs.example",  # last name Acme
        "jane.doe@acme.example",  # company Acme Corp
    ]
    assert names(ops.find_leads(db, search="j.sm")) == ["j.smith@globex.example"]
    assert names(ops.find_leads(db, search="o'n")) == ["ann@initech.example"]
    # A prefix, not a substring: the middle of a word or an address matches nothing.
    assert ops.find_leads(db, search="mith") == []
    assert ops.find_leads(db, search="example") == []
    assert ops.find_leads(db, search="corp") == []


def test_a_first_and_last_name_find_the_person(db: Session) -> None:
    add_people(db)
    assert names(ops.find_leads(db, search="jane do")) == ["jane.doe@acme.example"]
    assert names(ops.find_leads(db, search="  John   SMITH ")) == ["j.smith@globex.example"]
    assert ops.find_leads(db, search="jane smith") == []
    assert names(ops.find_leads(db, search="stark ind")) == ["mia@stark.example"]


def test_wildcards_are_plain_characters_and_a_blank_search_lists_everyone(db: Session) -> None:
    add_people(db)
    assert names(ops.find_leads(db, search="a_c")) == ["a_c@under.example"]
    assert ops.find_leads(db, search="a%") == []
    assert names(ops.find_leads(db, search="100%")) == ["a_c@under.example"]
    assert len(ops.find_leads(db, search="   ")) == len(PEOPLE)


def test_search_folds_case_beyond_ascii_on_postgresql(db: Session) -> None:
    add_people(db)
    assert names(ops.find_leads(db, search="Mía")) == ["mia@stark.example"]
    if db.get_bind().dialect.name == "postgresql":
        assert names(ops.find_leads(db, search="MÍA")) == ["mia@stark.example"]


# --- paging ---------------------------------------------------------------------------


@pytest.fixture
def crowd(db: Session) -> list[LeadDB]:
    """60 leads: scores with ties and ungraded ones, two tags, names to search."""
    now = utcnow()
    rows = []
    for i in range(60):
        score = None if i % 11 == 0 else (i * 7) % 5 * 10
        rows.append(
            LeadDB(
                workspace_id=1,
                email=f"p{i}@crowd.example",
                email_key=f"p{i}@crowd.example",
                first_name="Kim" if i % 4 == 0 else f"Name{i}",
                last_name=f"Lee{i % 3}",
                company=f"Crowd {i % 6}",
                stage="NEW" if i % 5 else "CONTACTED",
                grade=None if score is None else "ABCD"[i % 4],
                score=score,
                created_at=now,
                updated_at=now,
            )
        )
    db.add_all(rows)
    db.flush()
    repo.add_tags(db, 1, [(r.id, "many") for r in rows if r.id % 2 == 0])
    repo.add_tags(db, 1, [(r.id, "few") for r in rows[:5]])
    db.commit()
    return rows


def expected(rows: list[LeadDB], db: Session, **filters: Any) -> list[int]:
    """The listing as plain Python: every filter, best score first, ungraded last."""
    tags = repo.tags_for(db, [r.id for r in rows])
    term = " ".join(str(filters.get("search") or "").split()).lower()

    def searched(r: LeadDB) -> bool:
        first, _, rest = term.partition(" ")
        return any(
            (value or "").lower().startswith(term)
            for value in (r.email, r.first_name, r.last_name, r.company)
        ) or bool(
            rest
            and (r.first_name or "").lower() == first
            and (r.last_name or "").lower().startswith(rest)
        )

    keep = [
        r
        for r in rows
        if (not filters.get("grade") or r.grade in filters["grade"])
        and (not filters.get("stage") or r.stage in filters["stage"])
        and (filters.get("min_score") is None or (r.score or -1) >= filters["min_score"])
        and (not filters.get("tag") or filters["tag"] in tags.get(r.id, []))
        and (not term or searched(r))
    ]
    keep.sort(key=lambda r: (r.score is None, -(r.score or 0), r.id))
    return [r.id for r in keep]


def paged(db: Session, size: int, **filters: Any) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = ops.find_leads(db, limit=size, after=after, **filters)
        seen.extend(r["id"] for r in page)
        if len(page) < size:
            return seen
        after = (page[-1]["score"], page[-1]["id"])


FILTERS = [
    {},
    {"grade": ["A"]},
    {"grade": ["B", "C"]},
    {"stage": ["CONTACTED"]},
    {"min_score": 20},
    {"tag": "many"},
    {"tag": "few"},
    {"tag": "nobody"},
    {"search": "kim"},
    {"search": "crowd 1"},
    {"search": "kim lee2"},
    {"search": "p1"},
    {"tag": "many", "search": "crowd"},
    {"tag": "few", "grade": ["A", "B"], "min_score": 10},
]


@pytest.mark.parametrize("few_matches", [3, 2000], ids=["many-plan", "few-plan"])
@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_every_filter_pages_through_the_same_leads_in_order(
    db: Session,
    crowd: list[LeadDB],
    monkeypatch: pytest.MonkeyPatch,
    filters: dict[str, Any],
    few_matches: int,
) -> None:
    monkeypatch.setattr(lead_repo, "FEW_MATCHES", few_matches)
    want = expected(crowd, db, **filters)
    assert [r["id"] for r in ops.find_leads(db, limit=100, **filters)] == want
    assert paged(db, 4, **filters) == want
    assert paged(db, 7, **filters) == want


# --- plans ------------------------------------------------------------------------------


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", grab)
    yield seen
    event.remove(engine, "before_cursor_execute", grab)


LISTINGS = [
    {},
    {"grade": ["A"]},
    {"stage": ["NEW"]},
    {"min_score": 20},
    {"tag": "many"},
    {"search": "crowd"},
    {"grade": ["A"], "after": (30, 1)},
]


@pytest.mark.parametrize("filters", LISTINGS, ids=[str(f) for f in LISTINGS])
def test_sqlite_reads_listings_in_index_order(
    db: Session,
    crowd: list[LeadDB],
    statements: list[tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    filters: dict[str, Any],
) -> None:
    """No listing sorts the workspace's leads: each reads an index in the order it
    returns them (SQLite plans without statistics, so its plan is the same at 60 leads
    as at 100,000)."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics (see docs/performance.md)")
    monkeypatch.setattr(lead_repo, "FEW_MATCHES", 3)  # the plan for many matches
    statements.clear()
    ops.find_leads(db, limit=5, **filters)
    listing = [(sql, p) for sql, p in statements if "ORDER BY leads.score DESC" in sql]
    assert listing
    for sql, params in listing:
        plan = explain(db, sql, params)
        assert "TEMP B-TREE" not in plan, plan
        assert "ix_leads_workspace_" in plan, plan


def test_sqlite_reads_a_search_from_its_indexes(
    db: Session, crowd: list[LeadDB], statements: list[tuple[str, Any]]
) -> None:
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics (see docs/performance.md)")
    statements.clear()
    ops.find_leads(db, limit=5, search="kim lee")
    searches = [(sql, p) for sql, p in statements if sql.startswith("SELECT leads.id \nFROM")]
    assert len(searches) == 5  # email, first name, last name, company, first + last
    for sql, params in searches:
        plan = explain(db, sql, params)
        assert "ix_leads_search_" in plan and ">?" in plan, plan


def explain(db: Session, sql: str, params: Any) -> str:
    rows = db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
    return " | ".join(str(row[-1]) for row in rows)


# --- the audit trail of something that is not there -----------------------------------


def test_the_trail_of_an_unknown_lead_or_campaign_is_not_found(db: Session) -> None:
    lead = ops.create_lead(db, email="trail@lead.example")
    assert list_events(db, lead_id=lead["id"])  # LEAD_CREATED
    with pytest.raises(NotFoundError, match="no lead"):
        list_events(db, lead_id=lead["id"] + 1000)
    with pytest.raises(NotFoundError, match="no lead"):
        list_events(db, workspace_id=2, lead_id=lead["id"])
    with pytest.raises(NotFoundError, match="no campaign"):
        list_events(db, campaign_id=424242)
