"""Conformance: replay event traces, and monitor captures against the spec.

>>> from tcpfsm.conformance import monitor
>>> report = monitor("tests/data/traces/normal_close_client_v4.pcap", profile="linux")
>>> [e["states"] for e in report.connections[0].to_dict()["endpoints"]][0]
['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpfsm.conformance._memo import MemoMonitor
from tcpfsm.conformance._monitor import Connection, Finding, Monitor
from tcpfsm.conformance._packets import CaptureError, Counts, TcpPacket, read_tcp
from tcpfsm.conformance._replay import ReplayReport, replay
from tcpfsm.conformance._vectorparse import feed_tcp_bulk
from tcpfsm.spec import Spec, load_spec


@dataclass
class FindingView:
    packet: int
    endpoint: str
    what: str
    transition: str
    rfc: str
    detail: str


class ConnectionSummary:
    """One monitored connection (the JSON contract's object, with attribute access)."""

    def __init__(self, data: dict[str, Any], detail: Connection | None = None) -> None:
        self.data = data
        self.detail = detail  # the full record (its packets), with --connection
        self.id: int = data["id"]
        self.conn_state: str = data["conn_state"]
        self.history: str = data["history"]
        self.midstream: bool = data["midstream"]
        self.first_packet: int = data["first_packet"]
        self.findings = [FindingView(f["packet"], f["endpoint"], f["finding"], f["transition"] or "",
                                     f["rfc"] or "", f["detail"] or "") for f in data["findings"]]

    @property
    def packets(self) -> list[tuple[int, str, TcpPacket]]:
        return self.detail.packets if self.detail else []

    def to_dict(self) -> dict[str, Any]:
        return self.data


@dataclass
class MonitorReport:
    file: str
    profile: str
    packets: Counts
    connections: list[ConnectionSummary] = field(default_factory=list)
    error: str | None = None  # the capture was damaged here; results are partial

    @property
    def exit_code(self) -> int:
        if self.error:
            return 2
        return 1 if any(c.findings for c in self.connections) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "profile": self.profile, "packets": self.packets.to_dict(),
                "error": self.error, "connections": [c.to_dict() for c in self.connections]}


def monitor(path: str | Path, *, profile: str | None = None, spec: Spec | None = None,
            keep_packets: bool = False, fast: bool = True) -> MonitorReport:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture.

    ``fast`` (the default) works out connections that behave alike once (see ``_memo``);
    ``keep_packets`` keeps each connection's packets (for a per-connection view).
    """
    chosen = spec or load_spec(profile=profile)
    counts = Counts()
    use_memo = fast and not keep_packets
    mon: Any = MemoMonitor(chosen) if use_memo else Monitor(chosen, keep_packets=keep_packets)
    report = MonitorReport(str(path), chosen.profile or chosen.name, counts)
    bulk = False
    gc_was = gc.isenabled()
    gc.disable()  # millions of short-lived objects, few cycles: the collector only costs time
    try:
        bulk = use_memo and feed_tcp_bulk(path, counts, mon.row)  # every TCP segment read is used
        if not bulk:
            for pkt in read_tcp(path, counts):
                counts.used += 1
                mon.packet(pkt)
    except CaptureError as exc:
        report.error = str(exc)
    except OSError as exc:
        report.error = f"{path}: cannot read: {exc.strerror or exc}"
    finally:
        if gc_was:
            gc.enable()
    if use_memo and counts.used == 0:
        counts.used = counts.tcp  # the bulk reader feeds every TCP segment it reads
    if use_memo:
        report.connections = [ConnectionSummary(d) for d in mon.finish()]
    else:
        report.connections = [ConnectionSummary(c.to_dict(), c) for c in mon.finish()]
    return report


__all__ = ["CaptureError", "Connection", "ConnectionSummary", "Counts", "Finding", "MonitorReport", "ReplayReport",
           "TcpPacket", "monitor", "replay"]
