"""The ONNX emitter: a model's plan and its weights to an ``onnx.ModelProto``.

The graph's input and output keep Keras's layout (NHWC, batch first); inside,
4-D tensors live in ONNX's NCHW where an operator needs it (Conv, pooling,
Resize, Pad, BatchNormalization) and go back to NHWC before anything that
depends on the element order (Flatten, Reshape, Dense on a feature map), so
Dense kernels are Keras's bytes unchanged. Transposes are created lazily, once
per tensor and layout. Each layer kind has a method of the same name in
:class:`~specc.emit.onnx_layers.LayerOps`, given the op of the plan
(:func:`specc.lower.lower`, no passes: every Keras layer is a node); nodes
and tensors are named after the spec's layers (``conv2d`` is the NHWC value of layer ``conv2d``,
``conv2d/nchw`` its NCHW one, ``conv2d/kernel`` its weight in ONNX's layout).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.emit.onnx_layers import KERAS, NCHW, LayerOps
from specc.emit.onnx_layers_extra import ExtraLayerOps
from specc.ir.graph import Model
from specc.lower import Op, lower

if TYPE_CHECKING:
    import onnx

DEFAULT_OPSET = 21
MIN_OPSET, MAX_OPSET = 18, 23  # Resize's antialias attribute (18) .. what onnxruntime runs
EXTERNAL_DATA_THRESHOLD = 2**31 - 2**24  # protobuf's 2 GiB limit, with room for the graph
BATCH = "batch"

_ELEM_TYPES = {"float32": 1, "float16": 10, "float64": 11, "bfloat16": 16}
_TO_NCHW, _TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


@dataclass
class Value:
    """One IR node's output in the graph: a tensor name per layout."""

    base: str
    rank: int  # ONNX rank, batch included
    primary: str
    names: dict[str, str] = field(default_factory=dict)


class OnnxEmitter(LayerOps, ExtraLayerOps):
    """Builds one graph; the layer kinds are methods of :class:`LayerOps`."""

    def __init__(self, model: Model, weights: dict[str, np.ndarray], opset: int) -> None:
        self.model = model
        self.plan = lower(model)
        self.ops: dict[int, Op] = {op.index: op for op in self.plan.ops}
        self.consumers = self.plan.consumers()
        self.weights = weights
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.values: dict[int, Value] = {}
        self.taken: set[str] = {node.name for node in model.nodes}
        self.taken |= {f"{node.name}/nchw" for node in model.nodes}
        self.layer = ""
        self.layer_start = 0
        self.main_named = False  # whether the current layer's node named after it exists

    # -- names, nodes, constants -------------------------------------------------

    def unique(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``... when taken."""
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        return name

    def op(self, op_type: str, inputs: list[str], name: str | None = None, **attrs: Any) -> str:
        """Append one node of the current layer; returns its output's name.

        The first node of a layer is named after the layer, later ones
        ``LAYER/OpType``.
        """
        from onnx import helper

        if name is None:
            first, self.main_named = not self.main_named, True
            name = self.layer if first else self.unique(f"{self.layer}/{op_type}")
        output = self.unique(f"{name}:0") if name == self.layer else name
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def const(self, suffix: str, array: np.ndarray) -> str:
        """An initializer ``LAYER/suffix`` holding ``array`` (dtype kept)."""
        from onnx import numpy_helper

        name = self.unique(f"{self.layer}/{suffix}")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def scalar(self, suffix: str, value: float) -> str:
        """A float32 scalar initializer."""
        return self.const(suffix, np.array(value, dtype=np.float32))

    def ints(self, suffix: str, values: list[int]) -> str:
        """An int64 vector initializer (shapes, pads, axes)."""
        return self.const(suffix, np.array(values, dtype=np.int64))

    def weight(self, name: str) -> np.ndarray:
        """The current layer's weight ``name`` in Keras's layout."""
        return self.weights[f"{self.layer}/{name}"]

    # -- values and layouts ------------------------------------------------------

    def rank(self, index: int) -> int:
        """ONNX rank of node ``index``'s output (batch included)."""
        return len(self.model.nodes[index].output_shape or ()) + 1

    def get(self, index: int, layout: str) -> str:
        """Node ``index``'s output in ``layout``, transposing (once) if needed."""
        value = self.values[index]
        if value.rank != 4:
            return value.names[KERAS]
        if layout not in value.names:
            source = value.names[NCHW if layout == KERAS else KERAS]
            target = value.base if layout == KERAS else f"{value.base}/nchw"
            perm = _TO_NHWC if layout == KERAS else _TO_NCHW
            suffix = "to_nhwc" if layout == KERAS else "to_nchw"
            node_name = self.unique(f"{value.base}/{suffix}")
            from onnx import helper

            self.nodes.append(
                helper.make_node("Transpose", [source], [target], name=node_name, perm=perm)
            )
            value.names[layout] = target
        return value.names[layout]

    def primary(self, index: int) -> tuple[str, str]:
        """Node ``index``'s output in the layout it was produced in, and that layout."""
        value = self.values[index]
        return value.names[value.primary], value.primary

    def finish(self, op: Op, name: str, layout: str) -> None:
        """Record ``name`` (in ``layout``) as ``op``'s output, renamed canonically."""
        from onnx import helper

        rank = len(op.output_shape) + 1
        layout = layout if rank == 4 else KERAS
        canonical = op.name if layout == KERAS else f"{op.name}/nchw"
        own = self.nodes[self.layer_start :]
        if own and own[-1].output[0] == name:
            own[-1].output[0] = canonical
        else:
            node_name = self.unique(f"{op.name}/Identity") if self.main_named else op.name
            self.nodes.append(helper.make_node("Identity", [name], [canonical], name=node_name))
        self.values[op.index] = Value(op.name, rank, layout, {layout: canonical})

    # -- the graph ---------------------------------------------------------------

    def emit(self) -> onnx.ModelProto:
        """The whole model."""
        from onnx import TensorProto, helper

        import specc

        model = self.model
        source = model.input
        dtype = _ELEM_TYPES[model.input_dtype]
        input_shape = [BATCH, *(source.output_shape or ())]
        graph_input = helper.make_tensor_value_info(source.name, dtype, input_shape)
        self.values[0] = Value(source.name, len(input_shape), KERAS, {KERAS: source.name})
        if dtype != TensorProto.FLOAT:
            self.layer, self.layer_start = source.name, len(self.nodes)
            cast = self.op("Cast", [source.name], name=f"{source.name}/Cast", to=TensorProto.FLOAT)
            self.values[0].names[KERAS] = cast
        for op in self.plan.ops:
            self.layer, self.layer_start = op.name, len(self.nodes)
            self.main_named = False
            name, layout = getattr(self, op.kind)(op)
            self.finish(op, self.activate(name, op.activation, layout), layout)
        out_node = model.nodes[model.output]
        self.layer, self.layer_start = out_node.name, len(self.nodes)
        output = self.get(model.output, KERAS)
        out_shape = [BATCH, *(out_node.output_shape or ())]
        graph_output = helper.make_tensor_value_info(output, TensorProto.FLOAT, out_shape)
        file = Path(model.span.file).name
        graph = helper.make_graph(
            self.nodes,
            model.name,
            [graph_input],
            [graph_output],
            value_info=self.value_info({source.name, output}),
            doc_string=f"Model '{model.name}' of {file}, compiled by specc {specc.__version__}",
        )
        opsets = [helper.make_opsetid("", self.opset)]
        proto = helper.make_model(
            graph,
            opset_imports=opsets,
            ir_version=helper.find_min_ir_version_for(opsets),
            producer_name="specc",
            producer_version=specc.__version__,
            doc_string=f"{model.name}: NHWC input {input_shape[1:]}, NHWC output {out_shape[1:]}",
        )
        helper.set_model_props(
            proto,
            {"specc.source": file, "specc.model": model.name, "specc.version": specc.__version__},
        )
        # The weights go in last, one at a time, each freed once copied: a large
        # model's weights are never held three times (tensors, graph, model).
        self.initializers.reverse()
        while self.initializers:
            proto.graph.initializer.append(self.initializers.pop())
        return proto

    def value_info(self, skip: set[str]) -> list[Any]:
        """specc's shape of every layer's output tensors (checked against ONNX's inference)."""
        from onnx import TensorProto, helper

        out = []
        for index, value in self.values.items():
            shape = list(self.model.nodes[index].output_shape or ())
            for layout, name in value.names.items():
                if name in skip or name not in (value.base, f"{value.base}/nchw"):
                    continue
                if layout == NCHW:
                    shape_here = [BATCH, shape[2], shape[0], shape[1]]
                else:
                    shape_here = [BATCH, *shape]
                out.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape_here))
        return out


def emit_onnx(
    model: Model, weights: dict[str, np.ndarray], opset: int | None = None
) -> onnx.ModelProto:
    """The ONNX graph of ``model`` with ``weights`` (Keras names and layouts, as loaded).

    Raises :class:`specc.diagnostics.SpeccError` (E607) for what ONNX cannot
    express, and ``ValueError`` for an opset outside ``MIN_OPSET..MAX_OPSET``.
    """
    opset = DEFAULT_OPSET if opset is None else opset
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be between {MIN_OPSET} and {MAX_OPSET}, received {opset}")
    return OnnxEmitter(model, weights, opset).emit()


def initializer_bytes(proto: onnx.ModelProto) -> int:
    """Total size of the graph's initializers."""
    return sum(len(t.raw_data) or t.ByteSize() for t in proto.graph.initializer)


def save_onnx(
    proto: onnx.ModelProto,
    path: str | Path,
    external_threshold: int = EXTERNAL_DATA_THRESHOLD,
    check: bool = True,
) -> list[str]:
    """Check and write ``proto`` atomically; returns the files written.

    Weights over ``external_threshold`` bytes go to ONNX external data
    (``PATH.data`` beside the model), as protobuf cannot hold 2 GiB.
    """
    import onnx

    from specc.io import prepare_output, write_atomically

    if initializer_bytes(proto) <= external_threshold:
        if check:
            onnx.checker.check_model(proto, full_check=True)
        write_atomically(str(path), proto.SerializeToString())
        return [str(path)]
    target = Path(prepare_output(path))
    data_name = f"{target.name}.data"
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", dir=target.parent) as tmp:
        staged = Path(tmp) / target.name
        copy = onnx.ModelProto()
        copy.CopyFrom(proto)
        onnx.save_model(
            copy,
            str(staged),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=1024,
        )
        if check:
            onnx.checker.check_model(str(staged), full_check=True)
        os.replace(Path(tmp) / data_name, target.parent / data_name)
        os.replace(staged, target)
    return [str(target), str(target.parent / data_name)]
