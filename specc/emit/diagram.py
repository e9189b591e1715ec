"""A model as a picture: a layered graph in DOT (graphviz) or Mermaid text.

Each layer is a box with its name, its Keras class, its output shape and its
parameter count, as Keras's ``plot_model(show_shapes=True)`` draws it. The
layers a block call made form a cluster labelled with the block and the call's
line; collapsed (the default), the cluster is one box with the block's output
shape and the sum of its parameters. Merge layers have their own shape and
colour; an input written ``@name`` is a dashed edge labelled ``@name``.

Only the input and the layers Keras keeps (:attr:`specc.ir.graph.Model.layers`)
are drawn, so the picture names exactly the layers of ``specc summary``. Both
texts are pure functions of the model: the same spec gives the same bytes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from specc.ir.graph import INPUT, Model, Node

RANKDIRS = ("TB", "LR")
FONT = "Helvetica"
COLOURS = {"input": "#e8eef7", "layer": "#ffffff", "merge": "#fdf0d5", "block": "#e6f2e6"}


@dataclass(frozen=True)
class Box:
    """One drawn node: a layer, the input, or a collapsed block call."""

    id: str
    name: str
    kind: str  # the Keras class name, ``InputLayer``, or ``block`` for a collapsed call
    shape: str
    params: int
    role: str  # "input", "layer", "merge" or "block"
    cluster: int | None = None  # the block call it is drawn inside (expanded blocks)
    layers: tuple[str, ...] = ()  # the layers a collapsed call holds


@dataclass(frozen=True)
class Arrow:
    """An edge from one box to another; ``ref`` is the name written as ``@name``."""

    tail: str
    head: str
    ref: str | None = None


@dataclass
class Diagram:
    """Boxes, clusters (block call -> title) and arrows, in the order written."""

    name: str
    boxes: list[Box] = field(default_factory=list)
    clusters: dict[int, str] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)


def keras_shape(node: Node) -> str:
    """``(None, 32, 32, 16)``: the output shape with Keras's batch axis."""
    return "(" + ", ".join(["None", *map(str, node.output_shape or ())]) + ")"


def keras_class(node: Node) -> str:
    """The Keras class a node builds (``InputLayer`` for the input)."""
    if node.index == INPUT:
        return "InputLayer"
    return type(node.layer).keras_class if node.layer is not None else node.kind


def _call_title(node: Node) -> str:
    line = node.call_site.line if node.call_site is not None else node.span.line
    return f"{node.block} (line {line})"


def build(model: Model, expand_blocks: bool = False) -> Diagram:
    """The boxes and arrows of ``model``; block calls collapsed unless ``expand_blocks``."""
    diagram = Diagram(model.name)
    drawn = [model.input, *sorted(model.layers, key=lambda n: n.index)]
    box_of: dict[int, str] = {}
    members: dict[int, list[Node]] = {}
    for node in drawn:
        if node.block_call is not None:
            members.setdefault(node.block_call, []).append(node)
            diagram.clusters.setdefault(node.block_call, _call_title(node))
    for node in drawn:
        call = node.block_call
        if call is not None and not expand_blocks:
            box_of[node.index] = f"b{call}"
            if node is members[call][0]:
                last = members[call][-1]
                diagram.boxes.append(
                    Box(
                        f"b{call}",
                        diagram.clusters[call],
                        "block",
                        keras_shape(last),
                        sum(n.params for n in members[call]),
                        "block",
                        layers=tuple(n.name for n in members[call]),
                    )
                )
            continue
        box_of[node.index] = f"n{node.index}"
        merge = node.layer is not None and node.layer.merge
        role = "input" if node.index == INPUT else "merge" if merge else "layer"
        diagram.boxes.append(
            Box(
                f"n{node.index}",
                node.name,
                keras_class(node),
                keras_shape(node),
                node.params,
                role,
                call,
            )
        )
    seen: set[Arrow] = set()
    for node in drawn:
        for position, source in enumerate(node.inputs):
            ref = model.nodes[source].name if position in node.ref_inputs else None
            arrow = Arrow(box_of[source], box_of[node.index], ref)
            if arrow.tail != arrow.head and arrow not in seen:
                seen.add(arrow)
                diagram.arrows.append(arrow)
    if not expand_blocks:
        diagram.clusters.clear()
    return diagram


# -- DOT ---------------------------------------------------------------------


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(box: Box) -> str:
    name, kind = html.escape(box.name), html.escape(box.kind)
    rows = [f"<b>{name}</b> : {kind}" if box.role != "block" else f"<b>{name}</b> : block"]
    rows.append(f"output: {html.escape(box.shape)}")
    if box.role == "block":
        rows.append(f"params: {box.params:,} in {len(box.layers)} layers")
    elif box.role != "input":
        rows.append(f"params: {box.params:,}")
    cells = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return (
        f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="4" '
        f'bgcolor="{COLOURS[box.role]}">{cells}</table>>'
    )


def to_dot(diagram: Diagram, rankdir: str = "TB") -> str:
    """The diagram as graphviz DOT text."""
    out = [
        f"digraph {_dot_id(diagram.name)} {{",
        f"  graph [rankdir={rankdir}, label={_dot_id(diagram.name)}, labelloc=t, "
        f'fontname="{FONT}", fontsize=14, nodesep=0.3, ranksep=0.35];',
        f'  node [shape=plain, fontname="{FONT}", fontsize=10];',
        f'  edge [fontname="{FONT}", fontsize=9, arrowsize=0.7];',
    ]
    for box in diagram.boxes:
        if box.cluster is None:
            tooltip = f", tooltip={_dot_id(', '.join(box.layers))}" if box.layers else ""
            out.append(f"  {box.id} [label={_dot_label(box)}{tooltip}];")
    for call, title in diagram.clusters.items():
        out.append(f"  subgraph cluster_{call} {{")
        out.append(f'    label={_dot_id(title)}; style="rounded,dashed"; color="#5a8f5a";')
        for box in diagram.boxes:
            if box.cluster == call:
                out.append(f"    {box.id} [label={_dot_label(box)}];")
        out.append("  }")
    for arrow in diagram.arrows:
        style = f" [style=dashed, label={_dot_id('@' + arrow.ref)}]" if arrow.ref else ""
        out.append(f"  {arrow.tail} -> {arrow.head}{style};")
    out.append("}")
    return "\n".join(out) + "\n"


# -- Mermaid -------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label (entity codes for what Mermaid parses)."""
    return (
        html.escape(text, quote=False)
        .replace('"', "#quot;")
        .replace("[", "#91;")
        .replace("]", "#93;")
    )


MERMAID_SHAPES = {
    "input": ('(["', '"])'),
    "layer": ('["', '"]'),
    "merge": ('{{"', '"}}'),
    "block": ('[["', '"]]'),
}


def _mermaid_node(box: Box) -> str:
    kind = "block" if box.role == "block" else box.kind
    lines = [f"<b>{_mermaid_text(box.name)}</b> : {_mermaid_text(kind)}", _mermaid_text(box.shape)]
    if box.role == "block":
        lines.append(f"params: {box.params:,} in {len(box.layers)} layers")
    elif box.role != "input":
        lines.append(f"params: {box.params:,}")
    left, right = MERMAID_SHAPES[box.role]
    return f"{box.id}{left}{'<br/>'.join(lines)}{right}"


def to_mermaid(diagram: Diagram, rankdir: str = "TB") -> str:
    """The diagram as a Mermaid flowchart (renders on GitHub in a ```mermaid block)."""
    out = [f"flowchart {rankdir}"]
    for box in diagram.boxes:
        if box.cluster is None:
            out.append(f"  {_mermaid_node(box)}")
    for call, title in diagram.clusters.items():
        out.append(f'  subgraph c{call} ["{_mermaid_text(title)}"]')
        for box in diagram.boxes:
            if box.cluster == call:
                out.append(f"    {_mermaid_node(box)}")
        out.append("  end")
    for arrow in diagram.arrows:
        if arrow.ref:
            out.append(f'  {arrow.tail} -.->|"@{_mermaid_text(arrow.ref)}"| {arrow.head}')
        else:
            out.append(f"  {arrow.tail} --> {arrow.head}")
    for role in ("input", "merge", "block"):
        ids = [box.id for box in diagram.boxes if box.role == role]
        if ids:
            out.append(f"  classDef {role} fill:{COLOURS[role]},stroke:#555")
            out.append(f"  class {','.join(ids)} {role}")
    return "\n".join(out) + "\n"
