"""Keep-alives (RFC 9293 §3.8.4).

The send side of the window (§3.8.6: segments that fit SND.UNA + SND.WND, zero-window probing,
MUST-36/37) is flow control, not the connection lifecycle, and is not modelled: an Endpoint sends
what SEND gives it at once (README, "What tcpfsm does not model").
"""

from __future__ import annotations

import pytest

from tcpfsm import State
from tests.rfc.helpers import ALL, passive_established


@pytest.mark.parametrize("profile", ALL)
def test_3_8_4_must_25_keep_alives_default_to_off(profile: str) -> None:
    """§3.8.4: keep-alives "MUST default to off (MUST-25)" and, when on, wait at least two hours (MUST-28):
    an idle connection sends nothing, ever, by default."""
    ep = passive_established(profile)
    assert ep.armed_timers == {}
    assert ep.tick(3 * 3600.0) == []
    assert ep.state is State.ESTABLISHED
