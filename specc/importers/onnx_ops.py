"""ONNX nodes as specc layers: the translator, its constants, and its helpers for the ops.

:class:`Translator` walks the graph in order. A node whose inputs are all
constant is evaluated by onnx's reference evaluator; any other node goes to
the method named after its op (``op_conv``, ``op_max_pool``): convolutions,
pooling and dense layers in :mod:`specc.importers.onnx_windows`, activations
in :mod:`specc.importers.onnx_activations`, merges and reshapes in
:mod:`specc.importers.onnx_values`, Pad and Slice in :mod:`specc.importers.onnx_crops`.
An op without a method is E702, naming the node and the op type.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc.codes import E702, E704
from specc.importers.keras_config import snake_case
from specc.importers.onnx_activations import ActivationOps
from specc.importers.onnx_crops import CropOps
from specc.importers.onnx_model import (
    MAX_FOLDED_ELEMENTS,
    NodeError,
    Tensor,
    as_layer,
    static_shape,
)
from specc.importers.onnx_values import ValueOps
from specc.importers.onnx_windows import WindowOps


class Translator(WindowOps, ActivationOps, ValueOps, CropOps):
    """ONNX graph to :class:`~specc.importers.graph.ImportedLayer` objects, node by node."""

    def __init__(self, model: Any, path: str, names: dict[int, str]) -> None:
        from onnx import numpy_helper

        self.model = model
        self.path = path
        self.names = names
        self.nodes = list(model.graph.node)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.constants: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in model.graph.initializer
        }
        self.full_shapes: dict[str, Any] = {}
        for info in (*model.graph.value_info, *model.graph.output, *model.graph.input):
            self.full_shapes[info.name] = info
        self.tensors: dict[str, Tensor] = {}
        self.layers = []
        self.by_name: dict[str, Any] = {}
        self.problems: list[tuple[Any, NodeError]] = []
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for name in node.input:
                self.consumers.setdefault(name, []).append(i)
        for out in model.graph.output:
            self.consumers.setdefault(out.name, []).append(-1)
        self.absorbed: set[int] = set()
        self.symbolic: set[str] = set()  # shape values computed from a dynamic batch size
        self.index = 0

    # -- the walk ----------------------------------------------------------------------

    def run(self) -> None:
        """Translate every node, collecting the problems of those that cannot be."""
        for i, node in enumerate(self.nodes):
            if i in self.absorbed:
                continue
            self.index = i
            try:
                if self._fold(node):
                    continue
                if self._symbolic(node):
                    continue
                missing = [n for n in node.input if n and n not in self.tensors]
                if any(n not in self.constants and n not in self.symbolic for n in missing):
                    continue  # an input failed already and was reported
                handler = None
                if node.domain in ("", "ai.onnx"):
                    handler = getattr(self, f"op_{snake_case(node.op_type)}", None)
                if handler is None:
                    raise NodeError(
                        E702,
                        "is an operator specc does not translate",
                        "specc imports Conv, ConvTranspose, pooling, Gemm/MatMul, "
                        "BatchNormalization, activations (PRelu among them), Add/Mul/Concat, "
                        "Flatten/Reshape, Pad, Slice, Resize, Softmax, Dropout and Identity",
                    )
                handler(node)
            except NodeError as problem:
                self.problems.append((node, problem))

    def _symbolic(self, node) -> bool:
        """A shape computed from the batch size (a dynamic batch axis): kept as unknown.

        ``Shape`` of a tensor whose batch is a name, and what is computed from it,
        are not layers; an op that needs such a value as a constant says so.
        """
        inputs = [n for n in node.input if n]
        if not (node.op_type == "Shape" or any(n in self.symbolic for n in inputs)):
            return False
        if any(n in self.tensors for n in inputs) and node.op_type != "Shape":
            return False
        self.symbolic.update(n for n in node.output if n)
        return True

    def _fold(self, node) -> bool:
        """Evaluate a node of constant inputs (or a Shape of a fixed shape); True if done."""
        inputs = [n for n in node.input if n]
        if node.op_type == "Shape" and inputs[0] in self.tensors:
            info = self.full_shapes.get(inputs[0])
            dims = [d.dim_value for d in info.type.tensor_type.shape.dim] if info else []
            if not dims or min(dims) <= 0:
                return False
            start = self.attr(node, "start", 0)
            end = self.attr(node, "end", None)
            self.constants[node.output[0]] = np.array(dims[start:end], dtype=np.int64)
            return True
        if node.op_type != "Constant" and not all(n in self.constants for n in inputs):
            return False
        if node.op_type != "Constant":
            size = self._folded_size(node)
            if size is None or size > MAX_FOLDED_ELEMENTS:
                raise NodeError(
                    E704,
                    "computes a constant whose size is unknown or over "
                    f"{MAX_FOLDED_ELEMENTS:,} elements",
                )
        values = self._evaluate(node, [self.constants[n] for n in inputs], inputs)
        for name, value in zip(node.output, values, strict=False):
            self.constants[name] = np.asarray(value)
        return True

    def _folded_size(self, node) -> int | None:
        total = 0
        for name in node.output:
            info = self.full_shapes.get(name)
            if info is None or not info.type.tensor_type.HasField("shape"):
                return None
            dims = [
                d.dim_value if d.HasField("dim_value") else -1
                for d in info.type.tensor_type.shape.dim
            ]
            if min(dims, default=0) < 0:
                return None
            total += int(np.prod(dims, dtype=np.int64))
        return total

    def _evaluate(self, node, values: list[np.ndarray], names: list[str]) -> list[Any]:
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        inputs = [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in zip(names, values, strict=True)
        ]
        outputs = [helper.make_empty_tensor_value_info(n) for n in node.output if n]
        graph = helper.make_graph([node], "fold", inputs, outputs)
        model = helper.make_model(
            graph, opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version
        )
        try:
            return ReferenceEvaluator(model).run(None, dict(zip(names, values, strict=True)))
        except Exception as exc:  # the evaluator raises what its op raises
            raise NodeError(E704, f"cannot be evaluated as a constant: {exc}") from None

    # -- helpers for the op methods ------------------------------------------------------

    def attr(self, node, name: str, default: Any = None) -> Any:
        """The value of attribute ``name`` (bytes as str), or ``default``."""
        from onnx import helper

        for attribute in node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                if isinstance(value, float):  # ONNX floats are float32: 0.9, not 0.8999999761
                    return float(str(np.float32(value)))
                if isinstance(value, bytes):
                    return value.decode()
                if isinstance(value, list) and value and isinstance(value[0], bytes):
                    return [v.decode() for v in value]
                return value
        return default

    def tensor(self, node, k: int = 0) -> Tensor:
        """Input ``k`` as a tensor the spec computes (E704 if it is a constant)."""
        name = node.input[k]
        if name not in self.tensors:
            raise NodeError(
                E704,
                f"takes the constant '{name}' as input {k}, where specc's layers take a tensor",
                "a constant operand would be a Rescaling or a weight, which this op cannot hold",
            )
        return self.tensors[name]

    def feature_map(self, node, k: int = 0) -> Tensor:
        """Input ``k`` as a feature map (NCHW in ONNX, NHWC in the spec)."""
        x = self.tensor(node, k)
        if x.layout != "nchw" or len(x.shape) != 3:
            raise NodeError(
                E704, f"takes a tensor of shape {x.shape} (batch left out), not a 2-D feature map"
            )
        return x

    def const(self, node, k: int, what: str) -> np.ndarray | None:
        """Input ``k`` as a constant array; None when it is absent; E704 when computed."""
        if len(node.input) <= k or not node.input[k]:
            return None
        name = node.input[k]
        if name not in self.constants:
            raise NodeError(
                E704,
                f"has its {what} computed at run time; specc needs a constant",
                "export the model with a fixed input size (no dynamic axes)",
            )
        return self.constants[name]

    def onnx_shape(self, name: str) -> tuple[int, ...] | None:
        """The inferred shape of a value, batch axis left out."""
        info = self.full_shapes.get(name)
        return static_shape(info) if info is not None else None

    def batch_of(self, name: str) -> int | None:
        """The first (batch) dimension of a value as shape inference has it."""
        info = self.full_shapes.get(name)
        dims = info.type.tensor_type.shape.dim if info is not None else []
        return dims[0].dim_value if dims and dims[0].HasField("dim_value") else None

    def out_shape(self, node) -> tuple[int, ...]:
        """The inferred shape of the node's first output (E704 when shape inference has none)."""
        shape = self.onnx_shape(node.output[0])
        if shape is None:
            raise NodeError(
                E704,
                "has an output whose shape is not fixed",
                "export the model with a fixed input size",
            )
        return shape

    def add_layer(
        self,
        node,
        kind: str,
        params: dict[str, Any],
        inputs: list[str],
        weights=(),
        layout: str = "nchw",
        nonneg: bool = False,
        suffix: str = "",
        output: str | None = None,
        chw: tuple[int, int, int] | None = None,
    ) -> Tensor:
        """Append a layer made from ``node``; register its output tensor and return it."""
        name = self.names[self.index] + suffix
        layer = as_layer(name, kind, params, inputs, node, weights)
        self.layers.append(layer)
        self.by_name[name] = layer
        onnx_out = output if output is not None else node.output[0]
        shape = self.onnx_shape(onnx_out) if not suffix else None
        if shape is not None:
            layer.output_shape = _spec_shape(shape, layout)
        tensor = Tensor(name, layout, shape or (), nonneg, chw)
        if not suffix:
            self.tensors[onnx_out] = tensor
        return tensor

    def alias(self, node, tensor: Tensor, k: int = 0) -> None:
        """Output ``k`` of ``node`` is ``tensor`` itself (Identity, a no-op reshape)."""
        self.tensors[node.output[k]] = tensor

    def single_consumer(self, name: str) -> int | None:
        """The index of the only node reading ``name`` (None: several, or a graph output)."""
        readers = self.consumers.get(name, [])
        return readers[0] if len(readers) == 1 and readers[0] >= 0 else None


def _spec_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "nchw" and len(shape) == 3:
        return (shape[1], shape[2], shape[0])
    if layout == "flat":
        return (int(np.prod(shape)),)
    return shape
