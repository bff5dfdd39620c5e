"""A spec as data for people and tools: the checklist coverage and the JSON of ``spec show``."""

from __future__ import annotations

from typing import Any

from tcpfsm.spec._records import Spec


def checklist_rows(s: Spec) -> list[dict[str, Any]]:
    """Every checklist row (U/S/T ids): the transitions that implement it, or why it has none."""
    by_row: dict[str, list[str]] = {}
    for t in s.transitions:
        by_row.setdefault(t.row, []).append(t.id)
    why = dict(s.checklist)

    def key(row: str) -> tuple[str, int, str]:
        digits = "".join(ch for ch in row[1:] if ch.isdigit())
        return (row[0], int(digits) if digits else 0, row)

    rows = []
    for row in sorted(set(by_row) | set(why), key=key):
        if row in by_row:
            rows.append({"row": row, "status": "implemented", "transitions": by_row[row], "why": why.get(row)})
        else:
            rows.append({"row": row, "status": "not a transition here", "transitions": [], "why": why[row]})
    return rows


def spec_to_dict(s: Spec) -> dict[str, Any]:
    return {
        "name": s.name, "title": s.title, "profile": s.profile, "file": s.file,
        "states": [{"name": st.name, "code": st.code_name, "initial": st.initial, "group": st.group,
                    "rfc": st.rfc, "meaning": st.meaning} for st in s.states],
        "events": [{"name": e.name, "kind": e.kind, "label": e.label, "rfc": e.rfc, "timer": e.timer}
                   for e in s.events],
        "guards": [{"name": g.name, "predicate": g.predicate, "rfc": g.rfc, "doc": g.doc} for g in s.guards],
        "transitions": [{"id": t.id, "row": t.row, "sources": list(t.sources), "events": list(t.events),
                         "guard": [str(g) for g in t.guard], "target": t.target,
                         "actions": [str(a) for a in t.actions], "rfc": t.rfc, "label": t.label or None}
                        for t in s.transitions],
        "checklist": checklist_rows(s),
    }
