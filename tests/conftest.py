"""Shared fixtures: every shipped profile, and endpoints captured in each of the 11 states."""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpfsm import SpecError, available_profiles, load_spec
from tcpfsm.runtime import run_scenario
from tcpfsm.spec import load_scenarios

ROOT = Path(__file__).resolve().parent.parent
PROFILES = available_profiles()


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def endpoints_by_state(profile: str) -> dict[str, list]:
    """Deep copies of endpoints met in each state while running every scenario."""
    spec = load_spec(profile=profile)
    found: dict[str, list] = {}
    seen: set[tuple] = set()
    for sc in load_scenarios().values():
        run = run_scenario(sc, spec)
        pair = run.pair
        # Replay the trace, snapshotting both ends after every event.
        from tcpfsm.testing import EndpointPair

        snap = EndpointPair.build(spec, a_iss=sc.endpoints.get("A", {}).get("iss", 100),
                                  b_iss=sc.endpoints.get("B", {}).get("iss", 300))
        del pair
        for ev in run.pair.trace:
            try:
                if ev.kind == "call":
                    snap.call(ev.who, ev.detail, *( [ev.sent[0].length] if ev.detail == "send" and ev.sent else []))
                elif ev.kind == "timeout":
                    snap.timeout(ev.who, ev.detail)
                elif ev.kind in ("deliver", "lose", "duplicate"):
                    idx = list(snap.channels[ev.who]).index(ev.segment)
                    getattr(snap, ev.kind)(ev.who, idx)
                elif ev.kind == "inject":
                    snap.inject(ev.to, ev.segment)
                elif ev.kind == "crash":
                    snap.crash(ev.who)
            except Exception:
                break
            for ep in (snap.a, snap.b):
                t = ep.tcb
                key = (str(ep.state), frozenset(t.timers), t.passive, t.queued > 0, t.fin_sent, t.fin_received,
                       t.syn_received, t.snd_una != t.snd_nxt)
                if key not in seen:
                    seen.add(key)
                    found.setdefault(str(ep.state), []).append(ep.clone())
    return found


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [str(p) for p in info.value.problems]
