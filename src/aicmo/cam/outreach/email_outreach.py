"""``EmailOutreachService``: SMTP through the sender mailboxes, else the local outbox."""

from __future__ import annotations

from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.outreach import OutreachServiceBase


class EmailOutreachService(OutreachServiceBase):
    """Email: rotation across mailboxes under their caps; replies and bounces come back
    through ``aicmo inbox poll`` and the webhooks."""

    channel = ChannelType.EMAIL
