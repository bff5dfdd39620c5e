"""tcpfsm's checker against SPIN, minicheck and musil on the reference model, in one run.

Rungs (shared/reference/RESULTS.md): P1 = K2 R1 lossless, P2 = K2 R1 lossy, P3 = K3 R2 lossy,
P4 = K4 R3 lossy, P5 = K5 R3 lossy, P6 = K6 R3 lossy. Every tool checks I1 and I2 (no
violation, so the whole space is explored). For each rung the tools run back to back, each
as its own process, `--repeat` times; the median wall is reported, and states/s is
states / search time (tcpfsm reports its own search time; SPIN's compile time is excluded,
as in RESULTS.md). Peak memory is each process's peak RSS (from wait4).

    python benchmarks/checker.py [--peers ../shared/reference/peers] [--rungs P1,P2,P3,P4,P5,P6]
                                 [--repeat 3] [--tools tcpfsm,spin,minicheck,musil]
                                 [--compare DIR]

`--compare DIR` also measures the tcpfsm package found in DIR (a checkout, or a copy of an
older tcpfsm/ folder), in the same run, as the tool `tcpfsm@DIR`: before/after figures of a change.

Needs: Debian's `spin` and `gcc` for SPIN; minicheck 0.4.0 (pip, same venv); musil 0.36.7 in a
Python 3.12 venv (made here under benchmarks/.peers/ if a python3.12 exists).
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
CACHE = HERE / ".peers"
RUNGS = {"P1": (2, 1, 0), "P2": (2, 1, 1), "P3": (3, 2, 1), "P4": (4, 3, 1), "P5": (5, 3, 1), "P6": (6, 3, 1)}
# the slow peers climb only as far as RESULTS.md took them (one P6 run of minicheck is ~54 s)
MAX_RUNG = {"minicheck": "P5", "musil": "P4"}
RESULTS_NOTE = {"minicheck": "P6: 79,762 states/s", "musil": "P5: 25,878 states/s"}
SPIN_W = {"P1": 18, "P2": 18, "P3": 20, "P4": 22, "P5": 23, "P6": 25}


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, peak RSS MiB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0, out


class Tool:
    name = ""
    reason = ""

    def available(self) -> bool:
        return True

    def measure(self, rung: str) -> dict[str, float]:
        raise NotImplementedError


class Tcpfsm(Tool):
    name = "tcpfsm"

    def __init__(self, tree: Path | None = None) -> None:
        self.tree = tree
        if tree is not None:
            self.name = f"tcpfsm@{tree.name}"

    def available(self) -> bool:
        if self.tree is not None and not (self.tree / "tcpfsm" / "__init__.py").is_file():
            self.reason = f"no tcpfsm package in {self.tree}"
            return False
        return True

    def measure(self, rung: str) -> dict[str, float]:
        k, r, lossy = RUNGS[rung]
        cmd = [sys.executable, "-m", "tcpfsm", "check", "--model", "reference", "-k", str(k), "-r", str(r),
               "--property", "I1", "--property", "I2", "--json", "-q"] + (["--lossy"] if lossy else [])
        env = None if self.tree is None else dict(os.environ, PYTHONPATH=str(self.tree.resolve()))
        wall, peak, out = run(cmd, cwd=self.tree, env=env)
        data = json.loads(out)
        return {"states": data["states"], "transitions": data["transitions"], "wall": wall,
                "search": data["seconds"], "peak": peak}


class Spin(Tool):
    name = "SPIN pan"

    def __init__(self, peers: Path) -> None:
        self.peers = peers
        self.dir = CACHE / "peers"

    def available(self) -> bool:
        if not (shutil.which("spin") and shutil.which("gcc")):
            self.reason = "spin or gcc not installed (apt-get install spin gcc)"
            return False
        if not (self.peers / "spin" / "run_spin.sh").is_file():
            self.reason = f"no SPIN model under {self.peers}"
            return False
        if not self.dir.exists():
            shutil.copytree(self.peers, self.dir)
        return True

    def measure(self, rung: str) -> dict[str, float]:
        k, r, lossy = RUNGS[rung]
        env = dict(os.environ, SPIN_BUILD_ONLY="1")
        build = subprocess.run(["bash", "spin/run_spin.sh", str(k), str(r), str(lossy), "-DCHECK_I1=1",
                                "-DCHECK_I2=1"], cwd=self.dir, env=env, capture_output=True, text=True, check=True)
        folder = self.dir / build.stdout.strip().splitlines()[-1]
        wall, peak, out = run(["./pan", "-E", "-m100000", f"-w{SPIN_W[rung]}"], cwd=folder)
        stored = float(re.search(r"([\d.e+]+) states, stored", out).group(1))
        matched = float(re.search(r"([\d.e+]+) states, matched", out).group(1))
        # pan's own "elapsed time" has a resolution of whole seconds on small runs: use the
        # process wall (compile time excluded, as in RESULTS.md)
        return {"states": stored, "transitions": stored + matched - 1, "wall": wall, "search": wall, "peak": peak}


class PyPeer(Tool):
    def __init__(self, name: str, script: Path, python: str | None) -> None:
        self.name, self.script, self.python = name, script, python

    def available(self) -> bool:
        if not self.script.is_file():
            self.reason = f"{self.script} not found"
            return False
        return self.python is not None

    def measure(self, rung: str) -> dict[str, float]:
        k, r, lossy = RUNGS[rung]
        cmd = [str(self.python), str(self.script), "--K", str(k), "--R", str(r), "--props", "I1,I2"]
        wall, peak, out = run(cmd + (["--lossy"] if lossy else []))
        states = int(re.search(r"^states (\d+)", out, re.M).group(1))
        m = re.search(r"^transitions (\d+)", out, re.M)
        s = re.search(r"^search_seconds ([\d.]+)", out, re.M)
        return {"states": states, "transitions": int(m.group(1)) if m else 0, "wall": wall,
                "search": float(s.group(1)) if s else wall, "peak": peak}


def minicheck_python() -> tuple[str | None, str]:
    try:
        import minicheck  # noqa: F401
    except ImportError:
        return None, "minicheck not installed (pip install minicheck==0.4.0)"
    return sys.executable, ""


def _find_python312() -> str | None:
    """A working Python >= 3.12 (a pyenv shim may exist without being activated)."""
    candidates = [shutil.which(n) for n in ("python3.13", "python3.12")]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python3"))
    for c in candidates:
        if c and subprocess.run([c, "-c", "import sys; assert sys.version_info >= (3, 12)"],
                                capture_output=True).returncode == 0:
            return c
    return None


def musil_python() -> tuple[str | None, str]:
    venv = CACHE / "venv-musil"
    py = venv / "bin" / "python"
    if py.exists():
        return str(py), ""
    base = _find_python312()
    if base is None:
        return None, "musil needs Python >= 3.12 and none is installed"
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "musil==0.36.7"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        return None, f"could not install musil: {exc}"
    return str(py), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", type=Path, default=HERE.parent.parent / "shared" / "reference" / "peers")
    ap.add_argument("--rungs", default="P1,P2,P3,P4,P5,P6")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", default="tcpfsm,spin,minicheck,musil")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="also measure the tcpfsm package in DIR")
    args = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    tools: list[Tool] = []
    wanted = args.tools.split(",")
    if "tcpfsm" in wanted:
        tools.append(Tcpfsm())
    if args.compare is not None:
        tools.append(Tcpfsm(args.compare))
    if "spin" in wanted:
        tools.append(Spin(args.peers))
    if "minicheck" in wanted:
        py, why = minicheck_python()
        t = PyPeer("minicheck", args.peers / "pycheckers" / "minicheck_tcp.py", py)
        t.reason = why
        tools.append(t)
    if "musil" in wanted:
        py, why = musil_python()
        t = PyPeer("musil", args.peers / "pycheckers" / "musil_tcp.py", py)
        t.reason = why
        tools.append(t)
    live = [t for t in tools if t.available()]
    for t in tools:
        if t not in live:
            print(f"skipped {t.name}: {t.reason}")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    print(f"{'rung':4} {'tool':22} {'states':>11} {'transitions':>12} {'wall s':>8} {'search s':>9} "
          f"{'states/s':>11} {'peak MiB':>9}")
    for rung in args.rungs.split(","):
        for t in live:
            limit = MAX_RUNG.get(t.name)
            if limit and int(rung[1:]) > int(limit[1:]):
                print(f"{rung:4} {t.name:22} (not run: past {limit}, where RESULTS.md measured it at "
                      f"{RESULTS_NOTE[t.name]})")
                continue
            samples = [t.measure(rung) for _ in range(args.repeat)]
            med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            rows[(rung, t.name)] = med
            trans = f"{med['transitions']:>12,.0f}" if med["transitions"] else f"{'-':>12}"
            print(f"{rung:4} {t.name:22} {med['states']:>11,.0f} {trans} {med['wall']:>8.3f} "
                  f"{med['search']:>9.3f} {med['states'] / med['search']:>11,.0f} {med['peak']:>9.0f}", flush=True)
    print("\nratios of states/s (search time), tcpfsm / peer, same rung, same run:")
    for rung in args.rungs.split(","):
        me = rows.get((rung, "tcpfsm"))
        if not me:
            continue
        parts = []
        for t in live:
            other = rows.get((rung, t.name))
            if t.name == "tcpfsm" or not other:
                continue
            ratio = (me["states"] / me["search"]) / (other["states"] / other["search"])
            parts.append(f"vs {t.name} {ratio:.2f}x")
            if other["states"] != me["states"]:
                parts.append(f"(state counts differ: {other['states']:,.0f})")
        print(f"  {rung}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
