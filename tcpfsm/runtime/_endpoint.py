"""``Endpoint``: one sans-IO TCP endpoint (the control plane), executed by ``transitions``.

Theory of operation
-------------------
Inputs are user calls (``listen``, ``connect``, ``send``, ``close``, ``abort``), arriving
``Segment`` values (``receive``) and timer expiries (``timeout``, or ``tick(now)`` with an
explicit clock). Each call returns the segments to transmit, as values. Notices for the
user ("connection reset", ...) are collected in ``notices`` / ``take_notices()``, and every
transition taken is reported to observers as a :class:`Step` (id, RFC section, states).

A user call or a timer is one spec event. An arriving segment becomes one or more spec
events by the arrival steps of the state's group (RFC 9293 §3.10.7, in the RFC's order,
declared in the spec). Each event is fired through the spec's shared
``transitions.Machine``: it evaluates the named guards and changes the state; the
transition's actions then run in order against the TCB. The Endpoint itself knows no state
and no transition by name: everything comes from the spec.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import operator
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tcpfsm.base._errors import ObserverError, SpecGap, TcpFsmError, TimerNotArmed, user_call_error
from tcpfsm.base._segment import SEQ_MOD, Flags, Segment, seq_add, seq_le, seq_lt
from tcpfsm.runtime._machine import MODEL_ATTRIBUTE, CompiledMachine, State, StateBase, machine_for
from tcpfsm.runtime._tcb import CHECKS, TCB, trim_to_window
from tcpfsm.spec import USER, Send, Spec, Transition, resolve_spec
from tcpfsm.spec import _vocabulary as vocabulary
from tcpfsm.spec._vocabulary import Registry

EffectImpl = Callable[["Endpoint", Segment], None]
effect: Registry[EffectImpl] = Registry("effect", vocabulary.EFFECTS)

# transitions.MachineError, once the transitions engine is first used (its import is lazy)
_MACHINE_ERRORS: tuple[type[BaseException], ...] = ()


def _transitions_machine(compiled: CompiledMachine) -> Any:
    global _MACHINE_ERRORS
    if not _MACHINE_ERRORS:
        from transitions import MachineError

        _MACHINE_ERRORS = (MachineError,)
    return compiled.machine


@dataclass(frozen=True)
class EndpointState:
    """Everything an Endpoint needs to go on from where it was: frozen, hashable, comparable.

    ``Endpoint.snapshot()`` makes one and ``Endpoint.restore()`` takes one, so that a model
    checker, a fuzzer or a monitor can branch an endpoint without touching its insides.
    ``tcb`` holds the TCB's fields (RFC 9293 §3.3.1) as (name, value) pairs, without the
    timers, which are in ``timers`` as (name, deadline) pairs.
    """

    state: str
    tcb: tuple[tuple[str, Any], ...]
    timers: tuple[tuple[str, float], ...] = ()
    retransmission_queue: tuple[Segment, ...] = ()
    send_buffer: bytes = b""
    receive_buffer: bytes = b""
    next_iss: int | None = None
    last_iss: int | None = None
    close_deferred_in: str = ""
    now: float = 0.0
    held: tuple[Segment, ...] = ()  # out-of-order text and FINs held for processing in sequence (SHLD-31)
    challenge_acks: tuple[float, ...] = ()  # when the recent challenge ACKs were sent (RFC 5961 §7)

    def tcb_value(self, name: str) -> Any:
        """One TCB field, e.g. ``snap.tcb_value("snd_nxt")``."""
        return dict(self.tcb)[name]

    def replace(self, **changes: Any) -> EndpointState:
        """A copy with some fields changed; ``tcb`` changes go by field name (``snd_nxt=5``)."""
        fields = {f.name for f in dataclasses.fields(self)}
        own = {k: v for k, v in changes.items() if k in fields}
        tcb = {k: v for k, v in changes.items() if k not in fields}
        unknown = set(tcb) - set(_TCB_FIELDS)
        if unknown:
            raise TypeError(f"no such field of an EndpointState or its TCB: {', '.join(sorted(unknown))}")
        if tcb:
            own["tcb"] = tuple((k, tcb.get(k, v)) for k, v in self.tcb)
        return dataclasses.replace(self, **own)


_TCB_FIELDS = tuple(f.name for f in dataclasses.fields(TCB) if f.name != "timers")


@dataclass(frozen=True)
class Notice:
    """A message for the user, e.g. "connection reset" (RFC 9293 §3.10)."""

    text: str
    transition: str
    state: StateBase

    def __str__(self) -> str:
        return self.text


class Step(NamedTuple):
    """One transition taken: what happened, by which spec row, with what effect (immutable)."""

    event: str
    source: StateBase
    target: StateBase
    transition: str
    rfc: str
    segment: Segment | None = None
    sent: tuple[Segment, ...] = ()
    notices: tuple[str, ...] = ()
    dropped: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.name, "event": self.event, "from": str(self.source), "to": str(self.target),
            "transition": self.transition, "rfc": self.rfc,
            "segment": self.segment.to_dict() if self.segment else None,
            "sent": [s.to_dict() for s in self.sent], "notices": list(self.notices), "dropped": self.dropped,
        }


_NO_SEGMENT = Segment()


class Endpoint:
    """A sans-IO TCP endpoint built from a spec (default: ``specs/tcp.yaml``, profile rfc9293).

    >>> from tcpfsm import Endpoint, State
    >>> ep = Endpoint(iss=1000)
    >>> [syn] = ep.connect()
    >>> str(syn), ep.state is State.SYN_SENT
    ('SYN seq=1000', True)

    Parameters: ``iss`` (the first initial send sequence number; by default it is derived
    from the clock value as RFC 9293 §3.4.1's 4-microsecond counter), ``spec`` or
    ``profile``, ``rcv_wnd``, ``rto`` (s), ``msl`` (s; TIME-WAIT lasts 2*MSL), ``user_timeout``
    (s or None), ``fin_timeout`` (s; the linux profile's orphan FIN-WAIT-2 timer, Linux's
    ``tcp_fin_timeout``, 60 s), ``max_retries`` (R2 as a count), ports, ``now`` (the clock value), ``name``.
    Timer durations are declared in the spec (``timers:``) in terms of ``rto``, ``msl`` and
    ``user_timeout``, or in seconds (the linux profile's 60 s FIN-WAIT-2 timer).
    ``max_retries`` and ``max_syn_retries`` are R2 as counts of retransmissions (§3.8.3); with
    the default RTO of 1 s they give up after 127 s on data (SHLD-11: at least 100 s) and 255 s
    on a SYN (MUST-23: at least 3 minutes). ``challenge_ack_limit`` is RFC 5961 §7's throttle,
    (count, seconds), or None for none. ``iss_secret`` is the key of RFC 6528's F() (random per
    process by default; pass one to make the default ISSs reproducible).

    Every argument is checked when the endpoint is made (TypeError for a wrong type,
    ValueError for a value out of range): ``iss`` 0 to 2**32-1; ``rto``, ``msl`` and
    ``user_timeout`` finite seconds above 0; ``rcv_wnd`` 0 to 2**30 (RFC 7323 §2.3);
    ``max_retries`` and ``max_syn_retries`` 0 to 100; ports 0 to 65535. ``spec`` is a
    :class:`Spec` or the path of a spec file; ``profile`` is a shipped profile's name, never a
    path. A segment, a clock value or a byte count of the wrong type or range is refused the
    same way, before anything changes.

    ``copy.copy(ep)``, ``copy.deepcopy(ep)`` and pickling give an independent endpoint, as
    :meth:`clone` does (same spec, settings, state and notices; observers stay behind).
    Observers are called once a call has been applied in full; if one raises, the call's
    segments are not lost: :class:`~tcpfsm.base.ObserverError` carries them.
    """

    def __init__(
        self,
        iss: int | None = None,
        *,
        spec: Spec | str | os.PathLike[str] | None = None,
        profile: str | None = None,
        rcv_wnd: int = 65535,
        rto: float = 1.0,
        msl: float = 120.0,
        user_timeout: float | None = None,
        fin_timeout: float = 60.0,
        max_retries: int = 6,
        max_syn_retries: int = 7,
        tfo_cookie: bool = False,
        fastopen_connect: bool = False,
        challenge_ack_limit: tuple[int, float] | None = (10, 5.0),
        iss_secret: bytes | None = None,
        local_port: int | None = None,
        remote_port: int | None = None,
        now: float = 0.0,
        name: str | None = None,
        engine: str = "transitions",
    ) -> None:
        _check_settings(iss=iss, rcv_wnd=rcv_wnd, rto=rto, msl=msl, user_timeout=user_timeout, fin_timeout=fin_timeout,
                        max_retries=max_retries, max_syn_retries=max_syn_retries,
                        challenge_ack_limit=challenge_ack_limit, iss_secret=iss_secret,
                        local_port=local_port, remote_port=remote_port, now=now, name=name,
                        tfo_cookie=tfo_cookie, fastopen_connect=fastopen_connect)
        if engine not in ("transitions", "table"):
            raise ValueError(f"engine must be 'transitions' or 'table', not {engine!r:.40}")
        if isinstance(spec, str | os.PathLike):
            self.spec = resolve_spec(file=os.fspath(spec), profile=profile)  # a spec file of the caller's
        elif spec is not None and not isinstance(spec, Spec):
            raise TypeError(f"spec must be a Spec (tcpfsm.load_spec(...)) or a spec file's path, "
                            f"not {type(spec).__name__}")
        else:
            self.spec = resolve_spec(spec, profile=profile)
        self.engine = engine
        self.compiled = compiled = machine_for(self.spec)
        self._table = compiled.table
        self._machine: Any = _transitions_machine(compiled) if engine == "transitions" else None
        self._state_group, self._steps_of = compiled.state_group, compiled.steps_of
        self._event_kind, self._timer_event = compiled.event_kind, compiled.timer_event
        self._by_name: dict[str, StateBase] = compiled.by_name
        setattr(self, MODEL_ATTRIBUTE, self.spec.initial)
        self.next_iss = iss  # the ISS the next OPEN uses (then the clock decides)
        self._config = {"rcv_wnd": rcv_wnd, "rto": rto, "msl": msl, "user_timeout": user_timeout,
                        "fin_timeout": fin_timeout,
                        "max_retries": max_retries, "max_syn_retries": max_syn_retries,
                        "challenge_ack_limit": challenge_ack_limit, "iss_secret": iss_secret,
                        "local_port": local_port, "remote_port": remote_port,
                        "tfo_cookie": tfo_cookie, "fastopen_connect": fastopen_connect}
        self._rcv_wnd = rcv_wnd
        self._max_retries, self._max_syn_retries = max_retries, max_syn_retries
        self.challenge_ack_limit = challenge_ack_limit
        self._iss_secret = _PROCESS_SECRET if iss_secret is None else bytes(iss_secret)
        self.now = float(now)
        self._unacked_timers = compiled.unacked_timers
        self._resume_at = compiled.resume_at
        self.rto, self.msl, self.user_timeout = rto, msl, user_timeout
        self.fin_timeout = fin_timeout  # Linux net.ipv4.tcp_fin_timeout: the orphan's FIN-WAIT-2 timer (linux)
        self.local_port, self.remote_port = local_port, remote_port
        self.name = name
        self._tcb = self._fresh_tcb()
        self._rtx: list[Segment] = []
        self._send_buffer = bytearray()
        self._receive_buffer = bytearray()
        self._out: list[Segment] = []
        self._steps: list[Step] = []
        self._fired: Transition | None = None
        self._deferred_in = ""
        self._last_iss: int | None = None
        self._call_data: bytes | int = 0
        self._held: list[Segment] = []
        self._challenges: list[float] = []
        self._observers: list[Callable[[Step], None]] = []
        self.notices: list[Notice] = []
        self.last_steps: list[Step] = []

    # ------------------------------------------------------------------ views
    @property
    def state(self) -> StateBase:
        """The current state, a member of the spec's own ``State`` enum (``self.compiled.State``)."""
        return self._by_name[getattr(self, MODEL_ATTRIBUTE)]

    @property
    def state_name(self) -> str:
        """The current state's RFC name, e.g. ``"SYN-RECEIVED"``."""
        return str(getattr(self, MODEL_ATTRIBUTE))

    @property
    def tcb(self) -> TCB:
        """The transmission control block (read it; do not change it)."""
        return self._tcb

    @property
    def armed_timers(self) -> dict[str, float]:
        """Armed timers and their deadlines (clock values)."""
        return dict(self._tcb.timers)

    def observe(self, callback: Callable[[Step], None]) -> None:
        """Call ``callback(step)`` for every transition this endpoint takes, once the call that
        took it has been applied in full (see :class:`~tcpfsm.base.ObserverError`)."""
        if not callable(callback):
            raise TypeError(f"observe() takes a callable, not {type(callback).__name__}")
        self._observers.append(callback)

    def take_notices(self) -> list[Notice]:
        """Return and forget the notices collected so far."""
        out, self.notices = self.notices, []
        return out

    def read(self, max_bytes: int | None = None) -> bytes:
        """RECEIVE: take bytes delivered in order (RFC 9293 §3.10.3); at most ``max_bytes`` (>= 0)."""
        if max_bytes is not None:
            max_bytes = _count("read() max_bytes", max_bytes, sys.maxsize)
        n = len(self._receive_buffer) if max_bytes is None else max_bytes
        out = bytes(self._receive_buffer[:n])
        del self._receive_buffer[:n]
        # data given as a length only has no bytes to return: reading takes it all the same
        self._tcb.unread = 0 if max_bytes is None else max(0, self._tcb.unread - n)
        return out

    # ------------------------------------------------------------- user calls
    def listen(self) -> list[Segment]:
        """Passive OPEN (RFC 9293 §3.10.1)."""
        return self._call("open_passive")

    def connect(self, data: bytes | int = 0) -> list[Segment]:
        """Active OPEN (RFC 9293 §3.10.1): sends the SYN.

        ``data`` (bytes or a length) is the first SEND, given with the OPEN. The spec decides where
        it goes: RFC 9293 queues it until ESTABLISHED (U2, as a SEND in SYN-SENT, §3.10.2); the
        ``tfo`` profile puts it on the SYN when the endpoint holds a Fast Open cookie (RFC 7413
        §4.2.2, Linux ``sendto(MSG_FASTOPEN)``), or, with ``fastopen_connect``, sends nothing
        until the first SEND (Linux ``TCP_FASTOPEN_CONNECT``)."""
        return self._call("open_active", self._send_data("connect() data", data))

    def send(self, data: bytes | int = 0) -> list[Segment]:
        """SEND (RFC 9293 §3.10.2): ``data`` is bytes or a payload length (0 to 2**31-1)."""
        return self._call("send", self._send_data("send()", data))

    def _send_data(self, what: str, data: object) -> bytes | int:
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        elif not isinstance(data, bytes):
            if isinstance(data, str):
                raise TypeError(f"{what} takes bytes or a payload length, not str (encode the text first)")
            data = _count(f"{what} length", data)
        assert isinstance(data, bytes | int)
        if (data if isinstance(data, int) else len(data)) + self._tcb.queued >= _HALF_SEQ:
            raise ValueError(f"{what}: more than 2**31-1 bytes queued (half the sequence space)")
        return data

    def close(self) -> list[Segment]:
        """CLOSE (RFC 9293 §3.10.4): sends our FIN when the state allows it."""
        return self._call("close")

    def abort(self) -> list[Segment]:
        """ABORT (RFC 9293 §3.10.5): sends an RST from synchronized states."""
        return self._call("abort")

    def shutdown(self, *, read: bool = False, write: bool = False) -> list[Segment]:
        """BSD ``shutdown()``: ``write=True`` is CLOSE (RFC 9293 §3.10.4, a half close: our FIN, and
        the connection goes on receiving; Linux ``tcp_shutdown`` sends the FIN for SEND_SHUTDOWN).

        ``read=True`` records that the application will not receive again (Linux SHUT_RD sets
        RCV_SHUTDOWN and sends nothing): data that arrives is still acknowledged and queued where
        the spec says so (``tcp_rcv_established`` / ``tcp_data_queue`` do not look at the flag),
        and the spec's guard ``receive_shut`` reads it: the linux profile resets a connection
        that gets new data in FIN-WAIT-1/2 after it (``tcp_rcv_state_process``, step 7).
        ``shutdown(read=True)`` where there is no connection is refused as CLOSE is there."""
        for what, value in (("read", read), ("write", write)):
            if not isinstance(value, bool):
                raise TypeError(f"shutdown() {what}= must be True or False, not {value!r:.40}")
        if not (read or write):
            raise ValueError("shutdown() needs read=True, write=True or both")
        if read:
            state = getattr(self, MODEL_ATTRIBUTE)
            refusal = next((t for t in self.spec.candidates(state, "close") if t.error), None)
            if state == self.spec.initial and refusal is not None:  # no TCB to mark (§3.3.2)
                raise user_call_error(str(refusal.error))(self.state, "shutdown", refusal.id, refusal.error)
            self._tcb.rcv_shut = True
        return self.close() if write else []

    def full_close(self) -> list[Segment]:
        """The application closes its descriptor (BSD ``close()``; Linux ``tcp_close``): it will
        neither send nor receive again, and the connection becomes an orphan.

        A spec with a ``full_close`` user event (the linux profile) decides everything: RFC 9293
        §3.6.1 MAY-1's half-duplex close with SHLD-3, "If such a host issues a CLOSE call while
        received data is still pending in the TCP connection, or if new data is received after
        CLOSE is called, its TCP implementation SHOULD send a RST to show that data was lost",
        and the orphan's FIN-WAIT-2 timer. A spec without one (RFC 9293, which does not
        implement MAY-1) takes it as CLOSE, or as nothing more once our FIN was sent; the TCB
        still records that the application is gone (``orphan``, ``rcv_shut``)."""
        if "full_close" in self._event_kind:
            return self._call("full_close")
        tcb = self._tcb
        if tcb.fin_sent or tcb.close_deferred:
            tcb.orphan = tcb.rcv_shut = True
            self._begin()
            return self._end()
        out = self.close()
        if getattr(self, MODEL_ATTRIBUTE) != self.spec.initial:
            self._tcb.orphan = self._tcb.rcv_shut = True
        return out

    def icmp_error(self, kind: str, seq: int | None = None) -> list[Segment]:
        """An ICMP error for this connection arrives (RFC 1122 §4.2.3.9): ``kind`` is ``"hard"``,
        ``"soft"`` or an ICMP message's name (``tcpfsm.runtime.ICMP_ERRORS``, e.g. ``"port_unreachable"``).

        What it does is the spec's (events ``icmp_hard`` / ``icmp_soft``, the ``icmp`` profile):
        a hard error aborts an opening connection, a soft one is only reported (a notice).
        ``seq`` is the SEQ of our segment that the message quotes (RFC 5927's check: outside
        SND.UNA..SND.NXT the message is ignored); None takes it as in the window."""
        if not isinstance(kind, str):
            raise TypeError(f"icmp_error() takes an ICMP error's name (str), not {type(kind).__name__}")
        cls = ICMP_ERRORS.get(kind, kind)
        if cls not in ("hard", "soft"):
            raise ValueError(f"icmp_error(): unknown ICMP error {kind!r:.40} (hard, soft, "
                             f"{', '.join(ICMP_ERRORS)})")
        event = f"icmp_{cls}"
        if event not in self._event_kind:
            raise ValueError(f"icmp_error(): the spec {self.spec.profile or self.spec.name} has no event {event!r} "
                             "(ICMP errors are in the icmp profile: Endpoint(profile='icmp'))")
        if seq is not None:
            seq = _count("icmp_error() seq", seq, SEQ_MOD - 1)
        quoted = Segment(seq=self._tcb.snd_una if seq is None else seq)
        return self._run(self._fire_quoted, event, quoted)

    def _fire_quoted(self, event: str, quoted: Segment) -> None:
        self._fire(event, quoted)

    def icmp_hard(self) -> list[Segment]:
        """``icmp_error("hard")``: the spec event's own name, as the model checker calls it."""
        return self.icmp_error("hard")

    def icmp_soft(self) -> list[Segment]:
        """``icmp_error("soft")``: the spec event's own name, as the model checker calls it."""
        return self.icmp_error("soft")

    # ------------------------------------------------------------- settings
    def set_user_timeout(self, seconds: float | None) -> None:
        """Set the user timeout at any time (RFC 5482 §3, Linux ``TCP_USER_TIMEOUT``): how long
        sent data may stay unacknowledged before the connection is aborted (RFC 9293 §3.10.8).
        The timer runs while data is unacknowledged and restarts when an ACK acknowledges new data
        (``armed: while_unacknowledged``). Changed while it runs, it keeps the time already
        waited: the deadline moves to when the wait began plus the new timeout (a deadline now
        in the past fires at the next ``tick()``); None disarms it."""
        if seconds is not None:
            seconds = _seconds("user_timeout", seconds)
        old, self.user_timeout = self.user_timeout, seconds
        self._config["user_timeout"] = seconds
        self._retime("user_timeout", old, seconds)

    def set_retry_limits(self, *, max_retries: int | None = None, max_syn_retries: int | None = None) -> None:
        """Set R2 at any time, as counts of retransmissions (RFC 9293 §3.8.3 MUST-20; Linux
        ``tcp_retries2``, ``tcp_syn_retries`` / ``TCP_SYNCNT``): the next RTO gives up once the
        count of the segment being retransmitted has reached the new limit."""
        if max_retries is not None:
            self._max_retries = self._tcb.max_retries = _count("max_retries", max_retries, _MAX_RETRIES)
            self._config["max_retries"] = max_retries
        if max_syn_retries is not None:
            self._max_syn_retries = self._tcb.max_syn_retries = _count("max_syn_retries", max_syn_retries,
                                                                       _MAX_RETRIES)
            self._config["max_syn_retries"] = max_syn_retries

    def set_fast_open(self, *, cookie: bool | None = None, connect: bool | None = None) -> None:
        """TCP Fast Open settings (the ``tfo`` profile reads them), at any time: ``cookie``, a client
        holds a valid cookie for its server / a server finds the cookies of SYNs valid (RFC 7413
        §4.1); ``connect``, Linux ``TCP_FASTOPEN_CONNECT`` (an active OPEN defers its SYN)."""
        for name, value, field in (("tfo_cookie", cookie, "tfo_cookie"), ("fastopen_connect", connect,
                                                                           "fastopen_connect")):
            if value is None:
                continue
            if not isinstance(value, bool):
                raise TypeError(f"set_fast_open(): {name} must be True or False, not {type(value).__name__}")
            self._config[name] = value
            setattr(self._tcb, field, value)

    def _retime(self, param: str, old: float | None, new: float | None) -> None:
        """Move the deadlines of the armed timers whose duration is made of ``param``."""
        tcb = self._tcb
        for timer, d in self.compiled.durations.items():
            if d is None or d.param != param:
                continue
            scale = d.times * (2 ** tcb.retries if d.backoff else 1)
            deadline = tcb.timers.get(timer)
            if new is None:
                tcb.timers.pop(timer, None)
            elif deadline is not None and old is not None:
                tcb.timers[timer] = deadline - old * scale + new * scale
            elif timer in self._unacked_timers and self._rtx:
                self._arm(timer)  # data is outstanding now: the wait starts now

    # ------------------------------------------------------------- segments
    def receive(self, seg: Segment) -> list[Segment]:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7): returns the segments to send in reply."""
        if not isinstance(seg, Segment):
            raise TypeError(f"receive() takes a Segment, not {type(seg).__name__}")
        return self._run(self._arrive_all, seg)

    def _arrive_all(self, seg: Segment) -> None:
        self._arrive(seg, 0)
        if self._held:
            self._release_held()

    def _arrive(self, seg: Segment, start: int) -> None:
        """Run the arrival steps of the current state's group on ``seg``, from step ``start``.

        Checks read the segment as it arrived; after a ``trim`` step, flags, guards and effects
        see it trimmed to the receive window (the RFC's "idealized segment", §3.10.7.4)."""
        group = self._state_group[getattr(self, MODEL_ATTRIBUTE)]
        ideal = seg
        bits = seg.bits
        for step, need, forbid in self._steps_of[group.name][start:]:
            if step.trim is not None:
                ideal = trim_to_window(self._tcb, seg)
                bits = ideal.bits
                continue
            if (bits & need) != need or bits & forbid:
                continue
            if step.check is not None and not CHECKS[step.check](self._tcb, seg):
                continue
            t = self._fire(step.event, ideal, seg)
            if group.mode == "first" or step.final or t.ends_processing:
                break

    def _release_held(self) -> None:
        """Process held segments that are now in sequence, from their group's ``resume`` step, once
        the state has a rule for it (a SYN's text waits for ESTABLISHED, §3.10.7.2-3)."""
        while self._held:
            rcv_nxt = self._tcb.rcv_nxt
            ready = [h for h in self._held if seq_le(h.seq, rcv_nxt)]
            if not ready:
                return
            h = min(ready, key=lambda x: (x.seq - rcv_nxt) % SEQ_MOD)
            if not seq_lt(rcv_nxt, seq_add(h.seq, h.seg_len)):
                self._held.remove(h)  # everything in it arrived meanwhile: an old duplicate now
                continue
            state = getattr(self, MODEL_ATTRIBUTE)
            group = self._state_group[state]
            start = self._resume_at.get(group.name)
            if start is None or not self.spec.candidates(state, group.steps[start].event):
                return
            self._held.remove(h)
            self._arrive(h, start)

    # ---------------------------------------------------------------- timers
    def timeout(self, timer: str) -> list[Segment]:
        """Fire an armed timer now: ``"retransmit"``, ``"time_wait"`` or ``"user"`` (§3.10.8)."""
        if not isinstance(timer, str):
            raise TypeError(f"timeout() takes a timer's name (str), not {type(timer).__name__}")
        if timer not in self._tcb.timers:
            raise TimerNotArmed(self.state, timer, sorted(self._tcb.timers))
        return self._run(self._expire, timer)

    def _expire(self, timer: str) -> None:
        del self._tcb.timers[timer]
        self._fire(self._timer_event[timer], _NO_SEGMENT)

    def next_deadline(self) -> float | None:
        """The earliest armed timer's deadline, or None."""
        return min(self._tcb.timers.values(), default=None)

    def tick(self, now: float) -> list[Segment]:
        """Advance the clock to ``now`` (a finite number of seconds) and fire every timer that
        expired, earliest first."""
        now = _seconds("tick() now", now, zero=True)
        self.now = now
        out: list[Segment] = []
        failed: ObserverError | None = None
        while True:
            due = sorted((d, n) for n, d in self._tcb.timers.items() if d <= now)
            if not due:
                break
            try:
                out += self.timeout(due[0][1])
            except ObserverError as exc:  # the timer fired all the same: go on, then report it
                out += exc.segments
                failed = failed or exc
        if failed is not None:
            raise ObserverError(out, failed.steps, failed.error) from failed.__cause__
        return out

    # ------------------------------------------------------------- machinery
    def _begin(self) -> None:
        self._out = []
        self._steps = []
        self.last_steps = []  # a refused call leaves no stale steps of the call before it

    def _end(self) -> list[Segment]:
        out, self.last_steps = self._out, self._steps
        self._out, self._steps = [], []
        return out

    def _call(self, event: str, data: bytes | int = 0) -> list[Segment]:
        return self._run(self._user_call, event, data)

    def _user_call(self, event: str, data: bytes | int) -> None:
        self._call_data = data
        try:
            self._fire(event, _NO_SEGMENT)
        finally:
            self._call_data = 0

    def _run(self, body: Callable[..., None], *args: Any) -> list[Segment]:
        """One call: run ``body``, then tell the observers of every step it took (all of them, even
        when it raised; an observer's exception never loses the call's segments: ObserverError)."""
        self._begin()
        try:
            body(*args)
        except BaseException:
            steps = self._steps
            self._begin()  # as before: a call that raised leaves no output and no last_steps
            self._notify(steps)  # but what it changed on the way is told
            raise
        out = self._end()
        error = self._notify(self.last_steps)
        if error is not None:
            raise ObserverError(out, tuple(self.last_steps), error) from error
        return out

    def _notify(self, steps: list[Step]) -> Exception | None:
        """Call every observer for every step, in order; the first exception raised, or None."""
        first: Exception | None = None
        if self._observers:
            for step in steps:
                for obs in list(self._observers):
                    try:
                        obs(step)
                    except Exception as exc:  # the other observers are told all the same
                        first = first or exc
        return first

    def _fire(self, event: str, seg: Segment, arrived: Segment | None = None) -> Transition:
        source = getattr(self, MODEL_ATTRIBUTE)
        if not self.spec.candidates(source, event):
            raise SpecGap(self.state, event)
        self._fired = None
        if self.engine == "transitions":
            if self._machine is None:  # a clone switched engines
                self._machine = _transitions_machine(self.compiled)
            try:
                self._machine.events[event].trigger(self, seg=seg)
            except _MACHINE_ERRORS as exc:  # never leak the library's exception
                raise TcpFsmError(f"internal state machine error: {exc}") from None
        else:
            self._fired = self._table.select(source, event, self._tcb, seg)
            if self._fired is not None:
                setattr(self, MODEL_ATTRIBUTE, self._fired.target_from(source))
        t = self._fired
        if t is None:
            raise SpecGap(self.state, event)
        first_out, first_notice = len(self._out), len(self.notices)
        dropped = self._run_actions(t, seg, source, event)
        shown = arrived if arrived is not None else seg
        step = Step(event, self._by_name[source], self._by_name[getattr(self, MODEL_ATTRIBUTE)], t.id, t.rfc,
                    shown if shown is not _NO_SEGMENT else None, tuple(self._out[first_out:]),
                    tuple(n.text for n in self.notices[first_notice:]), dropped, self.name)
        self._steps.append(step)
        if self._tcb.close_deferred and getattr(self, MODEL_ATTRIBUTE) != self._deferred_in:
            # §3.10.4: a CLOSE queued in SYN-RECEIVED runs once that state is left.
            self._tcb.close_deferred = False
            self._fire("close", _NO_SEGMENT)
        return t

    def _run_actions(self, t: Transition, seg: Segment, source: str, event: str) -> str | None:
        dropped = throttled = None
        for action in t.actions:
            kind, arg = action.kind, action.arg
            if kind == "send":
                if arg.throttle is not None and not self._throttle_allows(arg.throttle):
                    throttled = f"{arg.throttle} not sent (rate limit)"
                    continue
                self._emit(arg, seg)
            elif kind == "effect":
                EFFECT_IMPL[arg](self, seg)
            elif kind == "notice":
                self.notices.append(Notice(arg, t.id, self.state))
            elif kind == "error":
                if self._event_kind[event] == USER:
                    raise user_call_error(arg)(self._by_name[source], event, t.id, arg)
            elif kind == "drop":
                dropped = arg
            elif kind in ("start", "restart"):
                self._arm(arg)
            elif kind == "stop":
                if arg == "all":
                    self._tcb.timers.clear()
                else:
                    self._tcb.timers.pop(arg, None)
        if throttled:
            return f"{dropped}; {throttled}" if dropped else throttled
        return dropped

    def _throttle_allows(self, throttle: str) -> bool:
        """RFC 5961 §7: at most ``count`` challenge ACKs in any ``seconds`` (the only throttle)."""
        if self.challenge_ack_limit is None:
            return True
        count, seconds = self.challenge_ack_limit
        self._challenges = [t for t in self._challenges if t > self.now - seconds]
        if len(self._challenges) >= count:
            return False
        self._challenges.append(self.now)
        return True

    def _arm(self, timer: str) -> None:
        """Arm ``timer`` for the duration its declaration gives (``timers:`` in the spec)."""
        d = self.compiled.durations.get(timer)
        if d is None:
            raise SpecGap(self.state, f"start {timer} (the timer declares no duration)")
        if d.seconds is not None:
            length = d.seconds
        else:
            base: float | None = getattr(self, str(d.param))  # msl, rto, user_timeout (the vocabulary's)
            if base is None:
                return  # e.g. no user timeout was set: the timer is not armed
            length = base * d.times * (2 ** self._tcb.retries if d.backoff else 1)
        self._tcb.timers[timer] = self.now + length

    def _emit(self, send: Send, seg: Segment) -> None:
        tcb = self._tcb
        seq = {"SND.NXT": tcb.snd_nxt, "ISS": tcb.iss, "SEG.ACK": seg.ack, "ZERO": 0}[send.seq]
        ack = 0
        if send.ack == "RCV.NXT":
            ack = tcb.rcv_nxt
        elif send.ack == "SEG.SEQ+SEG.LEN":
            ack = seq_add(seg.seq, seg.seg_len)
        payload: bytes | None = None
        length = 0
        if send.data:
            data = self._payload()
            if isinstance(data, int):
                length = data
            else:
                payload, length = bytes(data) if data or not send.ctl & Flags.SYN else None, len(data)
            self._send_buffer.clear()
            tcb.queued = 0
        out = Segment(seq=seq, ack=ack, flags=send.ctl, window=tcb.rcv_wnd, length=length, payload=payload,
                      src_port=self.local_port, dst_port=self.remote_port)
        if send.seq == "SND.NXT":
            tcb.snd_nxt = seq_add(tcb.snd_nxt, out.seg_len)
        if send.ctl & Flags.FIN:
            tcb.fin_sent = True
        if out.seg_len and not send.ctl & Flags.RST and (send.seq == "SND.NXT" or send.seq == "ISS"):
            # a segment sent again in a new form (our SYN as a SYN,ACK, §3.10.7.3) replaces the old one,
            # so that a retransmission repeats what was sent last
            self._rtx = [s for s in self._rtx if not (s.seq == out.seq and s.seg_len == out.seg_len)]
            self._rtx.append(out)
            self._rtx.sort(key=lambda s: (s.seq - tcb.snd_una) % SEQ_MOD)
            for timer in self._unacked_timers:
                if timer not in tcb.timers:
                    self._arm(timer)
        self._out.append(out)

    def _payload(self) -> bytes | int:
        """What a data-bearing send carries: the queued SENDs, then this call's data (bytes when
        every part has bytes, else a length)."""
        call, queued, buffered = self._call_data, self._tcb.queued, bytes(self._send_buffer)
        if not queued:
            return call if call else buffered
        if len(buffered) != queued:
            return queued + (call if isinstance(call, int) else len(call))
        if isinstance(call, int):
            return buffered if not call else queued + call
        return buffered + call

    def _fresh_tcb(self) -> TCB:
        return TCB(rcv_wnd=self._rcv_wnd, max_retries=self._max_retries, max_syn_retries=self._max_syn_retries,
                   tfo_cookie=bool(self._config["tfo_cookie"]),
                   fastopen_connect=bool(self._config["fastopen_connect"]))

    # ---------------------------------------------------------------- effects
    # Each effect of the vocabulary (tcpfsm.spec._vocabulary.EFFECTS) is one method here, bound by @effect.
    @effect("choose_iss")
    def _fx_choose_iss(self, seg: Segment) -> None:
        tcb = self._tcb
        if self.next_iss is not None:
            iss, self.next_iss = self.next_iss, None
            self._last_iss = iss
        else:
            # RFC 6528: ISN = M + F(4-tuple, secret); M is the 4-microsecond clock of RFC 9293 §3.4.1,
            # kept moving forward when the caller's clock stands still, so that each new connection
            # of a 4-tuple gets a larger ISS; F is a keyed hash of the connection's ports
            offset = self._iss_offset()
            last_m = None if self._last_iss is None else (self._last_iss - offset) % SEQ_MOD
            m = max(int(self.now * 250_000), last_m + 64_000 if last_m is not None else 0)
            iss = m + offset
            self._last_iss = iss % SEQ_MOD
        tcb.iss = tcb.snd_una = tcb.snd_nxt = iss % SEQ_MOD

    def _iss_offset(self) -> int:
        """RFC 6528's F(): a keyed hash of the connection's identifiers (here its ports)."""
        ident = f"{self.local_port}:{self.remote_port}".encode()
        return int.from_bytes(hashlib.blake2b(ident, key=self._iss_secret[:64], digest_size=4).digest(), "big")

    @effect("record_syn")
    def _fx_record_syn(self, seg: Segment) -> None:
        tcb = self._tcb
        tcb.irs = seg.seq
        tcb.rcv_nxt = seq_add(seg.seq, 1)
        tcb.syn_received = True
        tcb.snd_wnd = seg.window
        tcb.max_snd_wnd = max(tcb.max_snd_wnd, seg.window)
        tcb.snd_wl1 = seg.seq

    @effect("mark_passive")
    def _fx_mark_passive(self, seg: Segment) -> None:
        self._tcb.passive = True

    @effect("mark_active")
    def _fx_mark_active(self, seg: Segment) -> None:
        self._tcb.passive = False

    @effect("accept_ack")
    def _fx_accept_ack(self, seg: Segment) -> None:
        tcb = self._tcb
        if not seg.flags & Flags.ACK:
            return
        if seq_lt(tcb.snd_una, seg.ack) and seq_le(seg.ack, tcb.snd_nxt):
            tcb.snd_una = seg.ack
            self._rtx = [s for s in self._rtx if seq_lt(tcb.snd_una, seq_add(s.seq, s.seg_len))]
            tcb.retries = 0
            for timer in self._unacked_timers:  # restarted while data is outstanding, else stopped
                tcb.timers.pop(timer, None)
                if self._rtx:
                    self._arm(timer)
        if seq_le(tcb.snd_una, seg.ack):
            tcb.snd_wnd = seg.window
            tcb.max_snd_wnd = max(tcb.max_snd_wnd, seg.window)
            tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack

    @effect("take_fin")
    def _fx_take_fin(self, seg: Segment) -> None:
        self._tcb.rcv_nxt = seq_add(self._tcb.rcv_nxt, 1)
        self._tcb.fin_received = True

    @effect("accept_data")
    def _fx_accept_data(self, seg: Segment) -> None:
        tcb = self._tcb
        start, end = seg.seq, seq_add(seg.seq, seg.length)
        if seq_le(start, tcb.rcv_nxt) and seq_lt(tcb.rcv_nxt, end):
            skip = (tcb.rcv_nxt - start) % SEQ_MOD
            if seg.payload is not None:
                self._receive_buffer += seg.payload[skip:]
            tcb.unread += seg.length - skip
            tcb.rcv_nxt = end

    @effect("hold")
    def _fx_hold(self, seg: Segment) -> None:
        if seg.bits & Flags.SYN:  # the SYN's own sequence number is taken; its text follows it
            seg = dataclasses.replace(seg, seq=seq_add(seg.seq, 1), flags=seg.flags & ~Flags.SYN)
        if (seg.length or seg.bits & Flags.FIN) and seg not in self._held:
            self._held.append(seg)

    @effect("queue_data")
    def _fx_queue_data(self, seg: Segment) -> None:
        data = self._call_data
        if isinstance(data, int):
            self._tcb.queued += data
        else:
            self._send_buffer += data
            self._tcb.queued += len(data)

    @effect("send_queued")
    def _fx_send_queued(self, seg: Segment) -> None:
        if self._tcb.queued:
            call, self._call_data = self._call_data, 0  # the queued SENDs alone
            ack_psh = Send(Flags.ACK | Flags.PSH, "SND.NXT", "RCV.NXT", data=True)
            self._emit(ack_psh, seg)
            self._call_data = call

    @effect("defer_close")
    def _fx_defer_close(self, seg: Segment) -> None:
        self._tcb.close_deferred = True
        self._deferred_in = getattr(self, MODEL_ATTRIBUTE)

    @effect("flush")
    def _fx_flush(self, seg: Segment) -> None:
        self._rtx.clear()
        self._held.clear()
        self._send_buffer.clear()
        self._tcb.queued = 0
        for timer in self._unacked_timers:
            self._tcb.timers.pop(timer, None)

    @effect("delete_tcb")
    def _fx_delete_tcb(self, seg: Segment) -> None:
        self._fx_flush(seg)
        self._tcb = self._fresh_tcb()

    @effect("reset_for_listen")
    def _fx_reset_for_listen(self, seg: Segment) -> None:
        self._fx_flush(seg)
        self._tcb = self._fresh_tcb()
        self._tcb.passive = True

    @effect("orphan")
    def _fx_orphan(self, seg: Segment) -> None:
        self._tcb.orphan = self._tcb.rcv_shut = True

    @effect("new_incarnation")
    def _fx_new_incarnation(self, seg: Segment) -> None:
        old = self._tcb
        self._fx_flush(seg)
        self._tcb = self._fresh_tcb()
        self._tcb.incarnation = old.incarnation + 1
        # MAY-2 (§3.6.1) condition 2: kept to return to TIME-WAIT if the SYN proves an old duplicate
        self._tcb.reopened = True
        self._tcb.tw_snd_nxt, self._tcb.tw_rcv_nxt = old.snd_nxt, old.rcv_nxt
        # MAY-2 condition 1: the new ISS must exceed the old connection's sequence numbers.
        self.next_iss = seq_add(old.snd_nxt, 1 << 16)

    @effect("back_to_time_wait")
    def _fx_back_to_time_wait(self, seg: Segment) -> None:
        old = self._tcb
        self._fx_flush(seg)
        tcb = self._tcb = self._fresh_tcb()
        tcb.incarnation = max(0, old.incarnation - 1)
        tcb.snd_una = tcb.snd_nxt = old.tw_snd_nxt
        tcb.rcv_nxt = old.tw_rcv_nxt
        tcb.syn_received = tcb.fin_sent = tcb.fin_received = True

    @effect("retransmit")
    def _fx_retransmit(self, seg: Segment) -> None:
        tcb = self._tcb
        if not self._rtx:
            return
        head = self._rtx[0]
        again = Segment(seq=head.seq, ack=tcb.rcv_nxt if head.flags & Flags.ACK else 0, flags=head.flags,
                        window=tcb.rcv_wnd, length=head.length, payload=head.payload,
                        src_port=self.local_port, dst_port=self.remote_port)
        tcb.retries += 1
        for timer in self._unacked_timers:  # the retransmission timer backs off; the user timer runs on
            d = self.compiled.durations.get(timer)
            if d is not None and d.backoff:
                self._arm(timer)
        self._out.append(again)

    @effect("return")
    def _fx_return(self, seg: Segment) -> None:
        """The RFC's "and return": the caller stops the segment's remaining steps."""

    @effect("accept_syn_data")
    def _fx_accept_syn_data(self, seg: Segment) -> None:
        self._tcb.fast_open = True
        if seg.length:  # the text follows the SYN's own sequence number
            self._fx_accept_data(dataclasses.replace(seg, seq=seq_add(seg.seq, 1), flags=seg.flags & ~Flags.SYN))

    @effect("requeue_syn_data")
    def _fx_requeue_syn_data(self, seg: Segment) -> None:
        tcb = self._tcb
        syn = next((s for s in self._rtx if s.flags & Flags.SYN and s.length), None)
        if syn is None:
            return
        self._rtx.remove(syn)
        tcb.snd_nxt = tcb.snd_una
        if syn.payload is not None:
            self._send_buffer[:0] = syn.payload
        tcb.queued += syn.length

    # ------------------------------------------------------- snapshot and restore
    def snapshot(self) -> EndpointState:
        """Everything this endpoint needs to go on, as a frozen, hashable value."""
        tcb = self._tcb
        return EndpointState(
            state=getattr(self, MODEL_ATTRIBUTE),
            tcb=tuple((f, getattr(tcb, f)) for f in _TCB_FIELDS),
            timers=tuple(sorted(tcb.timers.items())),
            retransmission_queue=tuple(self._rtx),
            send_buffer=bytes(self._send_buffer),
            receive_buffer=bytes(self._receive_buffer),
            next_iss=self.next_iss, last_iss=self._last_iss, close_deferred_in=self._deferred_in, now=self.now,
            held=tuple(self._held), challenge_acks=tuple(self._challenges))

    def restore(self, snap: EndpointState) -> None:
        """Put this endpoint where ``snap`` was (its spec and settings stay; notices are kept)."""
        if not isinstance(snap, EndpointState):
            raise TypeError(f"restore() takes an EndpointState (from snapshot()), not {type(snap).__name__}")
        if snap.state not in self._by_name:
            raise ValueError(f"{snap.state!r} is not a state of {self.spec.profile or self.spec.name}")
        setattr(self, MODEL_ATTRIBUTE, snap.state)
        self._tcb = TCB(**dict(snap.tcb), timers=dict(snap.timers))
        self._rtx = list(snap.retransmission_queue)
        self._send_buffer = bytearray(snap.send_buffer)
        self._receive_buffer = bytearray(snap.receive_buffer)
        self.next_iss, self._last_iss, self._deferred_in = snap.next_iss, snap.last_iss, snap.close_deferred_in
        self.now = snap.now
        self._held = list(snap.held)
        self._challenges = list(snap.challenge_acks)

    def clone(self, *, engine: str | None = None) -> Endpoint:
        """An independent copy: the same spec, settings as they are now (``rto``, ``msl``,
        ``user_timeout``, ``fin_timeout``, ports, ... also when changed after construction), state,
        TCB, timers, queues, ISS clock and notices: ``restore(snapshot())`` on :meth:`fresh`."""
        twin = self.fresh(self.next_iss)
        if engine is not None:
            twin.engine = engine
        twin.restore(self.snapshot())
        twin.notices = list(self.notices)
        return twin

    def __copy__(self) -> Endpoint:
        return self.clone()

    def __deepcopy__(self, memo: dict[int, Any]) -> Endpoint:
        return self.clone()  # the spec and its compiled machine are immutable: shared, not copied

    def __reduce__(self) -> tuple[Callable[..., Endpoint], tuple[Any, ...]]:
        """Pickle the spec, the settings and a snapshot: never the shared ``transitions.Machine``,
        the observers or the run-time ``State`` enum (notices travel as text)."""
        notices = tuple((n.text, n.transition, str(n.state)) for n in self.notices)
        return _unpickle, (self.spec, self.engine, self.name, self._settings(), self.snapshot(), notices)

    def _settings(self) -> dict[str, Any]:
        """The settings as they are now: those changed after construction (``ep.rto = 3``) too."""
        live = {"rcv_wnd": self._rcv_wnd, "rto": self.rto, "msl": self.msl, "user_timeout": self.user_timeout,
                "fin_timeout": self.fin_timeout, "max_retries": self._max_retries,
                "max_syn_retries": self._max_syn_retries, "challenge_ack_limit": self.challenge_ack_limit,
                "local_port": self.local_port, "remote_port": self.remote_port}
        # iss_secret stays as given: None (this process's random key) is never written into a pickle
        return {**self._config, **{k: v for k, v in live.items() if k in self._config}}

    def resync(self, *, snd_nxt: int | None = None, rcv_nxt: int | None = None, unread: int | None = None) -> None:
        """Bring the TCB in line with evidence from the wire, e.g. after capture loss.

        ``snd_nxt``: this end has sent up to here (segments the capture missed); ``rcv_nxt``:
        it has received up to here (its ACKs show it); ``unread``: bytes received that the
        application has not read (RFC 1122 §4.2.2.13 looks at them on CLOSE).
        """
        tcb = self._tcb
        if snd_nxt is not None:
            tcb.snd_nxt = snd_nxt % SEQ_MOD
            if seq_lt(tcb.snd_nxt, tcb.snd_una):
                tcb.snd_una = tcb.snd_nxt
        if rcv_nxt is not None:
            tcb.rcv_nxt = rcv_nxt % SEQ_MOD
        if unread is not None:
            tcb.unread = max(0, unread)

    def join_midstream(self, *, snd_nxt: int, rcv_nxt: int, state: str | None = None,
                       snd_wnd: int = 65535) -> None:
        """Start in the middle of a connection: synchronized (by default in the state an active
        opener's acceptable SYN,ACK leads to, ESTABLISHED in RFC 9293), ISS = SND.NXT-1 and
        IRS = RCV.NXT-1, as a monitor does when its capture begins after the handshake."""
        self.restore(EndpointState(
            state=state or self.compiled.established,
            tcb=tuple((f, v) for f, v in dataclasses.asdict(self._fresh_tcb()).items() if f != "timers"),
            now=self.now).replace(iss=seq_add(snd_nxt, -1), snd_una=snd_nxt % SEQ_MOD, snd_nxt=snd_nxt % SEQ_MOD,
                                  irs=seq_add(rcv_nxt, -1), rcv_nxt=rcv_nxt % SEQ_MOD, syn_received=True,
                                  snd_wnd=snd_wnd, max_snd_wnd=snd_wnd))

    def fresh(self, iss: int | None = None) -> Endpoint:
        """A new CLOSED endpoint with this one's spec and settings (e.g. after a crash)."""
        return Endpoint(iss, spec=self.spec, now=self.now, name=self.name, engine=self.engine,
                        **self._settings())

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"<Endpoint{label} {self.state} profile={self.spec.profile}>"


def _unpickle(spec: Spec, engine: str, name: str | None, config: dict[str, Any], snap: EndpointState,
              notices: tuple[tuple[str, str, str], ...]) -> Endpoint:
    ep = Endpoint(snap.next_iss, spec=spec, now=snap.now, name=name, engine=engine, **config)
    ep.restore(snap)
    ep.notices = [Notice(text, tid, ep._by_name[state]) for text, tid, state in notices]
    return ep


_HALF_SEQ = 1 << 31
_MAX_RETRIES = 100  # 2**100 x RTO is past any clock; 1,024 and more overflowed a float (issue 16)
_MAX_RCV_WND = 1 << 30  # RFC 7323 §2.3: the largest window that window scaling can express


def _count(what: str, value: object, limit: int = _HALF_SEQ - 1) -> int:
    """A count of bytes or retries: an int from 0 to ``limit`` (TypeError, ValueError)."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, bool | float | str | bytes):
                raise TypeError
            value = operator.index(value)  # type: ignore[arg-type]  # numpy integers
        except TypeError:
            raise TypeError(f"{what} must be an int, not {type(value).__name__} {value!r:.40}") from None
    assert isinstance(value, int)
    if not 0 <= value <= limit:
        raise ValueError(f"{what} must be 0 to {limit:,}, not {value:,}" if value.bit_length() < 64
                         else f"{what} must be 0 to {limit:,}")
    return value


def _seconds(what: str, value: object, *, zero: bool = False) -> float:
    """A duration or clock value: a finite real number above 0 (or at least 0 with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__} {value!r:.40}")
    try:
        seconds = float(value)
    except OverflowError:
        raise ValueError(f"{what} is too large") from None
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero):
        bound = "0 or more" if zero else "above 0"
        raise ValueError(f"{what} must be a finite number of seconds {bound}, not {value!r:.40}")
    return seconds


def _check_settings(**kw: Any) -> None:
    """The Endpoint's constructor arguments, checked before anything is built."""
    if kw["iss"] is not None:
        _count("iss", kw["iss"], SEQ_MOD - 1)
    _count("rcv_wnd", kw["rcv_wnd"], _MAX_RCV_WND)
    _seconds("rto", kw["rto"])
    _seconds("msl", kw["msl"])
    _seconds("fin_timeout", kw["fin_timeout"])
    if kw["user_timeout"] is not None:
        _seconds("user_timeout", kw["user_timeout"])
    _count("max_retries", kw["max_retries"], _MAX_RETRIES)
    _count("max_syn_retries", kw["max_syn_retries"], _MAX_RETRIES)
    limit = kw["challenge_ack_limit"]
    if limit is not None:
        if not isinstance(limit, tuple | list) or len(limit) != 2:
            raise TypeError(f"challenge_ack_limit must be (count, seconds) or None, not {limit!r:.40}")
        _count("challenge_ack_limit count", limit[0], 1_000_000)
        _seconds("challenge_ack_limit seconds", limit[1])
    secret = kw["iss_secret"]
    if secret is not None and not isinstance(secret, bytes | bytearray | memoryview):
        raise TypeError(f"iss_secret must be bytes or None, not {type(secret).__name__}")
    for port in ("local_port", "remote_port"):
        if kw[port] is not None:
            _count(port, kw[port], 0xFFFF)
    _seconds("now", kw["now"], zero=True)
    for flag in ("tfo_cookie", "fastopen_connect"):
        if not isinstance(kw[flag], bool):
            raise TypeError(f"{flag} must be True or False, not {type(kw[flag]).__name__}")
    if kw["name"] is not None and not isinstance(kw["name"], str):
        raise TypeError(f"name must be a str or None, not {type(kw['name']).__name__}")


# ICMP messages by their class for TCP (RFC 1122 §4.2.3.9): Destination Unreachable codes 2-3 are
# hard errors; codes 0, 1 and 5, Time Exceeded and Parameter Problem soft ones. Code 4 (fragmentation
# needed) is Path MTU Discovery's (RFC 1191), never fatal: soft here, as in Linux's icmp_err_convert.
ICMP_ERRORS: dict[str, str] = {
    "protocol_unreachable": "hard", "port_unreachable": "hard",
    "net_unreachable": "soft", "host_unreachable": "soft", "frag_needed": "soft",
    "source_route_failed": "soft", "time_exceeded": "soft", "parameter_problem": "soft",
}

_PROCESS_SECRET = secrets.token_bytes(16)  # RFC 6528's secret key, one per process unless given
EFFECT_IMPL: dict[str, EffectImpl] = effect.complete()  # every declared effect has its method
# every duration parameter of the vocabulary is an Endpoint setting of the same name
_PARAMS = set(inspect.signature(Endpoint.__init__).parameters)
if any(name not in _PARAMS for name in vocabulary.DURATIONS if name != "seconds"):  # pragma: no cover
    raise LookupError("a duration parameter of the vocabulary has no Endpoint setting of that name")

__all__ = ["ICMP_ERRORS", "Endpoint", "EndpointState", "Notice", "State", "Step"]
