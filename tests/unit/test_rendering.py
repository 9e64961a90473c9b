"""Unit tests for aicmo.transports.rendering: merge tags, spintax, escaping, validation
and the sandbox's limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError
from markupsafe import escape

from aicmo.errors import ValidationError
from aicmo.transports import rendering
from aicmo.transports.rendering import (
    KNOWN_VARIABLES,
    LEAD_FIELDS,
    MAX_OUTPUT_CHARS,
    RenderContext,
    render,
    validate_template,
)

LEAD: dict[str, Any] = {
    "id": 42,
    "email": "zoe@example.org",
    "first_name": "Zoë",
    "last_name": "",
    "company": "Acme & Sons",
    "title": "CTO",
    "seniority": None,
    "industry": "Software",
    "company_size": 120,
    "linkedin_url": "https://www.linkedin.com/in/zoe",
    "website": "https://acme.example",
    "form_url": None,
    "phone": "   ",
    "country": "DE",
    "timezone": "Europe/Berlin",
    "stage": "NEW",
    "grade": "A",
    "score": 0,
    "custom": {"plan": "pro", "items": "three", "empty": "", "nested": {"tier": "gold"}},
    "tags": ["saas", "berlin"],
}
SENDER = {"name": "Sam Sender", "email": "sam@example.com"}
CTX = RenderContext(lead=LEAD, sender=SENDER, unsubscribe_url="https://u.example/x?a=1&b=2")


def ctx_with(**lead: Any) -> RenderContext:
    return RenderContext(lead={**LEAD, **lead}, sender=SENDER, unsubscribe_url=None)


def text(source: str, context: RenderContext = CTX, seed: str = "seed-1") -> str:
    return render(source, context, seed=seed)


def html(source: str, context: RenderContext = CTX, seed: str = "seed-1") -> str:
    return render(source, context, seed=seed, html=True)


def render_error(source: str, *, as_html: bool = False) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        render(source, CTX, seed="s", html=as_html, field="body")
    assert info.value.field == "body"
    return info.value


# ---------------------------------------------------------------------- variables


def test_known_variables_cover_fields_aliases_and_context() -> None:
    assert LEAD_FIELDS <= KNOWN_VARIABLES
    assert {"lead", "sender", "unsubscribe_url", "firstName", "companyName"} <= KNOWN_VARIABLES


def test_lead_fields_top_level_and_camel_case() -> None:
    source = (
        "{{ first_name }}|{{ lead.first_name }}|{{firstName}}|{{ lead.firstName }}|"
        "{{ companyName }}|{{ jobTitle }}|{{ lead['company'] }}|{{ score }}|{{ id }}"
    )
    assert text(source) == "Zoë|Zoë|Zoë|Zoë|Acme & Sons|CTO|Acme & Sons|0|42"


def test_sender_unsubscribe_custom_and_tags() -> None:
    source = (
        "{{ sender.name }} <{{ sender.email }}> {{ unsubscribe_url }} "
        "{{ lead.custom.plan }}/{{ custom.items }}/{{ lead.custom.nested.tier }} "
        "{{ tags | join(', ') }}{% for t in lead.tags %}[{{ loop.index }}:{{ t }}]{% endfor %}"
    )
    assert text(source) == (
        "Sam Sender <sam@example.com> https://u.example/x?a=1&b=2 pro/three/gold saas, berlin"
        "[1:saas][2:berlin]"
    )


def test_keys_win_over_mapping_methods() -> None:
    # custom has a field called "items": it must not resolve to dict.items.
    assert text("{{ lead.custom.items }}") == "three"
    assert text("{% for k in lead.custom.keys() | sort %}{{ k }} {% endfor %}") == (
        "items nested plan "
    )


def test_empty_values_are_undefined_and_falsy() -> None:
    source = (
        "{% if last_name %}L{% else %}no-last{% endif %} "
        "{% if phone %}P{% else %}no-phone{% endif %} "
        "{% if lead.custom.empty %}E{% else %}no-empty{% endif %} "
        "{% if seniority is defined %}D{% else %}undefined{% endif %}"
    )
    assert text(source) == "no-last no-phone no-empty undefined"


def test_printing_an_empty_field_without_fallback_fails_with_name_and_line() -> None:
    with pytest.raises(ValidationError) as info:
        render("Hello,\n\nDear {{ last_name }}", CTX, seed="s", field="subject")
    assert info.value.field == "subject"
    assert info.value.line == 3
    assert "'last_name' is empty" in info.value.message
    assert 'default("...")' in info.value.message


def test_missing_unsubscribe_url_fails_when_used() -> None:
    context = RenderContext(lead=LEAD, sender=SENDER, unsubscribe_url=None)
    with pytest.raises(ValidationError, match="unsubscribe_url"):
        render("{{ unsubscribe_url }}", context, seed="s")


def test_zero_is_a_value_not_empty() -> None:
    assert text("{{ score | default('n/a') }}") == "0"


# ---------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize(
    "source",
    [
        "Hi {{first_name|there}}",
        "Hi {{ first_name | there }}",
        'Hi {{ first_name | default("there") }}',
        'Hi {{ lead.first_name | default("there") }}',
        "Hi {{lead.first_name|there}}",
        "Hi {{firstName|there}}",
        "Hi {{- ' ' -}} {{first_name|there}}",
    ],
)
def test_fallbacks(source: str) -> None:
    assert text(source, ctx_with(first_name="Ann")).replace("  ", " ") == "Hi Ann"
    for empty in (None, "", "   "):
        assert text(source, ctx_with(first_name=empty)).replace("  ", " ") == "Hi there"
    lead_without_key = {k: v for k, v in LEAD.items() if k != "first_name"}
    context = RenderContext(lead=lead_without_key, sender=SENDER)
    assert text(source, context).replace("  ", " ") == "Hi there"


def test_pipe_fallback_may_be_several_words_or_empty() -> None:
    assert text("{{last_name|my friend}}!") == "my friend!"
    assert text("{{ last_name | Hey there, }}") == "Hey there,"
    assert text("[{{last_name|}}]") == "[]"


def test_a_word_naming_a_filter_stays_a_filter() -> None:
    assert text("{{first_name|upper}}") == "ZOË"
    assert text("{{ company|lower }}") == "acme & sons"
    with pytest.raises(ValidationError, match="'center'"):
        validate_template("{{ first_name|center }}")


def test_fallback_works_in_html_and_is_escaped() -> None:
    assert html("{{ last_name | default('<b>you</b>') }}") == "&lt;b&gt;you&lt;/b&gt;"


def test_chained_undefined_takes_a_default() -> None:
    assert text("{{ lead.custom.missing.deeper | default('none') }}") == "none"


# ------------------------------------------------------------------------ spintax


def test_spintax_is_deterministic_per_seed() -> None:
    source = "{Hi|Hello|Hey} {{ first_name }}, {quick|short} question"
    assert {text(source, seed="attempt-7") for _ in range(5)} == {text(source, seed="attempt-7")}


def test_spintax_varies_across_seeds_and_covers_every_option() -> None:
    outputs = {text("{Hi|Hello|Hey}", seed=f"key-{i}") for i in range(60)}
    assert outputs == {"Hi", "Hello", "Hey"}


def test_spintax_groups_choose_independently() -> None:
    pairs = {text("{a|b}{a|b}", seed=f"k{i}") for i in range(60)}
    assert pairs == {"aa", "ab", "ba", "bb"}


def test_spintax_nested_and_with_tags() -> None:
    outputs = {text("{Hi {{ first_name }}|{Hello|Hey} there}!", seed=f"k{i}") for i in range(80)}
    assert outputs == {"Hi Zoë!", "Hello there!", "Hey there!"}


def test_spintax_html_and_text_pick_the_same_option_for_a_seed() -> None:
    source = "{one|two|three|four|five}"
    for i in range(20):
        assert text(source, seed=f"s{i}") == html(source, seed=f"s{i}")


def test_braces_without_pipe_stay_literal() -> None:
    source = "<style>p { color: red } a{x:y}</style> {single} } { unclosed | pipe"
    assert html(source) == source
    assert text("{{ '{a|b}' }} {% raw %}{a|b} {{ x }}{% endraw %}") == "{a|b} {a|b} {{ x }}"


def test_spintax_keeps_line_numbers() -> None:
    with pytest.raises(ValidationError) as info:
        validate_template("{Hi|\nHello|\nHey}\n\n{{ frist_name }}")
    assert info.value.line == 5


@settings(max_examples=100, deadline=None)
@given(seed=st.text(max_size=40))
def test_property_spintax_is_a_function_of_the_seed(seed: str) -> None:
    source = "{A|B|C} {{ first_name }} {x|{y|z}}"
    first = render(source, CTX, seed=seed)
    assert render(source, CTX, seed=seed) == first
    assert first.split(" ")[0] in {"A", "B", "C"}
    assert first.split(" ")[2] in {"x", "y", "z"}


# ----------------------------------------------------------------------- escaping


def test_lead_data_is_escaped_in_html_not_in_text() -> None:
    context = ctx_with(first_name="<script>alert('x')</script>")
    assert text("Hi {{ first_name }}", context) == "Hi <script>alert('x')</script>"
    assert html("Hi {{ first_name }}", context) == (
        "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    )
    assert html("{{ company }}") == "Acme &amp; Sons"
    assert html("<a href='{{ unsubscribe_url }}'>x</a>") == (
        "<a href='https://u.example/x?a=1&amp;b=2'>x</a>"
    )


def test_escaping_cannot_be_turned_off() -> None:
    for source in (
        "{{ first_name | safe }}",
        "{% autoescape false %}{{ first_name }}{% endautoescape %}",
        "{% filter upper %}{{ first_name }}{% endfilter %}",
    ):
        with pytest.raises(ValidationError):
            html(source)


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1).filter(str.strip))
def test_property_lead_data_is_never_a_template(value: str) -> None:
    context = ctx_with(first_name=value)
    assert render("{{ first_name }}", context, seed="s") == value
    assert render("{{ first_name }}", context, seed="s", html=True) == str(escape(value))


def test_merge_tags_in_lead_data_are_not_expanded() -> None:
    context = ctx_with(first_name="{{ sender.email }} {Hi|Ho} {{7*7}}")
    assert text("{{ first_name }}", context) == "{{ sender.email }} {Hi|Ho} {{7*7}}"


def test_trailing_newline_is_kept() -> None:
    assert text("Hi\n") == "Hi\n"


# --------------------------------------------------------------------- validation


def test_valid_template_passes() -> None:
    validate_template(
        "{Hi|Hello} {{first_name|there}},\n"
        "{% if company %}I saw {{ company }}"
        "({{ lead.custom.anything | default('') }}).{% endif %}\n"
        "{% for t in tags %}{{ t | title }}{% endfor %} {{ range(3) | join(',') }}\n"
        "{{ sender.name }} - {{ unsubscribe_url }}"
    )


def test_unknown_variables_are_reported_by_name_and_line() -> None:
    with pytest.raises(ValidationError) as info:
        validate_template(
            "Hi {{ first_name }}\n{{ frist_name }} {{ lead.frist_name }}\n{{ cmpany }}"
        )
    err = info.value
    assert err.field == "body"
    assert err.line == 2
    assert "line 2: unknown variable 'frist_name' (did you mean 'first_name'?)" in err.message
    assert "line 2: unknown field 'lead.frist_name' (did you mean 'first_name'?)" in err.message
    assert "line 3: unknown variable 'cmpany'" in err.message


def test_lead_custom_anything_is_allowed_but_sender_fields_are_checked() -> None:
    validate_template("{{ lead.custom.whatever }} {{ lead.custom['with space'] }} {{ custom.x }}")
    with pytest.raises(ValidationError, match=r"sender\.phone"):
        validate_template("{{ sender.phone }}", field="subject")


def test_syntax_error_reports_line_and_field() -> None:
    with pytest.raises(ValidationError) as info:
        validate_template("line one\nline two {{ first_name \nline three", field="subject")
    assert info.value.field == "subject"
    assert info.value.line is not None
    assert info.value.message.startswith("subject: line ")


def test_unclosed_block_is_a_syntax_error() -> None:
    with pytest.raises(ValidationError, match="endif"):
        validate_template("{% if company %}\nno end")


def test_loop_and_set_variables_are_not_unknown() -> None:
    validate_template(
        "{% set greeting = 'Hi' %}{% for t in tags %}{{ greeting }} {{ t }}{% endfor %}"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% macro m() %}x{% endmacro %}", "macros"),
        ("{% include 'x' %}", "include"),
        ("{% extends 'x' %}", "extends"),
        ("{% import 'x' as y %}", "import"),
        ("{% block b %}x{% endblock %}", "blocks"),
        ("{% set x %}y{% endset %}", "block set"),
        ("{% for x in tags recursive %}{{ loop(x) }}{% endfor %}", "recursive"),
        ("{{ x is frobnicated }}", "unknown test"),
        ("{{ lipsum() }}", "lipsum"),
    ],
)
def test_unsupported_statements_are_rejected(source: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_template(source)


def test_template_size_is_limited() -> None:
    with pytest.raises(ValidationError, match="longer than"):
        validate_template("x" * (rendering.MAX_TEMPLATE_CHARS + 1))


def test_compiled_templates_are_cached() -> None:
    source = "Cached {{ first_name }} {A|B}"
    render(source, CTX, seed="a")
    before = rendering._compile.cache_info().hits
    for i in range(10):
        render(source, CTX, seed=f"s{i}")
    assert rendering._compile.cache_info().hits == before + 10


# ------------------------------------------------------------------------ sandbox

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lead.__class__ }}",
    "{{ lead['__class__'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ range.__self__ }}",
    "{{ sender._data }}",
    "{{ first_name.__class__.__base__.__subclasses__() }}",
    "{% set a = '__cla' ~ 'ss__' %}{{ first_name[a] }}",
    "{% set a = '__cla' ~ 'ss__' %}{{ lead[a] }}",
    "{% set a = '__glo' ~ 'bals__' %}{{ cycler.__init__[a] }}",
    "{{ (first_name | attr('__class__')) }}",
    "{{ '{0.__class__}'.format(first_name) }}",
    "{{ first_name.format_map({}) }}",
    "{{ tags.append('x') }}",
    "{{ lead.custom.update({'plan': 'x'}) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("as_html", [False, True])
def test_sandbox_escapes_fail(source: str, as_html: bool) -> None:
    err = render_error(source, as_html=as_html)
    assert "<class" not in err.message
    assert "is empty for this lead" not in err.message


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_holds_even_without_static_validation(source: str) -> None:
    # validate_template refuses most escapes before they run; the environment itself must
    # refuse them too (defence in depth), so render them with the bare environment.
    variables = {"lead": rendering._record(LEAD), "first_name": "Zoë", "tags": ("a",)}
    variables["sender"] = rendering._record(SENDER)
    with pytest.raises((SecurityError, UndefinedError, TemplateAssertionError)):
        rendering._HTML_ENV.from_string(source).render(variables)


RESOURCE_BOMBS = [
    ("{% for x in range(10**9) %}{% endfor %}", "range"),
    ("{{ range(10**9) | length }}", "range"),
    ("{{ 'x' * 10**9 }}", "longer than"),
    ("{{ ['x'] * 10**9 }}", "longer than"),
    ("{{ 10 ** 100000 }}", "too large"),
    ("{% set s = 'x' * 100000 %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}", "longer than"),
    ("{% set s = 'x' * 100000 %}{% set s = s + s %}{% set s = s + s %}", "longer than"),
    ("{{ ('x' * 1000) | replace('x', 'y' * 1000) }}", "replace"),
    ("{{ range(1000) | join('y' * 1000) }}", "join"),
    ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "loops"),
    ("{% for a in range(200) %}{{ 'y' * 2000 }}{% endfor %}", "output"),
    ("{{ 'x'.center(10**9) }}", "unsafe"),
    ("{{ 'x'.ljust(10**9) }}", "unsafe"),
    ("{{ ''.join(['a'] * 10) }}", "unsafe"),
    ("{{ '%0999999999d' % 1 }}", "formatting"),
    ("{{ '{:>999999999}'.format(1) }}", "unsafe"),
    ("{{ (1).to_bytes(10**9, 'big') }}", "unsafe"),
    ("{{ 'x' | center(10**9) }}", "unknown filter"),
    ("{{ 'x' | indent(10**9) }}", "unknown filter"),
    ("{% set ns = namespace(s='x') %}", "namespace"),
]


@pytest.mark.parametrize(("source", "message"), RESOURCE_BOMBS)
def test_resource_limits(source: str, message: str) -> None:
    err = render_error(source)
    assert message in err.message


def test_output_cap_is_the_documented_size() -> None:
    exactly = "{% for a in range(20) %}{{ 'y' * 10000 }}{% endfor %}"
    assert len(text(exactly)) == MAX_OUTPUT_CHARS
    with pytest.raises(ValidationError, match="output"):
        text(exactly + "!")


def test_runtime_errors_become_validation_errors_with_line() -> None:
    err = render_error("ok\n{{ 1 / 0 }}")
    assert err.line == 2
    assert "ZeroDivisionError" in err.message
    assert "TypeError" in render_error("{{ tags + 1 }}").message


TEMPLATE_PIECES = st.sampled_from(
    [
        "{", "}", "|", "{{", "}}", "{%", "%}", "{#", "#}", "{{-", "-}}", " ", "\n", "'", '"',
        "\\", "first_name", "lead.", "custom", "there", "if ", "endif", "for x in tags",
        "endfor", "raw", "endraw", "default('a')", "set y = 1", "~", "*", "__class__", "A", "é",
    ]
)  # fmt: skip


def _refused_field(action: Callable[[], object]) -> str | None:
    try:
        action()
    except ValidationError as err:
        return err.field or "?"
    return None


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(TEMPLATE_PIECES, max_size=25))
def test_property_any_source_renders_or_raises_validation_error(pieces: list[str]) -> None:
    """Whatever the source, the only failure is a ValidationError naming the field."""
    source = "".join(pieces)
    for as_html in (False, True):
        refused = _refused_field(lambda: render(source, CTX, seed="s", html=as_html))  # noqa: B023
        assert refused in (None, "body")
    assert _refused_field(lambda: validate_template(source)) in (None, "body")
