"""Captures from the model: Endpoint conversations written as real pcap/pcapng files, frames
built with dpkt (Ethernet, ARP, IPv4/IPv6, UDP, TCP, DNS), and each frame's layers.

>>> from tcpfsm.runtime import run_scenario
>>> from tcpfsm.spec import load_scenarios
>>> from tcpfsm.capture import scenario_frames
>>> frames = scenario_frames(run_scenario(load_scenarios()["handshake"]))
>>> [round(f.ts - frames[0].ts, 3) for f in frames]  # SYN, SYN-ACK, ACK, one way (25 ms) apart
[0.0, 0.025, 0.05]
"""

from tcpfsm.capture._frames import Host, doc_mac
from tcpfsm.capture._layers import Layer, PacketLayers, layers_of, layers_text
from tcpfsm.capture._writer import (
    EPOCH,
    RTT,
    Frame,
    ReplayError,
    Wire,
    capture_format,
    counterexample_pair,
    pair_frames,
    scenario_frames,
    write_capture,
    write_counterexample,
    write_scenario,
)

__all__ = [
    "EPOCH",
    "RTT",
    "Frame",
    "Host",
    "Layer",
    "PacketLayers",
    "ReplayError",
    "Wire",
    "capture_format",
    "counterexample_pair",
    "doc_mac",
    "layers_of",
    "layers_text",
    "pair_frames",
    "scenario_frames",
    "write_capture",
    "write_counterexample",
    "write_scenario",
]
