"""The render layer: state diagrams and sequence charts drawn with Graphviz (and Mermaid text)."""

from tcpfsm.render._api import render_sequence, render_state_diagram, sequence_chart
from tcpfsm.render._catalogue import catalogue, diagrams_dir, render, stale, write_all
from tcpfsm.render._connection import connection_chart
from tcpfsm.render._counterexample import counterexample_chart
from tcpfsm.render._encapsulation import encapsulation_dot, walk_encapsulation_dot
from tcpfsm.render._explorer import explorer_data, explorer_html, write_explorer
from tcpfsm.render._narrate import narrate, narrate_step
from tcpfsm.render._sequence import Chart, Mark, Message, chart_dot
from tcpfsm.render._state import diff_dot, to_dot, to_mermaid
from tcpfsm.render._trace import chart_from_trace, scenario_chart

__all__ = [
    "Chart",
    "Mark",
    "Message",
    "catalogue",
    "chart_dot",
    "chart_from_trace",
    "connection_chart",
    "counterexample_chart",
    "diagrams_dir",
    "diff_dot",
    "encapsulation_dot",
    "explorer_data",
    "explorer_html",
    "narrate",
    "narrate_step",
    "render",
    "render_sequence",
    "render_state_diagram",
    "scenario_chart",
    "sequence_chart",
    "stale",
    "to_dot",
    "to_mermaid",
    "walk_encapsulation_dot",
    "write_all",
    "write_explorer",
]
