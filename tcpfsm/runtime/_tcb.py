"""The transmission control block (RFC 9293 §3.3.1) and the named predicates over it.

Guards in a spec name a predicate, and arrival steps a check, of the vocabulary
(:mod:`tcpfsm.spec._vocabulary`); each is bound here to a plain function of (TCB, segment)
by a decorator that refuses undeclared names. Nothing in a spec is ever evaluated as code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from tcpfsm.base._segment import SEQ_MOD, Flags, Segment, seq_add, seq_between, seq_le, seq_lt
from tcpfsm.spec import _vocabulary as vocabulary
from tcpfsm.spec._vocabulary import Registry

_FIN, _SYN, _RST, _ACK = (int(f) for f in (Flags.FIN, Flags.SYN, Flags.RST, Flags.ACK))


@dataclass
class TCB:
    """Connection variables of one endpoint (RFC 9293 §3.3.1), sequence numbers mod 2**32."""

    iss: int = 0
    irs: int = 0
    snd_una: int = 0
    snd_nxt: int = 0
    snd_wnd: int = 0
    snd_wl1: int = 0
    snd_wl2: int = 0
    max_snd_wnd: int = 0
    rcv_nxt: int = 0
    rcv_wnd: int = 65535
    passive: bool = False          # came from a passive OPEN (MUST-11, §3.5)
    syn_received: bool = False     # IRS is known
    fin_sent: bool = False         # our FIN has a sequence number (SND.NXT counts it)
    fin_received: bool = False     # the peer's FIN was taken (RCV.NXT counts it)
    close_deferred: bool = False   # CLOSE in SYN-RECEIVED with data queued (§3.10.4)
    rcv_shut: bool = False         # the application will not receive again (shutdown(read) or full_close)
    orphan: bool = False           # the application closed its descriptor (full_close; Linux SOCK_DEAD)
    retries: int = 0               # retransmissions of the current head
    max_retries: int = 6           # R2 for data as a count (§3.8.3): 127 s at RTO 1 s (SHLD-11: >= 100 s)
    max_syn_retries: int = 7       # R2 for a SYN as a count: 255 s at RTO 1 s (MUST-23: >= 3 minutes)
    incarnation: int = 0
    reopened: bool = False         # reopened from TIME-WAIT by a SYN (MAY-2); tw_* keep the old numbers
    tw_snd_nxt: int = 0
    tw_rcv_nxt: int = 0
    queued: int = 0                # bytes of SENDs not yet segmentized
    unread: int = 0                # bytes delivered in order that the user has not read
    tfo_cookie: bool = False       # TCP Fast Open: a cookie is held / SYN cookies are valid (RFC 7413 §4.1)
    fastopen_connect: bool = False  # Linux TCP_FASTOPEN_CONNECT: a deferred connect
    fast_open: bool = False        # this connection's SYN data was accepted by a valid cookie (RFC 7413 §4.2.2)
    timers: dict[str, float] = field(default_factory=dict)  # armed timer -> deadline

    @property
    def fin_seq(self) -> int:
        """The sequence number of our FIN (valid when ``fin_sent``)."""
        return seq_add(self.snd_nxt, -1)


Predicate = Callable[[TCB, Segment], bool]

# one implementation per declared name (tcpfsm.spec._vocabulary); complete() checks at import
predicate: Registry[Predicate] = Registry("predicate", vocabulary.PREDICATES)
check: Registry[Predicate] = Registry("check", vocabulary.CHECKS)


@predicate("ack_set")
def _ack_set(t: TCB, s: Segment) -> bool:
    return bool(s.bits & _ACK)


@predicate("ack_acceptable")
def _ack_acceptable(t: TCB, s: Segment) -> bool:
    # §3.10.7.3 / §3.10.7.4 fifth: SND.UNA < SEG.ACK =< SND.NXT
    return bool(s.bits & _ACK) and seq_lt(t.snd_una, s.ack) and seq_le(s.ack, t.snd_nxt)


@predicate("ack_above_snd_nxt")
def _ack_above_snd_nxt(t: TCB, s: Segment) -> bool:
    return seq_lt(t.snd_nxt, s.ack)


@predicate("ack_outside_5961_window")
def _ack_outside_5961_window(t: TCB, s: Segment) -> bool:
    # RFC 5961 §5: acceptable iff SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT
    low = seq_add(t.snd_una, -t.max_snd_wnd)
    return not (seq_le(low, s.ack) and seq_le(s.ack, t.snd_nxt))


@predicate("acks_our_fin")
def _acks_our_fin(t: TCB, s: Segment) -> bool:
    return t.fin_sent and bool(s.bits & _ACK) and s.ack == t.snd_nxt


@predicate("fin_acked")
def _fin_acked(t: TCB, s: Segment) -> bool:
    return t.fin_sent and t.snd_una == t.snd_nxt


@predicate("fin_follows")
def _fin_follows(t: TCB, s: Segment) -> bool:
    return bool(s.bits & _FIN)


@predicate("fin_in_sequence")
def _fin_in_sequence(t: TCB, s: Segment) -> bool:
    # the FIN survived trimming (guards see the trimmed segment) and the segment is not held
    return bool(s.bits & _FIN) and seq_le(s.seq, t.rcv_nxt)


@predicate("reopened")
def _reopened(t: TCB, s: Segment) -> bool:
    return t.reopened


@predicate("passive")
def _passive(t: TCB, s: Segment) -> bool:
    return t.passive


@predicate("seq_in_window")
def _seq_in_window(t: TCB, s: Segment) -> bool:
    if t.rcv_wnd == 0:
        return s.seq == t.rcv_nxt
    return seq_between(t.rcv_nxt, s.seq, seq_add(t.rcv_nxt, t.rcv_wnd))


@predicate("seq_exact")
def _seq_exact(t: TCB, s: Segment) -> bool:
    return s.seq == t.rcv_nxt


@predicate("completes_simultaneous_open")
def _completes_simultaneous_open(t: TCB, s: Segment) -> bool:
    return s.has(Flags.SYN | Flags.ACK) and t.syn_received and s.seq == t.irs and _ack_acceptable(t, s)


@predicate("fin_retransmitted")
def _fin_retransmitted(t: TCB, s: Segment) -> bool:
    return bool(s.bits & _FIN) and t.fin_received and seq_add(s.seq, s.seg_len) == t.rcv_nxt


@predicate("request_syn_retransmitted")
def _request_syn_retransmitted(t: TCB, s: Segment) -> bool:
    # Linux tcp_check_req: flg (RST|SYN|ACK of the segment) == TCP_FLAG_SYN and SEG.SEQ = rcv_isn
    return t.passive and t.syn_received and s.bits & (_SYN | _ACK | _RST) == _SYN and s.seq == t.irs


@predicate("syn_beyond_old")
def _syn_beyond_old(t: TCB, s: Segment) -> bool:
    return (s.bits & (_SYN | _ACK)) == _SYN and seq_lt(t.rcv_nxt, s.seq)


@predicate("data_queued")
def _data_queued(t: TCB, s: Segment) -> bool:
    return t.queued > 0


@predicate("orphaned")
def _orphaned(t: TCB, s: Segment) -> bool:
    return t.orphan


@predicate("receive_shut")
def _receive_shut(t: TCB, s: Segment) -> bool:
    return t.rcv_shut


@predicate("data_unread")
def _data_unread(t: TCB, s: Segment) -> bool:
    return t.unread > 0


@predicate("retries_exhausted")
def _retries_exhausted(t: TCB, s: Segment) -> bool:
    # while our SYN is unacknowledged (SND.UNA = ISS) the SYN's threshold applies (MUST-23)
    return t.retries >= (t.max_syn_retries if t.snd_una == t.iss else t.max_retries)


@predicate("tfo_cookie")
def _tfo_cookie(t: TCB, s: Segment) -> bool:
    return t.tfo_cookie


@predicate("fastopen_connect")
def _fastopen_connect(t: TCB, s: Segment) -> bool:
    return t.fastopen_connect


@predicate("syn_unsent")
def _syn_unsent(t: TCB, s: Segment) -> bool:
    return t.snd_nxt == t.iss and not t.syn_received


@predicate("fast_open")
def _fast_open(t: TCB, s: Segment) -> bool:
    return t.fast_open


@predicate("icmp_in_window")
def _icmp_in_window(t: TCB, s: Segment) -> bool:
    return seq_le(t.snd_una, s.seq) and seq_le(s.seq, t.snd_nxt)


@predicate("ack_below_snd_nxt")
def _ack_below_snd_nxt(t: TCB, s: Segment) -> bool:
    return seq_lt(s.ack, t.snd_nxt)


@check("unacceptable")
def _unacceptable(t: TCB, s: Segment) -> bool:
    """RFC 9293 §3.10.7.4 Table 6: the four cases of segment acceptability."""
    seg_len = s.seg_len
    if t.rcv_wnd == 0:
        # Table 6 accepts only SEG.LEN = 0 at RCV.NXT, "but special allowance should be made to accept
        # valid ACKs, URGs, and RSTs": a segment at RCV.NXT is processed for its controls and its
        # text is then trimmed off (the arrival step `trim: window`).
        return s.seq != t.rcv_nxt
    end = seq_add(t.rcv_nxt, t.rcv_wnd)
    if seg_len == 0:
        return not seq_between(t.rcv_nxt, s.seq, end)
    last = seq_add(s.seq, seg_len - 1)
    return not (seq_between(t.rcv_nxt, s.seq, end) or seq_between(t.rcv_nxt, last, end))


@check("has_payload")
def _has_payload(t: TCB, s: Segment) -> bool:
    return s.length > 0


@check("fin_outside_window")
def _fin_outside_window(t: TCB, s: Segment) -> bool:
    return bool(s.bits & _FIN) and s.length == 0 and not seq_between(t.rcv_nxt, s.seq, seq_add(t.rcv_nxt, t.rcv_wnd))


@check("beyond_rcv_nxt")
def _beyond_rcv_nxt(t: TCB, s: Segment) -> bool:
    return bool(s.length > 0 or s.bits & _FIN) and seq_lt(t.rcv_nxt, s.seq)


def trim_to_window(t: TCB, s: Segment) -> Segment:
    """The segment with its text and FIN beyond RCV.NXT+RCV.WND cut off (RFC 9293 §3.10.7.4:
    "trimming off any portions that lie outside the window (including SYN and FIN)")."""
    if s.bits & _SYN or not (s.length or s.bits & _FIN):
        return s
    edge = seq_add(t.rcv_nxt, t.rcv_wnd)
    keep = 0 if seq_le(edge, s.seq) else min(s.length, (edge - s.seq) % SEQ_MOD)
    fin = bool(s.bits & _FIN) and keep == s.length and seq_lt(seq_add(s.seq, s.length), edge)
    if keep == s.length and fin == bool(s.bits & _FIN):
        return s
    flags = s.flags if fin else s.flags & ~Flags.FIN
    payload = s.payload[:keep] if s.payload is not None else None
    return dataclasses.replace(s, flags=flags, length=keep, payload=payload)


PREDICATES: dict[str, Predicate] = predicate.complete()
CHECKS: dict[str, Predicate] = check.complete()
