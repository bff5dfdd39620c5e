"""Packets/s of `tcpfsm monitor` next to `tshark -z conv,tcp` and `tcptrace -l`, in one run.

Captures: varied ones that do not repeat, made by benchmarks/gen_captures.py (100k and 1M
packets by default, `--sizes` for others; cached in benchmarks/.peers/ by size and seed), and
the real bulk_mixed.pcap (tests/data/traces, or ../shared/traces/linux). Every tool runs as
its own whole process on the same file, output to a file: wall time from start to exit
(start-up included on every side), peak RSS from wait4 (for `--jobs 2`, the largest of the
processes). Each line prints the method beside the figure.

    tcpfsm          tcpfsm monitor FILE --profile linux --jsonl --memo-stats   (memo trie on)
    tcpfsm no-memo  ... --no-memo                                            (every packet the long way)
    tcpfsm jobs 2   ... --jobs 2                                             (2 processes, sharded by 4-tuple)
    tshark          tshark -n -r FILE -q -z conv,tcp --disable-protocol ALL --enable-protocol frame,eth,ip,ipv6,tcp
    tcptrace        tcptrace -n -l FILE     (-n: no name lookups; without it tcptrace spends minutes in DNS)

    python benchmarks/monitor.py [--sizes 100000,1000000] [--repeat 1] [--memory]

``--memory`` also runs the bounded-memory check: peak RSS of `tcpfsm monitor --jsonl` on a
2M-packet varied capture against a 200k one (target: within 1.5x).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BULK = [ROOT / "tests" / "data" / "traces" / "bulk_mixed.pcap", ROOT.parent / "shared" / "traces" / "linux" /
        "bulk_mixed.pcap"]
CACHE = HERE / ".peers"


def run(cmd: list[str], out: Path) -> tuple[float, float, str]:
    """Wall time, peak RSS (MiB) and standard error of one whole process."""
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    text = err.decode(errors="replace")
    if code not in (0, 1):  # 1: the capture has findings
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {text.strip()}")
    return wall, usage.ru_maxrss / 1024.0, text


def check_tcpfsm(out: Path, packets: int) -> None:
    """The run really monitored the whole capture: its last JSON line counts every packet."""
    last = out.read_bytes().rstrip().rsplit(b"\n", 1)[-1]
    try:
        read = json.loads(last)["packets"]["read"]
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"tcpfsm monitor gave no packet counts ({exc}): see {out}") from None
    if read != packets:
        raise RuntimeError(f"tcpfsm monitor read {read} packets of {packets}")


def count_packets(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from tcpfsm.conformance._packets import Capture

    with Capture(path) as cap:
        return sum(1 for _ in cap.records())


def varied(packets: int, seed: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"varied2_{packets}_s{seed}.pcap"
    if not path.exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "gen_captures.py"), str(path), "--packets", str(packets),
                        "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
        print(f"# generated {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def tools(path: Path, profile: str) -> dict[str, tuple[list[str], str]]:
    base = [sys.executable, "-m", "tcpfsm", "monitor", str(path), "--profile", profile, "--jsonl", "--memo-stats"]
    out: dict[str, tuple[list[str], str]] = {
        "tcpfsm": (base, "memo trie on, 1 process"),
        "tcpfsm no-memo": ([*base, "--no-memo"], "memo trie off, 1 process"),
        "tcpfsm jobs 2": ([*base, "--jobs", "2"], "memo on, 2 processes"),
    }
    tshark, tcptrace = shutil.which("tshark"), shutil.which("tcptrace")
    if tshark:
        out["tshark"] = ([tshark, "-n", "-r", str(path), "-q", "-z", "conv,tcp", "--disable-protocol", "ALL",
                          "--enable-protocol", "frame,eth,ip,ipv6,tcp"], "conv,tcp, dissectors off but TCP")
    if tcptrace:
        out["tcptrace"] = ([tcptrace, "-n", "-l", str(path)], "-l long output, -n no DNS")
    return out


def measure(path: Path, repeat: int, profile: str) -> dict[str, float]:
    n = count_packets(path)
    rates: dict[str, float] = {}
    for name, (cmd, how) in tools(path, profile).items():
        out = CACHE / "run.out"
        samples = [run(cmd, out) for _ in range(repeat)]
        hit = ""
        if name.startswith("tcpfsm"):
            check_tcpfsm(out, n)
            m = re.search(r"memo: ([\d,]+) hits, ([\d,]+) misses", samples[-1][2])
            if m:
                hits, misses = (int(g.replace(",", "")) for g in m.groups())
                hit = f"{hits / max(1, hits + misses):6.1%}"
        wall = statistics.median(s[0] for s in samples)
        peak = max(s[1] for s in samples)
        rates[name] = n / wall
        print(f"{path.name:28} {n:>10,} {name:15} {wall:>8.2f} {n / wall:>11,.0f} {peak:>8.0f} {hit:>7}  "
              f"({how}; median of {repeat}, whole process)", flush=True)
    base = rates.get("tcpfsm no-memo", 0.0)
    for peer in ("tshark", "tcptrace"):
        if peer in rates:
            print(f"{'':28} tcpfsm/{peer} packets/s: memo on {rates['tcpfsm'] / rates[peer]:.2f}x, "
                  f"memo off {base / rates[peer]:.2f}x, jobs 2 {rates['tcpfsm jobs 2'] / rates[peer]:.2f}x")
    return rates


def startup(profile: str, repeat: int = 5) -> None:
    """Start-up: every tool's whole process on a 10-packet real capture (nothing to speak of to
    monitor), median of ``repeat``. Python's bytecode cache is allowed and warmed by one run first
    (an installed wheel has it: pip compiles at install), whatever PYTHONDONTWRITEBYTECODE says."""
    small = ROOT / "tests" / "data" / "traces" / "half_close_v4.pcap"
    if not small.exists():
        print(f"# {small} not found: start-up left out")
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    n = count_packets(small)
    for name, (cmd, _how) in tools(small, profile).items():
        if name in ("tcpfsm no-memo", "tcpfsm jobs 2"):
            continue
        out = CACHE / "run.out"
        walls = []
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            with open(out, "wb") as fh:
                subprocess.run(cmd, stdout=fh, stderr=subprocess.DEVNULL, env=env, check=False)
            if i:  # the first run only warms the caches
                walls.append(time.perf_counter() - t0)
        print(f"{small.name:28} {n:>10,} {name:15} {statistics.median(walls):>8.3f} s start-up  "
              f"(whole process, median of {repeat} after one warm-up, bytecode cache on)", flush=True)


def memory(profile: str) -> None:
    small, large = varied(200_000, 7), varied(2_000_000, 7)
    peaks = []
    for path in (small, large):
        wall, peak, _ = run([sys.executable, "-m", "tcpfsm", "monitor", str(path), "--profile", profile, "--jsonl"],
                            CACHE / "run.out")
        peaks.append(peak)
        print(f"memory: {path.name:28} peak RSS {peak:7.0f} MiB ({wall:.1f} s; tcpfsm monitor --jsonl, whole process)")
    ratio = peaks[1] / peaks[0]
    print(f"memory: peak RSS 2M / 200k packets = {ratio:.2f}x (target <= 1.5x): {'met' if ratio <= 1.5 else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="varied captures' packet counts, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", default="linux")
    ap.add_argument("--memory", action="store_true", help="also the 2M-vs-200k peak RSS check")
    args = ap.parse_args()
    files = [varied(int(s), args.seed) for s in args.sizes.split(",") if s]
    bulk = next((p for p in BULK if p.exists()), None)
    if bulk is not None:
        files.append(bulk)
    else:
        print("# bulk_mixed.pcap not found (tests/data/traces or ../shared/traces/linux): left out")
    print(f"{'file':28} {'packets':>10} {'tool':15} {'wall s':>8} {'packets/s':>11} {'peak MiB':>8} {'memo':>7}")
    startup(args.profile)
    for path in files:
        measure(path, args.repeat, args.profile)
    if args.memory:
        memory(args.profile)


if __name__ == "__main__":
    main()
