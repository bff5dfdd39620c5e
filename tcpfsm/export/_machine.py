"""One endpoint's state machine, from the spec, as JSON (``machine.schema.json``) and W3C SCXML.

Both list the spec's rows one per (source state, event) edge, in the spec's order, each with
the row's id, guard, actions, the segments it sends, the resolved target (``SAME`` becomes the
source) and its RFC section: what another tool needs to run or draw the machine without
tcpfsm's loader.

SCXML (W3C Recommendation, 1 September 2015): one ``<state>`` per RFC state, one
``<transition>`` per edge. The ECMAScript data model is declared so that guards can be
expressions: a guard is ``guard('NAME')`` (``!guard('NAME')`` when negated), a function the
document's ``<script>`` defines over the event's data (``_event.data.NAME``): the caller says
which predicates hold. A row without a state change is a targetless transition (SCXML's way of
staying put without exit or entry). Actions are ``<log>`` elements; the row's id and RFC section
are attributes in tcpfsm's own namespace, which SCXML permits on its elements.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from tcpfsm.spec import Spec

FORMAT_VERSION = 1
SCXML_NS = "http://www.w3.org/2005/07/scxml"
TCPFSM_NS = "https://github.com/tcpfsm/tcpfsm/scxml"


def _edges(spec: Spec) -> list[dict[str, Any]]:
    out = []
    for source, event, t in spec.edges():
        target = t.target_from(source)
        out.append({"id": t.id, "row": t.row, "source": source, "event": event,
                    "guard": [{"name": g.name, "negated": g.negated} for g in t.guard],
                    "target": target, "changes_state": target != source,
                    "actions": [{"kind": a.kind, "text": str(a)} for a in t.actions],
                    "sends": [{"ctl": str(s.ctl), "seq": s.seq, "ack": s.ack, "data": s.data} for s in t.sends],
                    "error": t.error, "rfc": t.rfc})
    return out


def machine_json(spec: Spec) -> dict[str, Any]:
    """The machine as a JSON value (schema: ``tcpfsm/schema/machine.schema.json``)."""
    return {
        "format": "tcpfsm-machine", "version": FORMAT_VERSION,
        "name": spec.name, "profile": spec.profile, "title": spec.title, "initial": spec.initial,
        "states": [{"name": s.name, "code": s.code_name, "initial": s.initial, "group": s.group, "rfc": s.rfc,
                    "meaning": s.meaning} for s in spec.states],
        "events": [{"name": e.name, "kind": e.kind, "label": e.label, "timer": e.timer, "rfc": e.rfc}
                   for e in spec.events],
        "guards": [{"name": g.name, "predicate": g.predicate, "rfc": g.rfc, "doc": g.doc} for g in spec.guards],
        "transitions": _edges(spec),
    }


def _cond(guard: list[dict[str, Any]]) -> str:
    return " && ".join(("!" if g["negated"] else "") + f"guard('{g['name']}')" for g in guard)


def machine_scxml(spec: Spec) -> str:
    """The machine as an SCXML document (text, UTF-8, with an XML declaration)."""
    ET.register_namespace("", SCXML_NS)
    ET.register_namespace("tcpfsm", TCPFSM_NS)
    q = f"{{{SCXML_NS}}}"
    t_ = f"{{{TCPFSM_NS}}}"
    root = ET.Element(f"{q}scxml", {"version": "1.0", "initial": spec.initial, "datamodel": "ecmascript",
                                    "name": spec.profile or spec.name})
    script = ET.SubElement(root, f"{q}script")
    script.text = ("function guard(name) { return !!(_event && _event.data && _event.data[name]); }")
    edges = _edges(spec)
    for s in spec.states:
        el = ET.SubElement(root, f"{q}state", {"id": s.name, f"{t_}rfc": s.rfc})
        for e in edges:
            if e["source"] != s.name:
                continue
            attrs = {"event": e["event"], f"{t_}id": e["id"], f"{t_}rfc": e["rfc"]}
            if e["guard"]:
                attrs["cond"] = _cond(e["guard"])
            if e["changes_state"]:
                attrs["target"] = e["target"]
            tr = ET.SubElement(el, f"{q}transition", attrs)
            for a in e["actions"]:
                ET.SubElement(tr, f"{q}log", {"label": a["kind"], "expr": _js_string(a["text"])})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _js_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


__all__ = ["FORMAT_VERSION", "SCXML_NS", "machine_json", "machine_scxml"]
