"""Run the behavioural tests against every one-edit mutant of ``specs/tcp.yaml`` and report the kill rate.

``python -m tests.mutation --help`` for the options. Exit status: 0 when the kill rate meets
``--min-kill-rate``, 1 when it does not, 2 on a usage error or when the baseline cannot run (no
test passes on the unmutated spec, or a run was not isolated from the checkout); 130 / 143 after
^C / SIGTERM, once the partial report is printed. Mutants run in a seeded random order, so a run
cut short (``--time-budget``, ^C) has judged a random sample; its report says PARTIAL.

The test selection (``--stage``/``--tests``, default ``DEFAULT_STAGES``: stages of test paths run in
that order, each a pytest process with ``-x``, the first failure ending the mutant's run, so the
RFC-valued tests of ``tests/rfc`` come first and the slow searches last) leaves out, by default, the tests listed in
``DEFAULT_DESELECT`` with the reason for each: tests that compare committed generated files
(diagrams, docs), differential tests of fast paths (both sides read the same spec), fuzzers of the
parsers, tests of the reference model (``specs/reference.yaml``, which no mutant touches), and tests
that edit the text of ``specs/tcp.yaml`` to provoke a loader problem (a mutant that touches the same
text would fail them without a behaviour being judged). ``--no-default-deselect`` keeps them;
``--deselect NODEID`` adds one. A test that fails on the unmutated spec (the baseline run) is left out
of every mutant's run, and the report lists it first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any

from tcpfsm import SpecError, load_spec

from .generate import KINDS, Mutant, digest, generate, iter_kinds

ROOT = Path(__file__).resolve().parent.parent.parent

# Stages run one after the other, each one pytest process with -x; a mutant's run ends at the first
# failing stage. Each process pays pytest's collection (a few seconds), so the stages are few, the
# RFC-valued tests first (they kill most mutants), the slow searches last.
DEFAULT_STAGES: tuple[tuple[str, ...], ...] = (
    ("tests/rfc",),
    ("tests/test_endpoint.py", "tests/test_replay.py", "tests/test_profiles.py",
     # test_spec.py: its checks of the shipped spec; the rest edit the text of tcp.yaml (see DEFAULT_DESELECT)
     "tests/test_spec.py::test_every_profile_is_valid",
     "tests/test_spec.py::test_guards_of_each_state_event_are_mutually_exclusive",
     "tests/test_spec.py::test_every_arrival_event_is_covered",
     "tests/test_spec.py::test_checklist_rows_all_accounted_for",
     "tests/test_spec.py::test_named_state_sets_expand_to_the_rfcs_lists"),
    ("tests/test_checker.py", "tests/test_stateful.py", "tests/test_monitor.py", "tests/test_monitor_api.py",
     "tests/test_monitor_tolerance.py"),
)

_FAST_PATH = "differential test of a fast path: both engines read the same (mutated) spec"
_REFERENCE = "runs the reference model (specs/reference.yaml), which no mutant changes"
_PARSER = "tests a parser or reader of captures, not the machine"
DEFAULT_DESELECT: dict[str, str] = {
    "tests/test_endpoint.py::test_every_state_event_matches_the_spec_under_both_engines[linux]": _FAST_PATH,
    "tests/test_endpoint.py::test_every_state_event_matches_the_spec_under_both_engines[rfc1337]": _FAST_PATH,
    "tests/test_endpoint.py::test_every_state_event_matches_the_spec_under_both_engines[rfc5961]": _FAST_PATH,
    "tests/test_endpoint.py::test_every_state_event_matches_the_spec_under_both_engines[rfc793]": _FAST_PATH,
    "tests/test_replay.py::test_mutated_traces_never_traceback": "fuzzes the trace reader (40 s of a mutant's minute)",
    "tests/test_checker.py::test_golden_numbers_through_the_command": _REFERENCE + " (committed golden numbers)",
    "tests/test_checker.py::test_reference_property_verdicts": _REFERENCE,
    "tests/test_checker.py::test_vector_and_plain_engines_agree": _REFERENCE,
    "tests/test_checker.py::test_every_state_of_a_small_model_replays": _REFERENCE,
    "tests/test_checker.py::test_random_checker_paths_replay_through_endpoint_pair[reference]": _REFERENCE,
    "tests/test_checker.py::test_both_layouts_round_trip_and_order_states_alike": "tests the state encoding",
    "tests/test_checker.py::test_ctrl_c_keeps_partial_figures": "tests the search's interruption",
    "tests/test_checker.py::test_state_and_time_bounds_in_both_engines": "tests the search's bounds",
    "tests/test_stateful.py::test_the_stateful_search_finds_a_mutant": "judges specs/mutants/skip_time_wait.yaml "
                                                                      "(40 s), not the spec under test",
    "tests/test_stateful.py::test_random_orderings_rfc5961": "the same search over an overlay (6 s with rfc1337); "
                                                             "the rfc9293 one runs",
    "tests/test_stateful.py::test_random_orderings_rfc1337": "the same search over an overlay; the rfc9293 one runs",
    "tests/test_monitor.py::test_fast_path_gives_exactly_the_plain_monitors_answers": _FAST_PATH,
    "tests/test_monitor.py::test_bulk_parser_equals_the_per_packet_parser": _PARSER,
    "tests/test_monitor.py::test_mutated_captures_never_traceback": _PARSER,
    "tests/test_monitor.py::test_link_types_give_the_same_answer": _PARSER,
    "tests/test_monitor.py::test_pcapng": _PARSER,
    "tests/test_monitor.py::test_unknown_link_type_is_counted_not_raised": _PARSER,
    "tests/test_monitor.py::test_not_a_capture": _PARSER,
    "tests/test_monitor_api.py::test_the_captures_are_classic_pcap_with_their_link_types": _PARSER,
    "tests/test_monitor_api.py::test_feed_gives_what_tcpfsm_monitor_gives": "the API against the CLI, same spec",
    "tests/test_monitor_api.py::test_from_dpkt_gives_what_raw_frames_give": _PARSER,
    "tests/test_monitor_api.py::test_the_memo_and_the_plain_engine_answer_alike_while_streaming": _FAST_PATH,
    "tests/test_monitor_api.py::test_feed_raw_bytes_with_a_link_type": _PARSER,
    "tests/test_monitor_api.py::test_every_kind_of_record_gives_the_same_answer": _PARSER,
    "tests/test_monitor_api.py::test_garbage_is_counted_as_read_and_skipped": _PARSER,
    "tests/test_monitor_api.py::test_from_dpkt_reads_ip_layers_and_says_why_it_skips": _PARSER,
    "tests/test_monitor_api.py::test_from_scapy_with_packets_built_in_scapy": _PARSER,
    "tests/test_monitor_api.py::test_tcpfsm_and_the_monitor_need_neither_numpy_nor_dpkt": "imports, in a subprocess",
    "tests/test_monitor_api.py::test_the_public_names": "the API's names",
    # never in the selection, named here so that --tests cannot bring them in by a folder
    "tests/test_diagrams.py": "compares committed diagrams with renders",
    "tests/test_spec_format.py": "compares the committed docs/spec-format.md with its render",
    "tests/mutation": "this tool",
}

# What a slot copies of the checkout: everything but these (a mutant needs the package, specs, tests).
COPY_IGNORE = (".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
               "build", "out", "benchmarks", "*.egg-info", "dist")

KILLED, SURVIVED, INVALID, TIMEOUT = "killed", "survived", "invalid", "timeout"
STATUSES = (KILLED, SURVIVED, INVALID, TIMEOUT)


class ToolError(Exception):
    """The run cannot judge mutants (exit 2)."""


@dataclass
class TestRun:
    """One pytest run in a slot, read back from the plugin's JSON lines."""

    returncode: int | None  # None: timed out
    seconds: float
    tests: list[dict[str, Any]] = field(default_factory=list)
    collect_errors: list[dict[str, Any]] = field(default_factory=list)
    last_started: str | None = None
    isolation: str | None = None
    output: str = ""

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [t for t in self.tests if t["outcome"] == "failed"]

    @property
    def passed(self) -> list[str]:
        return [t["test"] for t in self.tests if t["outcome"] != "failed"]


@dataclass
class Result:
    mutant: Mutant
    status: str
    seconds: float = 0.0
    killer: str | None = None
    message: str = ""
    tests_ran: list[str] = field(default_factory=list)
    tests_not_run: list[str] = field(default_factory=list)  # of the baseline's passing tests (normally none)
    reached_by: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.mutant.to_dict(), "status": self.status, "seconds": round(self.seconds, 2)}
        if self.killer:
            out["killer"] = self.killer
        if self.message:
            out["message"] = self.message
        if self.status == SURVIVED:
            out["tests_ran"] = len(self.tests_ran)  # the list is selection.baseline_tests, less tests_not_run
            out["tests_not_run"] = self.tests_not_run
            out["reached_by"] = self.reached_by
        return out


# ------------------------------------------------------------------------------ slots
def make_slot(dest: Path, source: Path = ROOT) -> Path:
    """A copy of the checkout (``source``) that a mutant may change: its own package, specs and tests."""
    ignore = shutil.ignore_patterns(*COPY_IGNORE)
    dest.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if ignore(str(source), [entry.name]):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dest / entry.name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(entry, dest / entry.name, follow_symlinks=False)
    link = dest / "tcpfsm" / "specs"
    if not (link.resolve() == (dest / "specs").resolve() and (dest / "specs" / "tcp.yaml").is_file()):
        raise ToolError(f"the slot's tcpfsm/specs does not lead to its own specs/ ({link} -> {link.resolve()})")
    return dest


_LIVE: set[subprocess.Popen[str]] = set()  # runs to end (their process groups) if this tool is interrupted


def _end_live_runs() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def run_pytest(slot: Path, tests: Sequence[str], deselect_file: Path, results: Path, *, stop_first: bool,
               timeout: float, trace: bool = False, test_timeout: float = 0) -> TestRun:
    """``python -m pytest`` in ``slot`` with the mutation plugin; killed with its process group on timeout."""
    shutil.rmtree(slot / ".hypothesis", ignore_errors=True)
    results.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pytest", "-q", "--tb=no", "--no-header", "-p", "no:cacheprovider",
           "-p", "tests.mutation._plugin", "-o", "addopts=", *(["-x"] if stop_first else []), *tests]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TCPFSM_MUTATION_"))}
    env.update(PYTHONPATH=str(slot), PYTHONHASHSEED="0", TCPFSM_MUTATION_RESULTS=str(results),
               TCPFSM_MUTATION_DESELECT=str(deselect_file))
    if trace:
        env["TCPFSM_MUTATION_TRACE"] = "1"
    if test_timeout:
        env["TCPFSM_MUTATION_TEST_TIMEOUT"] = str(test_timeout)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=slot, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, stdin=subprocess.DEVNULL)
    _LIVE.add(proc)
    try:
        output, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        code = None
    finally:
        _LIVE.discard(proc)
    run = TestRun(code, time.monotonic() - start, output=output or "")
    if results.is_file():
        for line in results.read_text().splitlines():
            record = json.loads(line)
            if "test" in record:
                run.tests.append(record)
            elif "start" in record:
                run.last_started = record["start"]
            elif "collect" in record:
                run.collect_errors.append(record)
            elif "isolation" in record:
                run.isolation = record["isolation"]
    if run.isolation is not None or code == 4:
        raise ToolError(f"a run in {slot} was not isolated from the checkout: {run.isolation or run.output[-800:]}")
    return run


# ------------------------------------------------------------------------------ judging
def validate(text: str, folder: Path, name: str) -> str | None:
    """None when the loader accepts the mutated spec, else its first problems."""
    path = folder / f"{name}.yaml"  # one file per mutant: the loader caches by path and stamp
    path.write_text(text)
    try:
        load_spec(path)
    except SpecError as exc:
        return "; ".join(str(p).replace(str(path), "tcp.yaml") for p in exc.problems[:3])
    finally:
        path.unlink()
    return None


def judge(mutant: Mutant, runs: list[TestRun], base: Baseline) -> Result:
    """The verdict of a mutant's stages (each ran after the one before passed)."""
    run = runs[-1]
    ran = [t for r in runs for t in r.passed]
    run.seconds = sum(r.seconds for r in runs)
    if run.returncode is None:
        return Result(mutant, TIMEOUT, run.seconds, run.last_started, "timed out")
    if run.returncode == 0:
        seen = set(ran)
        return Result(mutant, SURVIVED, run.seconds, tests_ran=ran,
                      tests_not_run=[t for t in base.run.passed if t not in seen],
                      reached_by=base.reached.get(mutant.transition, []))
    if run.returncode == 5:
        raise ToolError(f"no test ran for {mutant.id}: {run.output[-800:]}")
    if run.failed:
        first = run.failed[0]
        return Result(mutant, KILLED, run.seconds, first["test"], first["message"])
    if run.collect_errors:
        err = run.collect_errors[0]
        return Result(mutant, KILLED, run.seconds, f"{err['collect']} (collection)", err["message"][-300:])
    return Result(mutant, KILLED, run.seconds, f"pytest exit {run.returncode}", run.output[-300:])


@dataclass
class Baseline:
    run: TestRun
    excluded: list[tuple[str, str]]  # (nodeid, why): failing on the unmutated spec
    reached: dict[str, list[str]]  # transition id -> the tests that fire it


def baseline(slot: Path, tests: Sequence[str], deselect_file: Path, work: Path, timeout: float,
             test_timeout: float) -> Baseline:
    run = run_pytest(slot, tests, deselect_file, work / "baseline.jsonl", stop_first=False, timeout=timeout,
                     trace=True, test_timeout=test_timeout)
    if run.returncode is None:
        raise ToolError(f"the baseline run timed out after {timeout:.0f} s (last test: {run.last_started})")
    excluded = [(t["test"], t["message"]) for t in run.failed]
    excluded += [(c["collect"], "collection error: " + c["message"].strip().splitlines()[-1][:200])
                 for c in run.collect_errors if c["message"].strip()]
    if not run.passed:
        raise ToolError(f"no selected test passes on the unmutated spec (exit {run.returncode}):\n{run.output[-2000:]}")
    reached: dict[str, list[str]] = defaultdict(list)
    for t in run.tests:
        if t["outcome"] != "failed":
            for tid in t["fired"]:
                reached[tid].append(t["test"])
    return Baseline(run, excluded, dict(reached))


# ------------------------------------------------------------------------------ the command
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.mutation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python -m tests.mutation --list\n  python -m tests.mutation --jobs 2 --json out/m.json\n"
               "  python -m tests.mutation --sample 12 --seed 1 --min-kill-rate 0\n"
               "  python -m tests.mutation --only 'S31.*' --tests tests/rfc")
    p.add_argument("--spec", type=Path, default=None,
                   help="the base spec to mutate, inside the checkout (default: specs/tcp.yaml of the snapshot)")
    p.add_argument("--list", action="store_true", help="print the mutants (with --json: as JSON) and exit")
    p.add_argument("--sample", type=int, metavar="N", help="run N mutants drawn with --seed (default: all)")
    p.add_argument("--seed", type=int, default=0, help="the seed of --sample (default 0)")
    p.add_argument("--kind", action="append", choices=KINDS, help="only mutants of this kind (repeatable)")
    p.add_argument("--only", action="append", metavar="GLOB", help="only mutants whose id matches (repeatable)")
    p.add_argument("--also", action="append", metavar="GLOB",
                   help="add the mutants whose id matches to the selection, after --sample (repeatable)")
    p.add_argument("--all-targets", action="store_true", help="mutate targets to every state, not only the "
                   "wrong branch, `same` and CLOSED")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="start no mutant after this long; report the (random, seeded) part judged, marked partial")
    p.add_argument("--jobs", "-j", type=int, default=2, help="mutants run at once (default 2)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds per mutant (default: 2 x the baseline run + 30)")
    p.add_argument("--baseline-test-timeout", type=float, default=60.0,
                   help="a test slower than this on the unmutated spec fails there, and is left out (default 60 s)")
    p.add_argument("--stage", action="append", metavar="'PATH ...'", default=None,
                   help="a stage: test paths or node ids, space-separated, run in one pytest process (repeatable, "
                        "in order; default: " + " | ".join(" ".join(st) for st in DEFAULT_STAGES)
                        + "); a missing path is skipped")
    p.add_argument("--tests", nargs="+", metavar="PATH", default=None, help="one stage of these paths (for --stage)")
    p.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                   help="leave out a test (a node id, a prefix of parametrizations, or a module; repeatable)")
    p.add_argument("--no-default-deselect", action="store_true",
                   help="run the tests of DEFAULT_DESELECT too (see the module's doc)")
    p.add_argument("--min-kill-rate", type=float, default=0.90,
                   help="exit 1 when killed / valid mutants is below this (default 0.90; timeouts count as killed)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON (`-` for stdout)")
    p.add_argument("--workdir", type=Path, help="keep the slots and logs here (default: a temporary folder, removed)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    return args


def select(mutants: list[Mutant], args: argparse.Namespace) -> list[Mutant]:
    from fnmatch import fnmatchcase

    chosen = [m for m in mutants if (not args.kind or m.kind in args.kind)
              and (not args.only or any(fnmatchcase(m.id, g) for g in args.only))]
    if args.sample is not None and args.sample < len(chosen):
        picked = set(random.Random(args.seed).sample(range(len(chosen)), args.sample))
        chosen = [m for i, m in enumerate(chosen) if i in picked]
    if args.also:
        extra = {m.id for m in mutants if any(fnmatchcase(m.id, g) for g in args.also)}
        chosen = [m for m in mutants if m in chosen or m.id in extra]
    return chosen


def print_list(mutants: list[Mutant], as_json: Path | None) -> None:
    if as_json is not None:
        text = json.dumps([m.to_dict() for m in mutants], indent=1)
        if str(as_json) == "-":
            print(text)
        else:
            as_json.write_text(text + "\n")
        return
    for m in mutants:
        print(f"{m.id:<40} {m.kind:<13} line {m.line:<4} {m.description}")
    print(f"{len(mutants)} mutants: " + ", ".join(f"{k} {n}" for k, n in iter_kinds(mutants)))


def rate(counts: Counter[str]) -> float:
    valid = counts[KILLED] + counts[SURVIVED] + counts[TIMEOUT]
    return (counts[KILLED] + counts[TIMEOUT]) / valid if valid else 1.0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    real_spec = ROOT / "specs" / "tcp.yaml"
    before = digest(real_spec.read_text())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tcpfsm-mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum)) if in_main else None
    try:
        return _main(args, work)
    except ToolError as exc:
        print(f"tcpfsm mutation: {exc}", file=sys.stderr)
        return 2
    finally:
        _end_live_runs()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
        if digest(real_spec.read_text()) != before:
            print("tcpfsm mutation: note: specs/tcp.yaml of the checkout was edited during the run (by someone "
                  "else: this tool writes only its copies); the report is about the snapshot taken at the start "
                  "(its hash is in the report)", file=sys.stderr)


def _main(args: argparse.Namespace, work: Path) -> int:
    log: Callable[[str], None] = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    t0 = time.monotonic()
    slot0 = make_slot(work / "slot-0")  # the snapshot: every slot is a copy of it
    try:
        spec_rel = args.spec.resolve().relative_to(ROOT) if args.spec else Path("specs/tcp.yaml")
    except ValueError:
        raise ToolError(f"--spec {args.spec} is not inside the checkout {ROOT}") from None
    spec_path = slot0 / spec_rel
    original = spec_path.read_text()
    (work / "original-tcp.yaml").write_text(original)  # the slots' copy holds a mutant while they run
    mutants = generate(spec_path, all_targets=args.all_targets)
    chosen = select(mutants, args)
    if args.list:
        print_list(chosen, args.json)
        return 0
    if not chosen:
        raise ToolError("no mutant matches the options")

    wanted = [list(args.tests)] if args.tests else [st.split() for st in args.stage] if args.stage \
        else [list(st) for st in DEFAULT_STAGES]
    stages = [[t for t in st if (slot0 / t.split("::")[0]).exists()] for st in wanted]
    skipped = [t for st in wanted for t in st if not (slot0 / t.split("::")[0]).exists()]
    stages = [st for st in stages if st]
    tests = [t for st in stages for t in st]
    deselect = {} if args.no_default_deselect else dict(DEFAULT_DESELECT)
    deselect.update({d: "--deselect" for d in args.deselect})
    deselect_file = work / "deselect.json"
    deselect_file.write_text(json.dumps(sorted(deselect)))
    if not tests:
        raise ToolError(f"none of the test paths exists: {' '.join(t for st in wanted for t in st)}")
    log(f"baseline: {len(tests)} test paths in {len(stages)} stages, on the unmutated spec ...")
    base = baseline(slot0, tests, deselect_file, work, timeout=1800.0, test_timeout=args.baseline_test_timeout)
    if base.excluded:
        deselect.update({nodeid: "fails on the unmutated spec" for nodeid, _ in base.excluded})
        deselect_file.write_text(json.dumps(sorted(deselect)))
        log(f"!! {len(base.excluded)} selected tests FAIL on the unmutated spec and are left out of the judgement")
    timeout = args.timeout or 2 * base.run.seconds + 30
    log(f"baseline: {len(base.run.passed)} tests pass in {base.run.seconds:.1f} s; timeout per mutant {timeout:.0f} s")

    slots: Queue[Path] = Queue()
    slots.put(slot0)
    for k in range(1, min(args.jobs, len(chosen))):
        slots.put(make_slot(work / f"slot-{k}", slot0))
    (work / "validate").mkdir(exist_ok=True)
    (work / "runs").mkdir(exist_ok=True)
    lock = threading.Lock()
    stop = threading.Event()  # --time-budget spent: start no new mutant (those running finish)
    halt = threading.Event()  # interrupted: end the runs, judge nothing more
    done: list[Result] = []
    budget_end = t0 + args.time_budget if args.time_budget else None
    stream = (work / "results.jsonl").open("a")

    def one(index: int, m: Mutant) -> Result | None:
        if halt.is_set() or stop.is_set() or (budget_end is not None and time.monotonic() > budget_end):
            stop.set()
            return None
        text = m.apply(original)
        with lock:  # the loader's caches are not meant for threads
            problem = validate(text, work / "validate", f"m{index}")
        if problem is not None:
            return Result(m, INVALID, message=problem)
        slot = slots.get()
        try:
            (slot / spec_rel).write_text(text)
            runs: list[TestRun] = []
            for k, stage in enumerate(stages):
                left = timeout - sum(r.seconds for r in runs)
                run = run_pytest(slot, stage, deselect_file, work / "runs" / f"m{index}-{k}.jsonl", stop_first=True,
                                 timeout=max(left, 1.0))
                runs.append(run)
                if run.returncode != 0 or halt.is_set():
                    break
        finally:
            (slot / spec_rel).write_text(original)
            slots.put(slot)
        if halt.is_set():
            return None  # interrupted: its run was ended by us, not judged
        return judge(m, runs, base)

    # a seeded random order: a run cut short by --time-budget or ^C has judged a random sample
    todo = list(range(len(chosen)))
    random.Random(args.seed).shuffle(todo)
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    interrupted: str | None = None
    interrupt_code = 0
    try:
        futures = [pool.submit(one, i, chosen[i]) for i in todo]
        for fut in as_completed(futures):
            r = fut.result()
            if r is None:
                continue
            done.append(r)
            stream.write(json.dumps(r.to_dict()) + "\n")
            stream.flush()
            log(f"[{len(done)}/{len(chosen)}] {r.status:<8} {r.mutant.id}  {r.seconds:.1f}s"
                + (f"  <- {r.killer}" if r.killer else ""))
    except (KeyboardInterrupt, SystemExit) as exc:
        interrupted = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
        interrupt_code = 130 if isinstance(exc, KeyboardInterrupt) else 143
        halt.set()
        _end_live_runs()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stream.close()
    partial = interrupted or ("time budget spent" if len(done) < len(chosen) else None)
    order = {m.id: i for i, m in enumerate(chosen)}
    done.sort(key=lambda r: order[r.mutant.id])
    report = make_report(args, mutants, chosen, done, base, stages, skipped, deselect, timeout,
                         time.monotonic() - t0, digest(original), partial)
    print(text_report(report))
    if args.json is not None:
        text = json.dumps(report, indent=1)
        if str(args.json) == "-":
            print(text)
        else:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text + "\n")
    if interrupted:
        return interrupt_code
    return 0 if report["kill_rate"] >= args.min_kill_rate else 1


def make_report(args: argparse.Namespace, mutants: list[Mutant], chosen: list[Mutant], done: list[Result],
                base: Baseline, stages: list[list[str]], skipped: list[str], deselect: dict[str, str], timeout: float,
                seconds: float, spec_digest: str, partial: str | None) -> dict[str, Any]:
    counts = Counter(r.status for r in done)
    by_kind: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        c = Counter(r.status for r in done if r.mutant.kind == kind)
        if c:
            by_kind[kind] = {s: c[s] for s in STATUSES}
    killers = Counter((r.killer or "").split("[")[0] for r in done if r.status == KILLED)
    return {
        "spec": "specs/tcp.yaml", "spec_sha256_16": spec_digest,
        "generated": len(mutants), "run": len(chosen), "judged": len(done), "partial": partial,
        "sample": {"n": args.sample, "seed": args.seed} if args.sample is not None else None,
        "counts": {s: counts[s] for s in STATUSES},
        "kill_rate": round(rate(counts), 4), "min_kill_rate": args.min_kill_rate,
        "seconds": round(seconds, 1), "jobs": args.jobs, "timeout": round(timeout, 1),
        "by_kind": by_kind,
        "selection": {"stages": stages, "missing": skipped, "deselected": deselect,
                      "baseline_passed": len(base.run.passed), "baseline_seconds": round(base.run.seconds, 1),
                      "baseline_tests": base.run.passed},
        "baseline_failures": [{"test": t, "message": m} for t, m in base.excluded],
        "killers": dict(killers.most_common()),
        "mutants": [r.to_dict() for r in done],
    }


def text_report(rep: dict[str, Any]) -> str:
    c = rep["counts"]
    valid = c[KILLED] + c[SURVIVED] + c[TIMEOUT]
    lines = []
    if rep["baseline_failures"]:
        lines += ["", "!" * 78, f"!! {len(rep['baseline_failures'])} SELECTED TESTS FAIL ON THE UNMUTATED SPEC; "
                  "they were left out of every mutant's run:"]
        lines += [f"!!   {f['test']}: {f['message'][:150]}" for f in rep["baseline_failures"]]
        lines += ["!" * 78]
    sel = rep["selection"]
    lines += ["", f"tcpfsm spec mutation: {rep['spec']} ({rep['spec_sha256_16']}), {rep['generated']} mutants generated"
              + (f", {rep['run']} run (sample {rep['sample']['n']}, seed {rep['sample']['seed']})"
                 if rep["sample"] else ""),
              "tests (stages): " + " | ".join(" ".join(st) for st in sel["stages"])
              + (f" (missing: {' '.join(sel['missing'])})" if sel["missing"] else ""),
              f"baseline: {sel['baseline_passed']} tests pass in {sel['baseline_seconds']} s; "
              f"{len(sel['deselected'])} node ids deselected; timeout {rep['timeout']} s per mutant",
              "",
              f"killed {c[KILLED]} | survived {c[SURVIVED]} | invalid, rejected by the loader {c[INVALID]} | "
              f"timed out {c[TIMEOUT]}   (= {sum(c.values())} of {rep['run']}"
              + (f"; PARTIAL, {rep['partial']}: {rep['run'] - rep['judged']} not judged)" if rep["partial"] else ")"),
              f"kill rate {rep['kill_rate']:.1%} of {valid} valid mutants (killed + timed out; the loader's "
              f"{c[INVALID]} rejections are counted apart)   time {rep['seconds']} s with {rep['jobs']} jobs",
              "", "by kind:            killed survived invalid timeout"]
    for kind, k in rep["by_kind"].items():
        lines.append(f"  {kind:<16} {k[KILLED]:>7} {k[SURVIVED]:>8} {k[INVALID]:>7} {k[TIMEOUT]:>7}")
    if rep["killers"]:
        lines += ["", "kills by test (first failure):"]
        lines += [f"  {n:>4}  {t}" for t, n in list(rep["killers"].items())[:15]]
    timeouts = [m for m in rep["mutants"] if m["status"] == TIMEOUT]
    if timeouts:
        lines += ["", "timed out:"] + [f"  {m['id']}: {m['description']} (in {m.get('killer')})" for m in timeouts]
    survivors = [m for m in rep["mutants"] if m["status"] == SURVIVED]
    if survivors:
        lines += ["", f"survivors ({len(survivors)}), by kind; 'reached by' = the tests that fire the transition "
                  "on the unmutated spec:"]
        for kind in KINDS:
            group = [m for m in survivors if m["kind"] == kind]
            if not group:
                continue
            lines.append(f"  {kind} ({len(group)}):")
            for m in group:
                reach = m["reached_by"]
                shown = (f"reached by {len(reach)}: " + ", ".join(r.split("::")[-1] for r in reach[:3])
                         + (" ..." if len(reach) > 3 else "")) if reach else "REACHED BY NO SELECTED TEST"
                lines.append(f"    line {m['line']:<4} {m['description']}")
                ran = f"{m['tests_ran']} tests ran" + (f" ({len(m['tests_not_run'])} of the baseline's did not)"
                                                         if m["tests_not_run"] else " (all selected)")
                lines.append(f"              {ran}, all passed; {shown}")
    return "\n".join(lines)
