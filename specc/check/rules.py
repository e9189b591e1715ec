"""Lint rules: likely mistakes that Keras accepts silently.

One class per rule, with its code and a docstring that says the anti-pattern
and the fix. A rule looks at an inferred model and yields warnings; a line
ending in ``# noqa`` or ``# noqa: W401`` silences them there.
"""

from __future__ import annotations

from collections.abc import Iterator

from specc.check.coverage import unseen_pixels, used_pixels
from specc.codes import W401, W402, W403, W405
from specc.diagnostics import Diagnostic
from specc.ir.graph import Model, Node
from specc.ir.values import FnValue


class Rule:
    """Base of lint rules: ``code`` and ``check(model)``."""

    code: str

    def check(self, model: Model) -> Iterator[Diagnostic]:
        """Warnings for ``model``."""
        yield from ()

    def warn(self, message: str, node: Node, param: str | None = None, help: str | None = None):
        """A warning at ``node`` (at ``param`` where it was written)."""
        span = node.span_of(param) if param else node.span
        return Diagnostic(self.code, message, span, help, severity="warning")


class DenseOnFeatureMap(Rule):
    """W401: ``dense`` applied to a feature map (rank > 1) without flatten or pooling.

    Keras then applies the dense layer to every pixel separately, which is
    rarely what a classifier head means. Fix: put ``flatten`` or
    ``globalavgpool`` before it, or silence the line when per-pixel is intended.
    """

    code = W401

    def check(self, model: Model) -> Iterator[Diagnostic]:
        for node in model.nodes[1:]:
            if node.kind != "dense" or node.output_shape is None:
                continue
            shape = model.nodes[node.inputs[0]].output_shape
            if shape is not None and len(shape) > 1:
                yield self.warn(
                    f"dense is applied to a {'x'.join(map(str, shape))} feature map, "
                    "once per position, giving output "
                    f"{'x'.join(map(str, node.output_shape))}",
                    node,
                    help="add `flatten` or `globalavgpool` before it; add `# noqa: W401` "
                    "if per-position dense is intended",
                )


class ProbabilitiesIntoLogitsLoss(Rule):
    """W402: softmax or sigmoid output while the loss says ``from_logits=true``.

    The loss then applies softmax/sigmoid a second time and training quietly
    suffers. Fix: drop the final activation, or set ``from_logits=false``.
    """

    code = W402

    def check(self, model: Model) -> Iterator[Diagnostic]:
        if model.compile is None:
            return
        loss = model.compile.kwargs.get("loss")
        if not (isinstance(loss, FnValue) and loss.get("from_logits") is True):
            return
        node = model.nodes[model.output]
        activation = getattr(node.layer, "activation", None)
        if activation in ("softmax", "sigmoid"):
            yield self.warn(
                f"the output layer applies {activation}, but the loss {loss.name} has "
                "from_logits=true",
                node,
                "activation",
                help=f"remove {activation} from the last layer, or set from_logits=false",
            )


class StrideLargerThanKernel(Rule):
    """W403: a stride larger than the kernel or pool window, where no other path sees the gap.

    The pixels between the windows then never reach any output. A projection
    shortcut (ResNet's and Xception's 1x1 convolution with stride 2) is fine:
    the main path's windows read the pixels it skips. Fix: make the stride at
    most the kernel size, or enlarge the kernel.
    """

    code = W403

    def check(self, model: Model) -> Iterator[Diagnostic]:
        used = None
        for node in model.nodes[1:]:
            layer = node.layer
            window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
            strides = getattr(layer, "effective_strides", None) or getattr(layer, "strides", None)
            if window is None or strides is None or node.kind == "conv2dtranspose":
                continue
            if not any(s > k for s, k in zip(strides, window, strict=True)):
                continue
            used = used if used is not None else used_pixels(model)
            if unseen_pixels(model, node, used):
                yield self.warn(
                    f"{node.kind} strides {strides} exceed its window {window}: some input "
                    "pixels are never seen",
                    node,
                    "strides",
                    help="use strides no larger than the kernel or pool size",
                )


class SoftmaxOverOneUnit(Rule):
    """W405: ``softmax`` (or ``log_softmax``) over a last axis of size 1.

    The result is always 1 (or 0): a binary classifier written as
    ``dense 1 softmax`` never learns. Fix: use ``sigmoid`` for one unit, or
    give the layer one unit per class.
    """

    code = W405

    def check(self, model: Model) -> Iterator[Diagnostic]:
        for node in model.nodes[1:]:
            activation = getattr(node.layer, "activation", None)
            if activation in ("softmax", "log_softmax") and node.output_shape[-1:] == (1,):
                yield self.warn(
                    f"{activation} over a last axis of size 1 always gives "
                    f"{'1' if activation == 'softmax' else '0'}",
                    node,
                    "activation",
                    help="use sigmoid for a single unit, or one unit per class",
                )


RULES: tuple[Rule, ...] = (
    DenseOnFeatureMap(),
    ProbabilitiesIntoLogitsLoss(),
    StrideLargerThanKernel(),
    SoftmaxOverOneUnit(),
)
# W404 and W406 (unused blocks and functions) need the whole file, not one model: see
# specc.check.unused.
