"""The runtime layer: the per-spec compiled machine, the sans-IO Endpoint, EndpointPair, scenarios."""

from tcpfsm.runtime._endpoint import ICMP_ERRORS, Endpoint, EndpointState, Notice, Step
from tcpfsm.runtime._machine import (
    CompiledMachine,
    CompiledTable,
    State,
    compiled_table,
    machine_for,
    shared_machine,
    state_of,
)
from tcpfsm.runtime._pair import EndpointPair, TraceEvent
from tcpfsm.runtime._scenario import ScenarioRun, run_scenario, step_rows
from tcpfsm.runtime._tcb import TCB

__all__ = [
    "ICMP_ERRORS",
    "TCB",
    "CompiledMachine",
    "CompiledTable",
    "Endpoint",
    "EndpointPair",
    "EndpointState",
    "Notice",
    "ScenarioRun",
    "State",
    "Step",
    "TraceEvent",
    "compiled_table",
    "machine_for",
    "run_scenario",
    "shared_machine",
    "state_of",
    "step_rows",
]
