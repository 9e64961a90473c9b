"""Channels: their configuration (here), the attempt lifecycle they share
(:mod:`.base`), one module per channel, and the registry that names them (:mod:`.registry`).

Importing this package loads only the configuration functions, so that the modules the
channels themselves use (limits, tasks) can read a channel's config without a cycle.
"""

from aicmo.operator_services.channels.config import (
    EDITABLE_FIELDS,
    config_to_dict,
    get_channel_config,
    list_channel_configs,
    parse_channel,
    update_channel_config,
)

__all__ = [
    "EDITABLE_FIELDS",
    "config_to_dict",
    "get_channel_config",
    "list_channel_configs",
    "parse_channel",
    "update_channel_config",
]
