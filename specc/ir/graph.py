"""The IR: a model is a graph of layer nodes, each with its span and inferred facts.

What a spec says about a layer is validated by the layer's Pydantic class
(:mod:`specc.ir.layers`). The graph objects here are assembled by specc itself
from already-validated parts, so the expander builds them with
``model_construct`` and their schemas are built only when something (a test,
a JSON export) asks: ``specc check`` stays fast.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from specc.diagnostics import Span
from specc.ir.layers import Layer, Weight
from specc.ir.shapes import Shape

INPUT = 0  # index of the model's input node

Quantity = Literal["params", "trainable_params", "non_trainable_params", "macs", "output"]
QUANTITIES: tuple[str, ...] = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "macs",
    "output",
)


class Node(BaseModel):
    """One Keras layer (or the model input, index 0) with its inputs and inferred facts."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    index: int
    name: str
    kind: str
    layer: SerializeAsAny[Layer] | None
    inputs: list[int]
    span: Span
    arg_spans: dict[str, Span] = Field(default_factory=dict)
    block: str | None = None  # the outermost block call this node came from
    call_site: Span | None = None  # where that block was called in the model
    block_call: int | None = None  # which outermost block call of the model (0, 1, ...)
    ref_inputs: tuple[int, ...] = ()  # positions in ``inputs`` written as @name

    # Filled by specc.ir.infer; None where inference stopped at an error.
    output_shape: Shape | None = None
    weights: list[Weight] = Field(default_factory=list)
    macs: int = 0

    @classmethod
    def build(cls, **fields: Any) -> "Node":
        """A node from parts specc has validated already.

        Every field is passed to ``model_construct``, so pydantic resolves no
        default (that costs an ``inspect.signature`` per field per node).
        """
        values: dict[str, Any] = {
            "arg_spans": {},
            "block": None,
            "call_site": None,
            "block_call": None,
            "ref_inputs": (),
            "output_shape": None,
            "weights": [],
            "macs": 0,
        }
        values.update(fields)
        return cls.model_construct(**values)

    @property
    def params(self) -> int:
        """All scalars of all weights."""
        return sum(w.size for w in self.weights)

    @property
    def trainable_params(self) -> int:
        """Scalars of trainable weights (all, unless ``trainable=false``)."""
        if self.layer is not None and not self.layer.trainable:
            return 0
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        """Scalars that Keras does not train (BatchNormalization statistics, frozen layers)."""
        return self.params - self.trainable_params

    def span_of(self, param: str) -> Span:
        """Where ``param`` was written, or the whole statement."""
        return self.arg_spans.get(param, self.span)


class Expect(BaseModel):
    """``expect QUANTITY OP VALUE``."""

    model_config = ConfigDict(defer_build=True)

    quantity: Quantity
    op: str
    value: int | tuple[int, ...]
    span: Span


class Settings(BaseModel):
    """``compile ...`` or ``fit ...``: Keras keyword arguments, values as written."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    kwargs: dict[str, Any]
    spans: dict[str, Span]
    span: Span


class Model(BaseModel):
    """A model of a spec: its nodes (input first, in the order written) and settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    name: str
    span: Span
    input_dtype: str = "float32"
    nodes: list[Node]
    output: int
    compile: Settings | None = None
    fit: Settings | None = None
    expects: list[Expect] = Field(default_factory=list)

    @property
    def input(self) -> Node:
        """The input node."""
        return self.nodes[INPUT]

    @property
    def layers(self) -> list[Node]:
        """Every layer node in Keras's ``model.layers`` order (the input left out)."""
        return [self.nodes[i] for i in keras_order(self)]

    @property
    def is_sequential(self) -> bool:
        """True when the model is a plain stack (no merges, each layer feeds the next)."""
        return all(node.inputs == [node.index - 1] for node in self.nodes[1:])

    @property
    def inferred(self) -> bool:
        """True when every node has a shape (no error stopped inference)."""
        return all(node.output_shape is not None for node in self.nodes)

    @property
    def output_shape(self) -> Shape | None:
        """The model's output shape, batch axis left out."""
        return self.nodes[self.output].output_shape

    def total(self, quantity: str) -> int:
        """Sum of ``params``, ``trainable_params``, ``non_trainable_params`` or ``macs``."""
        return sum(getattr(node, quantity) for node in self.nodes[1:])

    def node(self, name: str) -> Node:
        """The node named ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def reachable(self) -> set[int]:
        """Indices of the nodes the output depends on (the input and the output included).

        Keras keeps only these layers in the model; every target computes only these.
        """
        needed = {self.output}
        for node in reversed(self.nodes):
            if node.index in needed:
                needed.update(node.inputs)
        return needed


def keras_order(model: Model) -> list[int]:
    """Node indices in the order Keras's functional API lists ``model.layers``.

    Keras (``ops/function.py: map_graph``) sorts operations by decreasing
    depth, depth being the longest path to the output, and breaks ties by the
    order a depth-first walk from the output first meets them.
    """
    if model.is_sequential:
        return list(range(1, len(model.nodes)))
    depth = {model.output: 0}
    for node in reversed(model.nodes):
        if node.index not in depth:
            continue
        for i in node.inputs:
            depth[i] = max(depth.get(i, 0), depth[node.index] + 1)
    first_seen: dict[int, int] = {}
    stack = [model.output]
    while stack:
        index = stack.pop()
        if index in first_seen:
            continue
        first_seen[index] = len(first_seen)
        stack.extend(reversed(model.nodes[index].inputs))
    layers = [i for i in first_seen if i != INPUT]  # the DFS meets exactly the reachable nodes
    return sorted(layers, key=lambda i: (-depth[i], first_seen[i]))
