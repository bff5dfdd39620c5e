"""The vector engine against its twin, the plain engine, on every shipped spec, profile and mutant.

A differential test of the fast path (DESIGN.md "Fast paths"): both engines explore the same
model and must agree on states, transitions, depth, completeness, the verdict of every safety
and liveness property of ``specs/properties.yaml`` and the length of each counterexample,
witness or lasso (prefix and cycle), also across a forced restart of the vector layout. The
models are derived, not listed: every profile ``available_profiles()`` finds, every spec under
the shipped ``mutants/``, and the reference model; both ways B opens; every channel model the
checker has (``Channel``'s flags, and dropping when full); with and without the users' DATA
moves. Bounds are small (capacity 1 or 2, R = 1) so that the file runs in seconds; the vector
engine's shortcuts are really taken (lazy tables that grow mid-run, reordering positions,
duplicates into a channel with room, drops when full) and really missed (the plain engine).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tcpfsm import available_profiles
from tcpfsm.base._resources import specs_dir
from tcpfsm.checker import Channel, check
from tcpfsm.checker._moves import MoveTable
from tcpfsm.checker._search import Config, System
from tcpfsm.cli import main
from tcpfsm.spec import load_spec
from tcpfsm.spec._properties import LeadsTo, load_properties

PROPERTIES = load_properties()
SAFETY = [name for name, p in PROPERTIES.properties.items() if not isinstance(p, LeadsTo)]
LIVENESS = [name for name, p in PROPERTIES.properties.items() if isinstance(p, LeadsTo)]
MUTANTS = sorted((specs_dir() / "mutants").glob("*.yaml"))
# every kind of network: each flag of Channel alone, and the full-channel policy
CHANNEL_FLAGS = [f.name for f in dataclasses.fields(Channel) if f.type in (bool, "bool")]
CHANNELS: list[dict[str, Any]] = [{}] + [{flag: True} for flag in CHANNEL_FLAGS] + [{"when_full": "drop"}]
ALL_AT_ONCE: dict[str, Any] = {flag: True for flag in CHANNEL_FLAGS} | {"when_full": "drop"}
DATA_DEPTH = 8  # a byte, then a FIN behind it, delivered first: six moves (test_checker_data.py)


def _summary(**kw: Any) -> tuple[Any, ...]:
    report = check(**kw)
    s = report.stats
    verdicts = {v.name: (v.verdict, len(v.counterexample) if v.counterexample is not None else None)
                for v in report.verdicts}
    return report.engine, (s.states, s.transitions, s.depth, s.complete), verdicts


def _agree(complete: bool = True, **kw: Any) -> dict[str, tuple[str, int | None]]:
    fast = _summary(engine="vector", **kw)
    plain = _summary(engine="plain", **kw)
    assert (fast[0], plain[0]) == ("vector", "plain")
    assert fast[1:] == plain[1:], kw
    assert fast[1][3] or not complete, f"incomplete exploration: {kw}"
    verdicts: dict[str, tuple[str, int | None]] = fast[2]
    return verdicts


def _applicable(spec_kw: dict[str, Any]) -> list[str]:
    """The safety properties this spec can be asked for (every state named exists)."""
    spec = load_spec(spec_kw["spec_file"]) if "spec_file" in spec_kw else load_spec(profile=spec_kw["profile"])
    return [n for n in SAFETY if not PROPERTIES.missing_states(PROPERTIES.properties[n], spec.state_names)]


SPECS = [pytest.param({"profile": p}, id=p) for p in available_profiles()] + \
    [pytest.param({"spec_file": str(m)}, id=f"mutant-{m.stem}") for m in MUTANTS]


def test_the_models_are_derived_from_the_shipped_files() -> None:
    assert {"rfc9293", "rfc793"} <= set(available_profiles()) and MUTANTS
    assert {"lossy", "duplicating", "reordering"} <= set(CHANNEL_FLAGS)
    assert {"no_rst_for_rst", "no_phantom_ack", "data_delivered_in_order"} <= set(SAFETY)


@pytest.mark.parametrize("b_opens", ["passive", "active"])
@pytest.mark.parametrize("spec_kw", SPECS)
def test_engines_agree_on_every_spec(spec_kw: dict[str, Any], b_opens: str) -> None:
    """Each spec exhaustively on the default channel (reliable, two segments), then on every network
    at once (lossy, duplicating, reordering, dropping when full) to a depth both reach alike."""
    props = _applicable(spec_kw)
    _agree(**spec_kw, b_opens=b_opens, capacity=2, retransmissions=1, properties=props)
    _agree(**spec_kw, b_opens=b_opens, capacity=2, retransmissions=1, properties=props, max_depth=5, complete=False,
           **ALL_AT_ONCE)


@pytest.mark.parametrize(("chan", "b_opens"), [(c, "passive") for c in CHANNELS] + [({"reordering": True}, "active")],
                         ids=lambda x: x if isinstance(x, str) else next(iter(x), "reliable"))
def test_engines_agree_with_data_moves(chan: dict[str, Any], b_opens: str) -> None:
    """The DATA moves (one byte per user) on each channel model: data and FINs in flight together.
    Capacity 2 (a reordering needs two in flight); the search is cut at a depth both engines reach
    alike (the bound is checked per level), deep enough for a byte and a FIN to overtake each other."""
    verdicts = _agree(profile="rfc9293", b_opens=b_opens, capacity=2, retransmissions=1, data=1, max_depth=DATA_DEPTH,
                      properties=["no_phantom_ack", "data_delivered_in_order", "no_rst_for_rst", "I1", "I2"],
                      complete=False, **chan)
    assert verdicts["no_phantom_ack"][0] in ("holds", "inconclusive")


def test_engines_agree_on_the_reference_model() -> None:
    for chan in CHANNELS:
        _agree(model="reference", capacity=2, retransmissions=1, max_depth=9, complete=False, **chan)
    _agree(model="reference", capacity=2, retransmissions=1, b_opens="active", max_depth=7, complete=False,
           **ALL_AT_ONCE)


def test_the_issue_13_command_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    """`tcpfsm check --engine vector --b-opens active --property no_rst_for_rst` said IndexError (exit 1)."""
    codes = [main(["check", "--engine", e, "--b-opens", "active", "--property", "no_rst_for_rst", "-q"])
             for e in ("vector", "plain")]
    out = capsys.readouterr().out
    assert codes == [0, 0], out
    summaries = [line for line in out.splitlines() if " states, " in line]
    assert len(summaries) == 2 and summaries[0].split(", ")[:3] == summaries[1].split(", ")[:3]


LIVENESS_MODELS: list[dict[str, Any]] = [
    {"capacity": 1}, {"capacity": 2, "lossy": True}, {"capacity": 2, "reordering": True},
    {"capacity": 2, "duplicating": True, "max_depth": 12}, {"capacity": 1, "b_opens": "active"},
    {"model": "reference", "capacity": 2, "lossy": True},
    {"capacity": 1, "when_full": "drop"},  # both hold
    # eventually_closed violated by a fair cycle (lasso: 2 steps, then a 3-step cycle)
    {"model": "reference", "capacity": 2, "duplicating": True, "when_full": "drop"},
]


@pytest.mark.parametrize("kw", LIVENESS_MODELS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_engines_agree_on_liveness(kw: dict[str, Any]) -> None:
    """Leads-to under weak fairness on the stored graph (issue 9): the vector expansion hands the
    driver each level's edges in the plain engine's order, so both engines search the same graph
    and give the same verdicts and lasso lengths (prefix plus cycle)."""
    complete = "max_depth" not in kw
    args = {"retransmissions": 1, "properties": LIVENESS} | kw
    fast, plain = check(engine="vector", **args), check(engine="plain", **args)
    assert (fast.engine, plain.engine) == ("vector", "plain")
    sa, sb = fast.stats, plain.stats
    assert (sa.states, sa.transitions, sa.depth, sa.complete) == (sb.states, sb.transitions, sb.depth, sb.complete)
    assert sa.complete or not complete

    def lassos(report: Any) -> dict[str, tuple[str, int, int]]:
        return {v.name: (v.verdict, len(v.counterexample or ()), len(v.cycle or ())) for v in report.verdicts}

    assert lassos(fast) == lassos(plain), kw
    assert check(engine="auto", properties=LIVENESS[:1], capacity=1).engine == "vector"


# ------------------------------------------------------------------ the root cause of the IndexError
@pytest.mark.parametrize("b_opens", ["open_passive", "open_active"])
def test_closing_the_tables_leaves_no_local_and_segment_pair_out(b_opens: str) -> None:
    """The closure marked the segments a local state's own receives made as received there, so
    (local, segment) pairs stayed out of it; tabulating them later made local states and segments
    the tight layout had no room for (the IndexError). Every pair must be in the closure."""
    spec = load_spec(specs_dir() / "reference.yaml")
    system = System(Config(spec, Channel(capacity=2), 1, {"A": "open_active", "B": b_opens}))
    assert system.close_tables(4096, 256)
    lm = system.lm
    n_locals, n_segments = len(lm.locals), len(lm.segments)
    for lid in range(n_locals):
        for sid in range(1, n_segments):
            lm.receive(lid, sid)
    assert (len(lm.locals), len(lm.segments)) == (n_locals, n_segments)


def test_the_lazy_tables_grow_mid_run_and_stay_equal(tmp_path: Path) -> None:
    """The full projection's tables start small and grow while the search meets local states."""
    from tcpfsm.checker._driver import Search
    from tcpfsm.checker._fast import VectorExpander

    spec = load_spec(profile="rfc9293")
    channel = Channel(capacity=2, reordering=True)
    cfg = Config(spec, channel, 1, {"A": "open_active", "B": "open_passive"}, data=1)
    cfg.max_depth = 8
    ex = VectorExpander(System(cfg))
    assert ex.lazy
    start = ex.cap_l
    Search(ex, []).run()
    assert ex.cap_l > start and ex.nl == len(ex.system.lm.locals)
    assert MoveTable.build(spec, channel, 1).parse("DATA_A")[0].kind == "data"


def test_an_outgrown_layout_starts_again_fitted_and_stays_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lazy tables' first layout is a guess; when the search meets more local states or
    segments than it holds, the vector search starts again in a layout fitted to what it met
    (issue 9: lossy k4 used to give up, 4 segment bits). Forced here with a tiny first guess: the
    restarted search must still agree with the plain one on every figure and verdict."""
    from tcpfsm.checker import _fast
    from tcpfsm.checker._layout import Layout

    starts: list[Layout] = []
    real = _fast.fitted_layout

    def tiny(capacity: int, hist_sizes: tuple[int, ...], retries: int) -> Layout:
        return Layout(3, retries, tuple(_fast.bits_for(n - 1) for n in hist_sizes), 3, capacity)

    def fitted(*a: Any) -> Layout:
        starts.append(real(*a))
        return starts[-1]

    monkeypatch.setattr(_fast, "roomy_layout", tiny)
    monkeypatch.setattr(_fast, "fitted_layout", fitted)
    verdicts = _agree(profile="rfc9293", capacity=2, retransmissions=1, lossy=True)
    assert starts and starts[-1].max_local >= 8 and starts[-1].total_bits <= 64
    assert verdicts


def test_a_layout_beyond_64_bits_is_refused_with_its_figures() -> None:
    """Two 64-bit words are not built: a model whose exact counts need more bits says so."""
    from tcpfsm.checker._fast import Unsupported, fitted_layout

    assert fitted_layout(120, 30, 4, (3,), 2).total_bits <= 64
    with pytest.raises(Unsupported, match=r"needs \d+ bits .*capacity 6"):
        fitted_layout(4000, 300, 6, (3,), 2)


def test_a_layout_that_cannot_be_refitted_is_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: an encoding limit is a bound like any other: asked for the vector engine, the
    search stops "inconclusive" (exit 3) naming it, never a traceback or "violated"; left to
    choose (auto), tcpfsm runs the plain engine instead."""
    from tcpfsm.checker import _fast
    from tcpfsm.checker._layout import Layout

    def tiny(capacity: int, hist_sizes: tuple[int, ...], retries: int) -> Layout:
        return Layout(3, retries, tuple(_fast.bits_for(n - 1) for n in hist_sizes), 3, capacity)

    def too_big(*a: Any) -> Layout:
        raise _fast.Unsupported("a state needs 99 bits; the vectorised search packs at most 64")

    monkeypatch.setattr(_fast, "roomy_layout", tiny)
    monkeypatch.setattr(_fast, "fitted_layout", too_big)
    kw: dict[str, Any] = {"profile": "rfc9293", "capacity": 2, "retransmissions": 1, "lossy": True,
                          "properties": ["I1", "I2"]}
    report = check(engine="vector", **kw)
    assert report.engine == "vector" and not report.stats.complete
    assert report.stats.stopped.startswith("encoding limit: a state needs 99 bits")
    assert {v.verdict for v in report.verdicts} == {"inconclusive"} and report.exit_code == 3
    assert check(engine="auto", **kw).engine == "plain"
