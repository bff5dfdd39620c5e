"""The RFC's own segment notation for tests, and endpoints driven to each state with known numbers.

Every test in ``tests/rfc`` writes the segments it feeds and the segments it expects in the
notation of RFC 9293 (§3.5, §3.10): ``<SEQ=300><ACK=101><CTL=SYN,ACK>``, with ``<DATA=n>`` for
n octets of text and ``<WND=n>`` where the window matters. The expected values come from the
RFC sentence each test quotes; nothing here reads them from tcpfsm.

Numbers. Unless a test says otherwise the endpoint under test is TCP Peer B of RFC 9293
Figure 6 (ISS = 300) and its peer is TCP Peer A (ISS = 100). The sequence numbers after each
step follow from two RFC rules only: a SYN and a FIN each occupy one sequence number
(§3.4), and RCV.NXT advances over what was accepted (§3.10.7.4). ``NXT`` lists the resulting
(SND.NXT, RCV.NXT) of every state :func:`in_state` drives an endpoint to.

Text. A segment built with ``<DATA=n>`` carries the octets ``octets(SEG.SEQ, n)``: the octet at
sequence number s is ``s % 256``, so what ``read()`` returns shows which sequence numbers were
delivered, and in which order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tcpfsm import Endpoint, Flags, Segment, State

# Every profile, and the groups of them an RFC sentence applies to.
ALL = ("rfc9293", "rfc793", "rfc5961", "rfc1337", "linux")
#: RFC 9293 §3.5.3: "A reset is valid if its sequence number is in the window" (no RFC 5961).
RST_IN_WINDOW = ("rfc9293", "rfc793", "rfc1337")
#: RFC 5961 §3.2: only an RST with SEQ = RCV.NXT resets; an in-window one draws a challenge ACK.
RST_EXACT = ("rfc5961", "linux")
#: RFC 9293 §3.10.7.4 "fourth" (RFC 5961 §4.2): a SYN in a synchronized state draws a challenge ACK.
SYN_CHALLENGE = ("rfc9293", "rfc5961", "rfc1337", "linux")
#: RFC 9293 §3.6.1 MAY-2: a new SYN may reopen the connection from TIME-WAIT (not in RFC 793).
REOPEN = ("rfc9293", "rfc5961", "rfc1337", "linux")
#: RFC 9293 §3.10.7.4 "second": an RST in TIME-WAIT enters CLOSED (RFC 1337 ignores it).
TIME_WAIT_RST_CLOSES = ("rfc9293", "rfc793", "rfc5961", "linux")

SEQ_MOD = 1 << 32
MSL = 120.0  # RFC 9293 §3.4.2: "For this specification the MSL is taken to be 2 minutes."

ISS_B, ISS_A = 300, 100  # RFC 9293 Figure 6: B (under test) sends from 300, A from 100

# (SND.NXT, RCV.NXT) of the endpoint under test in each state in_state() reaches (see above)
NXT: dict[str, tuple[int, int]] = {
    "SYN-RECEIVED": (301, 101),          # our SYN at 300, the peer's SYN at 100
    "SYN-RECEIVED/active": (301, 101),   # the same numbers, reached from SYN-SENT (simultaneous open)
    "ESTABLISHED": (301, 101),
    "FIN-WAIT-1": (302, 101),            # our FIN at 301
    "FIN-WAIT-2": (302, 101),
    "CLOSING": (302, 102),               # the peer's FIN at 101
    "TIME-WAIT": (302, 102),
    "CLOSE-WAIT": (301, 102),
    "LAST-ACK": (302, 102),
}
SYNCHRONIZED = ("ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT")

_FIELD = re.compile(r"<(SEQ|ACK|CTL|DATA|WND)=([^>]*)>")


def octets(seq: int, n: int) -> bytes:
    """The text a test peer sends at sequence numbers seq .. seq+n-1 (one octet per number)."""
    return bytes((seq + i) % SEQ_MOD % 256 for i in range(n))


def _fields(text: str) -> dict[str, str]:
    found = dict(_FIELD.findall(text))
    if _FIELD.sub("", text).strip():
        raise ValueError(f"not RFC segment notation: {text!r}")
    if "SEQ" not in found or "CTL" not in found:
        raise ValueError(f"a segment needs <SEQ=..> and <CTL=..>: {text!r}")
    if ("ACK" in found) != bool(Flags.parse(found["CTL"]) & Flags.ACK):
        raise ValueError(f"<ACK=..> goes with the ACK control bit and only with it: {text!r}")
    return found


def seg(text: str, payload: bytes | None = None) -> Segment:
    """A segment from RFC notation, e.g. ``seg("<SEQ=101><ACK=301><CTL=ACK><DATA=10>")``."""
    f = _fields(text)
    seq = int(f["SEQ"]) % SEQ_MOD
    n = int(f.get("DATA", "0"))
    if payload is None and n:
        payload = octets(seq + (1 if "SYN" in f["CTL"] else 0), n)
    return Segment(seq=seq, ack=int(f.get("ACK", "0")) % SEQ_MOD, flags=Flags.parse(f["CTL"]),
                   window=int(f.get("WND", "65535")), length=n if payload is None else 0, payload=payload)


def rfc(s: Segment | None, *, wnd: bool = False) -> str:
    """A segment in RFC notation (the ACK field only when the ACK bit is on, as the RFC writes it)."""
    if s is None:
        return "(nothing)"
    out = f"<SEQ={s.seq}>"
    if s.flags & Flags.ACK:
        out += f"<ACK={s.ack}>"
    out += f"<CTL={s.flags}>"
    if s.length:
        out += f"<DATA={s.length}>"
    if wnd:
        out += f"<WND={s.window}>"
    return out


def _normal(text: str) -> str:
    return rfc(seg(text), wnd="<WND=" in text)


def assert_sent(out: Sequence[Segment], *expected: str) -> None:
    """``out`` is exactly the segments ``expected`` (RFC notation), in order.

    Flags, SEQ, ACK (when the ACK bit is on) and the text length are always compared; the
    window only where the expectation writes ``<WND=n>``.
    """
    n = max(len(out), len(expected))
    got = [rfc(out[i] if i < len(out) else None, wnd=i < len(expected) and "<WND=" in expected[i])
           for i in range(n)]
    want = [_normal(e) if i < len(expected) else "(nothing)" for i, e in enumerate(expected)]
    want += ["(nothing)"] * (n - len(want))
    assert got == want


def assert_last(out: Sequence[Segment], expected: str) -> None:
    """The last segment of ``out`` is ``expected`` (where the RFC leaves the number of ACKs open)."""
    assert out, f"nothing was sent; expected {expected}"
    assert rfc(out[-1], wnd="<WND=" in expected) == _normal(expected)


def nothing_sent(out: Sequence[Segment]) -> None:
    assert [rfc(s) for s in out] == []


def feed(ep: Endpoint, *texts: str) -> list[Segment]:
    """Deliver segments (RFC notation) in order; return everything the endpoint sent."""
    out: list[Segment] = []
    for t in texts:
        out += ep.receive(seg(t))
    return out


def run_until_state_leaves(ep: Endpoint, state: State, limit: float = 10_000.0) -> float | None:
    """Fire timers in clock order until the state is no longer ``state``; return that clock value.

    Returns None when the endpoint was still in ``state`` with no timer armed, or at ``limit``.
    """
    for _ in range(10_000):
        if ep.state is not state:
            return ep.now
        d = ep.next_deadline()
        if d is None or d > limit:
            return None
        ep.tick(d)
    return None


def notices(ep: Endpoint) -> list[str]:
    return [n.text for n in ep.take_notices()]


# ----------------------------------------------------------------- driving to a state
def listening(profile: str, **kw: object) -> Endpoint:
    ep = Endpoint(iss=ISS_B, profile=profile, **kw)  # type: ignore[arg-type]
    assert ep.listen() == []
    return ep


def passive_established(profile: str, **kw: object) -> Endpoint:
    """B: passive OPEN, Figure 6 lines 2-4 as B sees them."""
    ep = listening(profile, **kw)
    feed(ep, "<SEQ=100><CTL=SYN>", "<SEQ=101><ACK=301><CTL=ACK>")
    assert ep.state is State.ESTABLISHED
    return ep


def active_established(profile: str, *, iss: int = ISS_A, irs: int = ISS_B, **kw: object) -> Endpoint:
    """A: active OPEN, Figure 6 lines 2-4 as A sees them (SND.NXT = iss+1, RCV.NXT = irs+1)."""
    ep = Endpoint(iss=iss, profile=profile, **kw)  # type: ignore[arg-type]
    ep.connect()
    feed(ep, f"<SEQ={irs}><ACK={(iss + 1) % SEQ_MOD}><CTL=SYN,ACK>")
    assert ep.state is State.ESTABLISHED
    return ep


def in_state(name: str, profile: str, **kw: object) -> Endpoint:
    """Endpoint B (ISS 300, peer ISS 100) in state ``name``, with the numbers of ``NXT``."""
    if name == "SYN-RECEIVED/active":
        ep = Endpoint(iss=ISS_B, profile=profile, **kw)  # type: ignore[arg-type]
        ep.connect()                                     # <SEQ=300><CTL=SYN>
        feed(ep, "<SEQ=100><CTL=SYN>")                   # simultaneous open (Figure 7 line 3)
    elif name == "SYN-RECEIVED":
        ep = listening(profile, **kw)
        feed(ep, "<SEQ=100><CTL=SYN>")
    else:
        ep = passive_established(profile, **kw)
        steps = {
            "ESTABLISHED": [],
            "FIN-WAIT-1": ["close"],
            "FIN-WAIT-2": ["close", "<SEQ=101><ACK=302><CTL=ACK>"],
            "CLOSING": ["close", "<SEQ=101><ACK=301><CTL=FIN,ACK>"],
            "TIME-WAIT": ["close", "<SEQ=101><ACK=302><CTL=ACK>", "<SEQ=101><ACK=302><CTL=FIN,ACK>"],
            "CLOSE-WAIT": ["<SEQ=101><ACK=301><CTL=FIN,ACK>"],
            "LAST-ACK": ["<SEQ=101><ACK=301><CTL=FIN,ACK>", "close"],
        }[name]
        for step in steps:
            if step == "close":
                ep.close()
            else:
                feed(ep, step)
    assert ep.state_name == name.split("/")[0], f"could not drive {profile} to {name}"
    ep.take_notices()
    return ep


def seq_gt(a: int, b: int) -> bool:
    """a > b in sequence space (RFC 9293 §3.4, modulo 2**32)."""
    return a != b and (a - b) % SEQ_MOD < (1 << 31)


def data_octets(out: Iterable[Segment]) -> list[tuple[int, int]]:
    """(first sequence number of text, length) of each text-bearing segment in ``out``."""
    return [((s.seq + (1 if s.flags & Flags.SYN else 0)) % SEQ_MOD, s.length) for s in out if s.length]
