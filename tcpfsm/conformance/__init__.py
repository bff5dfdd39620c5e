"""Conformance: monitor TCP packets and captures against the spec, replay event traces.

Feed a :class:`Monitor` the packets you have (parsed headers, raw frames with their link
type, or dpkt/scapy packets through :func:`from_dpkt` / :func:`from_scapy`); ask it for both
ends' RFC 9293 states of every connection at any time:

>>> from tcpfsm.conformance import Monitor
>>> mon = Monitor(profile="linux")
>>> c, s = ("10.0.0.1", 40000), ("10.0.0.2", 80)
>>> def seg(a, b, flags, seq, ack=0):
...     return {"src": a[0], "sport": a[1], "dst": b[0], "dport": b[1], "seq": seq, "ack": ack,
...             "flags": flags, "window": 65535, "length": 0}
>>> for p in (seg(c, s, "SYN", 100), seg(s, c, "SYN,ACK", 300, 101), seg(c, s, "ACK", 101, 301)):
...     mon.feed(p)
>>> [conn] = mon.states()
>>> conn.originator, conn.responder
(('CLOSED', 'SYN-SENT', 'ESTABLISHED'), ('LISTEN', 'SYN-RECEIVED', 'ESTABLISHED'))
>>> conn.responder_unconfirmed  # the last ACK was seen going to the server: nothing from it since
True
>>> mon.summary()["packets"]["used"], mon.findings()
(3, [])

:func:`monitor` does the same for a pcap or pcapng file (``tcpfsm monitor``), and
:func:`replay` drives one Endpoint with an event trace (``tcpfsm replay``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are loaded on first use: a small capture starts fast
    from tcpfsm.conformance._adapters import from_dpkt, from_scapy
    from tcpfsm.conformance._monitor import Connection, Finding
    from tcpfsm.conformance._packets import CaptureError, Counts, TcpPacket, read_tcp
    from tcpfsm.conformance._replay import ReplayReport, replay
    from tcpfsm.conformance._stream import (
        ConnectionStates,
        ConnectionSummary,
        Monitor,
        MonitorReport,
        SkippedPacket,
        monitor,
        shard_of,
    )
    from tcpfsm.conformance._zeek import zeek_record, zeek_uid

_WHERE = {
    "from_dpkt": "_adapters", "from_scapy": "_adapters", "Connection": "_monitor", "Finding": "_monitor",
    "CaptureError": "_packets", "Counts": "_packets", "TcpPacket": "_packets", "read_tcp": "_packets",
    "ReplayReport": "_replay", "replay": "_replay", "ConnectionStates": "_stream", "ConnectionSummary": "_stream",
    "Monitor": "_stream", "MonitorReport": "_stream", "SkippedPacket": "_stream", "monitor": "_stream",
    "shard_of": "_stream", "zeek_record": "_zeek", "zeek_uid": "_zeek",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "CaptureError",
    "Connection",
    "ConnectionStates",
    "ConnectionSummary",
    "Counts",
    "Finding",
    "Monitor",
    "MonitorReport",
    "ReplayReport",
    "SkippedPacket",
    "TcpPacket",
    "from_dpkt",
    "from_scapy",
    "monitor",
    "read_tcp",
    "replay",
    "shard_of",
    "zeek_record",
    "zeek_uid",
]
