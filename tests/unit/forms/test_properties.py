"""Properties that must hold on any input: no crash, hidden inputs verbatim, honeypots untouched."""

from __future__ import annotations

import html as html_lib

from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.cam.forms import (
    SenderProfile,
    analyze_page,
    candidate_urls,
    fill_form,
    judge_response,
    parse_forms,
)

SENDER = SenderProfile(first_name="Jane", last_name="Doe", email="jane@example.org")
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
TAGS = st.sampled_from(
    ["<form>", "</form>", "<form method=post action=/x>", "<input name=a>", "<textarea name=m>",
     "</textarea>", "<select name=s>", "<option selected>", "<div style='display:none'>", "</div>",
     "<table><tr><td>", "</td>", "<label for=i>", "</label>", "<input id=i type=email name=e>",
     "<input type=hidden name=t value=v>", "<style>.x{display:none}</style>", "<p class=x>",
     "<input form=f name=z>", "<form id=f>", "<!--", "-->", "<script>", "</script>", "<"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_analysis_never_raises_on_arbitrary_text(text: str) -> None:
    analysis = analyze_page(text, "https://x.example/contact")
    assert isinstance(analysis.why, str)
    candidate_urls(text, "https://x.example/")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(TAGS, TEXT), max_size=40))
def test_analysis_and_filling_never_raise_on_tag_soup(parts: list[str]) -> None:
    markup = "".join(parts)
    for form in parse_forms(markup, "https://x.example/"):
        result = fill_form(form, SENDER, subject="Hi", message="Hello")
        assert isinstance(result.ok, bool)
        verdict = judge_response(
            200, form.action, {}, markup, form=form, submitted_url=form.action, sent=result.payload
        )
        assert len(verdict.evidence_snippet) <= 300


@settings(max_examples=100, deadline=None)
@given(
    hidden=st.lists(st.tuples(NAMES, TEXT), max_size=5),
    traps=st.lists(NAMES, min_size=1, max_size=3, unique=True),
    trap_style=st.sampled_from(
        ["display:none", "position:absolute;left:-9999px", "visibility:hidden", "opacity:0"]
    ),
)
def test_hidden_inputs_are_carried_verbatim_and_honeypots_stay_empty(
    hidden: list[tuple[str, str]], traps: list[str], trap_style: str
) -> None:
    hidden_markup = "".join(
        f'<input type="hidden" name="h_{name}" value="{html_lib.escape(value)}">'
        for name, value in hidden
    )
    trap_markup = "".join(
        f'<div style="{trap_style}"><label>Website</label><input name="t_{name}"></div>'
        for name in traps
    )
    markup = (
        f"<form method=post>{hidden_markup}<label>Name <input name=name></label>"
        f"<label>Email <input type=email name=email></label>{trap_markup}"
        "<label>Message <textarea name=message></textarea></label></form>"
    )
    form = parse_forms(markup, "https://x.example/")[0]
    result = fill_form(form, SENDER, subject="Hi", message="Hello there")

    sent_hidden = [(k, v) for k, v in result.payload if k.startswith("h_")]
    assert sent_hidden == [(f"h_{name}", value) for name, value in hidden]
    sent_traps = [(k, v) for k, v in result.payload if k.startswith("t_")]
    assert sent_traps == [(f"t_{name}", "") for name in traps]
    assert result.ok


@settings(max_examples=100, deadline=None)
@given(status=st.integers(100, 599), body=st.text(max_size=400), url=TEXT)
def test_verdict_is_always_well_formed(status: int, body: str, url: str) -> None:
    form = parse_forms("<form method=post action=/c><input name=a></form>", "https://x.example/")[0]
    verdict = judge_response(status, url, {"Location": url}, body, form=form, submitted_url=url)

    assert verdict.outcome in ("success", "failure", "unknown")
    assert len(verdict.evidence_snippet) <= 300
    assert all(len(message) <= 200 for message in verdict.messages)
