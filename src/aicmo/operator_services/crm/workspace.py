"""Workspace set-up: default channel configs, the default sequence and the ICP."""

from __future__ import annotations

import math
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, ChannelConfigDB, SequenceConfigDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import ICP, default_icp
from aicmo.cam.domain.messages import ChannelType
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.uow import unit_of_work, utcnow

DEFAULT_SEQUENCE_NAME = "default"

#: Email, then a LinkedIn message, then the website's contact form.
DEFAULT_SEQUENCE_STEPS: list[dict[str, Any]] = [
    {
        "channel": "EMAIL",
        "fallback": ["LINKEDIN", "CONTACT_FORM"],
        "delay_hours": 0,
        "template": {
            "subject": "Quick question, {{ first_name | default('there') }}",
            "body": "Hi {{ first_name | default('there') }},\n\n"
            "I noticed {{ company | default('your team') }} and wanted to reach out.",
        },
        "condition": "no_reply",
    },
    {
        "channel": "LINKEDIN",
        "fallback": ["CONTACT_FORM"],
        "delay_hours": 72,
        "template": {"body": "Hi {{ first_name | default('there') }}, following up on my email."},
        "condition": "no_reply",
    },
    {
        "channel": "CONTACT_FORM",
        "fallback": [],
        "delay_hours": 96,
        "template": {
            "subject": "Partnership question",
            "body": "Hello, I wrote to {{ first_name | default('your team') }} last week.",
        },
        "condition": "no_reply",
    },
]


def ensure_workspace_defaults(
    db: Session, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Create what a fresh workspace needs; leave anything that exists untouched.

    Returns what was created, for `aicmo init` to report.
    """
    created: dict[str, Any] = {"channel_configs": [], "sequence": None, "icp": False}
    with unit_of_work(db):
        ws = repo.get_workspace(db, workspace_id)
        if ws is None:
            raise NotFoundError(f"workspace {workspace_id} does not exist")
        have = repo.configured_channels(db, workspace_id)
        for channel in ChannelType:
            if channel.value not in have:
                db.add(ChannelConfigDB(workspace_id=workspace_id, channel=channel.value))
                created["channel_configs"].append(channel.value)
        seq = repo.sequence_config_by_name(db, workspace_id, DEFAULT_SEQUENCE_NAME)
        if seq is None:
            db.add(
                SequenceConfigDB(
                    workspace_id=workspace_id,
                    name=DEFAULT_SEQUENCE_NAME,
                    description="Email, then LinkedIn, then the contact form",
                    steps=[dict(s) for s in DEFAULT_SEQUENCE_STEPS],
                )
            )
            created["sequence"] = DEFAULT_SEQUENCE_NAME
        if ws.icp is None:
            ws.icp = default_icp().model_dump(mode="json")
            created["icp"] = True
    return created


def get_icp(db: Session, workspace_id: int = DEFAULT_WORKSPACE_ID) -> ICP:
    """The workspace's ideal-customer profile (the built-in default until one is set)."""
    ws = repo.get_workspace(db, workspace_id)
    if ws is None:
        raise NotFoundError(f"workspace {workspace_id} does not exist")
    if ws.icp is None:
        return default_icp()
    return ICP.model_validate(ws.icp)


#: The most a YAML document may expand to (its text counted as if aliases were copied):
#: aliases that repeat aliases ("billion laughs") grow without bound when stored as JSON.
MAX_YAML_EXPANDED = 4 << 20
#: The deepest nesting of lists and mappings a configuration file may have.
MAX_YAML_DEPTH = 50


def yaml_mapping(text: str, *, what: str, not_mapping: str) -> dict[str, Any]:
    """A YAML document that must be a mapping of plain values; errors name the file.

    Aliases (``*name``) are allowed as long as the document, expanded, stays under
    :data:`MAX_YAML_EXPANDED`; nesting is bounded by :data:`MAX_YAML_DEPTH`. Only text,
    numbers, true/false, null, lists and mappings with text keys are accepted (what JSON
    can store): a date, ``!!binary`` or ``!!set`` is refused with its place named.

    Raises:
        ValidationError: not YAML, not a mapping (then with the message ``not_mapping``),
            too large once expanded, too deep, an alias loop, or a value JSON cannot hold.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValidationError(f"{what} is not valid YAML: {err}") from err
    except RecursionError:
        raise ValidationError(
            f"{what} is nested too deeply (at most {MAX_YAML_DEPTH} levels)"
        ) from None
    except (ValueError, OverflowError) as err:  # e.g. a date like 2026-13-45
        raise ValidationError(f"{what} has a value YAML cannot read: {err}") from err
    if not isinstance(data, dict):
        raise ValidationError(not_mapping)
    _expanded_size(data, "", 0, {}, set(), what)
    return data


def _expanded_size(
    value: Any, where: str, depth: int, sizes: dict[int, int], open_: set[int], what: str
) -> int:
    """The size of ``value`` with every alias copied out (memoised per shared object, so
    it costs the document's own size), or a ValidationError naming the place."""
    place = where or "the top level"
    if value is None or isinstance(value, bool | int):
        return 1
    if isinstance(value, str):
        return 1 + len(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{what}: {place} is {value}; give a finite number")
        return 1
    if not isinstance(value, dict | list):
        kind = type(value).__name__
        raise ValidationError(
            f"{what}: {place} is a {kind}, not text, a number, a list or a mapping; "
            "put it in quotes"
        )
    if depth >= MAX_YAML_DEPTH:
        raise ValidationError(f"{what}: {place} is nested more than {MAX_YAML_DEPTH} levels deep")
    key = id(value)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise ValidationError(f"{what}: {place} contains itself (a YAML alias loop)")
    open_.add(key)
    total = 1
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for name, item in items:
        if isinstance(value, dict):
            if not isinstance(name, str):
                raise ValidationError(
                    f"{what}: the key {name!r} in {place} is not text; put it in quotes"
                )
            total += len(name)
            inner = f"{where}.{name}" if where else name
        else:
            inner = f"{where}[{name}]"
        total += _expanded_size(item, inner, depth + 1, sizes, open_, what)
        if total > MAX_YAML_EXPANDED:
            raise ValidationError(
                f"{what} expands to more than {MAX_YAML_EXPANDED >> 20} MiB through YAML "
                "aliases (*name): refused; write the repeated parts out"
            )
    open_.discard(key)
    sizes[key] = total
    return total


def parse_icp_yaml(text: str) -> ICP:
    """An ICP from YAML, with errors that name the field."""
    data = yaml_mapping(
        text,
        what="ICP file",
        not_mapping="ICP file must be a YAML mapping (roles:, industries:, …)",
    )
    try:
        return ICP.model_validate(data)
    except PydanticValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ValidationError(f"ICP field {where}: {first['msg']}", field=where) from err


def set_icp(
    db: Session, icp: ICP, *, workspace_id: int = DEFAULT_WORKSPACE_ID, actor: str | None = None
) -> dict[str, Any]:
    """Store the ICP; grades are recomputed by `grade_leads` (the CLI does both)."""
    with unit_of_work(db):
        ws = repo.get_workspace(db, workspace_id)
        if ws is None:
            raise NotFoundError(f"workspace {workspace_id} does not exist")
        ws.icp = icp.model_dump(mode="json")
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(type=EventType.ICP_CHANGED, occurred_at=utcnow(), detail=ws.icp),
            actor=actor,
        )
    return icp.model_dump(mode="json")


def icp_to_yaml(icp: ICP) -> str:
    return yaml.safe_dump(icp.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
