"""A BSD-sockets layer over Endpoints: ``Host``, ``Socket`` and ``Listener`` (sans-IO).

Theory of operation
-------------------
A :class:`Host` is one TCP stack: it owns the connections (one :class:`~tcpfsm.runtime.Endpoint`
each, from the spec and profile it was made with), demultiplexes arriving segments to them by
port pair, and collects every segment any of them sends in its outbox. Nothing here reads a
socket or a clock: segments come in through :meth:`Host.receive`, time through
:meth:`Host.tick`, and :meth:`Host.take_output` hands back what to transmit.

The TCP rules (states, segments, timers) are the spec's, executed by the Endpoints. This layer
adds only what a socket API decides above them, each rule named after the Linux function it
mirrors (net/ipv4/tcp.c, inet_connection_sock.c, af_inet.c, tcp_minisocks.c), read for
behaviour only:

- the accept queue and its backlog (``inet_csk_accept``, ``sk_acceptq_is_full``,
  ``tcp_conn_request``, ``tcp_v4_syn_recv_sock``), request socks in SYN-RECEIVED that an RST
  or a SYN drops (``tcp_check_req``), a child reset before it is accepted (it stays queued and
  its first ``recv`` reports ECONNRESET: ``tcp_reset``, ``inet_csk_accept``), and closing a
  listener with queued children (``inet_csk_listen_stop``: full children are reset, request
  socks dropped);
- errors as errno names (``tcp_reset``: ECONNREFUSED in SYN-SENT, EPIPE in CLOSE-WAIT,
  ECONNRESET otherwise; ``tcp_write_err``: ETIMEDOUT), and the calls' own errors
  (``tcp_sendmsg_locked`` / ``sk_stream_wait_connect``: EPIPE, EAGAIN; ``tcp_recvmsg``:
  ENOTCONN, EAGAIN; ``inet_shutdown``: ENOTCONN; ``__inet_stream_connect``: EISCONN, EALREADY);
- ``close()`` as ``tcp_close``: a listener stops, unread data resets the connection, SO_LINGER
  {1, 0} aborts with RST (``tcp_disconnect``), otherwise the FIN of RFC CLOSE; the connection
  lives on as an orphan until its Endpoint reaches CLOSED;
- a segment for no connection and no listener is answered by the spec's CLOSED rules (RFC 9293
  §3.10.7.1), as ``tcp_v4_send_reset`` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.base import Flags, Segment, TcpFsmError, UserCallError
from tcpfsm.runtime import Endpoint, Step
from tcpfsm.sockets import _calls
from tcpfsm.spec import Spec, resolve_spec

# errno names the layer reports, with their Linux numbers (include/uapi/asm-generic/errno*.h):
# getsockopt(SO_ERROR) and scripts may give either
ERRNO = {"EPERM": 1, "EAGAIN": 11, "EBADF": 9, "EINVAL": 22, "EPIPE": 32, "EOPNOTSUPP": 95,
         "EADDRINUSE": 98, "ECONNABORTED": 103, "ECONNRESET": 104, "EISCONN": 106, "ENOTCONN": 107,
         "ETIMEDOUT": 110, "ECONNREFUSED": 111, "EALREADY": 114, "EINPROGRESS": 115}

_SYNCHRONIZING = ("SYN-SENT", "SYN-RECEIVED")
# net.core.somaxconn's default since Linux 5.4: __sys_listen caps the backlog at it, and a
# negative backlog, compared as unsigned, is capped too (listen(fd, -1) asks for the most)
SOMAXCONN = 4096


class SocketError(TcpFsmError):
    """A socket call failed as the kernel would fail it: ``errno`` is the name (``"EPIPE"``),
    ``rule`` the Linux function whose rule it is."""

    def __init__(self, errno: str, rule: str, why: str = "") -> None:
        self.errno, self.rule, self.why = errno, rule, why
        super().__init__(f"{errno} ({rule}{': ' + why if why else ''})")

    def __reduce__(self) -> tuple[type[SocketError], tuple[str, str, str]]:
        return type(self), (self.errno, self.rule, self.why)


@dataclass(frozen=True)
class Record:
    """One rule the stack applied: a spec transition (``rule`` its id, ``ref`` its RFC §) or a
    rule of the socket layer (``rule`` the Linux function, ``ref`` "Linux")."""

    rule: str
    ref: str
    what: str
    endpoint: str | None = None
    sent: tuple[Segment, ...] = ()
    dropped: str | None = None
    event: str = ""   # for a transition: the spec event and the states it went from and to
    source: str = ""
    target: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "ref": self.ref, "what": self.what, "endpoint": self.endpoint,
                "sent": [str(s) for s in self.sent], "dropped": self.dropped}


def _step_record(step: Step) -> Record:
    ref = step.rfc if not step.rfc[:1].isdigit() else f"RFC 9293 §{step.rfc}"
    what = f"{step.event}: {step.source} -> {step.target}"
    return Record(step.transition, ref, what, step.name, tuple(step.sent), step.dropped,
                  step.event, str(step.source), str(step.target))


class Host:
    """One TCP stack of sockets over Endpoints (sans-IO; see the module's theory of operation).

    ``profile`` / ``spec`` choose the machine (default: the linux profile, the stack these rules
    mirror); ``iss`` is the ISS of each new connection (an int, a function of the port pair, or
    None for the Endpoint's RFC 6528 clock); other keywords are Endpoint settings (``rto``,
    ``msl``, ...). Every rule applied is appended to ``log``.
    """

    def __init__(self, *, profile: str | None = "linux", spec: Spec | None = None,
                 iss: int | Callable[[int, int], int] | None = None, now: float = 0.0,
                 **settings: Any) -> None:
        self.spec = resolve_spec(spec, profile=profile if spec is None else None)
        self.iss = iss
        self.now = float(now)
        self.settings = settings
        self.log: list[Record] = []
        self.outbox: list[Segment] = []
        self._conns: dict[tuple[int, int], Socket] = {}
        self._listeners: dict[int, Listener] = {}
        self._next_port = 40000
        self.tfo_cookies: set[int] = set()  # servers (remote ports) whose Fast Open cookie is cached

    # ------------------------------------------------------------ sockets
    def socket(self) -> Socket:
        """socket(AF_INET, SOCK_STREAM, IPPROTO_TCP): a new unconnected socket."""
        return Socket(self)

    def endpoint(self, local_port: int, remote_port: int, name: str | None = None, **settings: Any) -> Endpoint:
        """A CLOSED Endpoint of this host's spec and settings for one port pair, observed into ``log``."""
        iss = self.iss(local_port, remote_port) if callable(self.iss) else self.iss
        ep = Endpoint(iss, spec=self.spec, local_port=local_port, remote_port=remote_port, now=self.now,
                      name=name or f"{local_port}-{remote_port}", **{**self.settings, **settings})
        ep.observe(lambda step: self.log.append(_step_record(step)))
        return ep

    def note(self, rule: str, what: str, sent: tuple[Segment, ...] = (), endpoint: str | None = None) -> None:
        """Log a rule of the socket layer (``rule``: the Linux function it mirrors)."""
        self.log.append(Record(rule, "Linux", what, endpoint, sent))

    def ephemeral_port(self) -> int:
        self._next_port += 1
        return self._next_port

    # ------------------------------------------------------------ the wire
    def receive(self, seg: Segment, *, tfo_cookie: bool = False) -> list[Segment]:
        """A segment from the network (``dst_port`` is ours, ``src_port`` the peer's): handed to
        its connection, else to the listener of its port, else to the spec's CLOSED rules. Returns
        the outbox (what this and any earlier call left to transmit). ``tfo_cookie``: the segment
        carries a valid TCP Fast Open cookie (RFC 7413 §4.1.2; options are not modelled as bytes)."""
        if not isinstance(seg, Segment):
            raise TypeError(f"receive() takes a Segment, not {type(seg).__name__}")
        lport, rport = seg.dst_port or 0, seg.src_port or 0
        sock = self._conns.get((lport, rport))
        if sock is not None and sock.endpoint is not None:
            listener = sock.parent
            if (listener is not None and sock in listener.requests and seg.flags & Flags.ACK
                    and not seg.flags & (Flags.RST | Flags.SYN) and listener.queue_full()):
                # tcp_v4_syn_recv_sock: the accept queue is full, the final ACK is dropped (listen_overflow)
                self.note("tcp_v4_syn_recv_sock", "accept queue full: the handshake's ACK is dropped")
                return self.take_output()
            if tfo_cookie and seg.flags & Flags.SYN and seg.flags & Flags.ACK:
                self.tfo_cookies.add(rport)  # tcp_fastopen_cache_set: the SYN,ACK's cookie, kept per server
            self._deliver(sock, sock.endpoint.receive, seg)
        elif lport in self._listeners:
            self._listeners[lport].arrive(seg, tfo_cookie=tfo_cookie)
        else:
            # no socket: tcp_v4_rcv's no_tcp_socket answers as the RFC's CLOSED state does (§3.10.7.1)
            ep = self.endpoint(lport, rport)
            self.outbox += ep.receive(seg)
        return self.take_output()

    def tick(self, now: float) -> list[Segment]:
        """Advance the clock to ``now``, firing every timer that falls due on the way at its own
        deadline (a retransmission re-armed by an earlier one fires too, if it is due by ``now``)."""
        target = float(now)
        while (deadline := self.next_deadline()) is not None and deadline <= target:
            self._tick_all(max(deadline, self.now))
        self._tick_all(target)
        return self.take_output()

    def _tick_all(self, now: float) -> None:
        self.now = now
        for sock in list(self._conns.values()):
            if sock.endpoint is not None:
                self._deliver(sock, sock.endpoint.tick, now)

    def take_output(self) -> list[Segment]:
        """Return and forget the segments waiting to be transmitted."""
        out, self.outbox = self.outbox, []
        return out

    def listener(self, port: int) -> Listener | None:
        """The listener on a local port, or None."""
        return self._listeners.get(port)

    def next_deadline(self) -> float | None:
        """The earliest timer of any connection, or None."""
        deadlines = [d for s in self._conns.values() if s.endpoint is not None
                     for d in [s.endpoint.next_deadline()] if d is not None]
        return min(deadlines, default=None)

    @property
    def connections(self) -> dict[tuple[int, int], str]:
        """(local port, remote port) -> state, for every connection the host holds."""
        return {k: s.state for k, s in self._conns.items()}

    # ------------------------------------------------------------ inside
    def _deliver(self, sock: Socket, call: Callable[[Any], list[Segment]], arg: Any) -> None:
        ep = sock.endpoint
        assert ep is not None
        before = ep.state_name
        start = len(self.log)
        self.outbox += call(arg)
        sock.after(before, self.log[start:])

    def _register(self, sock: Socket) -> None:
        assert sock.remote_port is not None
        self._conns[(sock.local_port, sock.remote_port)] = sock

    def _forget(self, sock: Socket) -> None:
        if sock.remote_port is not None and self._conns.get((sock.local_port, sock.remote_port)) is sock:
            del self._conns[(sock.local_port, sock.remote_port)]


@dataclass(eq=False)
class Socket:
    """One stream socket of a :class:`Host`: connect / send / recv / shutdown / close, SO_LINGER.

    Calls return what the system call returns (a byte count, the data, None) and raise
    :class:`SocketError` with the errno name where the kernel fails them; the segments they send
    wait in the host's outbox.
    """

    host: Host
    local_port: int = 0
    remote_port: int | None = None
    endpoint: Endpoint | None = None
    nonblocking: bool = False
    linger: tuple[bool, int] | None = None
    error: str | None = None        # sk_err: a pending error, reported once
    shut_rd: bool = False
    shut_wr: bool = False
    closed: bool = False            # the descriptor is closed (an orphan, while the Endpoint lives)
    parent: Listener | None = None  # a child not yet accepted
    fastopen_connect: bool = False  # TCP_FASTOPEN_CONNECT (Linux): connect() defers the SYN
    _done: bool = field(default=False, repr=False)  # SOCK_DONE: the peer's FIN was taken

    @property
    def state(self) -> str:
        """The connection's state (RFC name), CLOSED without one."""
        return self.endpoint.state_name if self.endpoint is not None else "CLOSED"

    def bind(self, port: int) -> None:
        """bind(2) to a local port."""
        if self.endpoint is not None:
            raise SocketError("EINVAL", "inet_bind", "already connected")
        self.local_port = port

    def listen(self, backlog: int = 128) -> Listener:
        """listen(2): this socket becomes a :class:`Listener` (returned) on its port."""
        if self.endpoint is not None and self.state not in ("CLOSED", "LISTEN"):
            raise SocketError("EINVAL", "inet_listen", f"the socket is in {self.state}")
        if not self.local_port:
            self.local_port = self.host.ephemeral_port()
        if not 0 <= backlog <= SOMAXCONN:
            backlog = SOMAXCONN  # __sys_listen: (unsigned int)backlog > somaxconn
        existing = self.host._listeners.get(self.local_port)
        if existing is not None and existing.socket is not self:
            raise SocketError("EADDRINUSE", "inet_csk_get_port")
        if existing is not None:
            existing.backlog = backlog
            return existing
        listener = Listener(self, backlog)
        self.endpoint = self.host.endpoint(self.local_port, 0, name=f"{self.local_port}-listen")
        self.endpoint.listen()  # passive OPEN (RFC 9293 §3.10.1); arrivals run on copies of it
        self.host._listeners[self.local_port] = listener
        return listener

    def connect(self, remote_port: int, data: int | bytes = 0, *, fast_open: bool = False) -> int:
        """connect(2): the active OPEN (RFC 9293 §3.10.1); a non-blocking caller then sees
        EINPROGRESS (``__inet_stream_connect``), a blocking one waits for ``established``.

        ``fast_open`` (Linux ``sendto(MSG_FASTOPEN)``, RFC 7413 §4.2.2; the tfo profile): with a
        cookie cached for the server, ``data`` rides on the SYN and its length is returned; without
        one the SYN asks for a cookie, the data is not taken and 0 is returned (Linux
        ``tcp_sendmsg_fastopen`` then reports EINPROGRESS). ``fastopen_connect`` (the socket option
        ``TCP_FASTOPEN_CONNECT``) defers the SYN to the first ``send`` when a cookie is cached."""
        if self.closed:
            raise SocketError("EBADF", "close")
        if self.endpoint is not None:
            if self.state in _SYNCHRONIZING:
                raise SocketError("EALREADY", "__inet_stream_connect")
            if self.state != "CLOSED":
                raise SocketError("EISCONN", "__inet_stream_connect")
        if self.local_port in self.host._listeners and self.host._listeners[self.local_port].socket is self:
            raise SocketError("EISCONN", "__inet_stream_connect", "a listening socket")
        if not self.local_port:
            self.local_port = self.host.ephemeral_port()
        self.remote_port = remote_port
        self.error, self._done = None, False
        cookie = remote_port in self.host.tfo_cookies
        extra: dict[str, Any] = {}
        if (fast_open or self.fastopen_connect) and cookie:
            extra = {"tfo_cookie": True, "fastopen_connect": self.fastopen_connect and not fast_open}
        self.endpoint = self.host.endpoint(self.local_port, remote_port, **extra)
        self.host._register(self)
        taken = data if fast_open and cookie else 0
        self.host._deliver(self, lambda _: self._ep.connect(taken) if taken else self._ep.connect(), None)
        return taken if isinstance(taken, int) else len(taken)

    @property
    def established(self) -> bool:
        """The handshake is over (or failed): a blocking connect returns now."""
        return self.state not in _SYNCHRONIZING

    def connect_result(self) -> None:
        """What a blocking connect returns once ``established``: None, or raise its error."""
        if self.state == "CLOSED":
            raise SocketError(self._take_error() or "ECONNREFUSED", "__inet_stream_connect")

    def send(self, data: bytes | int) -> int:
        """write(2) / send(2): ``data`` bytes or a length; returns the count queued (SEND, §3.10.2)."""
        self._check_open()
        count = data if isinstance(data, int) else len(data)
        fast_open = self.state == "SYN-RECEIVED" and self._ep.tcb.fast_open  # tcp_passive_fastopen
        if self.state not in ("ESTABLISHED", "CLOSE-WAIT") and not fast_open:
            # sk_stream_wait_connect: an error first; only a connecting socket may wait
            if self.error:
                raise SocketError(self._take_error() or "EPIPE", "sk_stream_wait_connect")
            if self.state not in _SYNCHRONIZING:
                raise SocketError("EPIPE", "sk_stream_wait_connect", f"the connection is in {self.state}")
            if self.nonblocking:
                raise SocketError("EAGAIN", "sk_stream_wait_connect", "the handshake is not over")
            raise SocketError("EAGAIN", "sk_stream_wait_connect", "would block until the handshake is over")
        if self.error or self.shut_wr:
            raise SocketError(self._take_error() or "EPIPE", "tcp_sendmsg_locked",
                              "shut down for writing" if self.shut_wr else "")
        self.host._deliver(self, self._ep.send, data)
        return count

    def readable(self) -> int:
        """Bytes received in order and not yet read."""
        return self.endpoint.tcb.unread if self.endpoint is not None else 0

    def recv(self, max_bytes: int) -> bytes | int:
        """read(2) / recv(2): the data (bytes, or a count where only lengths arrived); 0 / b"" at
        the end of the stream; EAGAIN when nothing is there yet (``tcp_recvmsg``'s order: data,
        then SOCK_DONE, then a pending error, then RCV_SHUTDOWN, then CLOSE's ENOTCONN)."""
        self._check_open()
        if self.parent is None and self.local_port in self.host._listeners \
                and self.host._listeners[self.local_port].socket is self:
            raise SocketError("ENOTCONN", "tcp_recvmsg", "a listening socket")
        ep = self.endpoint
        n = min(max_bytes, self.readable())
        if ep is not None and n:
            data = ep.read(n)
            self.host.note("tcp_recvmsg", f"{n} bytes read, {self.readable()} left", endpoint=ep.name)
            return data if len(data) == n else n
        if self._done:
            self.host.note("tcp_recvmsg", "end of stream (the peer's FIN: SOCK_DONE)")
            return 0
        if self.error:
            raise SocketError(self._take_error() or "ECONNRESET", "tcp_recvmsg")
        if self.shut_rd or (ep is not None and ep.state_name == "CLOSED"):
            self.host.note("tcp_recvmsg", "end of stream (RCV_SHUTDOWN)")
            return 0  # RCV_SHUTDOWN (tcp_done shuts both ways down when a connection ends)
        if ep is None:
            raise SocketError("ENOTCONN", "tcp_recvmsg", "not connected")
        raise SocketError("EAGAIN", "tcp_recvmsg", "no data yet")

    def shutdown(self, *, read: bool = False, write: bool = False) -> None:
        """shutdown(2) with SHUT_RD / SHUT_WR / SHUT_RDWR (``inet_shutdown``, ``tcp_shutdown``)."""
        self._check_open()
        state = self.state
        listener = self.host._listeners.get(self.local_port)
        if listener is not None and listener.socket is self:
            if read:  # inet_shutdown: SHUT_RD on a listener disconnects it
                listener.stop()
            return
        self.shut_rd |= read
        self.shut_wr |= write
        if state == "CLOSED":
            raise SocketError("ENOTCONN", "inet_shutdown")
        if state == "SYN-SENT":  # inet_shutdown: tcp_disconnect, nothing on the wire
            self.host.note("inet_shutdown", "shutdown in SYN-SENT disconnects (tcp_disconnect)")
            self.host._deliver(self, lambda _: self._ep.abort(), None)
            return
        if write and state in ("ESTABLISHED", "SYN-RECEIVED", "CLOSE-WAIT"):
            self.host._deliver(self, lambda _: _calls.shutdown(self._ep, read=read, write=True), None)
        elif read:  # SHUT_RD alone (or the FIN is already sent): RCV_SHUTDOWN only, nothing on the wire
            self.host._deliver(self, lambda _: _calls.shutdown(self._ep, read=True, write=False), None)

    def setsockopt_linger(self, on: bool, seconds: int) -> None:
        """SO_LINGER: {1, 0} makes close() abort with RST (``tcp_close`` -> ``tcp_disconnect``)."""
        self.linger = (bool(on), int(seconds))

    def close(self) -> None:
        """close(2) on the last descriptor, as ``tcp_close`` does (see the module docstring)."""
        if self.closed:
            raise SocketError("EBADF", "close")
        self.closed = True
        self.shut_rd = self.shut_wr = True
        listener = self.host._listeners.get(self.local_port)
        if listener is not None and listener.socket is self:
            listener.stop()
            return
        ep = self.endpoint
        if ep is None or ep.state_name == "CLOSED":
            return
        if self.parent is not None:  # a child closed before it was accepted: its listener owns it
            self.parent.unqueue(self)
        if self.linger == (True, 0) and not self.readable():
            self.host.note("tcp_close", "SO_LINGER {1, 0}: close() aborts (tcp_disconnect)", endpoint=ep.name)
            self.host._deliver(self, lambda _: self._ep.abort(), None)
            return
        self.host.note("tcp_close", "close() of the last descriptor" +
                       (f" with {self.readable()} unread bytes" if self.readable() else ""), endpoint=ep.name)
        with contextlib.suppress(UserCallError):  # CLOSE refused (already closing): close(2) succeeds
            self.host._deliver(self, lambda _: _calls.full_close(self._ep), None)

    # ------------------------------------------------------------ inside
    @property
    def _ep(self) -> Endpoint:
        assert self.endpoint is not None
        return self.endpoint

    def _check_open(self) -> None:
        if self.closed:
            raise SocketError("EBADF", "close", "the descriptor is closed")

    def _take_error(self) -> str | None:
        err, self.error = self.error, None  # sock_error: reported once
        return err

    def after(self, before: str, records: list[Record]) -> None:
        """Socket-level consequences of the steps an Endpoint took (called by the Host)."""
        ep = self.endpoint
        if ep is None:
            return
        state = ep.state_name
        if ep.tcb.fin_received and not self._done and state not in ("CLOSED", "LISTEN"):
            self._done = True
        for rec in records:
            src, event = rec.source, rec.event
            if rec.target != "CLOSED" or src in ("CLOSED", ""):
                continue
            if event == "rcv_rst":  # tcp_reset
                self.error = {"SYN-SENT": "ECONNREFUSED", "CLOSE-WAIT": "EPIPE"}.get(src, "ECONNRESET")
            elif event in ("rcv_data", "rcv_out_of_order", "rcv_syn"):
                # a segment that resets the connection (data after SHUT_RD in FIN-WAIT-1/2:
                # tcp_rcv_state_process calls tcp_reset, which sets ECONNRESET outside SYN-SENT
                # and CLOSE-WAIT; a SYN in the window under rfc793 likewise)
                self.error = "ECONNRESET"
            elif event.startswith("timeout_") and event not in ("timeout_time_wait", "timeout_fin_wait_2"):
                self.error = "ETIMEDOUT"  # tcp_write_err
        if self.parent is not None:
            self.parent.child_moved(self, before)
        if state == "CLOSED":
            self.host._forget(self)


@dataclass(eq=False)
class Listener:
    """A listening socket: request socks (children in SYN-RECEIVED), the accept queue of
    established children (at most ``backlog`` + 1 of them, ``sk_acceptq_is_full``), ``accept()``."""

    socket: Socket
    backlog: int
    requests: list[Socket] = field(default_factory=list)
    queue: list[Socket] = field(default_factory=list)
    stopped: bool = False
    fastopen: bool = False  # TCP_FASTOPEN set: SYN data with a valid cookie is accepted (RFC 7413)

    @property
    def host(self) -> Host:
        return self.socket.host

    @property
    def port(self) -> int:
        return self.socket.local_port

    def queue_full(self) -> bool:
        """sk_acceptq_is_full: more children queued than the backlog."""
        return len(self.queue) > self.backlog

    def accept(self) -> Socket:
        """accept(2) (``inet_csk_accept``): the oldest queued child, whatever its state (one reset
        meanwhile reports ECONNRESET on its first call); EAGAIN when the queue is empty."""
        if self.stopped:
            raise SocketError("EINVAL", "inet_csk_accept", "not listening")
        if not self.queue:
            raise SocketError("EAGAIN", "inet_csk_accept", "no connection is queued")
        child = self.queue.pop(0)
        child.parent = None
        self.host.note("inet_csk_accept", f"accept() returns the child of port {child.remote_port} "
                       f"in {child.state}", endpoint=child.endpoint.name if child.endpoint else None)
        return child

    def arrive(self, seg: Segment, *, tfo_cookie: bool = False) -> None:
        """A segment for the listening port and no connection: the spec's LISTEN rules on a new
        Endpoint; one that takes it to SYN-RECEIVED is a new request sock (``tcp_conn_request``).
        On a Fast Open listener (``fastopen``) a SYN with a valid cookie makes a child that is
        queued at once, still in SYN-RECEIVED (``tcp_try_fastopen`` -> ``tcp_fastopen_create_child``)."""
        rport = seg.src_port or 0
        if seg.flags & Flags.SYN and not seg.flags & (Flags.ACK | Flags.RST) and self.queue_full():
            self.host.note("tcp_conn_request", f"accept queue full ({len(self.queue)} > backlog "
                           f"{self.backlog}): the SYN is dropped")
            return
        extra: dict[str, Any] = {"tfo_cookie": True} if self.fastopen and tfo_cookie else {}
        ep = self.host.endpoint(self.port, rport, **extra)
        mark = len(self.host.log)
        ep.listen()  # the listener's passive OPEN (U1, logged once by listen()) for this arrival
        del self.host.log[mark:]
        out = ep.receive(seg)
        self.host.outbox += out
        if ep.state_name != "LISTEN":
            child = Socket(self.host, self.port, rport, ep, parent=self)
            self.requests.append(child)
            self.host._register(child)
            self.host.note("tcp_conn_request", f"a request sock for port {rport} in {ep.state_name}",
                           endpoint=ep.name)
            child.after("LISTEN", [])
            if ep.state_name == "SYN-RECEIVED" and getattr(ep.tcb, "fast_open", False):
                self.requests.remove(child)
                self.queue.append(child)
                self.host.note("tcp_fastopen_create_child", f"the Fast Open child of port {rport} is queued "
                               "in SYN-RECEIVED", endpoint=ep.name)

    def child_moved(self, child: Socket, before: str) -> None:
        """A child's Endpoint took steps: it joins the accept queue, or its request is dropped."""
        state = child.state
        if child in self.requests and state not in ("SYN-RECEIVED", "LISTEN", "CLOSED"):
            self.requests.remove(child)
            self.queue.append(child)  # tcp_check_req -> inet_csk_complete_hashdance
            self.host.note("inet_csk_complete_hashdance", f"the child of port {child.remote_port} "
                           f"({state}) joins the accept queue", endpoint=self._name(child))
        elif child in self.requests and state in ("LISTEN", "CLOSED"):
            self.requests.remove(child)  # tcp_check_req: the request sock is dropped
            self.host.note("tcp_check_req", f"the request sock of port {child.remote_port} is dropped",
                           endpoint=child.endpoint.name if child.endpoint else None)
            child.endpoint = None if state == "LISTEN" else child.endpoint
            self.host._forget(child)

    @staticmethod
    def _name(child: Socket) -> str | None:
        return child.endpoint.name if child.endpoint is not None else None

    def unqueue(self, child: Socket) -> None:
        if child in self.queue:
            self.queue.remove(child)
        child.parent = None

    def stop(self) -> None:
        """close(2) of the listener (``inet_csk_listen_stop``): request socks are dropped
        (later segments for them meet no socket), queued children are reset (``tcp_disconnect``)."""
        if self.stopped:
            return
        self.stopped = True
        if self.host._listeners.get(self.port) is self:
            del self.host._listeners[self.port]
        ep = self.socket.endpoint
        if ep is not None and ep.state_name == "LISTEN":
            ep.close()  # CLOSE in LISTEN (RFC 9293 §3.10.4)
        for req in list(self.requests):
            self.requests.remove(req)
            self.host._forget(req)
            self.host.note("inet_csk_listen_stop", f"the request sock of port {req.remote_port} is dropped")
        for child in list(self.queue):
            self.queue.remove(child)
            child.parent = None
            child.closed = True
            self.host.note("inet_csk_listen_stop", f"the queued child of port {child.remote_port} "
                           f"({child.state}) is reset (tcp_disconnect)")
            ep = child.endpoint
            if ep is not None and child.state != "CLOSED":
                self.host._deliver(child, _abort_of(ep), None)


def _abort_of(ep: Endpoint) -> Callable[[Any], list[Segment]]:
    """ABORT (RFC 9293 §3.10.5) as a delivery: the Linux tcp_disconnect of a connection."""
    return lambda _: ep.abort()
