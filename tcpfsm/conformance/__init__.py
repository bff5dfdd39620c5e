"""Conformance: replay event traces, and monitor captures against the spec.

>>> from tcpfsm.conformance import monitor
>>> report = monitor("tests/data/traces/normal_close_client_v4.pcap", profile="linux")
>>> [e["states"] for e in report.connections[0].to_dict()["endpoints"]][0]
['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._spec import Spec, load_spec
from ._monitor import Connection, Finding, Monitor
from ._packets import CaptureError, Counts, TcpPacket, read_tcp
from ._replay import ReplayReport, replay


@dataclass
class MonitorReport:
    file: str
    profile: str
    packets: Counts
    connections: list[Connection] = field(default_factory=list)
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
            keep_packets: bool = False) -> MonitorReport:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture."""
    chosen = spec or load_spec(profile=profile)
    counts = Counts()
    mon = Monitor(chosen, keep_packets=keep_packets)
    report = MonitorReport(str(path), chosen.profile or chosen.name, counts)
    try:
        for pkt in read_tcp(path, counts):
            counts.used += 1
            mon.packet(pkt)
    except CaptureError as exc:
        report.error = str(exc)
    except OSError as exc:
        report.error = f"{path}: cannot read: {exc.strerror or exc}"
    report.connections = mon.finish()
    return report


__all__ = ["CaptureError", "Connection", "Counts", "Finding", "MonitorReport", "ReplayReport", "TcpPacket",
           "monitor", "replay"]
