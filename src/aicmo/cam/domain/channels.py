"""Which channels exist, and which of a lead's fields each one reaches them at. Pure.

A channel is known to the core by its name (``"EMAIL"``) and the lead fields that hold
its address, in order of preference. That is all sequencing, campaign validation and the
attempt record need: "can this step reach this lead?" and "what recipient goes on record?"
are answered here, once, instead of by a switch on the channel in every caller.

The three built-in channels are :class:`~aicmo.cam.domain.messages.ChannelType` members;
a channel added by a plugin or a test registers a :class:`ChannelSpec` under a new name
(``register_spec``, called by the service layer's channel registry) and is then accepted
wherever a channel name is: campaign steps, fallbacks, channel configs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aicmo.cam.domain.messages import ChannelType

__all__ = [
    "ChannelSpec",
    "address_of",
    "channel_names",
    "get_spec",
    "is_channel",
    "missing_subject",
    "normalize_channel",
    "register_spec",
    "unregister_spec",
]

_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """What the core knows of a channel.

    Attributes:
        name: upper-case name, stored on attempts, configs and events.
        address_fields: lead fields that hold the address, the first non-empty one wins.
        needs_subject: a message on this channel is refused without a subject (email).
    """

    name: str
    address_fields: tuple[str, ...]
    needs_subject: bool = False

    def __post_init__(self) -> None:
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"a channel name is A-Z, 0-9 and _, at most 40: {self.name!r}")
        if not self.address_fields:
            raise ValueError(f"channel {self.name} names no lead field for its address")


#: Built-ins first, in the default fallback order of the seed (Email → LinkedIn → form).
_SPECS: dict[str, ChannelSpec] = {
    ChannelType.EMAIL: ChannelSpec(ChannelType.EMAIL, ("email",), needs_subject=True),
    ChannelType.LINKEDIN: ChannelSpec(ChannelType.LINKEDIN, ("linkedin_url", "linkedin_id")),
    ChannelType.CONTACT_FORM: ChannelSpec(ChannelType.CONTACT_FORM, ("form_url", "website")),
}
_BUILT_IN = frozenset(_SPECS)


def register_spec(spec: ChannelSpec) -> None:
    """Make ``spec.name`` a channel (a built-in cannot be replaced)."""
    if spec.name in _BUILT_IN:
        raise ValueError(f"{spec.name} is a built-in channel")
    _SPECS[spec.name] = spec


def unregister_spec(name: str) -> None:
    if name in _BUILT_IN:
        raise ValueError(f"{name} is a built-in channel")
    _SPECS.pop(name, None)


def channel_names() -> tuple[str, ...]:
    """Every channel, built-ins first (the default fallback order), then the others in
    the order they were registered."""
    return tuple(_SPECS)


def normalize_channel(value: object) -> str | None:
    """``'email'``, ``'Contact-Form'`` → the channel's name (a :class:`ChannelType` member
    for the built-ins); None when no such channel exists."""
    if isinstance(value, ChannelType):
        return value
    if not isinstance(value, str):
        return None
    key = value.strip().upper().replace("-", "_").replace(" ", "_")
    if key not in _SPECS:
        return None
    return ChannelType(key) if key in _BUILT_IN else key


def is_channel(value: object) -> bool:
    return normalize_channel(value) is not None


def get_spec(name: str) -> ChannelSpec:
    """The spec of a known channel (KeyError for an unknown one)."""
    return _SPECS[name]


def missing_subject(name: str) -> str:
    """What is wrong with a message on a channel that needs a subject and has none."""
    article = "an" if name[:1] in "AEIOU" else "a"
    return f"{article} {name.lower()} needs a subject"


def address_of(name: str, lead: Any) -> str | None:
    """The lead's address on channel ``name``, from a row or a mapping; None when it has
    none (blank values do not count)."""
    for field in get_spec(name).address_fields:
        value = lead.get(field) if isinstance(lead, Mapping) else getattr(lead, field, None)
        if isinstance(value, str) and value.strip():
            return value
    return None
