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
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tcpfsm.base._errors import SpecGap, TcpFsmError, TimerNotArmed, user_call_error
from tcpfsm.base._segment import SEQ_MOD, Flags, Segment, seq_add, seq_le, seq_lt
from tcpfsm.runtime._machine import MODEL_ATTRIBUTE, CompiledMachine, State, StateBase, machine_for
from tcpfsm.runtime._tcb import CHECKS, TCB
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
    (s or None), ``max_retries`` (R2 as a count), ports, ``now`` (the clock value), ``name``.
    Timer durations are declared in the spec (``timers:``) in terms of ``rto``, ``msl`` and
    ``user_timeout``, or in seconds (the linux profile's 60 s FIN-WAIT-2 timer).
    """

    def __init__(
        self,
        iss: int | None = None,
        *,
        spec: Spec | None = None,
        profile: str | None = None,
        rcv_wnd: int = 65535,
        rto: float = 1.0,
        msl: float = 120.0,
        user_timeout: float | None = None,
        max_retries: int = 5,
        local_port: int | None = None,
        remote_port: int | None = None,
        now: float = 0.0,
        name: str | None = None,
        engine: str = "transitions",
    ) -> None:
        self.spec = resolve_spec(spec, profile=profile)
        if engine not in ("transitions", "table"):
            raise ValueError(f"engine must be 'transitions' or 'table', not {engine!r}")
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
                        "max_retries": max_retries, "local_port": local_port, "remote_port": remote_port}
        self._rcv_wnd = rcv_wnd
        self._max_retries = max_retries
        self.rto, self.msl, self.user_timeout = rto, msl, user_timeout
        self.local_port, self.remote_port = local_port, remote_port
        self.name = name
        self.now = now
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
        """Call ``callback(step)`` for every transition this endpoint takes."""
        self._observers.append(callback)

    def take_notices(self) -> list[Notice]:
        """Return and forget the notices collected so far."""
        out, self.notices = self.notices, []
        return out

    def read(self, max_bytes: int | None = None) -> bytes:
        """RECEIVE: take bytes delivered in order (RFC 9293 §3.10.3)."""
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

    def connect(self) -> list[Segment]:
        """Active OPEN (RFC 9293 §3.10.1): sends the SYN."""
        return self._call("open_active")

    def send(self, data: bytes | int = 0) -> list[Segment]:
        """SEND (RFC 9293 §3.10.2): ``data`` is bytes or a payload length."""
        return self._call("send", data)

    def close(self) -> list[Segment]:
        """CLOSE (RFC 9293 §3.10.4): sends our FIN when the state allows it."""
        return self._call("close")

    def abort(self) -> list[Segment]:
        """ABORT (RFC 9293 §3.10.5): sends an RST from synchronized states."""
        return self._call("abort")

    # ------------------------------------------------------------- segments
    def receive(self, seg: Segment) -> list[Segment]:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7): returns the segments to send in reply."""
        self._begin()
        group = self._state_group[getattr(self, MODEL_ATTRIBUTE)]
        bits = seg.bits
        for step, need, forbid in self._steps_of[group.name]:
            if (bits & need) != need or bits & forbid:
                continue
            if step.check is not None and not CHECKS[step.check](self._tcb, seg):
                continue
            t = self._fire(step.event, seg)
            if group.mode == "first" or step.final or t.ends_processing:
                break
        return self._end()

    # ---------------------------------------------------------------- timers
    def timeout(self, timer: str) -> list[Segment]:
        """Fire an armed timer now: ``"retransmit"``, ``"time_wait"`` or ``"user"`` (§3.10.8)."""
        if timer not in self._tcb.timers:
            raise TimerNotArmed(self.state, timer, sorted(self._tcb.timers))
        self._begin()
        del self._tcb.timers[timer]
        self._fire(self._timer_event[timer], _NO_SEGMENT)
        return self._end()

    def next_deadline(self) -> float | None:
        """The earliest armed timer's deadline, or None."""
        return min(self._tcb.timers.values(), default=None)

    def tick(self, now: float) -> list[Segment]:
        """Advance the clock to ``now`` and fire every timer that expired, earliest first."""
        self.now = now
        out: list[Segment] = []
        while True:
            due = sorted((d, n) for n, d in self._tcb.timers.items() if d <= now)
            if not due:
                return out
            out += self.timeout(due[0][1])

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
        self._begin()
        self._call_data = data
        try:
            self._fire(event, _NO_SEGMENT)
        finally:
            self._call_data = 0
        return self._end()

    def _fire(self, event: str, seg: Segment) -> Transition:
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
        step = Step(event, self._by_name[source], self._by_name[getattr(self, MODEL_ATTRIBUTE)], t.id, t.rfc,
                    seg if seg is not _NO_SEGMENT else None, tuple(self._out[first_out:]),
                    tuple(n.text for n in self.notices[first_notice:]), dropped, self.name)
        self._steps.append(step)
        for obs in self._observers:
            obs(step)
        if self._tcb.close_deferred and getattr(self, MODEL_ATTRIBUTE) != self._deferred_in:
            # §3.10.4: a CLOSE queued in SYN-RECEIVED runs once that state is left.
            self._tcb.close_deferred = False
            self._fire("close", _NO_SEGMENT)
        return t

    def _run_actions(self, t: Transition, seg: Segment, source: str, event: str) -> str | None:
        dropped = None
        for action in t.actions:
            kind, arg = action.kind, action.arg
            if kind == "send":
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
        return dropped

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
            data = self._call_data if self._call_data else bytes(self._send_buffer)
            if isinstance(data, int):
                length = data
            else:
                payload, length = bytes(data), len(data)
            self._send_buffer.clear()
            tcb.queued = 0
        out = Segment(seq=seq, ack=ack, flags=send.ctl, window=tcb.rcv_wnd, length=length, payload=payload,
                      src_port=self.local_port, dst_port=self.remote_port)
        if send.seq == "SND.NXT":
            tcb.snd_nxt = seq_add(tcb.snd_nxt, out.seg_len)
        if send.ctl & Flags.FIN:
            tcb.fin_sent = True
        if out.seg_len and not send.ctl & Flags.RST and (send.seq == "SND.NXT" or send.seq == "ISS"):
            if not any(s.seq == out.seq and s.seg_len == out.seg_len for s in self._rtx):
                self._rtx.append(out)
            if "retransmit" not in tcb.timers:
                self._arm("retransmit")
        self._out.append(out)

    def _fresh_tcb(self) -> TCB:
        return TCB(rcv_wnd=self._rcv_wnd, max_retries=self._max_retries)

    # ---------------------------------------------------------------- effects
    # Each effect of the vocabulary (tcpfsm.spec._vocabulary.EFFECTS) is one method here, bound by @effect.
    @effect("choose_iss")
    def _fx_choose_iss(self, seg: Segment) -> None:
        tcb = self._tcb
        if self.next_iss is not None:
            iss, self.next_iss = self.next_iss, None
        else:
            # the 4-microsecond clock of RFC 9293 §3.4.1, kept moving forward when the
            # caller's clock stands still, so that each new connection gets a new ISS
            iss = max(int(self.now * 250_000), self._last_iss + 64_000 if self._last_iss is not None else 0)
        self._last_iss = iss
        tcb.iss = tcb.snd_una = tcb.snd_nxt = iss % SEQ_MOD

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
            tcb.timers.pop("retransmit", None)
            if self._rtx:
                self._arm("retransmit")
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
            self._call_data = bytes(self._send_buffer) if self._send_buffer else self._tcb.queued
            ack_psh = Send(Flags.ACK | Flags.PSH, "SND.NXT", "RCV.NXT", data=True)
            self._emit(ack_psh, seg)
            self._call_data = 0

    @effect("defer_close")
    def _fx_defer_close(self, seg: Segment) -> None:
        self._tcb.close_deferred = True
        self._deferred_in = getattr(self, MODEL_ATTRIBUTE)

    @effect("flush")
    def _fx_flush(self, seg: Segment) -> None:
        self._rtx.clear()
        self._send_buffer.clear()
        self._tcb.queued = 0
        self._tcb.timers.pop("retransmit", None)

    @effect("delete_tcb")
    def _fx_delete_tcb(self, seg: Segment) -> None:
        self._fx_flush(seg)
        self._tcb = self._fresh_tcb()

    @effect("reset_for_listen")
    def _fx_reset_for_listen(self, seg: Segment) -> None:
        self._fx_flush(seg)
        user = self._tcb.timers.get("user")
        self._tcb = self._fresh_tcb()
        self._tcb.passive = True
        if user is not None:
            self._tcb.timers["user"] = user

    @effect("new_incarnation")
    def _fx_new_incarnation(self, seg: Segment) -> None:
        old = self._tcb
        self._fx_flush(seg)
        self._tcb = self._fresh_tcb()
        self._tcb.incarnation = old.incarnation + 1
        # MAY-2 (§3.6.1): the new ISS must exceed the old connection's sequence numbers.
        self.next_iss = seq_add(old.snd_nxt, 1 << 16)

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
        self._arm("retransmit")
        self._out.append(again)

    @effect("return")
    def _fx_return(self, seg: Segment) -> None:
        """The RFC's "and return": the caller stops the segment's remaining steps."""

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
            next_iss=self.next_iss, last_iss=self._last_iss, close_deferred_in=self._deferred_in, now=self.now)

    def restore(self, snap: EndpointState) -> None:
        """Put this endpoint where ``snap`` was (its spec and settings stay; notices are kept)."""
        if snap.state not in self._by_name:
            raise ValueError(f"{snap.state!r} is not a state of {self.spec.profile or self.spec.name}")
        setattr(self, MODEL_ATTRIBUTE, snap.state)
        self._tcb = TCB(**dict(snap.tcb), timers=dict(snap.timers))
        self._rtx = list(snap.retransmission_queue)
        self._send_buffer = bytearray(snap.send_buffer)
        self._receive_buffer = bytearray(snap.receive_buffer)
        self.next_iss, self._last_iss, self._deferred_in = snap.next_iss, snap.last_iss, snap.close_deferred_in
        self.now = snap.now

    def clone(self, *, engine: str | None = None) -> Endpoint:
        """An independent copy in the same state: ``restore(snapshot())`` on a fresh endpoint."""
        twin = self.fresh(self.next_iss)
        if engine is not None:
            twin.engine = engine
        twin.restore(self.snapshot())
        twin.notices = list(self.notices)
        return twin

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
                        **self._config)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"<Endpoint{label} {self.state} profile={self.spec.profile}>"


EFFECT_IMPL: dict[str, EffectImpl] = effect.complete()  # every declared effect has its method
# every duration parameter of the vocabulary is an Endpoint setting of the same name
_PARAMS = set(inspect.signature(Endpoint.__init__).parameters)
if any(name not in _PARAMS for name in vocabulary.DURATIONS if name != "seconds"):  # pragma: no cover
    raise LookupError("a duration parameter of the vocabulary has no Endpoint setting of that name")

__all__ = ["Endpoint", "EndpointState", "Notice", "State", "Step"]
