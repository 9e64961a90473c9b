"""Channel configuration: switches, rate limits, per-lead limits, retries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, ChannelConfigDB
from aicmo.cam.domain.channels import channel_names, normalize_channel
from aicmo.cam.domain.messages import ChannelType
from aicmo.errors import ValidationError
from aicmo.operator_services.crm.events import record_config_change
from aicmo.operator_services.uow import unit_of_work, utcnow

_INT_FIELDS = (
    "rate_limit_per_hour",
    "rate_limit_per_day",
    "per_lead_limit",
    "per_lead_period_hours",
    "min_gap_hours",
    "max_retries",
)
EDITABLE_FIELDS = (*_INT_FIELDS, "enabled", "backoff_hours", "settings")


def parse_channel(channel_name: str | ChannelType) -> str:
    """'email', 'EMAIL', 'contact-form' → the channel's name (a ChannelType member for the
    built-ins, the registered name for others); anything else is a ValidationError."""
    channel = normalize_channel(channel_name)
    if channel is None:
        names = ", ".join(channel_names())
        raise ValidationError(
            f"unknown channel {channel_name!r}; use one of {names}", field="channel_name"
        )
    return channel


def config_to_dict(row: ChannelConfigDB) -> dict[str, Any]:
    return {
        "channel": row.channel,
        "enabled": row.enabled,
        "rate_limit_per_hour": row.rate_limit_per_hour,
        "rate_limit_per_day": row.rate_limit_per_day,
        "per_lead_limit": row.per_lead_limit,
        "per_lead_period_hours": row.per_lead_period_hours,
        "min_gap_hours": row.min_gap_hours,
        "max_retries": row.max_retries,
        "backoff_hours": list(row.backoff_hours),
        "settings": dict(row.settings),
        "updated_at": row.updated_at,
    }


def _load(db: Session, workspace_id: int, channel: str) -> ChannelConfigDB | None:
    return db.scalar(
        select(ChannelConfigDB).where(
            ChannelConfigDB.workspace_id == workspace_id, ChannelConfigDB.channel == str(channel)
        )
    )


def _load_or_create(db: Session, workspace_id: int, channel: str) -> ChannelConfigDB:
    row = _load(db, workspace_id, channel)
    if row is None:
        row = ChannelConfigDB(workspace_id=workspace_id, channel=str(channel))
        db.add(row)
        db.flush()
    return row


def get_channel_config(
    db: Session, channel_name: str | ChannelType, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """The channel's settings as a dict (defaults are created if the row is missing).

    Raises:
        ValidationError: unknown channel name.
    """
    channel = parse_channel(channel_name)
    row = _load(db, workspace_id, channel)
    if row is None:
        with unit_of_work(db):
            row = _load_or_create(db, workspace_id, channel)
    return config_to_dict(row)


def list_channel_configs(
    db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[dict[str, Any]]:
    return [get_channel_config(db, c, workspace_id=workspace_id) for c in channel_names()]


def _validate_change(name: str, value: Any) -> Any:
    if name not in EDITABLE_FIELDS:
        raise ValidationError(
            f"unknown channel setting {name!r}; editable: {', '.join(EDITABLE_FIELDS)}", field=name
        )
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number, got {value!r}", field=name)
        if value < 0:
            raise ValidationError(f"{name} must not be negative, got {value}", field=name)
        if (
            name in {"rate_limit_per_hour", "rate_limit_per_day", "per_lead_period_hours"}
            and value > 10_000_000
        ):
            raise ValidationError(f"{name} is implausibly large: {value}", field=name)
        return value
    if name == "enabled":
        if not isinstance(value, bool):
            raise ValidationError(f"enabled must be true or false, got {value!r}", field=name)
        return value
    if name == "backoff_hours":
        if (
            not isinstance(value, list | tuple)
            or not value
            or any(isinstance(v, bool) or not isinstance(v, int | float) or v <= 0 for v in value)
        ):
            raise ValidationError(
                "backoff_hours must be a list of positive hours, e.g. [24, 48]", field=name
            )
        return [float(v) if isinstance(v, float) else int(v) for v in value]
    if not isinstance(value, dict):
        raise ValidationError("settings must be a mapping", field=name)
    return dict(value)


def update_channel_config(
    db: Session,
    channel_name: str | ChannelType,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Change a channel's settings; every change is validated before any is written.

    Raises:
        ValidationError: unknown channel or setting, negative or ill-typed value, or an
            hourly limit above the daily one.
    """
    channel = parse_channel(channel_name)
    if not changes:
        raise ValidationError("no change given; pass e.g. rate_limit_per_hour=200")
    clean = {name: _validate_change(name, value) for name, value in changes.items()}
    with unit_of_work(db):
        row = _load_or_create(db, workspace_id, channel)
        before = config_to_dict(row)
        per_hour = clean.get("rate_limit_per_hour", row.rate_limit_per_hour)
        per_day = clean.get("rate_limit_per_day", row.rate_limit_per_day)
        if per_hour > per_day:
            raise ValidationError(
                f"rate_limit_per_hour ({per_hour}) cannot exceed rate_limit_per_day ({per_day})",
                field="rate_limit_per_hour",
            )
        for name, value in clean.items():
            setattr(row, name, value)
        db.flush()
        after = config_to_dict(row)
        diff = {k: {"from": before[k], "to": after[k]} for k in clean if before[k] != after[k]}
        changes = {"channel": str(channel), "changes": diff}
        record_config_change(db, workspace_id, changes, now=utcnow(), actor=actor)
    return after
