"""Shape, weight and MAC inference over a model's nodes."""

from __future__ import annotations

from specc.codes import E202, E203, E206, E207
from specc.diagnostics import Diagnostic, RelatedSpan
from specc.ir.graph import Model, Node
from specc.ir.shapes import MAX_DIM, ShapeError, check_size

# Parameters whose span points at the likely culprit of a shape error.
_CULPRIT = {
    E202: ("groups",),
    E203: ("dilation_rate", "strides"),
    E206: ("target_shape",),
}


def infer(model: Model) -> list[Diagnostic]:
    """Fill in output shapes, weights and MACs; return the errors found.

    A node whose inputs are unknown (an earlier error) is left unknown, so one
    mistake is reported once, not again at every layer after it.
    """
    return infer_nodes(model.nodes, 1)


def infer_nodes(nodes: list[Node], start: int) -> list[Diagnostic]:
    """:func:`infer` from ``nodes[start]`` on, the nodes before it inferred already.

    The expander calls it while it builds a graph, when a block asks for the
    current tensor's shape (``channels()``).
    """
    diagnostics: list[Diagnostic] = []
    for node in nodes[start:]:
        shapes = [nodes[i].output_shape for i in node.inputs]
        if any(s is None for s in shapes) or node.layer is None:
            continue
        inputs = [s for s in shapes if s is not None]
        try:
            node.layer.check_input(inputs)
            out = check_size(node.layer.output_shape(inputs))
            weights = node.layer.weights(inputs)
            for w in weights:
                if w.size > MAX_DIM * 4:
                    raise ShapeError(
                        E207,
                        f"{node.name}/{w.name} of shape {w.shape} has {w.size:,} "
                        "parameters, more than any backend can allocate",
                    )
        except ShapeError as exc:
            diagnostics.append(_located(node, exc))
            continue
        node.output_shape = out
        node.weights = weights
        node.macs = node.layer.macs(inputs, out)
    return diagnostics


def _located(node: Node, exc: ShapeError) -> Diagnostic:
    """The diagnostic at the parameter to blame, or at the block call that made the layer.

    A layer inside a block may be fine for one call and wrong for another, so
    its error is reported where the model calls the block, the layer's own
    statement given as a related span.
    """
    if node.call_site is not None:
        inside = RelatedSpan(node.span, f"the layer, in block '{node.block}'")
        return Diagnostic(exc.code, exc.message, node.call_site, exc.help, related=(inside,))
    span = node.span
    for param in _CULPRIT.get(exc.code, ()):
        if param in node.arg_spans:
            span = node.arg_spans[param]
            break
    return Diagnostic(exc.code, exc.message, span, exc.help)
