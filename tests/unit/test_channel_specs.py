"""The core's knowledge of channels: names, addresses, and the missing-subject rule."""

from __future__ import annotations

import pytest

from aicmo.cam.domain.channels import address_of, missing_subject, normalize_channel
from aicmo.cam.domain.messages import ChannelType


def test_a_missing_subject_is_named_with_its_article() -> None:
    assert missing_subject(ChannelType.EMAIL) == "an email needs a subject"
    assert missing_subject("SMS") == "a sms needs a subject"


@pytest.mark.parametrize(
    ("lead", "channel", "address"),
    [
        ({"email": "a@b.example"}, ChannelType.EMAIL, "a@b.example"),
        ({"linkedin_id": "ACoAAx"}, ChannelType.LINKEDIN, "ACoAAx"),
        ({"form_url": " ", "website": "acme.example"}, ChannelType.CONTACT_FORM, "acme.example"),
        ({"email": None}, ChannelType.EMAIL, None),
    ],
)
def test_the_first_non_blank_address_field_wins(
    lead: dict[str, str | None], channel: str, address: str | None
) -> None:
    assert address_of(channel, lead) == address


def test_channel_names_are_read_loosely_and_unknown_ones_refused() -> None:
    assert normalize_channel("contact-form") is ChannelType.CONTACT_FORM
    assert normalize_channel("pigeon") is None
