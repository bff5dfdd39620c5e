"""The vocabulary a spec may use where data meets code, declared once.

Theory of operation: a spec names predicates (behind its guards), checks (of arrival
steps), effects (actions), the sources of a sent segment's SEQ and ACK, and the parameters
a timer's duration is made of. Each name is declared here, once, with its meaning and RFC
section. The loader accepts only these names (a typo is a file:line problem); the runtime
binds one implementation to each name with the decorators of :class:`Registry`, which
refuse unknown names, and checks at import that none is missing. The spec-format
reference (``docs/spec-format.md``) and ``tcpfsm spec vocabulary`` are generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tcpfsm.base._segment import Flags


@dataclass(frozen=True)
class Term:
    """One word of the vocabulary: its name, what kind of word it is, what it means, where from."""

    name: str
    kind: str  # predicate | check | effect | seq | ack | duration | throttle | arming | action | flag
    doc: str
    rfc: str = ""


def _terms(kind: str, rows: list[tuple[str, str, str]]) -> dict[str, Term]:
    return {name: Term(name, kind, doc, rfc) for name, rfc, doc in rows}


# Predicates over (TCB, segment) that a guard may name (`predicate:`, default: the guard's name).
PREDICATES = _terms("predicate", [
    ("ack_set", "3.10.7.1", "The segment carries the ACK bit."),
    ("ack_acceptable", "3.10.7.3", "The ACK bit is set and SND.UNA < SEG.ACK =< SND.NXT."),
    ("ack_above_snd_nxt", "3.10.7.4", "SEG.ACK > SND.NXT: it acknowledges something not yet sent."),
    ("ack_outside_5961_window", "RFC 5961 §5",
     "SEG.ACK outside SND.UNA - MAX.SND.WND .. SND.NXT (the ACK-throttling check)."),
    ("acks_our_fin", "3.10.7.4", "Our FIN is sent and SEG.ACK = SND.NXT."),
    ("fin_acked", "3.10.7.4", "Our FIN is sent and SND.UNA = SND.NXT (perhaps by this segment)."),
    ("fin_follows", "3.10.7.4", "The segment also carries a FIN (processed after its ACK)."),
    ("fin_in_sequence", "3.10.7.4",
     "The segment carries a FIN and does not begin beyond RCV.NXT, so its FIN step will take the FIN (not held)."),
    ("reopened", "3.6.1", "This connection was reopened from TIME-WAIT by a SYN (MAY-2); it may yet prove old."),
    ("passive", "3.5", "The connection came from a passive OPEN (MUST-11)."),
    ("seq_in_window", "3.10.7.4", "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (SEG.SEQ = RCV.NXT if RCV.WND = 0)."),
    ("seq_exact", "RFC 5961 §3", "SEG.SEQ = RCV.NXT exactly."),
    ("completes_simultaneous_open", "3.5",
     "A SYN,ACK with SEG.SEQ = IRS whose ACK acknowledges our SYN (Figure 7, line 6)."),
    ("fin_retransmitted", "3.10.7.4", "A FIN already received: FIN set and SEG.SEQ+SEG.LEN = RCV.NXT."),
    ("syn_beyond_old", "3.6.1", "A SYN without ACK whose SEG.SEQ > RCV.NXT (MAY-2, RFC 6191 §2)."),
    ("request_syn_retransmitted", "Linux tcp_check_req",
     "A pure SYN (no ACK, no RST) at SEG.SEQ = IRS reaching a passive SYN-RECEIVED: the request's SYN again."),
    ("data_queued", "3.10.4", "SENDs were issued that are not yet segmentized."),
    ("orphaned", "3.6.1",
     "The application closed its descriptor (Endpoint.full_close, BSD close()): Linux's SOCK_DEAD orphan."),
    ("receive_shut", "3.6.1",
     "The application will not receive again (full_close, or shutdown(read=True)): Linux's RCV_SHUTDOWN."),
    ("retries_exhausted", "3.8.3",
     "The retransmission count reached R2 (MUST-20): the SYN's (MUST-23) while our SYN is unacknowledged, "
     "else the data's."),
    ("data_unread", "RFC 1122 4.2.2.13", "Received data the user has not read."),
    # TCP Fast Open (RFC 7413; specs/profiles/tfo.yaml): the cookie is a setting, not an option's bytes
    ("tfo_cookie", "RFC 7413 §4.1",
     "The Endpoint's `tfo_cookie` setting: a client holds a Fast Open cookie for the server (§4.1.3), a server "
     "finds the cookie of the SYN valid (§4.1.2)."),
    ("fastopen_connect", "Linux TCP_FASTOPEN_CONNECT",
     "The Endpoint's `fastopen_connect` setting: an active OPEN with a cookie defers the SYN to the first SEND."),
    ("syn_unsent", "Linux tcp_fastopen_defer_connect", "SND.NXT = ISS: no SYN was sent yet (a deferred connect)."),
    ("fast_open", "RFC 7413 §4.2.2", "The SYN of this connection was accepted with its data by a valid cookie."),
    ("icmp_in_window", "RFC 5927",
     "An ICMP error's quoted SEQ (the event's SEG.SEQ) lies in SND.UNA..SND.NXT (Linux tcp_v4_err's check)."),
    ("ack_below_snd_nxt", "RFC 7413 §4.2.2",
     "SEG.ACK < SND.NXT: not everything sent is acknowledged (in SYN-SENT: the data on our SYN)."),
])

# Checks an arrival step may name (`check:`): tests of the segment against the TCB.
CHECKS = _terms("check", [
    ("unacceptable", "3.10.7.4", "The segment fails the acceptability test of Table 6."),
    ("has_payload", "3.10.7.4", "The segment carries data (payload length > 0)."),
    ("fin_outside_window", "3.10.7.4",
     "It carries no text and its FIN lies at or beyond RCV.NXT+RCV.WND: trimmed off, so not acceptable."),
    ("beyond_rcv_nxt", "3.10.7.4",
     "The segment carries text or a FIN and begins beyond RCV.NXT: it is out of order (SHLD-31 holds it)."),
])

# Effects a transition may name among its actions.
EFFECTS = _terms("effect", [
    ("choose_iss", "3.4.1", "Choose the ISS (the caller's, else the 4-microsecond clock); SND.UNA = SND.NXT = ISS."),
    ("record_syn", "3.10.7.2", "IRS = SEG.SEQ, RCV.NXT = SEG.SEQ+1; take the peer's window."),
    ("mark_passive", "3.5", "Remember that the connection came from a passive OPEN (MUST-11)."),
    ("mark_active", "3.10.2", "The connection turns active (a SEND in LISTEN)."),
    ("accept_ack", "3.10.7.4", "SND.UNA = SEG.ACK when it advances; update the send window."),
    ("take_fin", "3.10.7.4", "RCV.NXT += 1 for the peer's FIN."),
    ("accept_data", "3.10.7.4", "Deliver the new in-order text inside the window; RCV.NXT advances over it."),
    ("hold", "3.10.7.4",
     "Hold the segment's text and FIN (without its SYN) for processing in sequence (SHLD-31; a SYN's text is "
     "queued until ESTABLISHED, §3.10.7.2-3)."),
    ("queue_data", "3.10.2", "Queue the SEND until the connection is established."),
    ("send_queued", "3.10.7.4", "Segmentize the queued SENDs (and a deferred CLOSE)."),
    ("defer_close", "3.10.4", "Queue the CLOSE until the connection is established."),
    ("flush", "3.10.7.4", "Flush the retransmission and send queues."),
    ("delete_tcb", "3.10.4", "Delete the TCB."),
    ("reset_for_listen", "3.10.7.4", "Forget the peer and keep listening (the TCB stays passive)."),
    ("orphan", "3.6.1",
     "The application closed its descriptor (BSD close(); MAY-1's half-duplex close): it will neither send nor "
     "receive again, the connection is an orphan (Linux SOCK_DEAD, RCV_SHUTDOWN)."),
    ("new_incarnation", "3.6.1",
     "Start a new incarnation of the connection from TIME-WAIT (MAY-2), keeping the old one's numbers."),
    ("back_to_time_wait", "3.6.1",
     "The reopening SYN was an old duplicate: take back the old incarnation's numbers (MAY-2 condition 2)."),
    ("retransmit", "3.8.1", "Resend the oldest unacknowledged segment; back off the RTO."),
    ("return", "3.10.7.4", 'Stop processing this segment (the RFC\'s "and return").'),
    ("accept_syn_data", "RFC 7413 §4.2.2",
     "A valid cookie: deliver the SYN's text at once (RCV.NXT advances over it, step 2a); the connection is "
     "Fast Open."),
    ("requeue_syn_data", "RFC 7413 §4.2.2",
     "The SYN,ACK acknowledged our SYN but not its data: SND.NXT = SND.UNA and the data goes back to the send "
     "queue, to be sent with the ACK (step 4)."),
])

# Where a sent segment's SEQ and ACK come from (`send: {seq: ..., ack: ...}`, RFC 9293 notation).
SEND_SEQ = _terms("seq", [
    ("SND.NXT", "3.3.1", "The next sequence number to send; the segment then advances SND.NXT by SEG.LEN."),
    ("ISS", "3.3.1", "Our initial send sequence number (a SYN sent again)."),
    ("SEG.ACK", "3.10.7.1", "The arriving segment's ACK field (the RST that answers an ACK)."),
    ("ZERO", "3.10.7.1", "Zero (an RST,ACK that answers a segment without ACK); the RFC notation writes `<SEQ=0>`."),
])
SEND_ACK = _terms("ack", [
    ("RCV.NXT", "3.3.1", "The next sequence number we expect to receive."),
    ("SEG.SEQ+SEG.LEN", "3.10.7.1", "Just past the arriving segment (the RST,ACK of a closed port)."),
])

# What a timer's duration is made of (`timers: - {name: ..., duration: {...}}`).
DURATIONS = _terms("duration", [
    ("seconds", "", "A fixed number of seconds, e.g. `duration: {seconds: 60}`."),
    ("msl", "3.4.2", "The Endpoint's `msl` (maximum segment lifetime, s) times `times`: `{param: msl, times: 2}`."),
    ("rto", "3.8.1", "The Endpoint's `rto` (s), doubled per retransmission when `backoff: true`."),
    ("user_timeout", "3.10.8", "The Endpoint's `user_timeout` (s); the timer is not armed when it is None."),
    ("fin_timeout", "Linux tcp_fin_timeout",
     "The Endpoint's `fin_timeout` (s, default 60): how long an orphan stays in FIN-WAIT-2 (tcp_fin_timeout)."),
])

# Rate limits a send may be subject to (`send: {..., throttle: NAME}`).
THROTTLES = _terms("throttle", [
    ("challenge_ack", "RFC 5961 §7",
     "At most the Endpoint's `challenge_ack_limit` (count, seconds; default 10 in 5 s) challenge ACKs are sent."),
])

# How a timer is armed (`timers: - {name: ..., armed: NAME}`).
ARMING = _terms("arming", [
    ("by_actions", "3.10.8", "By the transitions' `start:` / `restart:` actions (the default)."),
    ("while_unacknowledged", "3.8.1",
     "By the runtime while sent sequence numbers are unacknowledged: armed when the first is sent, restarted "
     "when SND.UNA advances, stopped when all are acknowledged (RFC 6298 §5; the user timeout of RFC 5482)."),
])

# The kinds of action a transition may list (besides effect names).
ACTIONS = _terms("action", [
    ("send", "3.10", "Emit a segment: `{send: {ctl: \"SYN,ACK\", seq: SND.NXT, ack: RCV.NXT}}` or the RFC's "
     "`\"<SEQ=SND.NXT><ACK=RCV.NXT><CTL=SYN,ACK>\"`; `data: true` carries the queued data."),
    ("notice", "3.10", "Tell the user, e.g. `{notice: \"connection reset\"}`."),
    ("error", "3.10.1", "Refuse a user call with the RFC's words, e.g. `{error: \"connection closing\"}`."),
    ("drop", "3.10.7", "Discard the arriving segment, with the reason; the segment's later steps are skipped."),
    ("start", "3.10.8", "Arm a timer (its duration comes from its declaration)."),
    ("restart", "3.10.8", "Arm a timer again from now."),
    ("stop", "3.10.8", "Disarm a timer, or `all`."),
])

# The control bits a send's `ctl:` and an arrival step's `flags:` / `without:` may name.
FLAGS = _terms("flag", [
    ("SYN", "3.1", "Synchronize sequence numbers."),
    ("FIN", "3.1", "No more data from sender."),
    ("RST", "3.1", "Reset the connection."),
    ("PSH", "3.1", "Push function."),
    ("ACK", "3.1", "Acknowledgment field is significant."),
    ("URG", "3.1", "Urgent pointer field is significant."),
])
if set(FLAGS) != set(Flags.__members__):  # pragma: no cover - a programming error
    raise LookupError(f"FLAGS {sorted(FLAGS)} differ from tcpfsm.base.Flags {sorted(Flags.__members__)}")

VOCABULARY: dict[str, dict[str, Term]] = {
    "predicate": PREDICATES, "check": CHECKS, "effect": EFFECTS, "seq": SEND_SEQ, "ack": SEND_ACK,
    "duration": DURATIONS, "throttle": THROTTLES, "arming": ARMING, "action": ACTIONS, "flag": FLAGS,
}

# What each kind of term is, and where a spec writes it (for `tcpfsm spec vocabulary` and the docs).
KINDS: dict[str, str] = {
    "predicate": "Predicates a guard names (`guards: - {name: ..., predicate: NAME}`; default: the guard's name).",
    "check": "Checks an arrival step names (`check: NAME`), declared under `checks:`.",
    "effect": "Effects a transition names among its `actions:` (a bare name).",
    "seq": "Where a sent segment's SEQ comes from (`send: {seq: NAME}` or `<SEQ=NAME>`).",
    "ack": "Where a sent segment's ACK comes from (`send: {ack: NAME}` or `<ACK=NAME>`).",
    "duration": "What a timer's `duration:` is made of (`{seconds: N}` or `{param: NAME, times: N}`).",
    "throttle": "Rate limits a sent segment may be subject to (`send: {ctl: ACK, ..., throttle: NAME}`).",
    "arming": "How a timer is armed (`timers: - {name: ..., armed: NAME}`; default by_actions).",
    "action": "The kinds of action a transition lists, besides effect names (`{KIND: ARG}`).",
    "flag": "TCP control bits (`ctl: \"SYN,ACK\"`, `<CTL=SYN,ACK>`, arrival `flags:` and `without:`).",
}


def terms() -> Iterator[Term]:
    """Every term, kind by kind."""
    for table in VOCABULARY.values():
        yield from table.values()


F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """Implementations bound to the declared names of one kind, by decorator.

    >>> reg: Registry[Callable[[], int]] = Registry("check", CHECKS)
    >>> @reg("has_payload")
    ... def _f() -> int: return 1
    >>> reg.missing()
    ['unacceptable']
    """

    def __init__(self, kind: str, declared: dict[str, Term]) -> None:
        self.kind, self.declared = kind, declared
        self.impl: dict[str, F] = {}

    def __call__(self, name: str) -> Callable[[F], F]:
        if name not in self.declared:
            raise LookupError(f"{self.kind} {name!r} is not declared in tcpfsm.spec._vocabulary "
                              f"(declared: {', '.join(sorted(self.declared))})")
        if name in self.impl:
            raise LookupError(f"{self.kind} {name!r} is implemented twice")

        def bind(func: F) -> F:
            self.impl[name] = func
            return func
        return bind

    def missing(self) -> list[str]:
        return sorted(set(self.declared) - set(self.impl))

    def complete(self) -> dict[str, F]:
        """The bound implementations; raises naming every declared name without one."""
        gap = self.missing()
        if gap:
            raise LookupError(f"{self.kind}s declared without an implementation: {', '.join(gap)}")
        return self.impl
