"""Ground-truth helpers for the monitor tests (the captures ship in tests/data/traces)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "tests" / "data" / "traces"


def ground_truth_cases() -> list[tuple[Path, str, str, list[dict[str, Any]]]]:
    """(capture, scenario, vantage, connection endpoints) for every capture of every scenario."""
    out = []
    for f in sorted(TRACES.glob("*.json")):
        if f.name.endswith(".summary.json"):
            continue
        d = json.loads(f.read_text())
        ends = [e for e in d["endpoints"] if e["kind"] in ("conn", "no_socket")]
        for vantage, pcap in d["pcaps"].items():
            out.append((TRACES / pcap, d["scenario"], vantage, ends))
    assert len(out) == 13
    return out


def states_by_endpoint(report: Any) -> dict[tuple[str, int], list[str]]:
    got = {}
    for conn in report.connections:
        for e in conn.to_dict()["endpoints"]:
            got[(e["addr"], e["port"])] = e["states"]
    return got
