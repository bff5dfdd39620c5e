"""Named scenarios (``specs/scenarios.yaml``): the data of self-checking runs of two endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.base._yaml import LDict, line_of, load_yaml, read_input

STEP_KINDS = ("at", "deliver", "lose", "duplicate", "inject", "crash", "run", "expect")
CALLS = ("listen", "connect", "send", "close", "abort")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    rfc: str
    endpoints: dict[str, dict[str, Any]]
    steps: tuple[dict[str, Any], ...]
    file: str
    lines: tuple[int, ...]


def scenarios_file() -> Path:
    return specs_dir() / "scenarios.yaml"


def load_scenarios(path: Path | None = None) -> dict[str, Scenario]:
    path = path or scenarios_file()
    text, problem = read_input(path)
    if text is None:
        raise SpecError([problem] if problem is not None else [])
    data, problems = load_yaml(text, str(path))
    if not isinstance(data, LDict) or not isinstance(data.get("scenarios"), dict):
        raise SpecError(problems or [Problem(str(path), 1, "expected a `scenarios:` mapping", "")])
    out: dict[str, Scenario] = {}
    for name, sc in data["scenarios"].items():
        f, ln = line_of(data, ["scenarios", name])
        if not isinstance(sc, dict) or not isinstance(sc.get("steps"), list):
            problems.append(Problem(f, ln, f"scenario {name!r} needs a `steps:` list", ""))
            continue
        for i, step in enumerate(sc["steps"]):
            sf, sl = line_of(data, ["scenarios", name, "steps", i])
            if not isinstance(step, dict) or not any(k in step for k in STEP_KINDS):
                problems.append(Problem(sf, sl, f"scenario {name!r} step {i + 1}: unknown step {step!r}",
                                        f"a step is one of: {', '.join(STEP_KINDS)}"))
            elif "at" in step and step.get("call") not in CALLS and "timeout" not in step:
                problems.append(Problem(sf, sl, f"scenario {name!r} step {i + 1}: `at:` needs `call:` or "
                                        "`timeout:`", f"calls: {', '.join(CALLS)}"))
        lines = tuple(line_of(data, ["scenarios", name, "steps", i])[1] for i in range(len(sc["steps"])))
        out[str(name)] = Scenario(str(name), str(sc.get("title", name)), str(sc.get("rfc", "")),
                                  dict(sc.get("endpoints") or {}), tuple(sc["steps"]), f, lines)
    if problems:
        raise SpecError(problems)
    return out


