"""The runtime layer: the per-spec compiled machine, the sans-IO Endpoint, EndpointPair, scenarios."""

from tcpfsm.runtime._endpoint import Endpoint, Notice, Step
from tcpfsm.runtime._machine import CompiledTable, State, compiled_table, shared_machine, state_of
from tcpfsm.runtime._pair import EndpointPair, TraceEvent
from tcpfsm.runtime._scenario import ScenarioRun, run_scenario, step_rows
from tcpfsm.runtime._tcb import TCB

__all__ = [
    "TCB",
    "CompiledTable",
    "Endpoint",
    "EndpointPair",
    "Notice",
    "ScenarioRun",
    "State",
    "Step",
    "TraceEvent",
    "compiled_table",
    "run_scenario",
    "shared_machine",
    "state_of",
    "step_rows",
]
