"""The SMTP client writes plain addresses itself; smtplib would write the same."""

from __future__ import annotations

import smtplib

from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.transports.smtp_session import PLAIN_ADDRESS


# 500 generated addresses; 2,000 took half a minute of the suite on two cores.
@settings(max_examples=500, deadline=None)
@given(address=st.from_regex(PLAIN_ADDRESS, fullmatch=True))
def test_a_plain_address_is_quoted_as_smtplib_quotes_it(address: str) -> None:
    assert smtplib.quoteaddr(address) == f"<{address}>"


def test_anything_else_is_not_taken_for_plain() -> None:
    for address in ('"a b"@example.com', "a@b@example.com", "<a@example.com>", "a @x.com", ""):
        assert PLAIN_ADDRESS.fullmatch(address) is None
