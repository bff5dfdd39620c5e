"""RFC 5961 (as RFC 9293 §3.10.7.4 folds it in): the ACK range check of §5 and the challenge-ACK
throttle of §7 (decision D9). The RST (§3) and SYN (§4) challenges are in test_synchronized.py.

RFC 5961 §7: "The system administrator can configure the number of challenge ACKs that can be sent
out in a given interval. For example, in any 5 second window, no more than 10 challenge ACKs should
be sent." RFC 9293 §3.10.7.4 points to it: "RFC 5961 and Errata ID 4772 contain additional
considerations for ACK throttling in an implementation."
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import (
    RST_EXACT,
    SEQ_MOD,
    SYN_CHALLENGE,
    assert_last,
    assert_sent,
    feed,
    listening,
    nothing_sent,
    octets,
    passive_established,
)

CHALLENGE = "<SEQ=301><ACK=101><CTL=ACK>"        # B's <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> in ESTABLISHED
TRIGGERS = {"SYN": "<SEQ=5000><CTL=SYN>", "RST": "<SEQ=5000><CTL=RST>"}   # in the window, not RCV.NXT
CASES = [(p, "SYN") for p in SYN_CHALLENGE] + [(p, "RST") for p in RST_EXACT]


# --------------------------------------------------------------------- §5: the ACK range
def _with_peer_window(profile: str, wnd: int) -> Endpoint:
    """B established with a peer that offered `wnd`: MAX.SND.WND = wnd, SND.UNA = 301."""
    ep = listening(profile)
    feed(ep, f"<SEQ=100><CTL=SYN><WND={wnd}>", f"<SEQ=101><ACK=301><CTL=ACK><WND={wnd}>")
    assert ep.state is State.ESTABLISHED
    return ep


def test_rfc5961_5_2_ack_older_than_max_snd_wnd_is_discarded_and_acked() -> None:
    """RFC 5961 §5.2 / RFC 9293 §3.10.7.4 fifth (MAY-12): "the ACK value is acceptable only if it is in
    the range of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments whose ACK value
    doesn't satisfy the above condition MUST be discarded and an ACK sent back." (301 - 1001 is out.)"""
    ep = _with_peer_window("rfc5961", 1000)
    out = feed(ep, f"<SEQ=101><ACK={(301 - 1001) % SEQ_MOD}><CTL=ACK><DATA=10>")
    assert_sent(out, CHALLENGE)
    assert ep.read() == b""
    assert ep.state is State.ESTABLISHED


def test_rfc5961_5_2_ack_at_the_bottom_of_the_range_is_acceptable() -> None:
    """RFC 5961 §5.2: SEG.ACK = SND.UNA - MAX.SND.WND (301 - 1000) is inside the range, so the segment is
    processed: its text is delivered and acknowledged."""
    ep = _with_peer_window("rfc5961", 1000)
    out = feed(ep, f"<SEQ=101><ACK={(301 - 1000) % SEQ_MOD}><CTL=ACK><DATA=10>")
    assert_last(out, "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)


# ------------------------------------------------------------------ §7: the throttle (D9)
@pytest.mark.parametrize(("profile", "trigger"), CASES)
def test_rfc5961_7_challenge_acks_beyond_the_limit_are_not_sent(profile: str, trigger: str) -> None:
    """RFC 5961 §7: no more than `count` challenge ACKs in any `seconds` window: with (3, 5.0), triggers
    at 0, 1, 2 s are challenged and the one at 3 s is dropped without a reply."""
    ep = passive_established(profile, challenge_ack_limit=(3, 5.0))
    for t in (0.0, 1.0, 2.0):
        ep.tick(t)
        assert_sent(feed(ep, TRIGGERS[trigger]), CHALLENGE)
    ep.tick(3.0)
    nothing_sent(feed(ep, TRIGGERS[trigger]))
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize(("profile", "trigger"), CASES)
def test_rfc5961_7_challenge_acks_resume_after_the_interval(profile: str, trigger: str) -> None:
    """RFC 5961 §7: the limit holds per interval; once it has passed, a trigger is challenged again."""
    ep = passive_established(profile, challenge_ack_limit=(3, 5.0))
    for _ in range(4):
        feed(ep, TRIGGERS[trigger])
    ep.tick(10.0)
    assert_sent(feed(ep, TRIGGERS[trigger]), CHALLENGE)


@pytest.mark.parametrize(("profile", "trigger"), CASES)
def test_rfc5961_7_default_limit_is_10_in_5_seconds(profile: str, trigger: str) -> None:
    """RFC 5961 §7's example, "in any 5 second window, no more than 10 challenge ACKs should be sent", as
    the default (D9): ten triggers at one instant are challenged, the eleventh is not."""
    ep = passive_established(profile)
    for _ in range(10):
        assert_sent(feed(ep, TRIGGERS[trigger]), CHALLENGE)
    nothing_sent(feed(ep, TRIGGERS[trigger]))


@pytest.mark.parametrize(("profile", "trigger"), CASES)
def test_rfc5961_7_throttle_can_be_turned_off(profile: str, trigger: str) -> None:
    """RFC 5961 §7: "The values for both the time and number of ACKs SHOULD be tunable by the system
    administrator": challenge_ack_limit=None challenges every trigger."""
    ep = passive_established(profile, challenge_ack_limit=None)
    for _ in range(50):
        assert_sent(feed(ep, TRIGGERS[trigger]), CHALLENGE)


@pytest.mark.parametrize(("profile", "trigger"), CASES)
def test_rfc5961_7_throttle_leaves_ordinary_acks_alone(profile: str, trigger: str) -> None:
    """RFC 5961 §7 limits challenge ACKs only: with the limit used up, text at RCV.NXT is still delivered
    and acknowledged as §3.10.7.4 seventh requires ("Send an acknowledgment")."""
    ep = passive_established(profile, challenge_ack_limit=(1, 5.0))
    feed(ep, TRIGGERS[trigger], TRIGGERS[trigger])
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)
