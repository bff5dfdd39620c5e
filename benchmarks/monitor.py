"""Packets/s of `tcpfsm monitor` next to `tshark -q -z conv,tcp`, on the same files, in one run.

Files: shared/traces/linux/bulk_mixed.pcap (17,600 packets, 2,000 connections; a copy ships in
tests/data/traces) and a synthetic capture ten times larger, made here from it (each copy
moved to its own addresses, 10.k.0.1/10.k.0.2, and later in time). Each tool runs as its own
process, `--repeat` times, median wall; peak memory is the process's peak RSS.

    python benchmarks/monitor.py [--capture PATH] [--repeat 3] [--profile linux]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parent / "tests" / "data" / "traces" / "bulk_mixed.pcap"


def make_synthetic(src: Path, dst: Path, copies: int = 10) -> int:
    """Ten copies of an Ethernet/IPv4 loopback capture, each on its own pair of addresses."""
    data = src.read_bytes()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    header, body = data[:24], data[24:]
    records = []
    pos = 0
    while pos + 16 <= len(body):
        sec, usec, caplen, wirelen = struct.unpack(order + "IIII", body[pos:pos + 16])
        records.append((sec, usec, caplen, wirelen, body[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    span = records[-1][0] - records[0][0] + 1
    out = bytearray(header)
    for k in range(copies):
        a = bytes([10, k + 1, 0, 1])
        b = bytes([10, k + 1, 0, 2])
        for sec, usec, caplen, wirelen, frame in records:
            f = bytearray(frame)
            src_ip, dst_ip = bytes(f[26:30]), bytes(f[30:34])
            # the client's and the server's ends keep their roles: the lower port is the client
            f[26:30] = a if src_ip == dst_ip and f[34:36] > f[36:38] else (b if src_ip == dst_ip else src_ip)
            f[30:34] = b if f[26:30] == a else a
            out += struct.pack(order + "IIII", sec + k * span, usec, caplen, wirelen) + f
    dst.write_bytes(bytes(out))
    return len(records) * copies


def run(cmd: list[str], out: Path) -> tuple[float, float]:
    """Wall time and peak RSS (MiB) of one run; its standard output goes to ``out``."""
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: the capture has findings
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.decode(errors='replace').strip()}")
    return wall, usage.ru_maxrss / 1024.0


def check_tcpfsm(out: Path, packets: int) -> None:
    """The run really monitored the capture: its JSON reads every packet (a run that failed to
    start, e.g. an import error, must not pass for a fast one)."""
    try:
        read = json.loads(out.read_text())["packets"]["read"]
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"tcpfsm monitor gave no JSON report ({exc}): see {out}") from None
    if read != packets:
        raise RuntimeError(f"tcpfsm monitor read {read} packets of {packets}")


def count_packets(path: Path) -> int:
    sys.path.insert(0, str(HERE.parent))
    from tcpfsm.conformance._packets import Counts, read_tcp

    counts = Counts()
    for _ in read_tcp(path, counts):
        pass
    return counts.read


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", default="linux")
    args = ap.parse_args()
    cache = HERE / ".peers"
    cache.mkdir(exist_ok=True)
    synthetic = cache / "bulk_mixed_x10.pcap"
    if not synthetic.exists():
        make_synthetic(args.capture, synthetic)
    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark is not installed (apt-get install tshark): only tcpfsm is measured")
    print(f"{'file':24} {'packets':>9} {'tool':8} {'wall s':>8} {'packets/s':>11} {'peak MiB':>9}")
    for path in (args.capture, synthetic):
        n = count_packets(path)
        rows = {}
        tools = {"tcpfsm": [sys.executable, "-m", "tcpfsm", "monitor", str(path), "--profile", args.profile,
                            "--json"]}
        if tshark:
            tools["tshark"] = [tshark, "-r", str(path), "-q", "-z", "conv,tcp"]
        for name, cmd in tools.items():
            out = cache / f"{name}.out"
            samples = [run(cmd, out) for _ in range(args.repeat)]
            if name == "tcpfsm":
                check_tcpfsm(out, n)
            wall = statistics.median(s[0] for s in samples)
            peak = max(s[1] for s in samples)
            rows[name] = wall
            print(f"{path.name:24} {n:>9,} {name:8} {wall:>8.3f} {n / wall:>11,.0f} {peak:>9.0f}", flush=True)
        if "tshark" in rows:
            print(f"{'':24} {'':>9} ratio tcpfsm/tshark packets/s: {rows['tshark'] / rows['tcpfsm']:.2f}x")


if __name__ == "__main__":
    main()
