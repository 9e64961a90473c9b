"""Sequences, their steps, and the decision of what happens after each attempt.

Pure: no I/O, no clock. The worker records an attempt's outcome and asks
:func:`next_action` what to do; it gets back a :class:`Decision` (advance, retry, fall
back to the next channel, complete, fail, or hold for the operator) and stores it on
the enrollment (``state``, ``step_index``, ``channel_index``, ``retries``,
``next_run_at``).

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
Which variant a lead gets is :func:`assign_variant` (a SHA-256 bucket, the same on every
run and every machine); the choices of one enrollment are kept in ``enrollments.variant``
as ``"<step>:<name>"`` pairs joined by ``,`` (:func:`variant_record`, :func:`variant_of`),
and :meth:`Sequence.with_variants` gives the sequence that enrollment really runs.

Timing rules:

- A step falls due ``delay_hours`` after the previous step's send (or the enrolment,
  for the first step); when ``delay_business_days`` is set, that many working days of
  the calendar are then added (see :func:`aicmo.cam.domain.window.add_business_days`;
  without a calendar, Monday–Friday in UTC with the time of day kept).
- When a calendar is given, every instant a decision schedules is moved to the
  calendar's next open instant, so ``next_run_at`` is when the step can really go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
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
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import LeadStage
from aicmo.cam.domain.retry import DEFAULT_RETRY_POLICY, RetryPolicy, decide_retry
from aicmo.cam.domain.window import (
    WorkCalendar,
    add_business_days,
    next_open,
    require_aware,
)
from aicmo.errors import (
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    SuppressedError,
    TransientChannelError,
    UnsupportedFeatureError,
    ValidationError,
)

__all__ = [
    "DEFAULT_STOP_ON",
    "MAX_VARIANTS",
    "NEVER_STOP_ON",
    "STOP_STAGES",
    "TERMINAL_STATES",
    "AttemptOutcome",
    "Decision",
    "DecisionKind",
    "EnrollmentState",
    "Sequence",
    "Step",
    "StepTemplate",
    "StopReason",
    "Variant",
    "assign_variant",
    "assign_variants",
    "channels_for",
    "due_at",
    "dump_steps",
    "first_run_at",
    "next_action",
    "outcome_of",
    "parse_steps",
    "should_stop",
    "state_after",
    "step_applies",
    "stop_on_stage",
    "stop_reason",
    "variant_of",
    "variant_record",
]


# --------------------------------------------------------------------------- definitions


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
#: ``enrollments.variant`` holds at most this many characters (all steps' choices).
RECORD_MAX_LEN = 40
_VARIANT_NAME = r"^[A-Za-z0-9_-]{1,20}$"
_OVERRIDES = (
    "subject",
    "body",
    "template",
    "channel",
    "fallback",
    "delay_hours",
    "delay_business_days",
)


class Variant(BaseModel):
    """One arm of a step's A/B test: a name, a weight, and what it changes in the step.

    Fields left out keep the step's value. ``subject`` and ``body`` replace those fields
    in every template of the step (``subject`` only where the template has one);
    ``template`` replaces the step's template whole (not together with them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_case(cls, value: Any) -> Any:
        return _channel_name(value)

    @field_validator("fallback", mode="before")
    @classmethod
    def _fallback_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("fallback must be a list of channels")
        if isinstance(value, Iterable):
            return [_channel_name(v) for v in value]
        return value

    @field_validator("template", mode="before")
    @classmethod
    def _template_keys(cls, value: Any) -> Any:
        return _channel_keys(value) if _template_kind(value) == "per_channel" else value

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


class Step(BaseModel):
    """One step of a sequence: a primary channel, fallbacks, a delay and a template.

    ``condition`` says whether the step still goes out after the lead replied
    (``"no_reply"``, the default) or regardless (``"always"``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_case(cls, value: Any) -> Any:
        return _channel_name(value)

    @field_validator("fallback", mode="before")
    @classmethod
    def _fallback_case(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            raise ValueError("fallback must be a list of channels")
        if isinstance(value, Iterable):
            return [_channel_name(v) for v in value]
        return value

    @field_validator("template", mode="before")
    @classmethod
    def _template_keys(cls, value: Any) -> Any:
        return _channel_keys(value) if _template_kind(value) == "per_channel" else value

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
        chosen = _parse_record(record)
        steps = tuple(
            step.for_variant(name) if name in step._variant_steps else step
            for step, name in ((s, chosen.get(i)) for i, s in enumerate(self.steps))
        )
        return Sequence.model_construct(steps=steps)


def first_run_at(seq: Sequence, record: str | None, now: datetime) -> datetime:
    """When a new enrollment's first step falls due: its (variant's) ``delay_hours``."""
    return now + timedelta(hours=seq.with_variants(record).steps[0].delay_hours)


def assign_variant(campaign_id: int, step_index: int, lead_id: int, step: Step) -> str | None:
    """The variant of ``step`` lead ``lead_id`` gets in campaign ``campaign_id``.

    ``u = SHA-256("<campaign>:<step>:<lead>")``, its first 8 bytes as a fraction of 2^64,
    falls in the bucket of the variant whose cumulative share of the weights covers it.
    The same on every run, process and machine (not Python's salted ``hash()``), and
    independent between steps and campaigns.
    """
    if not step.variants:
        return None
    digest = hashlib.sha256(f"{campaign_id}:{step_index}:{lead_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(v.weight for v in step.variants)
    edge = 0.0
    for variant in step.variants:
        edge += variant.weight / total
        if u < edge:
            return variant.name
    return step.variants[-1].name  # u within rounding of 1.0


def assign_variants(
    campaign_id: int, seq: Sequence, lead_id: int, winners: Mapping[int, str] | None = None
) -> str | None:
    """The ``enrollments.variant`` of a new enrollment: every step's choice, or None.

    ``winners`` (step index to variant name) overrides the hash for the steps whose test
    is decided, when the campaign sends newcomers to the winner.
    """
    chosen = {
        i: name
        for i, step in enumerate(seq.steps)
        if (name := assign_variant(campaign_id, i, lead_id, step)) is not None
    }
    for index, name in (winners or {}).items():
        if index in chosen:
            chosen[index] = name
    return variant_record(chosen)


def variant_record(chosen: Mapping[int, str]) -> str | None:
    """``{0: "A", 2: "short"}`` as ``"0:A,2:short"`` (None when nothing was chosen)."""
    return ",".join(f"{i}:{name}" for i, name in sorted(chosen.items())) or None


def _parse_record(record: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in record.split(","):
        index, _, name = part.partition(":")
        if index.isdigit() and name:
            out[int(index)] = name
    return out


def variant_of(record: str | None, step_index: int) -> str | None:
    """The variant of step ``step_index`` in an ``enrollments.variant`` record."""
    return _parse_record(record).get(step_index) if record else None


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


def step_applies(step: Step, *, replied: bool) -> bool:
    """Whether a step still goes out, given whether the lead has replied."""
    return step.condition == "always" or not replied


#: Monday–Friday in UTC, all day: counts business days when no calendar is given.
_UTC_WEEKDAYS = WorkCalendar("UTC", start=time(0), end=time(0))


def due_at(step: Step, after: datetime, cal: WorkCalendar | None = None) -> datetime:
    """When ``step`` falls due, counted from ``after`` (the previous send or the enrolment).

    ``after + delay_hours``, then plus ``delay_business_days`` working days, then (with
    a calendar) moved to the calendar's next open instant.

    Raises:
        ValidationError: ``after`` is naive.
    """
    require_aware(after, "now")
    at = after + timedelta(hours=step.delay_hours)
    if step.delay_business_days:
        at = add_business_days(cal or _UTC_WEEKDAYS, at, step.delay_business_days)
    if cal is not None:
        at = next_open(cal, at)
    return at


# --------------------------------------------------------------------- enrollment states


class EnrollmentState(StrEnum):
    """Where one lead's run through a sequence stands (``enrollments.state``)."""

    #: Working: the worker picks it up at ``next_run_at``.
    ACTIVE = "ACTIVE"
    #: Waiting for a person: an operator task (a LinkedIn step done by hand) or an
    #: attempt whose outcome is unknown.
    WAITING = "WAITING"
    #: Paused by the operator or with its campaign; resumes where it stopped.
    PAUSED = "PAUSED"
    #: Every step went out.
    COMPLETED = "COMPLETED"
    #: Stopped early: a reply, bounce, complaint, unsubscribe or a final lead stage.
    STOPPED = "STOPPED"
    #: Every channel of a step failed.
    FAILED = "FAILED"


#: States the worker never leaves on its own.
TERMINAL_STATES = frozenset(
    {EnrollmentState.COMPLETED, EnrollmentState.STOPPED, EnrollmentState.FAILED}
)


class StopReason(StrEnum):
    """Why an enrollment was stopped (``enrollments.stop_reason``)."""

    #: A human replied.
    REPLIED = "REPLIED"
    #: A hard bounce.
    BOUNCED = "BOUNCED"
    #: A spam complaint.
    COMPLAINED = "COMPLAINED"
    #: The lead unsubscribed.
    UNSUBSCRIBED = "UNSUBSCRIBED"
    #: The lead's address, domain or profile was suppressed.
    SUPPRESSED = "SUPPRESSED"
    #: The lead's data was erased.
    ERASED = "ERASED"
    #: The lead reached MEETING, WON or LOST.
    STAGE = "STAGE"
    #: Another event type the campaign was set to stop on.
    EVENT = "EVENT"
    #: An operator stopped it by hand.
    OPERATOR = "OPERATOR"


#: Events that stop an enrollment unless the campaign says otherwise.
DEFAULT_STOP_ON: frozenset[EventType] = frozenset(
    {
        EventType.REPLY_RECEIVED,
        EventType.BOUNCED_HARD,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
    }
)

#: Events that never stop an enrollment, whatever the configuration: an out-of-office
#: is not a reply.
NEVER_STOP_ON: frozenset[EventType] = frozenset({EventType.AUTO_REPLY_RECEIVED})

#: Lead stages at which outreach stops: the conversation has moved on.
STOP_STAGES: frozenset[LeadStage] = frozenset({LeadStage.MEETING, LeadStage.WON, LeadStage.LOST})

_STOP_REASONS: dict[EventType, StopReason] = {
    EventType.REPLY_RECEIVED: StopReason.REPLIED,
    EventType.BOUNCED_HARD: StopReason.BOUNCED,
    EventType.COMPLAINED: StopReason.COMPLAINED,
    EventType.UNSUBSCRIBED: StopReason.UNSUBSCRIBED,
    EventType.SUPPRESSION_ADDED: StopReason.SUPPRESSED,
    EventType.LEAD_ERASED: StopReason.ERASED,
    EventType.LEAD_STAGE_CHANGED: StopReason.STAGE,
}


def should_stop(event_type: EventType, stop_on: frozenset[EventType] = DEFAULT_STOP_ON) -> bool:
    """Whether an event about the lead stops its enrollments.

    Args:
        event_type: the event that landed.
        stop_on: the campaign's stop set (default :data:`DEFAULT_STOP_ON`).

    Returns:
        True if ``event_type`` is in ``stop_on``; never for an auto-reply.
    """
    return event_type not in NEVER_STOP_ON and event_type in stop_on


def stop_reason(
    event_type: EventType, stop_on: frozenset[EventType] = DEFAULT_STOP_ON
) -> StopReason | None:
    """The reason to record when ``event_type`` stops an enrollment, or None if it doesn't."""
    if not should_stop(event_type, stop_on):
        return None
    return _STOP_REASONS.get(event_type, StopReason.EVENT)


def stop_on_stage(stage: str) -> bool:
    """Whether a lead at ``stage`` (MEETING, WON, LOST; any case) leaves its sequences."""
    return stage.strip().upper() in STOP_STAGES


# ------------------------------------------------------------------------- the decision


class AttemptOutcome(StrEnum):
    """What one attempt on one channel came to."""

    #: The transport accepted the message.
    SENT = "SENT"
    #: A temporary failure (4xx, timeout before hand-off, provider busy): may retry.
    TRANSIENT = "TRANSIENT"
    #: The channel refused the message for good (5xx, rejected form).
    PERMANENT = "PERMANENT"
    #: The channel cannot reach this lead: no address, suppressed, profile that cannot
    #: be messaged, no contact form found.
    UNUSABLE = "UNUSABLE"
    #: The send may or may not have happened (crash after the hand-off): never resent
    #: blindly (invariant 1).
    UNKNOWN = "UNKNOWN"


class DecisionKind(StrEnum):
    """What the worker does next with an enrollment."""

    #: Go to step ``step_index`` (the next one), first channel, at ``at``.
    ADVANCE = "ADVANCE"
    #: Try the same step and channel again at ``at``.
    RETRY = "RETRY"
    #: Same step, next channel (``channel_index``), at ``at`` (now, or the next open
    #: instant of the calendar).
    FALLBACK = "FALLBACK"
    #: The last step went out: the enrollment is complete.
    COMPLETE = "COMPLETE"
    #: Every channel of the step failed; ``reasons`` says how.
    FAIL = "FAIL"
    #: The outcome is unknown: nothing is resent; the operator decides.
    HOLD = "HOLD"


@dataclass(frozen=True, slots=True)
class Decision:
    """The worker's next move for one enrollment."""

    kind: DecisionKind
    #: Step to run next (ADVANCE: the new step; otherwise the current one).
    step_index: int
    #: Index into ``channels_for(step)`` of the channel to use next.
    channel_index: int
    #: When to run (aware UTC or the offset of ``now``); None for COMPLETE, FAIL, HOLD.
    at: datetime | None
    #: Why, in words for the operator.
    reason: str
    #: The channel to use at ``at``; None when nothing is scheduled.
    channel: str | None = None
    #: Value for ``enrollments.retries`` after this decision.
    retries: int = 0
    #: For FAIL: one line per failed channel of the step, in order.
    reasons: tuple[str, ...] = ()


def state_after(decision: Decision) -> EnrollmentState:
    """The enrollment state a decision leads to."""
    return {
        DecisionKind.ADVANCE: EnrollmentState.ACTIVE,
        DecisionKind.RETRY: EnrollmentState.ACTIVE,
        DecisionKind.FALLBACK: EnrollmentState.ACTIVE,
        DecisionKind.COMPLETE: EnrollmentState.COMPLETED,
        DecisionKind.FAIL: EnrollmentState.FAILED,
        DecisionKind.HOLD: EnrollmentState.WAITING,
    }[decision.kind]


def outcome_of(error: BaseException | None) -> AttemptOutcome:
    """The outcome of an attempt from what the channel raised (None: it was sent).

    Anything not recognised counts as UNKNOWN: it may have happened after the hand-off,
    and a blind resend could send twice.
    """
    if error is None:
        return AttemptOutcome.SENT
    if isinstance(error, OutcomeUnknownError):
        return AttemptOutcome.UNKNOWN
    if isinstance(error, TransientChannelError | RateLimitedError):
        return AttemptOutcome.TRANSIENT
    if isinstance(error, SuppressedError | UnsupportedFeatureError):
        return AttemptOutcome.UNUSABLE
    if isinstance(error, PermanentChannelError):
        return AttemptOutcome.PERMANENT
    return AttemptOutcome.UNKNOWN


_OUTCOME_WORDS = {
    AttemptOutcome.TRANSIENT: "failed for now",
    AttemptOutcome.PERMANENT: "refused the message",
    AttemptOutcome.UNUSABLE: "cannot reach this lead",
}


def _failure_line(channel: str, outcome: AttemptOutcome, detail: str | None) -> str:
    words = _OUTCOME_WORDS.get(outcome, outcome.value.lower())
    return f"{channel} {words}" + (f" ({detail})" if detail else "")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.4g} h"


def next_action(
    seq: Sequence,
    step_index: int,
    channel_index: int,
    outcome: AttemptOutcome,
    now: datetime,
    *,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    retries_so_far: int = 0,
    cal: WorkCalendar | None = None,
    detail: str | None = None,
    history: SequenceABC[str] = (),
    jitter_seed: str | None = None,
) -> Decision:
    """Decide what follows an attempt on ``channels_for(step)[channel_index]``.

    Rules:

    - SENT: ADVANCE to the next step at :func:`due_at` of that step, or COMPLETE after
      the last step.
    - TRANSIENT: RETRY the same channel per :func:`~aicmo.cam.domain.retry.decide_retry`
      while ``retries_so_far < retry_policy.max_retries``; then FALLBACK.
    - PERMANENT, UNUSABLE: FALLBACK to the next channel at once.
    - FALLBACK with no channel left becomes FAIL, carrying every failure line.
    - UNKNOWN: HOLD, never a resend (invariant 1).

    With ``cal``, every scheduled instant is moved to the calendar's next open instant.

    Args:
        seq: the sequence.
        step_index: the step just attempted (0-based).
        channel_index: the channel just attempted, as an index into ``channels_for``.
        outcome: what the attempt came to.
        now: when the outcome was recorded (aware).
        retry_policy: the attempted channel's retry policy.
        retries_so_far: retries already made on this step and channel.
        cal: the lead's sending calendar, if any.
        detail: the channel's own words (``"550 5.1.1 user unknown"``), for the reason.
        history: failure lines of the step's earlier channels, so FAIL lists them all.
        jitter_seed: stable identity of the enrollment, for deterministic retry jitter.

    Returns:
        The :class:`Decision`.

    Raises:
        ValidationError: an index out of range, negative retries, or a naive ``now``.
    """
    require_aware(now, "now")
    if not 0 <= step_index < len(seq.steps):
        raise ValidationError(
            f"step_index {step_index} is outside the sequence (0–{len(seq.steps) - 1})",
            field="step_index",
        )
    step = seq.steps[step_index]
    channels = channels_for(step)
    if not 0 <= channel_index < len(channels):
        raise ValidationError(
            f"channel_index {channel_index} is outside step {step_index}'s channels "
            f"(0–{len(channels) - 1})",
            field="channel_index",
        )
    if retries_so_far < 0:
        raise ValidationError(
            f"retries_so_far must be >= 0, got {retries_so_far}", field="retries_so_far"
        )
    channel = channels[channel_index]

    def scheduled(at: datetime) -> datetime:
        return next_open(cal, at) if cal is not None else at

    if outcome is AttemptOutcome.UNKNOWN:
        return Decision(
            kind=DecisionKind.HOLD,
            step_index=step_index,
            channel_index=channel_index,
            at=None,
            reason=f"{channel} outcome unknown"
            + (f" ({detail})" if detail else "")
            + ": not resent; the operator decides",
            retries=retries_so_far,
        )

    if outcome is AttemptOutcome.SENT:
        if step_index + 1 >= len(seq.steps):
            return Decision(
                kind=DecisionKind.COMPLETE,
                step_index=step_index,
                channel_index=channel_index,
                at=None,
                reason=f"{channel} sent; that was the last step",
            )
        following = seq.steps[step_index + 1]
        at = due_at(following, now, cal)
        return Decision(
            kind=DecisionKind.ADVANCE,
            step_index=step_index + 1,
            channel_index=0,
            at=at,
            reason=f"{channel} sent; step {step_index + 1} ({following.channel}) "
            f"due in {_hours(at - now)}",
            channel=following.channel,
        )

    line = _failure_line(channel, outcome, detail)
    if outcome is AttemptOutcome.TRANSIENT:
        retry = decide_retry(retry_policy, retries_so_far, now, jitter_seed)
        if retry.retry and retry.at is not None:
            return Decision(
                kind=DecisionKind.RETRY,
                step_index=step_index,
                channel_index=channel_index,
                at=scheduled(retry.at),
                reason=f"{line}; {retry.reason}",
                channel=channel,
                retries=retries_so_far + 1,
            )
        line = f"{line}; {retry.reason}"

    if channel_index + 1 < len(channels):
        following_channel = channels[channel_index + 1]
        return Decision(
            kind=DecisionKind.FALLBACK,
            step_index=step_index,
            channel_index=channel_index + 1,
            at=scheduled(now),
            reason=f"{line}; falling back to {following_channel}",
            channel=following_channel,
        )
    reasons = (*history, line)
    return Decision(
        kind=DecisionKind.FAIL,
        step_index=step_index,
        channel_index=channel_index,
        at=None,
        reason=f"every channel of step {step_index} failed: " + "; ".join(reasons),
        reasons=reasons,
    )
