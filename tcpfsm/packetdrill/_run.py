"""Run a packetdrill script against the socket layer and the spec, line by line.

The script's local side is a :class:`~tcpfsm.sockets.Host` (the system under test); the
script plays the remote side. Inbound packets (``<``) are given to the host; outbound ones
(``>``) are compared with the next segment the model sent (flags, SEQ, ACK and length, in
the script's relative numbers); system calls are made on the host's sockets and their results
compared with the script's. Each line reports the rules behind it (spec transition ids with
their RFC §, socket-layer rules with the Linux function), and a divergence names the rule
that produced what the model did instead. As packetdrill does, the run stops at the first
divergence (the lines after it are "not run").

Conventions (packetdrill's): the local port is 8080 for a bound socket and ephemeral for a
connecting one, the remote's is 8080 for a connect and ephemeral otherwise; relative sequence
numbers count from each side's ISN (the local ISN learned from the model's SYN). Time drives
the model's timers; Linux's initial RTO is 1 s (TCP_TIMEOUT_INIT) and its TIME-WAIT 60 s
(TCP_TIMEWAIT_LEN), so the model runs with rto=1 and msl=30. Window values, TCP options, ECN
and the timing of outbound packets are not compared (the model has no options, no congestion
control and sends at once: each such line says so in its notes); a packet that the model
sends later than the script's time (a retransmission, a timer) is not there yet and diverges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpfsm.base import SEQ_MOD, Flags, Segment
from tcpfsm.packetdrill._parse import FLAG_LETTERS, Event, Other, Packet, Script, Syscall, parse_script
from tcpfsm.sockets import ERRNO, Host, Listener, Record, Socket, SocketError
from tcpfsm.spec import Spec

LOCAL_PORT, REMOTE_PORT = 8080, 48000
LOCAL_ISN, REMOTE_ISN = 1_000_000, 5_000_000
# tcp_syn_retries: TCP_SYN_RETRIES is 6 (include/net/tcp.h), where an Endpoint's default, 7, is
# RFC 9293 MUST-23's three minutes
LINUX_SETTINGS: dict[str, float | int] = {"rto": 1.0, "msl": 30.0, "max_syn_retries": 6}
# options that change nothing the lifecycle model holds (the call is made; its result compared)
_NO_EFFECT = {"SO_REUSEADDR", "SO_REUSEPORT", "TCP_NODELAY"}


@dataclass
class LineResult:
    """What one line did: ``status`` pass, divergence, not_modelled or not_run."""

    line: int
    text: str
    kind: str
    status: str
    expected: str = ""
    actual: str = ""
    rules: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    message: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "kind": self.kind, "status": self.status,
                "expected": self.expected, "actual": self.actual,
                "rules": [{"rule": r.rule, "ref": r.ref, "what": r.what} for r in self.rules],
                "notes": list(self.notes), "message": self.message, "reason": self.reason}


@dataclass
class ScriptResult:
    """A whole script's run: its lines and the counts (read = run + not modelled + not run)."""

    file: str
    profile: str
    lines: list[LineResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(r.status == "divergence" for r in self.lines)

    @property
    def verdict(self) -> str:
        """divergence; inconclusive when no line was run (nothing was compared); else pass."""
        if not self.passed:
            return "divergence"
        return "pass" if any(r.status == "pass" for r in self.lines) else "inconclusive"

    def counts(self) -> dict[str, Any]:
        by: dict[str, int] = {}
        for r in self.lines:
            if r.status == "not_modelled":
                by[r.reason] = by.get(r.reason, 0) + 1
        run = sum(r.status in ("pass", "divergence") for r in self.lines)
        return {"read": len(self.lines), "run": run, "passed": sum(r.status == "pass" for r in self.lines),
                "diverged": sum(r.status == "divergence" for r in self.lines),
                "not_modelled": sum(by.values()), "not_modelled_by_reason": dict(sorted(by.items())),
                "not_run": sum(r.status == "not_run" for r in self.lines)}

    def to_dict(self) -> dict[str, Any]:
        first = next((r for r in self.lines if r.status == "divergence"), None)
        return {"script": self.file, "profile": self.profile, "verdict": self.verdict,
                "counts": self.counts(), "divergence": first.to_dict() if first else None,
                "lines": [r.to_dict() for r in self.lines]}


class _Blocked(Exception):
    """The call would block: a blocking call (``A...B``) waits; any other call diverges."""


@dataclass
class _Pending:
    event: Event
    call: Syscall
    result: LineResult
    retry: Any


class Runner:
    """One script's run (see the module docstring)."""

    def __init__(self, script: Script, *, profile: str | None = "linux", spec: Spec | None = None) -> None:
        self.script = script
        self.tfo_note = ""
        if spec is None and profile == "linux" and _uses_fast_open(script):
            profile = "tfo"  # TCP Fast Open is the tfo overlay over linux (RFC 7413)
            self.tfo_note = "the script uses TCP Fast Open: run on the tfo profile (linux + RFC 7413)"
        self.host = Host(profile=profile, spec=spec, iss=LOCAL_ISN, **LINUX_SETTINGS)
        self.profile = self.host.spec.profile or self.host.spec.name
        self.result = ScriptResult(script.file, self.profile)
        self.now = 0.0
        self.fds: dict[int, Socket] = {}
        self.listeners: dict[int, Listener] = {}
        self.fastopen_before_listen: dict[int, bool] = {}
        self.local_isn, self.remote_isn = LOCAL_ISN, REMOTE_ISN
        self.ports = (LOCAL_PORT, REMOTE_PORT)
        self.sent: list[tuple[Segment, Record | None]] = []
        self.pending: list[_Pending] = []
        self._seen = 0
        self.stopped = False

    # ---------------------------------------------------------------- driving
    def run(self) -> ScriptResult:
        for i, ev in enumerate(self.script.events):
            if self.stopped:
                self.result.lines.append(LineResult(ev.line, ev.text, self._kind(ev), "not_run",
                                                    message="after the divergence above"))
                continue
            self._advance(ev)
            if self.pending:  # a blocking call that returns by this line's time returns before it runs
                self._retry_pending()
                if self.stopped:
                    self.result.lines.append(LineResult(ev.line, ev.text, self._kind(ev), "not_run",
                                                        message="after the divergence above"))
                    continue
            self._event(ev)
            if i == 0 and self.tfo_note:
                self.result.lines[-1].notes.append(self.tfo_note)
            self._retry_pending()
        for p in self.pending:
            if not self.stopped:
                self._diverge(p.result, f"the blocking {p.call.name}() never returned")
        if self.sent and not self.stopped:
            extra = ", ".join(self._show(s) for s, _ in self.sent)
            last = self.result.lines[-1] if self.result.lines else None
            if last is not None:
                last.notes.append(f"the model also sent {extra} after the script's last line (not checked, "
                                  "as packetdrill does not)")
        return self.result

    def _kind(self, ev: Event) -> str:
        if isinstance(ev.body, Packet):
            return "inbound" if ev.body.direction == "<" else "outbound"
        if isinstance(ev.body, Syscall):
            return "syscall"
        return ev.body.kind

    def _advance(self, ev: Event) -> None:
        t = ev.time
        if t is None or t.any:
            return
        self.now = self.now + t.start if t.relative else t.start
        self._collect(self.host.tick(self.now))

    def _collect(self, out: list[Segment]) -> None:
        """Remember what the model sent, each with the rule that sent it."""
        new = self.host.log[self._seen:]
        self._seen = len(self.host.log)
        for seg in out:
            rec = next((r for r in reversed(new) if any(s is seg for s in r.sent)), None)
            self.sent.append((seg, rec))

    def _rules_since(self, mark: int) -> list[Record]:
        return list(self.host.log[mark:])

    def _event(self, ev: Event) -> None:
        kind = self._kind(ev)
        res = LineResult(ev.line, ev.text, kind, "pass")
        self.result.lines.append(res)
        body = ev.body
        if isinstance(body, Other):
            res.status, res.reason = "not_modelled", {"option": "script option", "shell": "shell command",
                                                      "python": "python block"}[body.kind]
            res.message = f"{res.reason}: not run by the model"
            return
        if isinstance(body, Packet):
            if body.protocol != "tcp":
                res.status, res.reason = "not_modelled", f"{body.protocol} packet"
                res.message = (f"{body.protocol.upper()} packets are not modelled by the socket layer"
                               + (" (an Endpoint takes ICMP errors as icmp_error() under the icmp profile)"
                                  if body.protocol == "icmp" else ""))
                return
            if body.direction == "<":
                self._inbound(body, res)
            else:
                self._outbound(body, res)
            return
        self._syscall(ev, body, res)

    # ---------------------------------------------------------------- packets
    def _flags(self, letters: str, res: LineResult) -> Flags:
        flags = Flags(0)
        for c in letters:
            name = FLAG_LETTERS[c]
            if name in ("ECE", "CWR"):
                res.notes.append(f"{name} not modelled (no ECN)")
                continue
            flags |= Flags[name]
        return flags

    def _inbound(self, pkt: Packet, res: LineResult) -> None:
        flags = self._flags(pkt.flags, res)
        if pkt.options:
            res.notes.append(f"TCP options not modelled: <{pkt.options}>")
        if pkt.ecn:
            res.notes.append(f"ECN codepoint [{pkt.ecn}] not modelled")
        lport, rport = self.ports
        seg = Segment(seq=(self.remote_isn + pkt.start) % SEQ_MOD,
                      ack=(self.local_isn + (pkt.ack or 0)) % SEQ_MOD if pkt.ack is not None else 0,
                      flags=flags, window=min(pkt.win if pkt.win is not None else 65535, SEQ_MOD - 1),
                      length=pkt.length, src_port=rport, dst_port=lport)
        cookie = _fast_open_cookie(pkt.options)
        mark = len(self.host.log)
        self._collect(self.host.receive(seg, tfo_cookie=cookie))
        res.rules = self._rules_since(mark)
        res.actual = "; ".join(f"{r.rule}: {r.what}" + (f" (dropped: {r.dropped})" if r.dropped else "")
                               for r in res.rules)

    def _rel(self, seg: Segment) -> tuple[int, int, int]:
        seq = (seg.seq - self.local_isn) % SEQ_MOD
        ack = (seg.ack - self.remote_isn) % SEQ_MOD
        return seq, (seq + seg.length) % SEQ_MOD, ack

    def _show(self, seg: Segment) -> str:
        letters = "".join(c for c, n in (("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"), ("U", "URG"))
                          if seg.flags & Flags[n])
        letters += "." if seg.flags & Flags.ACK else ""
        seq, end, ack = self._rel(seg)
        return f"{letters} {seq}:{end}({seg.length})" + (f" ack {ack}" if seg.flags & Flags.ACK else "")

    def _outbound(self, pkt: Packet, res: LineResult) -> None:
        want = self._flags(pkt.flags, res)
        res.expected = f"{pkt.flags} {pkt.start}:{pkt.end}({pkt.length})"
        if pkt.ack is not None:
            res.expected += f" ack {pkt.ack}"
        not_compared = [w for w, v in (("win", pkt.win), ("options", pkt.options)) if v is not None]
        if not_compared:
            res.notes.append(f"not compared (not modelled): {', '.join(not_compared)}")
        if not self.sent:
            last = self.host.log[-1] if self.host.log else None
            after = f" after {last.rule} ({last.ref}: {last.what})" if last else ""
            res.actual = "nothing"
            self._diverge(res, f"the model sends nothing here{after}", [last] if last else [])
            return
        seg, rec = self.sent.pop(0)
        if want & Flags.SYN:
            self.local_isn = seg.seq if seg.flags & Flags.SYN else self.local_isn
        res.actual = self._show(seg)
        res.rules = [rec] if rec else []
        seq, end, ack = self._rel(seg)
        problems = []
        if seg.flags != want:
            problems.append(f"flags {seg.flags} where the script has {want}")
        if (seq, seg.length) != (pkt.start, pkt.length):
            problems.append(f"seq {seq}:{end}({seg.length}) where the script has {pkt.start}:{pkt.end}({pkt.length})")
        if pkt.ack is not None and want & seg.flags & Flags.ACK and ack != pkt.ack:
            problems.append(f"ack {ack} where the script has {pkt.ack}")
        if problems:
            self._diverge(res, "; ".join(problems), res.rules)

    def _diverge(self, res: LineResult, message: str, rules: list[Record] | None = None) -> None:
        res.status = "divergence"
        why = ""
        if rules:
            r = rules[0]
            why = f" [rule {r.rule}, {r.ref}]"
        res.message = message + why
        if rules is not None:
            res.rules = rules
        self.stopped = True

    # ---------------------------------------------------------------- system calls
    def _syscall(self, ev: Event, call: Syscall, res: LineResult) -> None:
        res.expected = f"{call.result}" + (f" {call.errno}" if call.errno else "")
        handler = getattr(self, f"_sys_{call.name}", None)
        if handler is None:
            res.status, res.reason = "not_modelled", f"syscall {call.name}"
            res.message = f"{call.name}() is not modelled by the socket layer"
            return
        mark = len(self.host.log)
        try:
            outcome = handler(call, res)
        except (ValueError, IndexError, KeyError):  # arguments the layer cannot read (a number, a field)
            res.status, res.reason = "not_modelled", f"syscall {call.name} (arguments)"
            res.message = f"{call.name}() with arguments {', '.join(call.args)[:80]!r} is not modelled"
            self._collect(self.host.take_output())
            return
        except _Blocked:
            if ev.time is not None and ev.time.blocking:
                self.pending.append(_Pending(ev, call, res, lambda: handler(call, res)))
                res.rules = self._rules_since(mark)
                res.message = "blocks (waiting)"
                self._collect(self.host.take_output())
                return
            res.actual = "would block"
            self._collect(self.host.take_output())
            self._diverge(res, f"{call.name}() would block here (write A...B for a blocking call)",
                          self._rules_since(mark))
            return
        if res.status == "not_modelled":
            return
        self._collect(self.host.take_output())
        if res.status == "divergence":  # the handler found it (getsockopt's value): keep its report
            return
        res.rules = self._rules_since(mark)
        self._compare(call, res, outcome)

    def _retry_pending(self) -> None:
        for p in list(self.pending):
            mark = len(self.host.log)
            try:
                outcome = p.retry()
            except _Blocked:
                continue
            self.pending.remove(p)
            self._collect(self.host.take_output())
            p.result.rules += self._rules_since(mark)
            p.result.message = "returned after blocking"
            self._compare(p.call, p.result, outcome)
            if self.stopped:
                return

    def _compare(self, call: Syscall, res: LineResult, outcome: int | str) -> None:
        """``outcome``: the model's return value, or an errno name (the call returned -1)."""
        res.actual = f"-1 {outcome}" if isinstance(outcome, str) else str(outcome)
        if not isinstance(call.result, int):
            res.notes.append(f"result {call.result!r} not compared")
            return
        want = f"-1 {call.errno}" if call.errno else str(call.result)
        if res.actual != want and not (call.result == -1 and not call.errno and isinstance(outcome, str)):
            self._diverge(res, f"{call.name}() returns {res.actual} where the script has {want}",
                          res.rules or None)

    def _fd(self, call: Syscall) -> Socket | None:
        try:
            return self.fds.get(int(call.args[0]))
        except (ValueError, IndexError):
            return None

    def _errno(self, exc: SocketError, res: LineResult) -> str:
        self.host.note(exc.rule, f"{exc.errno}" + (f": {exc.why}" if exc.why else ""))
        return exc.errno

    def _new_fd(self, sock: Socket) -> int:
        fd = 3
        while fd in self.fds:
            fd += 1
        self.fds[fd] = sock
        return fd

    def _not_modelled(self, res: LineResult, reason: str, message: str) -> int:
        res.status, res.reason, res.message = "not_modelled", reason, message
        return 0

    def _blocks(self, sock: Socket, exc: SocketError) -> bool:
        return exc.errno == "EAGAIN" and not sock.nonblocking

    def _sys_socket(self, call: Syscall, res: LineResult) -> int | str:
        if any("SOCK_DGRAM" in a or "IPPROTO_UDP" in a for a in call.args):
            return self._not_modelled(res, "syscall socket (UDP)", "UDP sockets are not modelled")
        return self._new_fd(self.host.socket())

    def _sys_bind(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        try:
            sock.bind(LOCAL_PORT)
        except SocketError as exc:
            return self._errno(exc, res)
        return 0

    def _sys_listen(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        if not sock.local_port:
            sock.bind(LOCAL_PORT)
        try:
            backlog = int(call.args[1]) if len(call.args) > 1 else 128
            listener = self.listeners[int(call.args[0])] = sock.listen(backlog)
            listener.fastopen = self.fastopen_before_listen.pop(int(call.args[0]), listener.fastopen)
        except SocketError as exc:
            return self._errno(exc, res)
        self.ports = (sock.local_port, REMOTE_PORT)
        return 0

    def _sys_accept(self, call: Syscall, res: LineResult) -> int | str:
        fd = int(call.args[0]) if call.args and call.args[0].isdigit() else -1
        listener = self.listeners.get(fd)
        if listener is None:
            return "EINVAL" if fd in self.fds else "EBADF"
        try:
            child = listener.accept()
        except SocketError as exc:
            if self._blocks(listener.socket, exc):
                raise _Blocked() from None
            return self._errno(exc, res)
        return self._new_fd(child)

    _sys_accept4 = _sys_accept

    def _sys_connect(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        if self._connecting is not sock:  # the call itself (a blocking one is retried below)
            try:
                sock.connect(LOCAL_PORT)
            except SocketError as exc:
                return self._errno(exc, res)
            self.ports = (sock.local_port, LOCAL_PORT)
            if sock.nonblocking:
                return "EINPROGRESS"  # __inet_stream_connect
            self._connecting = sock
        if not sock.established:
            raise _Blocked()
        self._connecting = None
        try:
            sock.connect_result()
        except SocketError as exc:
            return self._errno(exc, res)
        return 0

    _connecting: Socket | None = None

    def _sys_write(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        try:
            count = int(call.args[2])
        except (ValueError, IndexError):
            return self._not_modelled(res, "syscall write (length)", "a write needs its length as a number")
        if len(call.args) > 3 and call.args[3] not in ("0",):
            return self._not_modelled(res, f"syscall {call.name} flags", f"send flags {call.args[3]} are not modelled")
        try:
            return sock.send(count)
        except SocketError as exc:
            if self._blocks(sock, exc):
                raise _Blocked() from None
            return self._errno(exc, res)

    _sys_send = _sys_write

    def _sys_sendto(self, call: Syscall, res: LineResult) -> int | str:
        """sendto(fd, ..., N, MSG_FASTOPEN, ..., ...): connect with data (tcp_sendmsg_fastopen)."""
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        if len(call.args) < 4 or "MSG_FASTOPEN" not in call.args[3] or not self._has_tfo():
            return self._not_modelled(res, "syscall sendto", "sendto() is modelled with MSG_FASTOPEN only, "
                                      "on a profile with TCP Fast Open")
        if not sock.nonblocking:
            return self._not_modelled(res, "syscall sendto (blocking)", "a blocking sendto(MSG_FASTOPEN) "
                                      "is not modelled")
        try:
            taken = sock.connect(LOCAL_PORT, int(call.args[2]), fast_open=True)
        except SocketError as exc:
            return self._errno(exc, res)
        self.ports = (sock.local_port, LOCAL_PORT)
        return taken if taken else "EINPROGRESS"

    def _sys_read(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        try:
            count = int(call.args[2])
        except (ValueError, IndexError):
            return self._not_modelled(res, "syscall read (length)", "a read needs its length as a number")
        try:
            got = sock.recv(count)
        except SocketError as exc:
            if self._blocks(sock, exc):
                raise _Blocked() from None
            return self._errno(exc, res)
        return got if isinstance(got, int) else len(got)

    _sys_recv = _sys_read

    def _sys_shutdown(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        how = call.args[1] if len(call.args) > 1 else ""
        read, write = how in ("SHUT_RD", "SHUT_RDWR", "0", "2"), how in ("SHUT_WR", "SHUT_RDWR", "1", "2")
        if not (read or write):
            return "EINVAL"
        try:
            sock.shutdown(read=read, write=write)
        except SocketError as exc:
            return self._errno(exc, res)
        return 0

    def _sys_close(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        del self.fds[int(call.args[0])]
        self.listeners.pop(int(call.args[0]), None)
        try:
            sock.close()
        except SocketError as exc:
            return self._errno(exc, res)
        return 0

    def _sys_fcntl(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        if len(call.args) > 2 and call.args[1] == "F_SETFL":
            sock.nonblocking = "O_NONBLOCK" in call.args[2]
            return 0
        return self._not_modelled(res, "syscall fcntl", f"fcntl {call.args[1:2]} is not modelled")

    def _sys_setsockopt(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        name = call.args[2] if len(call.args) > 2 else ""
        if name in _NO_EFFECT:
            res.notes.append(f"{name}: no effect on the lifecycle model")
            return 0
        if name == "TCP_FASTOPEN" and self._has_tfo() and len(call.args) > 3:
            on = call.args[3].strip("[] ") not in ("0", "")
            fd = int(call.args[0])
            if fd in self.listeners:
                self.listeners[fd].fastopen = on
            else:  # set before listen(): do_tcp_setsockopt allows TCP_CLOSE too, listen() applies it
                self.fastopen_before_listen[fd] = on
            res.notes.append("Fast Open cookies: a SYN's FO option with a cookie is taken as valid")
            return 0
        if name == "TCP_FASTOPEN_CONNECT" and self._has_tfo():
            sock.fastopen_connect = call.args[3].strip("[] ") not in ("0", "")
            return 0
        if name == "SO_LINGER" and len(call.args) > 3:
            value = call.args[3].replace(" ", "")
            on = "onoff=1" in value
            seconds = int(value.split("linger=")[1].rstrip("}")) if "linger=" in value else 0
            sock.setsockopt_linger(on, seconds)
            if on and seconds:
                res.notes.append("SO_LINGER with a timeout: close() is not made to wait (not modelled)")
            return 0
        return self._not_modelled(res, f"setsockopt {name}", f"setsockopt {name} is not modelled")

    def _has_tfo(self) -> bool:
        return any(g.name == "fast_open" for g in self.host.spec.guards)

    def _sys_getsockopt(self, call: Syscall, res: LineResult) -> int | str:
        sock = self._fd(call)
        if sock is None:
            return "EBADF"
        if len(call.args) > 3 and call.args[2] == "SO_ERROR":
            want = call.args[3].strip("[] ")
            err = sock.error
            sock.error = None
            got = str(ERRNO[err]) if err else "0"
            want_num = str(ERRNO.get(want, want))
            if got != want_num:
                res.expected, res.actual = f"SO_ERROR {want}", f"SO_ERROR {err or 0}"
                self._diverge(res, f"SO_ERROR is {err or 0} where the script has {want}")
            return 0
        return self._not_modelled(res, "syscall getsockopt", f"getsockopt {call.args[2:3]} is not modelled")


def _uses_fast_open(script: Script) -> bool:
    for ev in script.events:
        b = ev.body
        if isinstance(b, Syscall) and any("FASTOPEN" in a for a in b.args):
            return True
        if isinstance(b, Packet) and _fast_open_cookie(b.options):
            return True
    return False


def _fast_open_cookie(options: str | None) -> bool:
    """A TCP Fast Open option with a cookie (``FO 1234abcd``; a bare ``FO`` asks for one)."""
    for opt in (options or "").split(","):
        words = opt.split()
        if len(words) >= 2 and words[0] in ("FO", "FOEXP"):
            return True
    return False


def run_script(path: str | Path, *, profile: str | None = "linux", spec: Spec | None = None) -> ScriptResult:
    """Parse and run one script file (ScriptError for bad syntax, with file:line)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8", errors="replace")
    return Runner(parse_script(text, str(p)), profile=profile, spec=spec).run()


def run_text(text: str, *, file: str = "<script>", profile: str | None = "linux",
             spec: Spec | None = None) -> ScriptResult:
    """Parse and run a script given as text."""
    return Runner(parse_script(text, file), profile=profile, spec=spec).run()


__all__ = ["LineResult", "Runner", "ScriptResult", "run_script", "run_text"]
