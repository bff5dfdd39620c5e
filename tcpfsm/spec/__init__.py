"""The spec layer: machine specs loaded into frozen records, the vocabulary, scenarios."""

from tcpfsm.spec._loader import available_profiles, load_spec, profile_path, resolve_spec
from tcpfsm.spec._records import (
    SAME,
    SEGMENT,
    TIMER,
    USER,
    Action,
    ArrivalGroup,
    DiagramHints,
    Duration,
    EventDef,
    GuardDef,
    GuardRef,
    Send,
    Spec,
    StateDef,
    Step,
    TimerDef,
    Transition,
)
from tcpfsm.spec._report import checklist_rows, spec_to_dict
from tcpfsm.spec._scenarios import Scenario, load_scenarios, scenarios_file
from tcpfsm.spec._vocabulary import VOCABULARY, Registry, Term, terms

__all__ = [
    "SAME",
    "SEGMENT",
    "TIMER",
    "USER",
    "VOCABULARY",
    "Action",
    "ArrivalGroup",
    "DiagramHints",
    "Duration",
    "EventDef",
    "GuardDef",
    "GuardRef",
    "Registry",
    "Scenario",
    "Send",
    "Spec",
    "StateDef",
    "Step",
    "Term",
    "TimerDef",
    "Transition",
    "available_profiles",
    "checklist_rows",
    "load_scenarios",
    "load_spec",
    "profile_path",
    "resolve_spec",
    "scenarios_file",
    "spec_to_dict",
    "terms",
]
