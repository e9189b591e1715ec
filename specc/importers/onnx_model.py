"""ONNX models as specc layers: NCHW graphs rewritten in Keras's NHWC.

The model is loaded with onnx (no external data: a model never makes specc
read another file), checked with ``onnx.checker``, and its shapes inferred by
onnx's own shape inference. Constant subgraphs (the ``Shape -> Gather ->
Concat`` chains exporters write for a flatten, ``Clip`` bounds, ``Identity``
of weights) are evaluated by onnx's reference evaluator. Every other node is
translated by :mod:`specc.importers.onnx_ops`, which transposes kernels,
turns paddings Keras's ``same`` cannot express into an explicit
``zeropadding2d``, and permutes the rows of a dense kernel after a flatten,
so that the imported model computes the same function in NHWC.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from specc.codes import E701, E704, E705
from specc.diagnostics import SpeccError
from specc.importers.graph import ImportedLayer, ImportedModel, diagnostic, import_error
from specc.importers.keras_config import snake_case

MAX_ONNX_BYTES = 2 * 2**30  # protobuf's own limit for one message
MAX_FOLDED_ELEMENTS = 2**26  # a constant the reference evaluator may compute


@dataclass
class Tensor:
    """A value of the ONNX graph as the spec holds it.

    ``layout`` is ``nchw`` (a feature map, held by the spec in NHWC),
    ``plain`` (a vector, the same in both) or ``flat`` (a flattened feature
    map: ONNX orders it C, H, W, the spec H, W, C; ``chw`` says its shape).
    ``shape`` is ONNX's, batch axis left out. ``nonneg``: every value is >= 0
    (after a ReLU), so zeros may stand in for a max pooling's ignored padding.
    """

    layer: str
    layout: str
    shape: tuple[int, ...]
    nonneg: bool = False
    chw: tuple[int, int, int] | None = None


class NodeError(Exception):
    """A node specc cannot translate: the diagnostic's code and sentence."""

    def __init__(self, code: str, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.help = code, message, help


def load(path: str):
    """The ModelProto of ``path``, checked (E701 when it is not a readable ONNX model)."""
    import onnx
    from google.protobuf.message import DecodeError

    size = os.path.getsize(path)
    if size > MAX_ONNX_BYTES:
        raise import_error(E701, path, f"the file is {size:,} bytes, over ONNX's limit")
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise import_error(
            E701, path, f"not a readable ONNX model ({type(exc).__name__}: {exc})"
        ) from None
    if not model.graph.node or not model.opset_import:
        raise import_error(E701, path, "the file holds no ONNX graph")
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise import_error(
                E701,
                path,
                f"initializer '{tensor.name}' is stored in an external file; specc reads only "
                "the model file itself",
                "save the model with all tensors inside it (onnx.save without external data)",
            )
    try:
        onnx.checker.check_model(model)
        _fix_batch(model)
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        if _fold_constants(model):
            model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        return model
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise import_error(E701, path, f"the ONNX model is not valid: {first}") from None


def _fix_batch(model) -> None:
    """A batch axis left open (``dynamic_axes``) set to 1, so shapes computed from it fold.

    Every layer of a spec computes sample by sample; an op that reshapes across the
    batch axis shows up as an output whose first axis is not 1, which is refused.
    """
    initializers = {t.name for t in model.graph.initializer}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if value.name not in initializers and dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = 1
    del model.graph.value_info[:]  # shape inference writes them again, with the batch of 1


def _fold_constants(model) -> bool:
    """Constant subgraphs evaluated into initializers, so shape inference sees their values.

    torch writes a ``ZeroPad2d``'s pads as a chain (``ConstantOfShape -> Concat -> Slice
    -> Transpose -> Cast``) whose value onnx's shape inference does not propagate, which
    leaves every shape after the Pad open. A node is folded only where its inputs are
    constant and shape inference bounds its output; True if the graph changed.
    """
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    known = {t.name for t in graph.initializer}
    infos = {v.name: v for v in (*graph.value_info, *graph.output)}
    folded, kept = [], []
    for node in graph.node:
        size = _known_size(infos, node.output)
        if (
            node.domain in ("", "ai.onnx")
            and not node.op_type.startswith("Random")
            and all(n in known for n in node.input if n)
            and size is not None
            and size <= MAX_FOLDED_ELEMENTS
        ):
            folded.append(node)
            known.update(n for n in node.output if n)
        else:
            kept.append(node)
    needed = {n for node in kept for n in node.input} | {o.name for o in graph.output}
    outputs = [n for node in folded for n in node.output if n in needed]
    if not outputs:
        return False
    sub = helper.make_graph(
        folded,
        "fold",
        [],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        initializer=list(graph.initializer),
    )
    sub_model = helper.make_model(
        sub, opset_imports=list(model.opset_import), ir_version=model.ir_version
    )
    try:
        values = ReferenceEvaluator(sub_model).run(None, {})
    except Exception:  # the evaluator raises what its op raises; the translator reports it
        return False
    del graph.node[:]
    graph.node.extend(kept)
    for name, value in zip(outputs, values, strict=True):
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    del graph.value_info[:]
    return True


def _known_size(infos: dict[str, Any], names) -> int | None:
    """The elements of the values ``names`` together, as shape inference has them."""
    total = 0
    for name in names:
        info = infos.get(name)
        if info is None or not info.type.tensor_type.HasField("shape"):
            return None
        dims = info.type.tensor_type.shape.dim
        if any(not d.HasField("dim_value") for d in dims):
            return None
        total += int(np.prod([d.dim_value for d in dims], dtype=np.int64))
    return total


def static_shape(value_info) -> tuple[int, ...] | None:
    """The dims of a value_info, the first (batch) left out; None where one is unknown."""
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    dims = list(tensor_type.shape.dim)
    out = []
    for dim in dims[1:]:
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            return None
        out.append(dim.dim_value)
    return tuple(out)


def module_names(nodes) -> dict[int, str]:
    """A layer name for each node from the exporter's scope: ``/layer1/layer1.0/conv1/Conv``
    is torch's module ``layer1.0.conv1``, written ``layer1_0_conv1``; unique across the graph.
    """
    bases: dict[int, str] = {}
    scoped: set[int] = set()
    for i, node in enumerate(nodes):
        parts = [p for p in node.name.split("/") if p][:-1] if "/" in node.name else []
        path: list[str] = []
        for part in parts:
            if path and part.startswith(path[-1] + "."):
                path[-1] = part
            elif path and part.startswith(".".join(path) + "."):
                path = [part]
            else:
                path.append(part)
        base = re.sub(r"\W", "_", "_".join(path))
        if base and (base[0].isalpha() or base[0] == "_"):
            scoped.add(i)
        else:  # no scope, or torch.nn.Sequential's "0"
            base = snake_case(node.op_type) + (f"_{base}" if base else "")
        bases[i] = base
    counts = Counter(bases.values())
    out: dict[int, str] = {}
    taken: set[str] = set()
    for i, base in bases.items():
        name = base
        if counts[base] > 1 and i in scoped:  # one module, several ops: /layer1/Add, /layer1/Relu
            name = f"{base}_{snake_case(nodes[i].op_type)}"
        stem, n = name, 1
        while name in taken:
            name, n = f"{stem}_{n}", n + 1
        taken.add(name)
        out[i] = name
    return out


def read_onnx(path: str) -> ImportedModel:
    """An ONNX model as an :class:`ImportedModel` in Keras's layout (E70x otherwise)."""
    from specc.importers.onnx_fuse import fuse
    from specc.importers.onnx_ops import Translator

    model = load(path)
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise import_error(
            E705,
            path,
            f"the graph has {len(inputs)} inputs and {len(graph.output)} outputs; a spec has "
            "one of each",
        )
    translator = Translator(model, path, module_names(graph.node))
    source = inputs[0]
    if source.type.tensor_type.elem_type != 1:
        raise import_error(E704, path, f"input '{source.name}' is not float32")
    shape = static_shape(source)
    if shape is None or len(shape) not in (1, 3):
        raise import_error(
            E704,
            path,
            f"input '{source.name}' has no fixed shape of rank 2 or 4 (batch first)",
            "export the model with a fixed input size, such as (1, 3, 224, 224)",
        )
    input_name = "input_layer"
    if len(shape) == 3:
        translator.tensors[source.name] = Tensor(input_name, "nchw", shape)
        spec_shape: tuple[int, ...] = (shape[1], shape[2], shape[0])
    else:
        translator.tensors[source.name] = Tensor(input_name, "plain", shape)
        spec_shape = shape
    translator.run()
    output = translator.tensors.get(graph.output[0].name)
    if translator.problems:
        raise SpeccError(_grouped(translator.problems, path))
    if output is None or output.layer == input_name:
        raise import_error(E705, path, "the graph's output is not computed by any layer")
    if output.layout == "flat":
        raise import_error(
            E704,
            path,
            "the graph's output is a flattened feature map, whose element order differs "
            "between NCHW and NHWC",
        )
    notes = ["the input and output are in Keras's layout, NHWC"] if len(shape) == 3 else []
    layers, output_name = fuse(translator.layers, output.layer)
    return ImportedModel(
        name=os.path.splitext(os.path.basename(path))[0],
        source=path,
        description=_about(model),
        input_name=input_name,
        input_shape=spec_shape,
        layers=layers,
        output=output_name,
        notes=notes,
    )


def _about(model: Any) -> str:
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), "?")
    return f"ONNX opset {opset}" + (f", exported by {producer}" if producer else "")


def _grouped(problems: list[tuple[Any, NodeError]], path: str):
    seen: dict[tuple[str, str, str], list[str]] = {}
    first: dict[tuple[str, str, str], NodeError] = {}
    for node, problem in problems:
        key = (problem.code, node.op_type, problem.message)
        seen.setdefault(key, []).append(node.name or node.op_type)
        first.setdefault(key, problem)
    out = []
    for key, names in seen.items():
        message = f"node '{names[0]}' ({key[1]}) {key[2]}"
        if len(names) > 1:
            shown = ", ".join(names[1:4]) + (", ..." if len(names) > 4 else "")
            message += f" ({len(names) - 1} more {key[1]} nodes: {shown})"
        out.append(diagnostic(key[0], path, message, first[key].help))
    return out


def as_layer(
    name: str, kind: str, params: dict[str, Any], inputs: list[str], node, weights=()
) -> ImportedLayer:
    """An :class:`ImportedLayer` for the layer a node becomes."""
    return ImportedLayer(
        name=name,
        kind=kind,
        params=params,
        inputs=inputs,
        weights=[np.ascontiguousarray(w, dtype=np.float32) for w in weights],
        origin=f"node '{node.name or node.op_type}' ({node.op_type})",
    )
