"""The spec layer: machine specs and profiles loaded into frozen records, the vocabulary, scenarios."""

from tcpfsm.spec import _properties as properties
from tcpfsm.spec._format_doc import spec_format_markdown
from tcpfsm.spec._glossary import GlossaryEntry, glossary_file, load_glossary, lookup
from tcpfsm.spec._loader import available_profiles, load_spec, resolve_spec
from tcpfsm.spec._profiles import BASE_SPEC, base_names, profile_path
from tcpfsm.spec._properties import PropertyFile, load_properties, properties_file
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
    "BASE_SPEC",
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
    "GlossaryEntry",
    "GuardDef",
    "GuardRef",
    "PropertyFile",
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
    "base_names",
    "checklist_rows",
    "glossary_file",
    "load_glossary",
    "load_properties",
    "load_scenarios",
    "load_spec",
    "lookup",
    "profile_path",
    "properties",
    "properties_file",
    "resolve_spec",
    "scenarios_file",
    "spec_format_markdown",
    "spec_to_dict",
    "terms",
]
