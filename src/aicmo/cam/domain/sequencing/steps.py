"""Step and sequence definitions: what ``sequence_configs.steps`` may hold, validated,
with errors that name the step and the field.

Step definitions are the dicts stored in ``sequence_configs.steps``::

    {"channel": "EMAIL", "fallback": ["LINKEDIN", "CONTACT_FORM"], "delay_hours": 0,
     "template": {"subject": "...", "body": "..."}, "condition": "no_reply"}

with optional ``delay_business_days`` and per-channel templates
(``"template": {"EMAIL": {...}, "LINKEDIN": {...}}``). Indices are 0-based everywhere:
"step 2" in an error message is ``steps[2]``, the third step.

A step may list A/B ``variants`` (two to five), each with a ``name``, a ``weight`` and
overrides of the step: ``subject``/``body`` (in every template of the step), a whole
``template``, the ``channel``/``fallback`` order, or the send time (``delay_hours``,
``delay_business_days``). Each variant, applied to its step, must be a valid step itself.
:meth:`Sequence.with_variants` gives the sequence one enrollment really runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from aicmo.cam.domain.channels import channel_names, normalize_channel
from aicmo.cam.domain.sequencing.record import RECORD_MAX_LEN, parse_record
from aicmo.errors import ValidationError


def _channel_name(value: Any) -> Any:
    """Channel names are matched case-insensitively (``"email"`` is ``EMAIL``)."""
    return value.strip().upper() if isinstance(value, str) else value


def _known_channel(value: str) -> str:
    channel = normalize_channel(value)
    if channel is None:
        raise PydanticCustomError("unknown_channel", "unknown channel {value}", {"value": value})
    return channel


#: A channel's name, checked against the channels known now (built-in or registered).
ChannelName = Annotated[str, AfterValidator(_known_channel)]


class StepTemplate(BaseModel):
    """What a step says on one channel. Rendered later by the sandboxed Jinja2 layer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    body: str
    html: str | None = None
    #: LinkedIn: the note sent with a connection request (at most 300 characters).
    note: str | None = None
    #: LinkedIn: what the step does: message (connect first when needed, the default),
    #: connect (a request with the note), or view_profile.
    action: Literal["message", "connect", "view_profile"] | None = None

    @field_validator("body")
    @classmethod
    def _body_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body must not be empty")
        return value


_TEMPLATE_FIELDS = frozenset(StepTemplate.model_fields)


def _template_kind(value: Any) -> str:
    """One template for every channel, or a mapping channel → template."""
    if isinstance(value, dict) and value and not _TEMPLATE_FIELDS & set(value):
        return "per_channel"
    return "single"


def _channel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_channel_name(k): v for k, v in value.items()}
    return value


TemplateSpec = Annotated[
    Annotated[StepTemplate, Tag("single")]
    | Annotated[dict[ChannelName, StepTemplate], Tag("per_channel")],
    Discriminator(_template_kind),
]


#: At most this many variants per step: each one more splits the audience thinner and,
#: with the Bonferroni split of alpha, needs a larger sample per arm.
MAX_VARIANTS = 5
_VARIANT_NAME = r"^[A-Za-z0-9_-]{1,20}$"


class _Routed(BaseModel):
    """What a step and its variants share: how their channel, fallback and template are
    read before validation (channel names in any case, per-channel template keys too)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("channel", mode="before", check_fields=False)
    @classmethod
    def _channel_case(cls, value: Any) -> Any:
        return _channel_name(value)

    @field_validator("fallback", mode="before", check_fields=False)
    @classmethod
    def _fallback_case(cls, value: Any) -> Any:
        if value is None:
            # An explicit null is the field's default: none for a step, the step's own
            # for a variant.
            return cls.model_fields["fallback"].default
        if isinstance(value, str):
            raise ValueError("fallback must be a list of channels")
        if isinstance(value, Iterable):
            return [_channel_name(v) for v in value]
        return value

    @field_validator("template", mode="before", check_fields=False)
    @classmethod
    def _template_keys(cls, value: Any) -> Any:
        return _channel_keys(value) if _template_kind(value) == "per_channel" else value


class Variant(_Routed):
    """One arm of a step's A/B test: a name, a weight, and what it changes in the step.

    Fields left out keep the step's value. ``subject`` and ``body`` replace those fields
    in every template of the step (``subject`` only where the template has one);
    ``template`` replaces the step's template whole (not together with them).
    """

    name: str = Field(pattern=_VARIANT_NAME)
    #: Relative share of the leads (2 and 1: two thirds and one third).
    weight: float = Field(default=1.0, gt=0, le=1000, allow_inf_nan=False)
    subject: str | None = None
    body: str | None = None
    template: TemplateSpec | None = None
    channel: ChannelName | None = None
    fallback: tuple[ChannelName, ...] | None = None
    delay_hours: float | None = Field(default=None, ge=0, le=87_840, allow_inf_nan=False)
    delay_business_days: int | None = Field(default=None, ge=0, le=366)

    @model_validator(mode="after")
    def _one_way_to_change_the_text(self) -> Variant:
        if self.template is not None and (self.subject is not None or self.body is not None):
            raise ValueError(
                f"variant {self.name!r}: give either a whole template or subject/body, not both"
            )
        return self

    def apply(self, step: dict[str, Any]) -> dict[str, Any]:
        """The step (as a plain dict, without variants) with this variant's overrides."""
        out = dict(step)
        for key in ("channel", "fallback", "delay_hours", "delay_business_days"):
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if key == "fallback" else value
        if self.template is not None:
            out["template"] = _dump_template(self.template)
        elif self.subject is not None or self.body is not None:
            template = out["template"]
            if _template_kind(template) == "per_channel":
                out["template"] = {k: self._texts(v) for k, v in template.items()}
            else:
                out["template"] = self._texts(template)
        return out

    def _texts(self, template: dict[str, Any]) -> dict[str, Any]:
        out = dict(template)
        if self.body is not None:
            out["body"] = self.body
        if self.subject is not None and out.get("subject") is not None:
            out["subject"] = self.subject
        return out


def _dump_template(template: StepTemplate | Mapping[str, StepTemplate]) -> Any:
    if isinstance(template, StepTemplate):
        return template.model_dump(mode="json")
    return {k: v.model_dump(mode="json") for k, v in template.items()}


class Step(_Routed):
    """One step of a sequence: a primary channel, fallbacks, a delay and a template.

    ``condition`` says whether the step still goes out after the lead replied
    (``"no_reply"``, the default) or regardless (``"always"``).
    """

    channel: ChannelName
    fallback: tuple[ChannelName, ...] = ()
    #: At most ten years: a larger delay is a typo, and would overflow the date at start.
    delay_hours: float = Field(default=0, ge=0, le=87_840, allow_inf_nan=False)
    delay_business_days: int = Field(default=0, ge=0, le=366)
    template: TemplateSpec
    condition: Literal["no_reply", "always"] = "no_reply"
    #: A/B arms of this step (none, or two to :data:`MAX_VARIANTS`); the first is the
    #: control the others are compared with.
    variants: tuple[Variant, ...] = ()
    _variant_steps: dict[str, Step] = PrivateAttr(default_factory=dict)

    @field_validator("template", mode="after")
    @classmethod
    def _templates_cover_channels(
        cls, value: StepTemplate | dict[ChannelName, StepTemplate], info: ValidationInfo
    ) -> StepTemplate | dict[ChannelName, StepTemplate]:
        if isinstance(value, dict) and "channel" in info.data:
            used = _unique((info.data["channel"], *info.data.get("fallback", ())))
            missing = [str(c) for c in used if c not in value]
            if missing:
                raise ValueError(f"no template for channel {', '.join(missing)}")
            unused = [str(c) for c in value if c not in used]
            if unused:
                raise ValueError(f"template for {', '.join(unused)}, which the step never uses")
        return value

    @field_validator("variants", mode="after")
    @classmethod
    def _variants_make_a_test(cls, value: tuple[Variant, ...]) -> tuple[Variant, ...]:
        if len(value) == 1:
            raise ValueError("a step with variants needs at least two (an A/B test)")
        if len(value) > MAX_VARIANTS:
            raise ValueError(f"at most {MAX_VARIANTS} variants per step, got {len(value)}")
        names = [v.name for v in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"variant names must be unique: {', '.join(twice)} used twice")
        return value

    @model_validator(mode="after")
    def _variants_are_valid_steps(self) -> Step:
        if not self.variants:
            return self
        base = self.model_dump(mode="json", exclude={"variants"})
        for variant in self.variants:
            try:
                self._variant_steps[variant.name] = Step.model_validate(variant.apply(base))
            except PydanticValidationError as err:
                message, _ = _describe_error(err.errors()[0])
                raise ValueError(f"variant {variant.name!r}: {message}") from err
        return self

    def for_variant(self, name: str | None) -> Step:
        """The step as variant ``name`` sends it (this step itself for None or no variants).

        Raises:
            ValidationError: the step has variants and none is called ``name``.
        """
        if name is None or not self.variants:
            return self
        try:
            return self._variant_steps[name]
        except KeyError:
            known = ", ".join(v.name for v in self.variants)
            raise ValidationError(
                f"the step has no variant {name!r} (it has {known})", field="variant"
            ) from None

    def template_for(self, channel: str) -> StepTemplate:
        """The template to render on ``channel``.

        Raises:
            ValidationError: the step does not use ``channel``.
        """
        if channel not in channels_for(self):
            raise ValidationError(f"the step does not use channel {channel}", field="channel")
        if isinstance(self.template, dict):
            return self.template[channel]
        return self.template


class Sequence(BaseModel):
    """An ordered, non-empty list of steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _variants_fit_the_record(self) -> Sequence:
        longest = ",".join(
            f"{i}:{max((v.name for v in step.variants), key=len)}"
            for i, step in enumerate(self.steps)
            if step.variants
        )
        if len(longest) > RECORD_MAX_LEN:
            raise ValueError(
                f"the variant choices of one lead ({longest!r}) take more than"
                f" {RECORD_MAX_LEN} characters; use shorter variant names or fewer steps"
                " with variants"
            )
        return self

    def with_variants(self, record: str | None) -> Sequence:
        """The sequence an enrollment with this ``enrollments.variant`` runs: each step
        with variants replaced by the variant the lead was given.

        A choice the step no longer has (its definition was edited after the lead was
        enrolled) leaves that step as defined rather than stopping the worker: its results
        ignore names that are not in the definition.
        """
        if not record:
            return self
        chosen = parse_record(record)
        steps = tuple(
            step.for_variant(name) if name in step._variant_steps else step
            for step, name in ((s, chosen.get(i)) for i, s in enumerate(self.steps))
        )
        return Sequence.model_construct(steps=steps)


def _unique(channels: Iterable[str]) -> list[str]:
    ordered: list[str] = []
    for channel in channels:
        if channel not in ordered:
            ordered.append(channel)
    return ordered


def channels_for(step: Step) -> list[str]:
    """The channels a step tries, in order: the primary, then the fallbacks, no repeats."""
    return _unique((step.channel, *step.fallback))


def _describe_error(error: ErrorDetails) -> tuple[str, str]:
    """(message, dotted field) for the first pydantic error of a step."""
    loc = [p for p in error["loc"] if p not in ("single", "per_channel")]
    kind = error["type"]
    value = error.get("input")
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    where = ".".join(parts)
    top = str(loc[0]) if loc else ""
    if kind in ("enum", "unknown_channel") and top in ("channel", "fallback", "template"):
        names = ", ".join(channel_names())
        return f"unknown channel {value!r} (expected one of {names})", where
    if kind in ("enum", "unknown_channel") and top == "variants":
        names = ", ".join(channel_names())
        return f"{where}: unknown channel {value!r} (expected one of {names})", where
    if kind == "missing":
        return f"{where} is required", where
    if kind == "extra_forbidden":
        return f"unknown field {str(loc[-1])!r}", where
    if top == "variants" and loc[-1] == "weight" and kind != "extra_forbidden":
        return (
            f"{where} must be a positive number up to 1000 (a relative share), not {value!r}",
            where,
        )
    if kind == "string_pattern_mismatch" and top == "variants":
        return f"{where}: a variant name is 1 to 20 letters, digits, '_' or '-'", where
    if kind == "literal_error" and top == "condition":
        return f"condition must be 'no_reply' or 'always', not {value!r}", where
    message = str(error["msg"]).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message), where


def parse_steps(raw: Any) -> Sequence:
    """A :class:`Sequence` from stored step dicts, with errors that name step and field.

    Args:
        raw: a list of step mappings, as kept in ``sequence_configs.steps`` or sent to
            the API (already-built :class:`Step` objects are accepted too).

    Returns:
        The validated, immutable sequence.

    Raises:
        ValidationError: e.g. ``"step 2: unknown channel 'FAX' (…)"`` with
            ``field="steps[2].channel"``; an empty or non-list input has ``field="steps"``.
    """
    if isinstance(raw, str | bytes | dict) or not isinstance(raw, Iterable):
        raise ValidationError(
            f"steps must be a list of step objects, got {type(raw).__name__}", field="steps"
        )
    items = list(raw)
    if not items:
        raise ValidationError("a sequence needs at least one step", field="steps")
    steps: list[Step] = []
    for index, item in enumerate(items):
        if isinstance(item, Step):
            steps.append(item)
            continue
        if not isinstance(item, dict):
            raise ValidationError(
                f"step {index}: expected a mapping, got {type(item).__name__}",
                field=f"steps[{index}]",
            )
        try:
            steps.append(Step.model_validate(item))
        except PydanticValidationError as err:
            message, where = _describe_error(err.errors()[0])
            field = f"steps[{index}].{where}" if where else f"steps[{index}]"
            raise ValidationError(f"step {index}: {message}", field=field) from err
    try:
        return Sequence(steps=tuple(steps))
    except PydanticValidationError as err:
        message = str(err.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ValidationError(message, field="steps") from err


def dump_steps(seq: Sequence) -> list[dict[str, Any]]:
    """The JSON-ready step dicts to store; :func:`parse_steps` reads them back equal."""
    return [step.model_dump(mode="json") for step in seq.steps]
