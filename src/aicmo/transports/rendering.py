"""Personalise subjects and bodies for one lead with sandboxed Jinja2. Pure: no I/O.

Templates see ``lead.*`` (the lead's fields), the same fields as top-level names
(``{{ first_name }}``, and camelCase aliases such as ``{{ firstName }}``), ``sender.name``,
``sender.email`` and ``unsubscribe_url``. Before Jinja parses a template, the merge-tag
conventions of other outreach tools are translated:

* ``{{first_name|there}}`` - a bare word after the pipe is a fallback, i.e.
  ``{{ first_name | default("there") }}`` (a word that names a Jinja filter stays a filter);
* ``{Hi|Hello|Hey}`` - spintax, one option chosen from a hash of the ``seed`` (the
  attempt's idempotency key), so a resend renders the same text. Options may nest and may
  contain tags. Single braces without a ``|`` (CSS, say) stay literal text.

An empty lead field (missing, ``None`` or blank) is *undefined*: ``{% if company %}`` is
false, ``| default(...)`` and the pipe fallback apply, and printing it without a fallback
fails the render rather than sending "Hi ,".

Templates run in :class:`jinja2.sandbox.ImmutableSandboxedEnvironment`, further limited
because a render must stay cheap and bounded whatever the template says: private
attributes, ``str.format``/``%`` formatting and the padding string methods are refused;
only a list of text filters exists; macros, blocks, includes, block ``set``,
``{% filter %}``, ``{% autoescape %}`` and recursive loops are rejected; ``range`` holds at
most :data:`MAX_RANGE` items; a render may run :data:`MAX_LOOP_ITERATIONS` loop
iterations; no string built by ``~``, ``+``, ``*``, ``join`` or ``replace`` may exceed
:data:`MAX_OUTPUT_CHARS`, and neither may the output. Every failure is a
:class:`~aicmo.errors.ValidationError` naming the field and, where known, the line.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, NoReturn, cast

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template
from jinja2.exceptions import (
    SecurityError,
    TemplateAssertionError,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.filters import do_join, do_replace
from jinja2.meta import find_undeclared_variables
from jinja2.nodes import EvalContext
from jinja2.runtime import ChainableUndefined, Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context

from aicmo.cam.domain.lead_fields import TEMPLATE_FIELDS
from aicmo.errors import ValidationError
from aicmo.transports.template_syntax import SPIN, translate

__all__ = [
    "KNOWN_VARIABLES",
    "LEAD_FIELDS",
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_TEMPLATE_CHARS",
    "SENDER_FIELDS",
    "RenderContext",
    "render",
    "validate_template",
]

#: Largest rendered output, and largest string a template may build, in characters.
MAX_OUTPUT_CHARS = 200_000
#: Largest template source accepted, in characters.
MAX_TEMPLATE_CHARS = 100_000
#: Most items ``range()`` may produce.
MAX_RANGE = 1_000
#: Most ``{% for %}`` iterations (all loops together) in one render.
MAX_LOOP_ITERATIONS = 10_000
_MAX_INT_BITS = 4_096

#: The lead's fields, as ``lead.<name>`` and as top-level names.
LEAD_FIELDS: frozenset[str] = TEMPLATE_FIELDS
SENDER_FIELDS: frozenset[str] = frozenset({"name", "email"})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# camelCase spellings other tools use for the same fields.
_LEAD_ALIASES: dict[str, str] = {
    **{_camel(f): f for f in LEAD_FIELDS if _camel(f) != f},
    "companyName": "company",
    "jobTitle": "title",
}

#: Every name a template may use (besides ``range``, ``dict``, ``cycler``, ``joiner``).
KNOWN_VARIABLES: frozenset[str] = frozenset(
    LEAD_FIELDS | _LEAD_ALIASES.keys() | {"lead", "sender", "unsubscribe_url"}
)

_SPIN = SPIN
_LOOP = "__aicmo_loop"
_INTERNAL_NAMES = frozenset({_SPIN, _LOOP})

# Filters that make sense in an email and cannot blow up (replace/join are size-checked).
_ALLOWED_FILTERS = frozenset(
    {
        "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int",
        "join", "last", "length", "list", "lower", "max", "min", "replace", "reverse", "round",
        "sort", "string", "striptags", "title", "trim", "truncate", "unique", "upper",
        "urlencode", "wordcount",
    }
)  # fmt: skip

# String methods a template may call: none of them can grow a string much.
_STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
        "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
        "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith",
        "strip", "swapcase", "title", "upper",
    }
)  # fmt: skip
_RECORD_METHODS = frozenset({"get", "items", "keys", "values"})

_DENIED_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Macro, "macros are not supported"),
    (nodes.CallBlock, "call blocks are not supported"),
    (nodes.Block, "blocks are not supported"),
    (nodes.Extends, "extends is not supported"),
    (nodes.Include, "include is not supported"),
    (nodes.Import, "import is not supported"),
    (nodes.FromImport, "import is not supported"),
    (nodes.AssignBlock, "block set ({% set x %}...{% endset %}) is not supported"),
    (nodes.FilterBlock, "filter blocks are not supported; apply the filter to a value"),
    (nodes.EvalContextModifier, "autoescape blocks are not supported"),
    (nodes.ScopedEvalContextModifier, "autoescape blocks are not supported"),
)


@dataclass(frozen=True)
class RenderContext:
    """What a template can see for one send."""

    #: The lead's fields (see :data:`LEAD_FIELDS`); ``custom`` is a dict, ``tags`` a list.
    lead: Mapping[str, Any]
    #: ``name`` and ``email`` of the sending mailbox or person.
    sender: Mapping[str, str]
    unsubscribe_url: str | None = None

    @functools.cached_property
    def records(self) -> tuple[_Record, _Record]:
        """The lead and the sender as templates see them, cleaned once for all the
        fields rendered for this send (subject, body, HTML)."""
        lead = _record({k: v for k, v in self.lead.items() if k in LEAD_FIELDS}, _LEAD_ALIASES)
        return lead, _record({k: self.sender.get(k) for k in SENDER_FIELDS})


# --------------------------------------------------------------------------- errors


class _LimitError(Exception):
    """A template tried to exceed a size or work limit."""


class _NoValueError(UndefinedError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} has no value and no fallback")
        self.name = name


@dataclass(frozen=True)
class _Problem:
    message: str
    line: int | None


class _TemplateProblems(Exception):
    def __init__(self, problems: list[_Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _validation_error(field: str, problems: list[_Problem]) -> ValidationError:
    text = "; ".join(f"line {p.line}: {p.message}" if p.line else p.message for p in problems)
    first_line = next((p.line for p in problems if p.line), None)
    return ValidationError(f"{field}: {text}", field=field, line=first_line)


# ------------------------------------------------------------------ values and undefined


class _MissingValue(ChainableUndefined):
    """Undefined that is false and empty, chains, but fails when printed."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is UndefinedError and self._undefined_hint is None:
            raise _NoValueError(str(self._undefined_name))
        raise self._undefined_exception(self._undefined_message)

    def __str__(self) -> str:
        self._fail_with_undefined_error()


class _Record(Mapping[str, Any]):
    """A read-only mapping whose attributes are its keys (and their camelCase aliases)."""

    __slots__ = ("_aliases", "_data")

    def __init__(self, data: dict[str, Any], aliases: Mapping[str, str] | None = None) -> None:
        self._data = data
        self._aliases = aliases or {}

    def resolve(self, key: str) -> str | None:
        if key in self._data:
            return key
        alias = self._aliases.get(key)
        return alias if alias is not None and alias in self._data else None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    __str__ = __repr__


class _Absent:
    pass


_ABSENT = _Absent()


def _clean(value: Any) -> Any:
    """Template-side view of a value: empty means absent, mappings become records."""
    if value is None:
        return _ABSENT
    if isinstance(value, str):
        return value if value.strip() else _ABSENT
    if isinstance(value, Mapping):
        return _record(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = (_clean(v) for v in value)
        return tuple(v for v in items if v is not _ABSENT)
    return value


def _record(data: Mapping[Any, Any], aliases: Mapping[str, str] | None = None) -> _Record:
    cleaned: dict[str, Any] = {}
    for key, raw in data.items():
        value = _clean(raw)
        if value is not _ABSENT:
            cleaned[str(key)] = value
    return _Record(cleaned, aliases)


# ----------------------------------------------------------------------- environment


def _check_size(size: int, what: str) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise _LimitError(f"{what} would be longer than {MAX_OUTPUT_CHARS} characters")


def _capped_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise _LimitError(f"range() is limited to {MAX_RANGE} items")
    return result


@pass_eval_context
def _replace_filter(
    eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None
) -> Any:
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_size(len(text) + hits * (len(new_s) - len(old_s)), "replace()")
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join_filter(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> Any:
    items = list(value)
    if attribute is None:
        total = len(str(d)) * max(len(items) - 1, 0)
        for item in items:
            total += len(item) if isinstance(item, str) else len(str(item))
            _check_size(total, "join()")
    return do_join(eval_ctx, items, d, attribute)


class _GuardedCodeGenerator(CodeGenerator):
    """Routes ``a ~ b`` through a size check before the strings are joined."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.guarded_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=_MissingValue, keep_trailing_newline=True)
        self.filters = {name: self.filters[name] for name in _ALLOWED_FILTERS}
        self.filters["replace"] = _replace_filter
        self.filters["join"] = _join_filter
        for name in ("lipsum", "namespace"):
            self.globals.pop(name, None)
        self.globals["range"] = _capped_range

    def guarded_concat(self, join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
        total = 0
        for part in parts:
            total += len(part) if isinstance(part, str) else len(str(part))
            _check_size(total, "a ~ concatenation")
        return join(parts)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0:
            if max(left.bit_length(), 1) * right > _MAX_INT_BITS:
                raise _LimitError("number too large")
        elif operator == "*":
            if ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
                raise _LimitError("number too large")
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, Sized) and isinstance(times, int):
                    _check_size(len(seq) * times, "a repeated value")
        elif operator == "+" and isinstance(left, Sized) and isinstance(right, Sized):
            _check_size(len(left) + len(right), "a + concatenation")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("the % formatting operator is not allowed; use ~ to join text")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format / format_map are refused by is_safe_attribute instead of wrapped.
        return None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, int | float | Decimal):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Record):
            return self._record_lookup(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, _Record) and isinstance(argument, str):
            return self._record_lookup(obj, argument)
        return super().getitem(obj, argument)

    def _record_lookup(self, record: _Record, name: str) -> Any:
        key = record.resolve(name)
        if key is not None:
            return record[key]
        if name in _RECORD_METHODS:
            return getattr(record, name)
        return self.undefined(name=name)


_TEXT_ENV = _Environment(autoescape=False)
_HTML_ENV = _Environment(autoescape=True)


class _LoopBudget:
    """Counts loop iterations of one render."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_LOOP_ITERATIONS

    def _charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _LimitError(f"loops may run at most {MAX_LOOP_ITERATIONS} times in a render")

    def __call__(self, iterable: Any) -> Any:
        if isinstance(iterable, Sized):
            self._charge(len(iterable))
            return iterable
        return self._counted(iter(iterable))

    def _counted(self, iterator: Iterator[Any]) -> Iterator[Any]:
        for item in iterator:
            self._charge(1)
            yield item


class _Spinner:
    """Picks spintax options from a hash of the seed and the group's position."""

    __slots__ = ("_seed",)  # private: the sandbox hides it from templates

    def __init__(self, seed: str) -> None:
        self._seed = seed

    def __call__(self, index: int, count: int) -> int:
        digest = hashlib.sha256(f"{self._seed}\x1f{index}".encode("utf-8", "surrogatepass"))
        return int.from_bytes(digest.digest()[:8], "big") % count


# ------------------------------------------------------------------------- validation


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_access(node: nodes.Node) -> tuple[str, str] | None:
    """(``lead``/``sender``, key) for ``lead.key`` or ``lead["key"]``."""
    if isinstance(node, nodes.Getattr):
        base, key = node.node, node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base, key = node.node, node.arg.value
    else:
        return None
    if isinstance(base, nodes.Name) and base.ctx == "load" and isinstance(key, str):
        return base.name, key
    return None


def _check(ast: nodes.Template, env: _Environment) -> list[_Problem]:
    problems: list[_Problem] = []
    for node_type, message in _DENIED_NODES:
        problems.extend(_Problem(message, n.lineno) for n in ast.find_all(node_type))
    for loop in ast.find_all(nodes.For):
        if loop.recursive:
            problems.append(_Problem("recursive loops are not supported", loop.lineno))
    for flt in ast.find_all(nodes.Filter):
        if flt.name not in env.filters:
            problems.append(
                _Problem(
                    f"unknown filter {flt.name!r}{_suggest(flt.name, env.filters)}", flt.lineno
                )
            )
    for test in ast.find_all(nodes.Test):
        if test.name not in env.tests:
            problems.append(_Problem(f"unknown test {test.name!r}", test.lineno))
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        key: Any = None
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        if isinstance(key, str) and key.startswith("_"):
            problems.append(_Problem(f"private attribute {key!r} is not accessible", node.lineno))
            continue
        access = _field_access(node)
        if access is None:
            continue
        base, key = access
        if base == "lead" and key not in LEAD_FIELDS and key not in _LEAD_ALIASES:
            if key not in _RECORD_METHODS:
                hint = _suggest(key, LEAD_FIELDS)
                problems.append(_Problem(f"unknown field 'lead.{key}'{hint}", node.lineno))
        elif base == "sender" and key not in SENDER_FIELDS and key not in _RECORD_METHODS:
            hint = _suggest(key, SENDER_FIELDS)
            problems.append(_Problem(f"unknown field 'sender.{key}'{hint}", node.lineno))
    allowed = KNOWN_VARIABLES | env.globals.keys() | _INTERNAL_NAMES
    try:
        undeclared = find_undeclared_variables(ast)
    except TemplateAssertionError:  # unknown filter or test, reported above
        stored = {n.name for n in ast.find_all(nodes.Name) if n.ctx != "load"}
        undeclared = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"} - stored
    unknown = undeclared - allowed
    if unknown:
        first_line: dict[str, int] = {}
        for name_node in ast.find_all(nodes.Name):
            if name_node.name in unknown:
                first_line.setdefault(name_node.name, name_node.lineno)
        for name in sorted(unknown, key=lambda n: (first_line.get(n, 0), n)):
            hint = _suggest(name, KNOWN_VARIABLES)
            problems.append(_Problem(f"unknown variable {name!r}{hint}", first_line.get(name)))
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: p.line or 0)
    return unique


def _guard_loops(ast: nodes.Template, env: _Environment) -> None:
    """Route every ``{% for %}`` iterable through the render's loop budget."""
    for loop in ast.find_all(nodes.For):
        call = nodes.Call(
            nodes.Name(_LOOP, "load", lineno=loop.lineno),
            [loop.iter],
            [],
            None,
            None,
            lineno=loop.lineno,
        )
        call.set_environment(env)
        loop.iter = call


@functools.lru_cache(maxsize=512)
def _compile(source: str, html: bool) -> Template:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise _TemplateProblems(
            [_Problem(f"template is longer than {MAX_TEMPLATE_CHARS} characters", None)]
        )
    env = _HTML_ENV if html else _TEXT_ENV
    try:
        ast = env.parse(translate(source))
        problems = _check(ast, env)
        if problems:
            raise _TemplateProblems(problems)
        _guard_loops(ast, env)
        return env.from_string(ast)
    except TemplateSyntaxError as err:
        raise _TemplateProblems([_Problem(err.message or "syntax error", err.lineno)]) from err


def validate_template(source: str, *, field: str = "body") -> None:
    """Check a template once, when its campaign is validated.

    Raises:
        ValidationError: syntax errors, unknown variables (``frist_name``,
            ``lead.frist_name``), unknown filters and unsupported statements, each with its
            line; ``lead.custom.<anything>`` is allowed.
    """
    try:
        _compile(source, False)
    except _TemplateProblems as problems:
        raise _validation_error(field, problems.problems) from None


# ---------------------------------------------------------------------------- render


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _variables(context: RenderContext, seed: str, budget: _LoopBudget) -> dict[str, Any]:
    lead, sender = context.records
    variables: dict[str, Any] = dict(lead.items())
    for alias, name in _LEAD_ALIASES.items():
        if name in variables:
            variables[alias] = variables[name]
    variables["lead"] = lead
    variables["sender"] = sender
    if context.unsubscribe_url is not None and context.unsubscribe_url.strip():
        variables["unsubscribe_url"] = context.unsubscribe_url
    variables[_SPIN] = _Spinner(seed)
    variables[_LOOP] = budget
    return variables


def render(
    source: str, context: RenderContext, *, seed: str, html: bool = False, field: str = "body"
) -> str:
    """Render a template for one lead.

    Args:
        source: the template (merge tags and spintax allowed).
        context: the lead, sender and unsubscribe URL.
        seed: picks the spintax options; pass the attempt's idempotency key.
        html: escape values for HTML (for HTML bodies); plain text otherwise.
        field: named in errors (``subject``, ``body``, ``html_body``).

    Raises:
        ValidationError: the template is invalid, prints an empty field without a
            fallback, breaks the sandbox or exceeds a limit.
    """
    try:
        template = _compile(source, html)
    except _TemplateProblems as problems:
        raise _validation_error(field, problems.problems) from None
    chunks: list[str] = []
    size = 0
    stream = cast(
        Generator[str, None, None],
        template.generate(_variables(context, seed, _LoopBudget())),
    )
    try:
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise _LimitError(f"output would be longer than {MAX_OUTPUT_CHARS} characters")
            chunks.append(chunk)
    except _NoValueError as err:
        if err.name.startswith("_"):
            message = f"{err.name!r} is not accessible"
        else:
            message = (
                f"{err.name!r} is empty for this lead and has no fallback"
                f' (write {{{{ {err.name} | default("...") }}}})'
            )
        raise _validation_error(
            field, [_Problem(message, _template_line(err.__traceback__))]
        ) from None
    except (_LimitError, SecurityError, TemplateError) as err:
        problem = _Problem(str(err) or type(err).__name__, _template_line(err.__traceback__))
        raise _validation_error(field, [problem]) from None
    except Exception as err:  # any runtime error in template code: 1/0, int("x"), ...
        message = f"{type(err).__name__}: {err}"
        raise _validation_error(
            field, [_Problem(message, _template_line(err.__traceback__))]
        ) from None
    finally:
        stream.close()
    return "".join(chunks)
