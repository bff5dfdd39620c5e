"""The spec-format reference (``docs/spec-format.md``), generated from the vocabulary and the schema.

Nothing here is written twice: keys, fields and their meanings come from the JSON Schema's
``description``s (``tcpfsm/schema/spec.schema.json``), names and their RFC sections from the
vocabulary (``tcpfsm.spec._vocabulary``), the shipped profiles from ``specs/profiles``. A test
fails when the committed file is stale and prints :data:`REGENERATE`.
"""

from __future__ import annotations

import json
from typing import Any

from tcpfsm.base._resources import schema_path
from tcpfsm.base._yaml import load_yaml
from tcpfsm.spec._loader import load_spec
from tcpfsm.spec._profiles import BASE_SPEC, MERGED_BY_NAME, OVERLAY_ONLY, SPEC_ONLY, base_names
from tcpfsm.spec._send import GRAMMAR
from tcpfsm.spec._vocabulary import KINDS, VOCABULARY, Term

REGENERATE = "python -m tcpfsm spec vocabulary --markdown > docs/spec-format.md"

# A profile of one's own, in any folder: the reference shows it and a test loads it.
EXAMPLE_PROFILE = """\
# mine.yaml: a profile of your own, in any folder
profile: mine
base: rfc5961            # a profile by name; or `tcp` (the base spec); or a path: ./other.yaml
description: rfc5961, and RFC 1337's fix - an RST in TIME-WAIT is ignored.
sets:
  closing_states: [CLOSING, LAST-ACK]
patch:
  - {id: S17, source: closing_states}      # only the given fields change
add:
  - {id: S17b, row: S17, source: TIME-WAIT, event: rcv_rst, guard: [rst_valid], target: same,
     rfc: "RFC 1337 §3", actions: [{drop: "RST in TIME-WAIT ignored (RFC 1337)"}]}
"""

_REF_NAMES = {
    "name": "name", "state": "state name", "rfc": "RFC section", "oneOrMany": "name or list of names",
    "stateList": "state list", "guardRef": "guard (`NAME` or `not NAME`)", "send": "send",
    "action": "action", "transition": "transition", "patch": "patch", "guard": "guard",
    "transitionFields": "transition", "flag": "TCP flag", "seqSource": "SEQ source", "ackSource": "ACK source",
}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(node: dict[str, Any]) -> str:
    """A short description of a schema node's type, for a table."""
    if "$ref" in node:
        return _REF_NAMES.get(str(node["$ref"]).rsplit("/", 1)[-1], "see the schema")
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(x) for x in node["oneOf"])
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type(node.get('items', {}))}"
    if kind == "object":
        return "mapping"
    if kind == "boolean":
        return "true/false"
    return str(kind or "any")


def _fields(node: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """A table of an object schema's properties: field, type, required, meaning."""
    props = dict(node.get("properties", {}))
    ref = node.get("$ref")
    if ref:
        props = {**defs[str(ref).rsplit("/", 1)[-1]].get("properties", {}), **props}
    required = set(node.get("required", ()))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, sub in props.items():
        rows.append(f"| `{name}` | {_type(sub)} | {'yes' if name in required else ''} | "
                    f"{_cell(sub.get('description', ''))} |")
    return rows


def _rfc(rfc: str) -> str:
    if not rfc:
        return ""
    return rfc if rfc[0].isalpha() else f"RFC 9293 §{rfc}"


def _terms(kind: str) -> list[str]:
    rows = ["| name | RFC | meaning |", "|---|---|---|"]
    terms: dict[str, Term] = VOCABULARY[kind]
    for term in terms.values():
        rows.append(f"| `{term.name}` | {_cell(_rfc(term.rfc))} | {_cell(term.doc)} |")
    return rows


def _shipped_profiles() -> list[str]:
    rows = ["| name | base | file | description |", "|---|---|---|---|"]
    for name, path in base_names().items():
        data, _ = load_yaml(path.read_text(encoding="utf-8"), str(path))
        data = data if isinstance(data, dict) else {}
        where = "specs/tcp.yaml" if name == BASE_SPEC else f"specs/profiles/{path.name}"
        what = data.get("description") or data.get("title", "")
        base = f"`{data.get('base', BASE_SPEC)}`" if "profile" in data else "(the base spec)"
        rows.append(f"| `{name}` | {base} | {where} | {_cell(str(what))} |")
    return rows


def spec_format_markdown() -> str:
    """The whole reference, as Markdown (deterministic: a test compares it with the committed file)."""
    schema = json.loads(schema_path("spec.schema.json").read_text(encoding="utf-8"))
    defs: dict[str, Any] = schema["$defs"]
    top: dict[str, Any] = schema["properties"]
    out: list[str] = []
    add = out.append

    add("# The spec format")
    add("")
    add("<!-- Generated from tcpfsm/spec/_vocabulary.py and tcpfsm/schema/spec.schema.json by")
    add(f"     tcpfsm/spec/_format_doc.py; do not edit. Regenerate with: {REGENERATE} -->")
    add("")
    add("A machine spec is one YAML file: the states, the events, the guards, how an arriving segment")
    add("becomes events, and the transition table, each transition with its RFC section. The base")
    add(f"spec is `specs/tcp.yaml` (`name: {BASE_SPEC}`); a **profile** is a small overlay file over it or")
    add("over another profile. A file is read with a safe YAML loader (no tags, nothing evaluated),")
    add("checked against the JSON Schema `tcpfsm/schema/spec.schema.json` (structure), then every")
    add("name against the vocabulary below or the spec's own declarations, then for meaning:")
    add("one initial state, mutually exclusive guards, every case of a segment or timer event")
    add("covered, a rule for every user call in every state, every event the arrival steps can")
    add("produce covered, no unreachable or trap state. `tcpfsm spec validate FILE` reports every")
    add("problem at once, each with its file:line (an overlay's entry at the overlay's line) and a")
    add("hint, and exits 2. `tcpfsm spec vocabulary` lists the vocabulary; `tcpfsm spec show`")
    add("the table a spec compiles to.")
    add("")
    add("Contents: [top-level keys](#top-level-keys) · [states](#states) · [sets](#sets) ·")
    add("[timers](#timers) · [events](#events) · [guards](#guards) · [checks](#checks) ·")
    add("[arrival](#arrival) · [transitions](#transitions) · [actions](#actions) · [send](#send) ·")
    add("[profiles](#profiles) · [TCP flags](#tcp-flags)")
    add("")

    add("## Top-level keys")
    add("")
    add("| key | in | type | meaning |")
    add("|---|---|---|---|")
    for key, node in top.items():
        where = ("profile" if key in (*OVERLAY_ONLY, "profile") else
                 "base spec" if key in SPEC_ONLY else "both")
        add(f"| `{key}` | {where} | {_type(node)} | {_cell(node.get('description', ''))} |")
    add("")

    add("## states")
    add("")
    add(_cell(top["states"]["description"]))
    add("")
    out += _fields(top["states"]["items"], defs)
    add("")

    add("## sets")
    add("")
    add(_cell(top["sets"]["description"]) + " A member names a state or another set; a set's states")
    add("come in the order written, and a state list (a transition's `source:`, a diagram rank) may")
    add("mix states and sets. A state named twice, through sets or directly, is a problem. The")
    add("base spec's sets follow RFC 9293 §3.5.2:")
    add("")
    add("```yaml")
    add("sets:")
    out += [f"  {name}: [{', '.join(states)}]" for name, states in load_spec(base_names()[BASE_SPEC]).sets]
    add("transitions:")
    add("  - {id: S18, source: [SYN-RECEIVED, synchronized], event: rcv_rst, ...}")
    add("```")
    add("")

    timers = top["timers"]["items"]
    add("## timers")
    add("")
    add(_cell(top["timers"]["description"]) + " Actions arm and disarm a timer by name (`start:`,")
    add("`restart:`, `stop:`); a timer event (`kind: timer, timer: NAME`) is its expiry.")
    add("")
    out += _fields(timers, defs)
    add("")
    add(f"`duration:` - {_cell(timers['properties']['duration']['description'])}. "
        + _cell(KINDS["duration"]))
    add("")
    out += _fields(timers["properties"]["duration"], defs)
    add("")
    out += _terms("duration")
    add("")
    add("`armed:` - " + _cell(KINDS["arming"]))
    add("")
    out += _terms("arming")
    add("")

    add("## events")
    add("")
    add(_cell(top["events"]["description"]) + " User calls are named for the RFC's calls")
    add("(§3.10.1-3.10.5), segment events are produced by the arrival steps, timer events by expiries.")
    add("")
    out += _fields(top["events"]["items"], defs)
    add("")

    add("## guards")
    add("")
    add(_cell(top["guards"]["description"]) + " A transition's `guard:` lists guard names, each")
    add("optionally negated (`not NAME`); the transitions of one (state, event) must be mutually")
    add("exclusive, and for a segment or timer event they must cover every case.")
    add("")
    out += _fields(defs["guard"], defs)
    add("")
    add("### Predicates")
    add("")
    add(_cell(KINDS["predicate"]))
    add("")
    out += _terms("predicate")
    add("")

    add("## checks")
    add("")
    add(_cell(top["checks"]["description"]))
    add("")
    out += _fields(top["checks"]["items"], defs)
    add("")
    out += _terms("check")
    add("")

    group = top["arrival"]["additionalProperties"]
    add("## arrival")
    add("")
    add(_cell(top["arrival"]["description"]) + " A state's `group:` names its group. A step fires")
    add("when all of its `flags` are set, none of `without` is set and its `check` holds; after a")
    add("fired step in mode `each`, the next is processed in the state the transition left, unless")
    add("the step is `final` or the transition drops the segment (or returns). A step")
    add("`{trim: window}` fires nothing: from there on, flags, guards and effects see the segment")
    add("trimmed to the receive window, while checks still read it as it arrived. A segment held by")
    add("the effect `hold` is processed again from the group's `resume: true` step once it is in")
    add("sequence and the state has a rule for that step's event.")
    add("")
    out += _fields(group, defs)
    add("")
    add("A step:")
    add("")
    out += _fields(group["properties"]["steps"]["items"], defs)
    add("")

    add("## transitions")
    add("")
    add(_cell(defs["transition"]["description"]) + " Actions run in the order written; guards are")
    add("evaluated on the TCB as it was when the event arrived.")
    add("")
    out += _fields(defs["transition"], defs)
    add("")

    add("## actions")
    add("")
    add(_cell(defs["action"]["description"]) + " The kinds:")
    add("")
    out += _terms("action")
    add("")
    add("### Effects")
    add("")
    add(_cell(KINDS["effect"]))
    add("")
    out += _terms("effect")
    add("")

    add("## send")
    add("")
    add(_cell(defs["send"]["description"]) + " Both forms give the same segment:")
    add("")
    add("```yaml")
    add("actions: [{send: {ctl: ACK, seq: SND.NXT, ack: RCV.NXT}}]")
    add('actions: [{send: "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"}]     # RFC 9293 §3.10.7.4')
    add("```")
    add("")
    out += _fields(defs["send"]["oneOf"][0], defs)
    add("")
    add("The RFC's notation is read by a small regular grammar, never evaluated:")
    add("")
    add("```")
    out += GRAMMAR.splitlines()
    add("```")
    add("")
    add("SEQ and CTL are required, ACK is optional; `<SEQ=0>` is the RFC's spelling of `ZERO`")
    add("(§3.10.7.1); ` +data` carries the queued data, like `data: true`.")
    add("")
    add("### SEQ sources")
    add("")
    add(_cell(KINDS["seq"]))
    add("")
    out += _terms("seq")
    add("")
    add("### ACK sources")
    add("")
    add(_cell(KINDS["ack"]))
    add("")
    out += _terms("ack")
    add("")
    add("### Throttles")
    add("")
    add(_cell(KINDS["throttle"]))
    add("")
    out += _terms("throttle")
    add("")

    add("## profiles")
    add("")
    add(f"A file with `profile: NAME` is an overlay. `base:` names what it changes: `{BASE_SPEC}` (the")
    add("base spec), a profile's name, or a path relative to the profile's own file (it contains")
    add("`/` or ends in `.yaml`); never relative to the working directory. A name is looked up in")
    add("the specs folder the profile sits in, when that folder is laid out like the shipped")
    add("`specs/` (`tcp.yaml` beside the `profiles/` or `mutants/` folder that holds it), else among")
    add(f"the shipped specs. Without `base:` the base is `{BASE_SPEC}`. A base may itself be a")
    add("profile: overlays stack, and a cycle is a problem at the `base:` that closes it.")
    add("")
    add("An overlay applies, in this order:")
    add("")
    add(f"1. `remove:` - {_cell(top['remove']['description'])}")
    add(f"2. `replace:` - {_cell(top['replace']['description'])}")
    add(f"3. `add:` - {_cell(top['add']['description'])}")
    add(f"4. `patch:` - {_cell(top['patch']['description'])} A list field (`guard`, `actions`,")
    add("   `source`) is replaced as a whole; `guard: []` removes the guards.")
    add(f"5. {', '.join(f'`{k}:`' for k in MERGED_BY_NAME)} replace the entry of the same name in place,")
    add("   or add one: a profile **rebinds a guard** by declaring it again with another `predicate:`")
    add("   (rfc5961 binds `rst_valid` to `seq_exact`). `sets:` adds sets (a profile does not redefine")
    add("   a set of its base: that would change every transition naming it). `checklist:` rows merge.")
    add("")
    add("A profile cannot set " + ", ".join(f"`{k}:`" for k in SPEC_ONLY) + "; a base spec cannot")
    add("have " + ", ".join(f"`{k}:`" for k in OVERLAY_ONLY) + ". When a removal, replacement or patch")
    add("leaves a case uncovered, the problem is reported at that entry of the overlay.")
    add("")
    add("```yaml")
    out += EXAMPLE_PROFILE.rstrip("\n").splitlines()
    add("```")
    add("")
    add("`tcpfsm spec validate mine.yaml` checks it from any folder; every command takes it with")
    add("`--spec mine.yaml`. The base spec and the shipped profiles:")
    add("")
    out += _shipped_profiles()
    add("")

    add("## TCP flags")
    add("")
    add(_cell(KINDS["flag"]))
    add("")
    out += _terms("flag")
    add("")
    return "\n".join(out)
