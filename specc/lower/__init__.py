"""Stage 4: lowering. A checked model becomes the :class:`Plan` every target consumes.

``lower(model)`` keeps the layers the output depends on (what Keras keeps),
in the order written, and resolves each one's attributes once
(:mod:`specc.lower.plan`); ``passes`` then rewrite the plan
(:mod:`specc.lower.passes`), each a named function tested on its own. The
emitters lower without passes (they write every Keras layer); the numpy
runtime runs :data:`RUNTIME_PASSES` on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from specc.ir.graph import Model
from specc.lower.passes import (
    FUSED_KINDS,
    RUNTIME_PASSES,
    Pass,
    defer_monotone_activation,
    fold_batchnorm,
    fold_zero_padding,
    fuse_activation,
    fuse_conv_maxpool,
    fuse_scale_into_conv,
)
from specc.lower.plan import Op, Plan, Window, resolve, transposed_window_of, window_of

__all__ = [
    "FUSED_KINDS",
    "RUNTIME_PASSES",
    "Op",
    "Pass",
    "Plan",
    "Window",
    "defer_monotone_activation",
    "fold_batchnorm",
    "fold_zero_padding",
    "fuse_activation",
    "fuse_conv_maxpool",
    "fuse_scale_into_conv",
    "lower",
    "transposed_window_of",
    "window_of",
]


def lower(model: Model, passes: Sequence[Pass] = (), keep: Iterable[int] = ()) -> Plan:
    """The plan of an inferred ``model``, rewritten by ``passes`` in order.

    ``keep`` names values (node indices) that must stay observable besides
    the output: no pass fuses them away. Raises ``ValueError`` for a model
    with errors (a node without a shape).
    """
    if not model.inferred:
        raise ValueError(f"model {model.name} has errors; only a checked model is lowered")
    needed = model.reachable()
    ops = [resolve(node, model) for node in model.nodes[1:] if node.index in needed]
    plan = Plan(model, tuple(ops), frozenset({model.output, *keep}))
    for rewrite in passes:
        plan = rewrite(plan)
    return plan
