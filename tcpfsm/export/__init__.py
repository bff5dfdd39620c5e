"""Exports of the spec and of the checker's composed model for other tools.

- :func:`promela`: the composed model of ``tcpfsm check`` as Promela, for SPIN (the same state count);
- :func:`check_spin`: ``tcpfsm check --engine spin``: export, compile and run SPIN's pan, read back a Report;
- :func:`machine_json`, :func:`machine_scxml`: one endpoint's state machine as JSON and W3C SCXML.
"""

from __future__ import annotations

from tcpfsm.export._machine import machine_json, machine_scxml
from tcpfsm.export._promela import PromelaModel, promela
from tcpfsm.export._spin import check_spin

__all__ = ["PromelaModel", "check_spin", "machine_json", "machine_scxml", "promela"]
