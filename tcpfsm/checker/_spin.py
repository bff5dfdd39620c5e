"""Running SPIN on a Promela text: ``spin -a``, gcc, pan, and pan's report and trail read back.

Knows nothing of how the text was made (that is :mod:`tcpfsm.export`); it only builds pan in a
folder, runs it with the properties to skip (``TCPFSM_SKIP``, read by the exported model) and
returns what pan said: states stored and matched, the depth it reached, the first error (an
assertion's message, or an invalid end state) and, replayed with ``pan -r``, the move labels of
its trail (the exported model prints ``@move LABEL`` on every move).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tcpfsm.base import TcpFsmError

INSTALL = "apt-get install -y spin gcc"


class SpinMissing(TcpFsmError):
    """spin or gcc is not installed (a usage error: exit 2, with the install line)."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"--engine spin needs {tool}, which is not installed here: {INSTALL}")
        self.tool = tool

    def __reduce__(self) -> tuple[type[SpinMissing], tuple[str]]:
        return (SpinMissing, (self.tool,))


class SpinFailed(TcpFsmError):
    """spin -a or gcc refused the model, or pan ended in a way tcpfsm cannot read."""


@dataclass
class PanBuild:
    folder: Path
    bfs: bool
    seconds: float            # spin -a + gcc
    flags: tuple[str, ...]


@dataclass
class PanRun:
    stored: int = 0
    matched: int = 0
    transitions: int = 0      # pan's "transitions (= stored+matched)"
    depth: int = 0
    errors: int = 0
    error: str = ""           # the first error's message ("tcpfsm property I3", "invalid end state")
    stopped: str = ""         # a bound pan reached (memory, depth, time): the search is incomplete
    seconds: float = 0.0      # the pan process, wall
    pan_seconds: float = 0.0  # pan's own "elapsed time"
    peak_mib: float = 0.0
    hash_factor: float = 0.0  # bitstate only
    output: str = ""
    trail: list[str] = field(default_factory=list)


def require_tools() -> None:
    for tool in ("spin", "gcc"):
        if shutil.which(tool) is None:
            raise SpinMissing(tool)


def build(text: str, folder: Path, *, bfs: bool = True, cores: int = 1, bitstate: bool = False,
          memory_mib: int | None = None, optimize: str = "-O2") -> PanBuild:
    """Write ``model.pml`` in ``folder``, generate pan with ``spin -a`` and compile it."""
    require_tools()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pml").write_text(text, encoding="utf-8")
    flags = ["-DSAFETY", "-DNOCLAIM"]
    if bfs and cores <= 1:
        flags.append("-DBFS")
    if cores > 1:
        flags.append(f"-DNCORE={cores}")
    if bitstate:
        flags.append("-DBITSTATE")
    if memory_mib:
        flags.append(f"-DMEMLIM={memory_mib}")
    t0 = time.perf_counter()
    for cmd in (["spin", "-a", "model.pml"], ["gcc", optimize, *flags, "-o", "pan", "pan.c"]):
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SpinFailed(f"{' '.join(cmd)} failed in {folder}:\n{(proc.stdout + proc.stderr)[-2000:]}")
    return PanBuild(folder, "-DBFS" in flags, time.perf_counter() - t0, tuple(flags))


def _int(pattern: str, text: str) -> int:
    m = re.search(pattern, text)
    return int(float(m.group(1))) if m else 0


def run(b: PanBuild, *, skip: Sequence[str] = (), end_states: bool = False, depth: int = 1_000_000,
        hash_bits: int = 22, timeout: float | None = None, replay: bool = True) -> PanRun:
    """Run pan once (properties ``skip`` switched off); on an error, replay its trail."""
    env = dict(os.environ, TCPFSM_SKIP=" ".join(skip))
    trail = b.folder / "model.pml.trail"
    if trail.exists():
        trail.unlink()
    args = ["./pan", f"-m{depth}", f"-w{hash_bits}"] + ([] if end_states else ["-E"])
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=b.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    res = PanRun()
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer is not None:
        timer.start()
    try:
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)  # pan's own peak memory
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if timer is not None and proc.returncode < 0:
        res.stopped = f"time bound {timeout:g} s (pan)"
    res.seconds = time.perf_counter() - t0
    res.peak_mib = usage.ru_maxrss / 1024.0
    res.output = out
    res.stored = _int(r"([\d.e+]+) states, stored", out)
    res.matched = _int(r"([\d.e+]+) states, matched", out)
    res.transitions = _int(r"([\d.e+]+) transitions \(= stored\+matched\)", out)
    res.depth = _int(r"depth reached (\d+)", out)
    res.errors = _int(r"errors: (\d+)", out)
    m = re.search(r"pan: elapsed time ([\d.e+]+)", out)
    res.pan_seconds = float(m.group(1)) if m else 0.0
    m = re.search(r"([\d.]+)\s+total actual memory usage", out)
    if m:  # pan's own figure: the process's peak RSS also counts the fork before the exec
        res.peak_mib = float(m.group(1))  # pan counts in units of 2**20 bytes
    m = re.search(r"hash factor: ([\d.e+]+)", out)
    res.hash_factor = float(m.group(1)) if m else 0.0
    m = re.search(r"pan:\d+: (assertion violated (tcpfsm[^\n(]*?)|invalid end state)\s*\(at depth", out)
    if m:
        res.error = (m.group(2) or m.group(1)).strip()
    if "max search depth too small" in out:
        res.stopped = res.stopped or f"depth bound {depth:,} (pan -m)"
    if "reached -DMEMLIM bound" in out or "out of memory" in out:
        res.stopped = res.stopped or "memory bound (pan -DMEMLIM)"
    if not res.stored and not res.stopped:
        raise SpinFailed(f"pan printed no statistics in {b.folder}:\n{out[-2000:]}")
    if res.error and replay and trail.exists():
        rp = subprocess.run(["./pan", "-r", "-n"], cwd=b.folder, env=env, capture_output=True, text=True)
        res.trail = re.findall(r"^@move (\S+)$", rp.stdout, re.M)
    return res


__all__ = ["INSTALL", "PanBuild", "PanRun", "SpinFailed", "SpinMissing", "build", "require_tools", "run"]
