"""ICMP errors as events (the ``icmp`` profile): RFC 1122 §4.2.3.9 and RFC 5927.

RFC 1122 §4.2.3.9: "Destination Unreachable -- codes 2-4: These are hard error conditions, so TCP
SHOULD abort the connection." and for codes 0, 1, 5, Time Exceeded and Parameter Problem: "Since
these Unreachable messages indicate soft error conditions, TCP MUST NOT abort the connection, and
it SHOULD make the information available to the application." RFC 5927 recommends treating
hard errors as soft in the synchronized states (what Linux's tcp_v4_err does: sk_err_soft)."""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, load_spec
from tcpfsm.base import Flags, Segment
from tcpfsm.checker._moves import Channel, MoveTable
from tcpfsm.runtime import ICMP_ERRORS


def icmp(**kw: object) -> Endpoint:
    return Endpoint(profile="icmp", **kw)  # type: ignore[arg-type]


def established() -> Endpoint:
    ep = icmp(iss=100)
    ep.connect()
    ep.receive(Segment(seq=300, ack=101, flags=Flags.SYN | Flags.ACK))
    assert ep.state_name == "ESTABLISHED"
    return ep


def test_a_hard_error_in_syn_sent_refuses_the_connection() -> None:
    """Port unreachable (code 3) to our SYN: abort; Linux reports ECONNREFUSED (tcp_v4_err)."""
    ep = icmp(iss=100)
    ep.connect()
    assert ep.icmp_error("port_unreachable") == []
    assert ep.state_name == "CLOSED" and ep.armed_timers == {}
    assert [n.text for n in ep.take_notices()] == ["connection refused (ICMP hard error)"]


def test_a_hard_error_drops_a_passive_syn_received_request() -> None:
    """The request is dropped and the listener stays (Linux tcp_req_err drops the request sock;
    RFC 9293 MUST-11: a passive connection returns to LISTEN)."""
    ep = icmp(iss=300)
    ep.listen()
    ep.receive(Segment(seq=100, flags=Flags.SYN))
    assert ep.icmp_error("protocol_unreachable") == []
    assert ep.state_name == "LISTEN" and ep.tcb.passive and ep.armed_timers == {}


def test_a_hard_error_in_a_synchronized_state_is_reported_not_fatal() -> None:
    ep = established()
    ep.icmp_error("hard")
    assert ep.state_name == "ESTABLISHED"
    assert ep.take_notices()[-1].text == "ICMP hard error (treated as soft in a synchronized state)"


@pytest.mark.parametrize("kind", [k for k, v in ICMP_ERRORS.items() if v == "soft"])
def test_soft_errors_never_abort(kind: str) -> None:
    """Host unreachable, time exceeded, ...: the SYN keeps being retransmitted; the user is told."""
    ep = icmp(iss=100)
    ep.connect()
    ep.icmp_error(kind)
    assert ep.state_name == "SYN-SENT" and "retransmit" in ep.armed_timers
    assert ep.take_notices()[-1].text == "ICMP soft error (reported, not fatal)"


def test_a_quoted_seq_outside_the_window_is_ignored() -> None:
    """RFC 5927's TCP sequence number check (Linux tcp_v4_err: between(seq, snd_una, snd_nxt), else
    the message is dropped): a port unreachable quoting a SEQ we never sent leaves SYN-SENT alone;
    one quoting our SYN (SEQ = ISS) refuses the connection."""
    ep = icmp(iss=100)
    ep.connect()
    assert ep.icmp_error("port_unreachable", seq=5000) == []
    assert ep.state_name == "SYN-SENT" and ep.notices == [] and ep.last_steps[-1].transition == "I6"
    ep.icmp_error("port_unreachable", seq=100)
    assert ep.state_name == "CLOSED"
    with pytest.raises(ValueError):
        icmp().icmp_error("hard", seq=-1)


def test_no_connection_no_effect() -> None:
    """CLOSED and LISTEN have no connection the message could be for."""
    ep = icmp()
    ep.icmp_error("hard")
    ep.listen()
    ep.icmp_error("soft")
    assert ep.state_name == "LISTEN" and ep.notices == []


def test_bad_kinds_and_specs_without_icmp_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown ICMP error 'redirect'"):
        icmp().icmp_error("redirect")
    with pytest.raises(TypeError):
        icmp().icmp_error(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="icmp profile"):
        Endpoint().icmp_error("hard")


def test_the_default_spec_has_no_icmp_events_so_the_checker_explores_none() -> None:
    """The checker explores every user-kind event (tcpfsm/checker/_moves.py): ICMP lives in the
    overlay, so the default spec's moves (and state counts) are unchanged, and --profile icmp
    explores the errors in every state."""
    default = {m.name for m in MoveTable.build(load_spec(), Channel()).moves}
    with_icmp = {m.name for m in MoveTable.build(load_spec(profile="icmp"), Channel()).moves}
    assert not any("ICMP" in label for label in default)
    assert {"ICMP_HARD", "ICMP_SOFT"} <= with_icmp
