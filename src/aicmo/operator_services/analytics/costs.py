"""What sending costs: the rates the attribution report turns into cost and ROI.

A rate is set for a whole channel, one mailbox or one LinkedIn provider account: a
monthly fee, a price per send, or both (see ``aicmo.cam.domain.costs`` for how a period's
cost is worked out and shared between campaigns). A workspace keeps all its costs in one
currency: a rate in another one is refused rather than added up with the rest.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, CostRateDB
from aicmo.cam.domain.channels import normalize_channel
from aicmo.cam.domain.costs import (
    CostRate,
    CostScope,
    parse_amount,
    parse_currency,
    tidy_amount,
)
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.repository import costs as cost_repo
from aicmo.cam.repository import mailboxes as mailbox_repo
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit

__all__ = [
    "DEFAULT_CURRENCY",
    "cost_rates_for",
    "list_costs",
    "remove_cost",
    "set_cost",
    "workspace_currency",
]

#: The currency of a workspace's first rate when none is given.
DEFAULT_CURRENCY = "USD"


def _scope(
    db: Session,
    workspace_id: int,
    *,
    channel: str | None,
    mailbox: str | None,
    linkedin_account: str | None,
) -> tuple[CostScope, str, int]:
    """(scope, channel, target id) named by exactly one of the three arguments.

    Raises:
        ValidationError: none or several given, or an unknown channel.
        NotFoundError: no mailbox or LinkedIn account of that name.
    """
    given = [name for name in (channel, mailbox, linkedin_account) if name is not None]
    if len(given) != 1:
        raise ValidationError(
            "name exactly one of a channel, a mailbox or a LinkedIn account", field="scope"
        )
    if channel is not None:
        name = normalize_channel(channel)
        if name is None:
            raise ValidationError(f"unknown channel {channel!r}", field="channel")
        return CostScope.CHANNEL, str(name), 0
    if mailbox is not None:
        mailbox_id = mailbox_repo.mailbox_id_by_name(db, workspace_id, mailbox)
        if mailbox_id is None:
            raise NotFoundError(f"no mailbox named {mailbox!r} (see `aicmo mailbox list`)")
        return CostScope.MAILBOX, ChannelType.EMAIL.value, mailbox_id
    assert linkedin_account is not None
    account_id = cost_repo.linkedin_account_id_by_name(db, workspace_id, linkedin_account)
    if account_id is None:
        raise NotFoundError(
            f"no LinkedIn account named {linkedin_account!r} (see `aicmo linkedin accounts`)"
        )
    return CostScope.LINKEDIN_ACCOUNT, ChannelType.LINKEDIN.value, account_id


def _names(
    db: Session, workspace_id: int, rows: list[CostRateDB]
) -> dict[tuple[str, str, int], str]:
    mailboxes = cost_repo.mailbox_names(
        db, workspace_id, [r.target_id for r in rows if r.scope == CostScope.MAILBOX]
    )
    accounts = cost_repo.linkedin_account_names(
        db, workspace_id, [r.target_id for r in rows if r.scope == CostScope.LINKEDIN_ACCOUNT]
    )
    out: dict[tuple[str, str, int], str] = {}
    for row in rows:
        if row.scope == CostScope.MAILBOX:
            out[(row.scope, row.channel, row.target_id)] = mailboxes.get(
                row.target_id, f"#{row.target_id}"
            )
        elif row.scope == CostScope.LINKEDIN_ACCOUNT:
            out[(row.scope, row.channel, row.target_id)] = accounts.get(
                row.target_id, f"#{row.target_id}"
            )
        else:
            out[(row.scope, row.channel, row.target_id)] = row.channel
    return out


def _to_dict(row: CostRateDB, name: str) -> dict[str, Any]:
    return {
        "scope": row.scope,
        "channel": row.channel,
        "name": name,
        "monthly": tidy_amount(Decimal(row.monthly)),
        "per_action": tidy_amount(Decimal(row.per_action)),
        "currency": row.currency,
        "updated_at": row.updated_at,
    }


def workspace_currency(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> str | None:
    """The currency of the workspace's costs, or None while it has none."""
    rows = cost_repo.cost_rates(db, workspace_id)
    return rows[0].currency if rows else None


def set_cost(
    db: Session,
    *,
    channel: str | None = None,
    mailbox: str | None = None,
    linkedin_account: str | None = None,
    monthly: object = None,
    per_action: object = None,
    currency: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Set the rate of one channel, mailbox or LinkedIn account (created or changed).

    An amount left out keeps its value (0 for a new rate). The currency defaults to the
    workspace's (``USD`` for its first rate); another currency than the one the
    workspace's other rates use is refused.

    Raises:
        ValidationError: no scope or several, a bad amount or currency, nothing to set on
            a new rate, or a second currency. NotFoundError: no such mailbox or account.
    """
    with write_unit(db):
        scope, channel_name, target_id = _scope(
            db, workspace_id, channel=channel, mailbox=mailbox, linkedin_account=linkedin_account
        )
        row = cost_repo.cost_rate(
            db, workspace_id, scope=scope, channel=channel_name, target_id=target_id
        )
        if row is None and monthly is None and per_action is None:
            raise ValidationError(
                "give a monthly cost, a cost per action, or both", field="monthly"
            )
        others = [
            r for r in cost_repo.cost_rates(db, workspace_id) if row is None or r.id != row.id
        ]
        current = others[0].currency if others else (row.currency if row else None)
        code = parse_currency(currency) if currency is not None else current or DEFAULT_CURRENCY
        if others and code != others[0].currency:
            raise ValidationError(
                f"this workspace's costs are in {others[0].currency}; one currency per workspace:"
                f" give the amounts in {others[0].currency}, or change the other rates first",
                field="currency",
            )
        now = utcnow()
        if row is None:
            row = CostRateDB(
                workspace_id=workspace_id,
                scope=scope.value,
                channel=channel_name,
                target_id=target_id,
                mailbox_id=target_id if scope is CostScope.MAILBOX else None,
                linkedin_account_id=target_id if scope is CostScope.LINKEDIN_ACCOUNT else None,
                monthly=Decimal(0),
                per_action=Decimal(0),
                created_at=now,
            )
            db.add(row)
        if monthly is not None:
            row.monthly = parse_amount(monthly, "monthly")
        if per_action is not None:
            row.per_action = parse_amount(per_action, "per_action")
        row.currency = code
        row.updated_at = now
        db.flush()
        result = _to_dict(
            row, _names(db, workspace_id, [row])[(row.scope, row.channel, row.target_id)]
        )
    return result


def remove_cost(
    db: Session,
    *,
    channel: str | None = None,
    mailbox: str | None = None,
    linkedin_account: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> None:
    """Remove the rate of one channel, mailbox or LinkedIn account.

    Raises:
        NotFoundError: no rate is set there (or no such mailbox or account).
        ValidationError: no scope or several.
    """
    with unit_of_work(db):
        scope, channel_name, target_id = _scope(
            db, workspace_id, channel=channel, mailbox=mailbox, linkedin_account=linkedin_account
        )
        gone = cost_repo.delete_cost_rate(
            db, workspace_id, scope=scope, channel=channel_name, target_id=target_id
        )
        if not gone:
            raise NotFoundError("no cost is set there")


def list_costs(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> list[dict[str, Any]]:
    """Every rate of the workspace: channels first, then mailboxes, then LinkedIn accounts."""
    rows = cost_repo.cost_rates(db, workspace_id)
    names = _names(db, workspace_id, rows)
    order = list(CostScope)
    rows.sort(
        key=lambda r: (
            order.index(CostScope(r.scope)),
            r.channel,
            names[(r.scope, r.channel, r.target_id)],
        )
    )
    return [_to_dict(r, names[(r.scope, r.channel, r.target_id)]) for r in rows]


def cost_rates_for(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> list[CostRate]:
    """The workspace's rates as the pure cost arithmetic takes them."""
    return [
        CostRate(
            scope=CostScope(r.scope),
            channel=r.channel,
            target_id=r.target_id,
            monthly=Decimal(r.monthly),
            per_action=Decimal(r.per_action),
            currency=r.currency,
        )
        for r in cost_repo.cost_rates(db, workspace_id)
    ]
