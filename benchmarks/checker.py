"""tcpfsm's checker against SPIN (and minicheck, musil) in one run: the RFC 9293 spec ladder
and the reference model's ladder.

RFC ladder (``--ladder rfc``, the default): the RFC 9293 spec itself, checked for I1 and I2
(both hold, so the whole space is explored), by tcpfsm's vector engine, its plain engine, and
SPIN pan on the Promela that ``tcpfsm export promela`` writes for the same model (pan's states
must equal tcpfsm's; a disagreement is printed). Rungs: F1 reliable k2; F2 lossy k2 r1;
F3 lossy k3 r2; F4 lossy k4 r2; F5 lossy+dup+reorder k2; F6 lossy+dup+reorder k3. A rung an
engine cannot run (or that takes over ``--budget`` seconds) is printed as skipped, with why.

Reference ladder (``--ladder reference``; shared/reference/RESULTS.md): P1 = K2 R1 lossless,
P2 = K2 R1 lossy, P3 = K3 R2, P4 = K4 R3, P5 = K5 R3, P6 = K6 R3 (lossy), tcpfsm against SPIN
(the peers' hand-written tcp.pml), minicheck and musil.

Like for like, two ways, each figure printed with its method:
- search: the search alone, start-up and compile excluded from both sides: tcpfsm's own timer
  around its BFS (``seconds`` of --json), pan's own "elapsed time" (its timer around the search;
  its resolution is 0.01 s, so tiny rungs print "<0.01");
- whole: each process from fork to exit (wait4), pan without its compile (reported apart, as
  "compile s": spin -a + gcc -O2), tcpfsm with Python's start-up, imports and the spec load.
- search with tables apart (vector / pan only): tcpfsm's search less the time its vector engine
  spent building the local tables (``tables_seconds`` of --json: running the spec's Endpoint on
  each (local state, input) the search meets), as pan's model has those tables built in (the
  export runs tcpfsm's search) and its compile is apart. Both figures are printed.
Peak memory: each process's peak RSS (wait4). Each figure is the median of ``--repeat`` runs
(one run when the first takes over 20 s).

    python benchmarks/checker.py [--ladder rfc|reference|all] [--rungs F1,F2,...] [--repeat 3]
                                 [--budget 300] [--peers ../shared/reference/peers]
                                 [--tools tcpfsm,spin,minicheck,musil] [--compare DIR]

`--compare DIR` also measures the tcpfsm package found in DIR (reference ladder), as `tcpfsm@DIR`.

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
from typing import Any

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
        # search: pan's own timer around its search (resolution 0.01 s); wall: the process
        # (compile time excluded, as in RESULTS.md)
        return {"states": stored, "transitions": stored + matched - 1, "wall": wall, "search": pan_elapsed(out),
                "peak": peak}


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


def pan_elapsed(out: str) -> float:
    """pan's own "elapsed time" of its search (0.0: below its 0.01 s resolution)."""
    m = re.search(r"pan: elapsed time ([\d.e+]+)", out)
    return float(m.group(1)) if m else 0.0


def rate(states: float, seconds: float, resolution: float = 0.01) -> str:
    """states/s, or "<0.01 s" when the time is below the timer's resolution (pan's: 0.01 s)."""
    return f"{states / seconds:,.0f}" if seconds >= resolution and seconds > 0 else "<0.01 s"


# ------------------------------------------------------------------ the RFC 9293 spec ladder
RFC_RUNGS: dict[str, tuple[str, list[str]]] = {
    "F1": ("reliable k2 r1", ["-k", "2", "-r", "1"]),
    "F2": ("lossy k2 r1", ["--lossy", "-k", "2", "-r", "1"]),
    "F3": ("lossy k3 r2", ["--lossy", "-k", "3", "-r", "2"]),
    "F4": ("lossy k4 r2", ["--lossy", "-k", "4", "-r", "2"]),
    "F5": ("lossy+dup+reorder k2", ["--channel", "lossy", "--channel", "dup", "--channel", "reorder", "-k", "2"]),
    "F6": ("lossy+dup+reorder k3", ["--channel", "lossy", "--channel", "dup", "--channel", "reorder", "-k", "3"]),
}
RFC_PROPS = ["--property", "I1", "--property", "I2"]


class Skipped(Exception):
    """A rung an engine cannot run here (the reason is printed in its row)."""


def run_bounded(cmd: list[str], budget: float, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> tuple[float, float, str, int]:
    """Run with a time budget; (wall s, peak MiB, stdout+stderr, exit code); Skipped past the budget."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    import threading

    timer = threading.Timer(budget, proc.kill)
    timer.start()
    try:
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        raise Skipped(f"over the {budget:g} s budget")
    return wall, usage.ru_maxrss / 1024.0, out, code


def tcpfsm_rung(engine: str, rung: str, budget: float) -> dict[str, float]:
    cmd = [sys.executable, "-m", "tcpfsm", "check", *RFC_RUNGS[rung][1], *RFC_PROPS, "--engine", engine, "--json",
           "-q", "--no-coverage"]
    wall, peak, out, code = run_bounded(cmd, budget)
    try:
        data = json.loads(out[out.index("{"):])
    except ValueError:
        last = (out.strip().splitlines() or ["no output"])[-1]
        raise Skipped(f"exit {code}: {last.strip()[:200]}") from None
    if not data["complete"]:  # a bound or the encoding stopped it: no figure to compare
        raise Skipped(f"inconclusive after {data['states']:,} states in {data['seconds']:.1f} s: {data['stopped']}")
    return {"states": data["states"], "transitions": data["transitions"], "wall": wall, "search": data["seconds"],
            "tables": data.get("tables_seconds", -1.0), "peak": peak}  # -1: the plain engine (no tables apart)


def spin_rung(rung: str, budget: float, repeat: int) -> tuple[dict[str, float], float]:
    """Export the rung's model, compile pan (timed apart), run it (depth first, -DSAFETY, as RESULTS.md)."""
    folder = CACHE / "rfc" / rung
    folder.mkdir(parents=True, exist_ok=True)
    pml = folder / "model.pml"
    cmd = [sys.executable, "-m", "tcpfsm", "export", "promela", *RFC_RUNGS[rung][1], *RFC_PROPS, "-o", str(pml)]
    _, _, out, code = run_bounded(cmd, budget)
    if code != 0:
        last = (out.strip().splitlines() or ["no output"])[-1]
        raise Skipped(f"export: exit {code}: {last[:100]}")
    t0 = time.perf_counter()
    subprocess.run(["spin", "-a", "model.pml"], cwd=folder, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=folder, check=True, capture_output=True)
    compile_s = time.perf_counter() - t0
    m = re.search(r"tcpfsm's search: ([\d,]+) states", pml.read_text())
    states = int(m.group(1).replace(",", "")) if m else 1_000_000
    w = min(max(states.bit_length() + 1, 18), 28)
    samples = []
    for _ in range(repeat):
        wall, peak, out, _ = run_bounded(["./pan", "-E", f"-m{states + 10}", f"-w{w}"], budget, cwd=folder,
                                         env=dict(os.environ, TCPFSM_SKIP=""))
        stored = float(re.search(r"([\d.e+]+) states, stored", out).group(1))  # type: ignore[union-attr]
        trans = float(re.search(r"([\d.e+]+) transitions \(= stored", out).group(1))  # type: ignore[union-attr]
        samples.append({"states": stored, "transitions": trans - 1, "wall": wall, "search": pan_elapsed(out),
                        "tables": 0.0, "peak": peak})
        if wall > 20:
            break
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}, compile_s


def rfc_ladder(args: argparse.Namespace) -> None:
    rungs = [r for r in args.rungs.split(",") if r in RFC_RUNGS] if args.rungs else list(RFC_RUNGS)
    have_spin = bool(shutil.which("spin") and shutil.which("gcc"))
    print("RFC 9293 spec ladder (I1, I2 checked; both hold, so every state is explored)")
    print("  search: the search alone (tcpfsm's BFS timer; pan's own elapsed time); whole: the process, "
          "fork to exit (pan without its compile, which is apart)")
    print("  tables s: of the search, the vector engine's building of its local tables (running the spec's "
          "Endpoint); pan's model has them built in by tcpfsm's export (its compile is apart)")
    print(f"{'rung':4} {'model':22} {'engine':14} {'states':>11} {'transitions':>12} {'search s':>9} "
          f"{'states/s':>11} {'tables s':>8} {'whole s':>8} {'states/s':>11} {'peak MiB':>9}  note")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for rung in rungs:
        name = RFC_RUNGS[rung][0]
        engines: list[tuple[str, Any]] = [("tcpfsm vector", lambda r: tcpfsm_rung("vector", r, args.budget)),
                                          ("tcpfsm plain", lambda r: tcpfsm_rung("plain", r, args.budget))]
        for label, fn in engines:
            try:
                first = fn(rung)
                samples = [first] + ([fn(rung) for _ in range(args.repeat - 1)] if first["wall"] < 20 else [])
            except Skipped as exc:
                print(f"{rung:4} {name:22} {label:14} skipped: {exc}", flush=True)
                continue
            med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            rows[(rung, label)] = med
            tables = f"{med['tables']:.3f}" if med["tables"] >= 0 else "-"
            print(f"{rung:4} {name:22} {label:14} {med['states']:>11,.0f} {med['transitions']:>12,.0f} "
                  f"{med['search']:>9.3f} {rate(med['states'], med['search']):>11} {tables:>8} "
                  f"{med['wall']:>8.3f} {rate(med['states'], med['wall'], 0.0):>11} {med['peak']:>9.0f}  "
                  f"n={len(samples)}", flush=True)
        if not have_spin:
            print(f"{rung:4} {name:22} {'SPIN pan':14} skipped: spin or gcc not installed (apt-get install spin gcc)")
            continue
        try:
            med, compile_s = spin_rung(rung, args.budget, args.repeat)
        except Skipped as exc:
            print(f"{rung:4} {name:22} {'SPIN pan':14} skipped: {exc}", flush=True)
            continue
        rows[(rung, "SPIN pan")] = med
        ref = rows.get((rung, "tcpfsm vector")) or rows.get((rung, "tcpfsm plain"))
        agree = "" if ref is None else ("states agree" if ref["states"] == med["states"] else
                                        f"STATES DIFFER from tcpfsm's {ref['states']:,.0f}")
        print(f"{rung:4} {name:22} {'SPIN pan':14} {med['states']:>11,.0f} {med['transitions']:>12,.0f} "
              f"{med['search']:>9.3f} {rate(med['states'], med['search']):>11} {'-':>8} {med['wall']:>8.3f} "
              f"{rate(med['states'], med['wall'], 0.0):>11} {med['peak']:>9.0f}  compile {compile_s:.2f} s apart; "
              f"{agree}", flush=True)
    print("\nratios of states/s, same rung, same run (search: search alone; whole: process against process):")
    for rung in rungs:
        vec, plain, pan = (rows.get((rung, t)) for t in ("tcpfsm vector", "tcpfsm plain", "SPIN pan"))
        parts = []
        for label, a, b in (("vector / pan", vec, pan), ("plain / pan", plain, pan), ("vector / plain", vec, plain)):
            if a is None or b is None:
                parts.append(f"{label}: -")
                continue
            search = (f"{(a['states'] / a['search']) / (b['states'] / b['search']):.2f}x"
                      if a["search"] >= 0.01 and b["search"] >= 0.01 else "- (under 0.01 s)")
            whole = f"{(a['states'] / a['wall']) / (b['states'] / b['wall']):.2f}x"
            apart = ""
            if (label == "vector / pan" and a.get("tables") and a["search"] - a["tables"] >= 0.01
                    and b["search"] >= 0.01):
                apart = (f", search with tables apart "
                         f"{(a['states'] / (a['search'] - a['tables'])) / (b['states'] / b['search']):.2f}x")
            parts.append(f"{label}: search {search}{apart}, whole {whole}")
        print(f"  {rung} {RFC_RUNGS[rung][0]}: " + "; ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ladder", choices=["rfc", "reference", "all"], default="rfc")
    ap.add_argument("--peers", type=Path, default=HERE.parent.parent / "shared" / "reference" / "peers")
    ap.add_argument("--rungs", default="", help="e.g. F1,F2 or P1,P2 (default: the whole ladder)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per run before a rung is skipped")
    ap.add_argument("--tools", default="tcpfsm,spin,minicheck,musil")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="also measure the tcpfsm package in DIR")
    args = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    if args.ladder in ("rfc", "all"):
        rfc_ladder(args)
    if args.ladder in ("reference", "all"):
        if args.ladder == "all":
            print()
        reference_ladder(args)


def reference_ladder(args: argparse.Namespace) -> None:
    if not args.rungs or not all(r in RUNGS for r in args.rungs.split(",")):
        args.rungs = ",".join(RUNGS)
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
                  f"{med['search']:>9.3f} {rate(med['states'], med['search']):>11} {med['peak']:>9.0f}", flush=True)
    print("\nratios of states/s, tcpfsm / peer, same rung, same run; search: search alone (tcpfsm's BFS timer, "
          "pan's own elapsed time, the Python peers' search timers); whole: process against process:")
    for rung in args.rungs.split(","):
        me = rows.get((rung, "tcpfsm"))
        if not me:
            continue
        parts = []
        for t in live:
            other = rows.get((rung, t.name))
            if t.name == "tcpfsm" or not other:
                continue
            search = (f"{(me['states'] / me['search']) / (other['states'] / other['search']):.2f}x"
                      if me["search"] >= 0.01 and other["search"] >= 0.01 else "- (under 0.01 s)")
            whole = (me["states"] / me["wall"]) / (other["states"] / other["wall"])
            parts.append(f"vs {t.name}: search {search}, whole {whole:.2f}x")
            if other["states"] != me["states"]:
                parts.append(f"(state counts differ: {other['states']:,.0f})")
        print(f"  {rung}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
