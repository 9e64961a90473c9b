"""Which channel serves each channel name.

A new channel is one module (a :class:`~aicmo.operator_services.channels.base.Channel`
subclass with its :class:`~aicmo.cam.domain.channels.ChannelSpec`), its transport, and one
entry in :data:`BUILT_IN` (or one :func:`register_channel` call from a plugin or a test).
The engine, campaigns and sequencing ask this registry; none of them names a channel.
"""

from __future__ import annotations

from aicmo.cam.domain.channels import channel_names, register_spec, unregister_spec
from aicmo.errors import ValidationError
from aicmo.operator_services.channels.base import Channel
from aicmo.operator_services.channels.contact_form import ContactFormChannel
from aicmo.operator_services.channels.email import EmailChannel
from aicmo.operator_services.channels.linkedin import LinkedInChannel

__all__ = ["BUILT_IN", "channel_for", "register_channel", "unregister_channel"]

#: The channels every installation has, in the default fallback order.
BUILT_IN: tuple[Channel, ...] = (EmailChannel(), LinkedInChannel(), ContactFormChannel())

_CHANNELS: dict[str, Channel] = {channel.name: channel for channel in BUILT_IN}


def register_channel(channel: Channel) -> None:
    """Add a channel: its name is accepted in campaign steps, fallbacks and configs from
    now on, and the engine sends through it."""
    register_spec(channel.spec)
    _CHANNELS[channel.name] = channel


def unregister_channel(name: str) -> None:
    """Remove a registered channel (a built-in cannot be removed)."""
    unregister_spec(name)
    _CHANNELS.pop(name, None)


def channel_for(name: str) -> Channel:
    """The channel serving ``name`` (a parsed channel name).

    Raises:
        ValidationError: no channel of that name is registered.
    """
    channel = _CHANNELS.get(name)
    if channel is None:
        raise ValidationError(
            f"unknown channel {name!r}; use one of {', '.join(channel_names())}", field="channel"
        )
    return channel
