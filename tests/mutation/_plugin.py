"""The pytest plugin of a mutant's run (``-p tests.mutation._plugin``), inside a slot copy of the checkout.

- Refuses to run (exit 4) unless ``tcpfsm`` and its ``specs/`` are imported from the working
  directory: a mutant must never be judged by the real checkout's spec.
- Loads a Hypothesis profile that makes runs comparable across mutants: derandomized, no example
  database (a failure of one mutant must not be replayed on the next), no deadline (two jobs share
  the cores), no shrinking (the first failure is all the judgement needs).
- Deselects the node ids listed in ``$TCPFSM_MUTATION_DESELECT`` (a JSON list; an entry also
  deselects its parametrizations ``ENTRY[...]`` and, ending in ``.py``, a whole module).
- With ``$TCPFSM_MUTATION_TEST_TIMEOUT`` (seconds), fails a test that runs longer (the baseline's
  limit: one hanging test must not hide the others).
- Writes one JSON line per event to ``$TCPFSM_MUTATION_RESULTS``: ``start`` (a test begins: a run
  that times out names its last test), ``test`` (nodeid, outcome, seconds, failure message, and,
  with ``$TCPFSM_MUTATION_TRACE`` set, the ids of the base spec's transitions the test fired) and
  ``collect`` (a module that failed to import).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Generator
from pathlib import Path
from typing import Any, TextIO

import pytest
from hypothesis import HealthCheck, Phase, settings

ISOLATION_EXIT = 4
_out: TextIO | None = None
_fired: set[str] = set()
_outcome: dict[str, tuple[str, float, str]] = {}


def _write(record: dict[str, Any]) -> None:
    if _out is not None:
        _out.write(json.dumps(record) + "\n")
        _out.flush()


def _isolation_problem() -> str | None:
    import tcpfsm
    from tcpfsm.base._resources import specs_dir

    here = Path.cwd().resolve()
    package = Path(tcpfsm.__file__).resolve()
    specs = (specs_dir() / "tcp.yaml").resolve()
    for what, path in (("tcpfsm", package), ("specs/tcp.yaml", specs)):
        if not path.is_relative_to(here):
            return f"{what} comes from {path}, not from the mutant's copy {here}"
    return None


def _trace() -> None:
    """Record the base spec's transitions each test fires (through every engine: Endpoint runs them all)."""
    from tcpfsm.runtime._endpoint import Endpoint

    base = (Path.cwd() / "specs" / "tcp.yaml").resolve()
    run_actions = Endpoint._run_actions
    is_base: dict[str, bool] = {}  # by file name: the checker fires millions of transitions

    def traced(self: Endpoint, t: Any, *args: Any, **kwargs: Any) -> Any:
        ours = is_base.get(t.file)
        if ours is None:
            ours = is_base[t.file] = bool(t.file) and Path(t.file).resolve() == base
        if ours:
            _fired.add(t.id)
        return run_actions(self, t, *args, **kwargs)

    Endpoint._run_actions = traced  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    global _out
    path = os.environ.get("TCPFSM_MUTATION_RESULTS")
    if path:
        _out = open(path, "a")  # noqa: SIM115 - open for the whole session
    problem = _isolation_problem()
    if problem is not None:
        _write({"isolation": problem})
        pytest.exit(f"tcpfsm mutation run not isolated: {problem}", returncode=ISOLATION_EXIT)
    if os.environ.get("TCPFSM_MUTATION_TRACE"):
        _trace()
    # here, not at import: --doctest-modules imports this module in the project's own runs
    settings.register_profile("tcpfsm-mutation", derandomize=True, database=None, deadline=None,
                              phases=(Phase.explicit, Phase.reuse, Phase.generate), print_blob=False,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("tcpfsm-mutation")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _out is not None:
        _out.close()


def _deselected(nodeid: str, patterns: list[str]) -> bool:
    return any(nodeid == p or nodeid.startswith(p + "[") or nodeid.startswith(p + "::") for p in patterns)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = os.environ.get("TCPFSM_MUTATION_DESELECT")
    if not path:
        return
    patterns = [str(p) for p in json.loads(Path(path).read_text())]
    drop = [item for item in items if _deselected(item.nodeid, patterns)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        keep = set(map(id, drop))
        items[:] = [item for item in items if id(item) not in keep]


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _write({"collect": report.nodeid, "message": str(report.longrepr)[-600:]})


class TestTimeout(Exception):
    """A test ran longer than ``$TCPFSM_MUTATION_TEST_TIMEOUT`` seconds (the baseline's per-test limit)."""


def _alarm(signum: int, frame: object) -> None:
    raise TestTimeout(f"the test ran longer than {os.environ.get('TCPFSM_MUTATION_TEST_TIMEOUT')} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    _write({"start": item.nodeid})
    _fired.clear()
    _outcome.pop(item.nodeid, None)
    limit = float(os.environ.get("TCPFSM_MUTATION_TEST_TIMEOUT") or 0)
    if limit > 0:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        if limit > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcome, seconds, message = _outcome.get(item.nodeid, ("unknown", 0.0, ""))
        _write({"test": item.nodeid, "outcome": outcome, "seconds": round(seconds, 3), "message": message,
                "fired": sorted(_fired)})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcome, seconds, message = _outcome.get(report.nodeid, ("passed", 0.0, ""))
    seconds += report.duration
    if report.failed and outcome != "failed":
        crash = getattr(report.longrepr, "reprcrash", None)
        text = crash.message if crash is not None else str(report.longrepr)
        outcome, message = "failed", f"{report.when}: {text}"[:400]
    elif report.skipped and outcome == "passed":
        outcome = "skipped"
    _outcome[report.nodeid] = (outcome, seconds, message)
