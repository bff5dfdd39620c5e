"""The committed diagrams (``diagrams/``): what they are, how to write them, how to check them.

Every diagram is generated from the specs; ``tcpfsm diagram -o diagrams/`` rewrites them
all and ``tcpfsm diagram --check`` compares the DOT (and Mermaid) text with a fresh
generation, so a stale file is found whatever the installed Graphviz version renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import graphviz

from tcpfsm.base._errors import TcpFsmError
from tcpfsm.base._resources import checkout_dir
from tcpfsm.render._encapsulation import walk_encapsulation_dot
from tcpfsm.render._sequence import chart_dot
from tcpfsm.render._state import diff_dot, to_dot, to_mermaid
from tcpfsm.render._trace import scenario_chart
from tcpfsm.runtime import run_scenario
from tcpfsm.spec import Spec, available_profiles, load_scenarios, load_spec

# The seed note's scenarios, drawn as sequence charts.
CHART_SCENARIOS = ("handshake", "close", "simultaneous-open", "simultaneous-close", "time-wait-retransmitted-fin")
TIMED_CHARTS = ("close", "time-wait-retransmitted-fin")  # with a time axis: the 2MSL wait, the RTO
RENDERED = ("svg", "png")


@dataclass(frozen=True)
class Diagram:
    stem: str
    text: str
    kind: str  # dot | mermaid


def diagrams_dir() -> Path:
    """The checkout's committed ``diagrams/`` folder (an installed package has none: give -o)."""
    root = checkout_dir()
    if root is None:
        raise TcpFsmError("no diagrams/ folder: tcpfsm is not running from its source checkout; "
                          "give the folder to check with -o DIR")
    return root / "diagrams"


def catalogue(specs: Path | None = None) -> list[Diagram]:
    """Every committed diagram, freshly generated from the shipped specs, or from ``specs``: a
    folder laid out like them (``profiles/*.yaml``, ``scenarios.yaml``)."""
    out: list[Diagram] = []
    folder = specs
    profiles = sorted(p.stem for p in (folder / "profiles").glob("*.yaml")) if folder else available_profiles()

    def spec_of(profile: str) -> Spec:
        return load_spec(folder / "profiles" / f"{profile}.yaml") if folder else load_spec(profile=profile)

    for profile in profiles:
        spec = spec_of(profile)
        out.append(Diagram(f"tcp-{profile}-all", to_dot(spec, only="all"), "dot"))
        out.append(Diagram(f"tcp-{profile}-normal", to_dot(spec, only="normal"), "dot"))
    default = spec_of("rfc9293")
    out.append(Diagram("diff-rfc793-rfc9293", diff_dot(spec_of("rfc793"), default), "dot"))
    out.append(Diagram("tcp-rfc9293", to_mermaid(default, only="all"), "mermaid"))
    scenarios = load_scenarios(folder / "scenarios.yaml" if folder else None)
    for name in CHART_SCENARIOS:
        run = run_scenario(scenarios[name], default)
        out.append(Diagram(f"seq-{name}", chart_dot(scenario_chart(run, timed=name in TIMED_CHARTS)), "dot"))
    out.append(Diagram("encapsulation", walk_encapsulation_dot(default), "dot"))  # the seed's walk, one frame
    return out


def render(dot_text: str, fmt: str) -> bytes:
    """Run the real Graphviz on DOT text; a clear error when ``dot`` is missing."""
    try:
        data: bytes = graphviz.Source(dot_text).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise TcpFsmError("Graphviz's `dot` was not found: install it (Debian: apt-get install graphviz)") from None
    except graphviz.CalledProcessError as exc:
        raise TcpFsmError(f"Graphviz failed to render {fmt}: {exc.stderr!r}") from None
    return data


def write_all(outdir: Path, *, progress: bool = False, specs: Path | None = None) -> list[Path]:
    """Write every diagram's text and its renders into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for d in catalogue(specs):
        if d.kind == "mermaid":
            path = outdir / f"{d.stem}.mmd"
            path.write_text(d.text, encoding="utf-8")
            written.append(path)
            continue
        path = outdir / f"{d.stem}.dot"
        path.write_text(d.text, encoding="utf-8")
        written.append(path)
        for fmt in RENDERED:
            out = outdir / f"{d.stem}.{fmt}"
            out.write_bytes(render(d.text, fmt))
            written.append(out)
        if progress:
            print(f"  {d.stem}: dot, {', '.join(RENDERED)}")
    return written


def stale(outdir: Path, specs: Path | None = None) -> list[str]:
    """Files in ``outdir`` that differ from a fresh generation (or are missing)."""
    problems = []
    for d in catalogue(specs):
        suffix = ".mmd" if d.kind == "mermaid" else ".dot"
        path = outdir / f"{d.stem}{suffix}"
        if not path.is_file():
            problems.append(f"{path} (missing)")
        elif path.read_text(encoding="utf-8") != d.text:
            problems.append(f"{path} (differs from the spec)")
        elif d.kind == "dot":
            problems += [f"{outdir / f'{d.stem}.{fmt}'} (missing)" for fmt in RENDERED
                         if not (outdir / f"{d.stem}.{fmt}").is_file()]
    return problems
