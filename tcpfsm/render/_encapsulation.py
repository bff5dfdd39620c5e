"""The encapsulation diagram: one frame's headers nested layer by layer, with their sizes.

A staircase, as textbooks draw it: the application's message on top; each layer below puts
its header in front of what the layer above handed it (the TCP segment, the IP packet, the
Ethernet frame), so each row is one byte longer per header byte than the row above. Every
figure is read from the frame itself (:func:`tcpfsm.capture.layers_of`).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from tcpfsm.render._state import HEADER

if TYPE_CHECKING:  # tcpfsm.capture needs dpkt (the capture and walk extras): imported only when drawing a frame
    from tcpfsm.capture import PacketLayers
    from tcpfsm.spec import Spec

COLOURS = {"Application": "#fde9c9", "Transport": "#d6eaf8", "Internet": "#d5f5e3", "Link": "#ebdef0"}
CARRIED = "#f4f6f7"


def _cell(text: str, *, colour: str | None = None, span: int = 1, border: int = 1, align: str = "CENTER") -> str:
    bg = f' BGCOLOR="{colour}"' if colour else ""
    lines = "<BR/>".join(escape(t) for t in text.split("\n"))
    return f'<TD COLSPAN="{span}" BORDER="{border}"{bg} ALIGN="{align}">{lines}</TD>'


def _summary(layer_fields: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> str:
    d = dict(layer_fields)
    return "\n".join(f"{k} {d[k]}" for k in keys if k in d)


def encapsulation_dot(packet: PacketLayers, title: str = "") -> str:
    """DOT text of the packet's encapsulation: a row per layer, each header in front of what it carries."""
    app, transport, internet, link = packet.layers
    headers = [x for x in (link, internet, transport) if x.protocol]
    ncols = len(headers) + 1  # the headers, then the application's data
    rows: list[str] = []
    keys = {"Transport": ("ports", "seq", "ack", "flags", "window"), "Internet": ("source", "destination", "TTL"),
            "Link": ("source MAC", "destination MAC")}
    for layer in (app, transport, internet, link):
        label = _cell(f"{layer.name} layer\n({layer.osi})\n{layer.unit}", align="LEFT", border=0)
        cells: list[str] = []
        if layer.name == "Application":
            blank = ncols - 1
            if blank:
                cells.append(_cell(" ", span=blank, border=0))
            what = "\n".join(v for _, v in layer.fields[:2]) if layer.fields else ""
            cells.append(_cell(f"{layer.protocol or 'no'} message, {layer.size} B" + (f"\n{what}" if what else ""),
                               colour=COLOURS["Application"]))
        else:
            own = headers.index(layer) if layer in headers else None
            if own is None:
                continue
            if own:
                cells.append(_cell(" ", span=own, border=0))
            cells.append(_cell(f"{layer.protocol} header, {layer.header} B\n"
                               + _summary(layer.fields, keys[layer.name]), colour=COLOURS[layer.name]))
            carried = layer.size - layer.header
            cells.append(_cell(f"{carried} B from the layer above", colour=CARRIED, span=ncols - own - 1))
        total = _cell(f"= {layer.size} B {layer.unit}", align="LEFT", border=0)
        rows.append(f"<TR>{label}{''.join(cells)}{total}</TR>")
    table = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="6">' + "".join(rows) + "</TABLE>>")
    heading = title or f"packet {packet.number}: {packet.sender} -> {packet.receiver}"
    return "\n".join([
        f"// {HEADER}",
        "digraph encapsulation {",
        f'\tgraph [fontname=Helvetica fontsize=14 label="{heading}" labelloc=t pad=0.3]',
        "\tnode [fontname=Helvetica fontsize=10 shape=plaintext]",
        f"\tframe [label={table}]",
        "}",
        "",
    ])


def walk_encapsulation_dot(spec: Spec | None = None) -> str:
    """The committed diagram: the HTTP GET's frame of ``tcpfsm walk http-get`` (``diagrams/encapsulation``)."""
    from tcpfsm.walk import walk  # first: a missing h11 names the walk extra, which brings dpkt too

    run = walk("http-get", spec=spec)
    from tcpfsm.capture import layers_of

    number, frame = next((i, f) for i, f in enumerate(run.frames, 1)
                         if f.application and f.application[0] == "HTTP" and f.sender == "client")
    return encapsulation_dot(layers_of(frame, number),
                             f"Encapsulation: the HTTP GET of tcpfsm walk http-get (packet {number}), "
                             "each layer's header in front of what the layer above hands it")
