"""ONNX merges and reshapes: Add/Mul/Concat, Flatten/Reshape, Dropout, Identity, Resize.

A merge of two feature maps is Keras's merge layer (broadcasting as ONNX does:
``(C, 1, 1)`` against ``(C, H, W)`` is ``1x1xC`` against ``HxWxC``); a
concatenation over channels is ``concatenate`` on the last axis.
"""

from __future__ import annotations

import numpy as np

from specc.codes import E704
from specc.importers.onnx_model import NodeError, Tensor

_MERGES = {
    "Add": "add",
    "Sum": "add",
    "Sub": "subtract",
    "Mul": "multiply",
    "Max": "maximum",
    "Min": "minimum",
    "Mean": "average",
}
_NONNEG_MERGES = ("add", "multiply", "maximum", "minimum", "average")


class ValueOps:
    """``op_<op in snake case>`` methods of :class:`~specc.importers.onnx_ops.Translator`."""

    # -- merges ------------------------------------------------------------------------

    def _merge(self, node) -> None:
        kind = _MERGES[node.op_type]
        if node.op_type == "Add" and self._bias_add(node):
            return
        tensors = [self.tensor(node, k) for k in range(len(node.input))]
        layouts = {(t.layout, t.chw, len(t.shape)) for t in tensors}
        if len(layouts) != 1:
            raise NodeError(E704, "combines tensors of different layouts or ranks")
        first = tensors[0]
        nonneg = all(t.nonneg for t in tensors) and kind in _NONNEG_MERGES
        inputs = [t.layer for t in tensors]
        if len(tensors) == 1:
            self.alias(node, first)
            return
        self.add_layer(node, kind, {}, inputs, layout=first.layout, nonneg=nonneg, chw=first.chw)

    op_add = op_sum = op_sub = op_mul = op_max = op_min = op_mean = _merge

    def _bias_add(self, node) -> bool:
        """``MatMul`` then ``Add`` of a constant vector: the dense layer's bias."""
        names = list(node.input)
        const = [n for n in names if n in self.constants]
        if len(names) != 2 or len(const) != 1:
            return False
        other = next(n for n in names if n != const[0])
        x = self.tensors.get(other)
        layer = self.by_name.get(x.layer) if x is not None else None
        bias = np.asarray(self.constants[const[0]]).reshape(-1)
        if (
            layer is None
            or layer.kind != "dense"
            or layer.params["use_bias"]
            or self.single_consumer(other) is None
            or bias.shape != (layer.params["units"],)
        ):
            return False
        layer.params["use_bias"] = True
        layer.weights.append(np.ascontiguousarray(bias, dtype=np.float32))
        self.alias(node, x)
        return True

    def op_concat(self, node) -> None:
        tensors = [self.tensor(node, k) for k in range(len(node.input))]
        if len(tensors) == 1:
            self.alias(node, tensors[0])  # torch.cat of one tensor
            return
        if {t.layout for t in tensors} - {"nchw", "plain"} or len({t.layout for t in tensors}) != 1:
            raise NodeError(E704, "joins flattened feature maps or tensors of different layouts")
        rank = len(tensors[0].shape) + 1
        axis = int(self.attr(node, "axis")) % rank
        if axis == 0:
            raise NodeError(E704, "joins along the batch axis")
        keras_axis = {1: -1, 2: 1, 3: 2}[axis] if tensors[0].layout == "nchw" else axis
        if keras_axis == rank - 1:
            keras_axis = -1
        nonneg = all(t.nonneg for t in tensors)
        layout = tensors[0].layout
        self.add_layer(
            node,
            "concatenate",
            {"axis": keras_axis},
            [t.layer for t in tensors],
            layout=layout,
            nonneg=nonneg,
        )

    # -- shapes ------------------------------------------------------------------------

    def _flatten(self, node, x: Tensor) -> None:
        if x.layout != "nchw":
            self.alias(node, x)
            return
        c, h, w = x.shape
        flat = (h, w) != (1, 1)
        self.add_layer(
            node,
            "flatten",
            {},
            [x.layer],
            layout="flat" if flat else "plain",
            nonneg=x.nonneg,
            chw=(c, h, w) if flat else None,
        )

    def op_flatten(self, node) -> None:
        if int(self.attr(node, "axis", 1)) != 1:
            raise NodeError(E704, "flattens from an axis other than 1")
        self._flatten(node, self.tensor(node))

    def op_reshape(self, node) -> None:
        x = self.tensor(node)
        out = self.out_shape(node)  # onnx's shape inference resolves the target shape
        if self.batch_of(node.output[0]) != 1:
            raise NodeError(E704, "reshapes across the batch axis")
        if out == x.shape:
            self.alias(node, x)
        elif len(out) == 1 and x.layout == "nchw":
            self._flatten(node, x)
        elif len(out) == 3 and out[1:] == (1, 1) and x.layout == "plain" and x.shape == out[:1]:
            self.add_layer(
                node, "reshape", {"target_shape": (1, 1, out[0])}, [x.layer], nonneg=x.nonneg
            )
        else:
            raise NodeError(
                E704,
                f"reshapes {x.shape} to {out} (batch left out), which reorders elements "
                "between NCHW and NHWC",
            )

    def op_identity(self, node) -> None:
        self.alias(node, self.tensor(node))

    def op_dropout(self, node) -> None:
        x = self.tensor(node)
        ratio = self.attr(node, "ratio", 0.5) if self.opset < 12 else self.const(node, 1, "ratio")
        if len(node.input) > 2 and node.input[2] and self.const(node, 2, "training_mode"):
            raise NodeError(E704, "is in training mode; export the model in eval mode")
        rate = 0.5 if ratio is None else float(np.asarray(ratio))
        self.add_layer(
            node, "dropout", {"rate": rate}, [x.layer], layout=x.layout, nonneg=x.nonneg, chw=x.chw
        )

    def op_resize(self, node) -> None:
        x = self.feature_map(node)
        out = self.out_shape(node)
        c, h, w = x.shape
        if out[0] != c or out[1] % h or out[2] % w:
            raise NodeError(E704, f"resizes {x.shape} to {out}; Keras upsamples by whole factors")
        size = (out[1] // h, out[2] // w)
        mode = self.attr(node, "mode", "nearest")
        transform = self.attr(node, "coordinate_transformation_mode", "half_pixel")
        if mode == "nearest":
            self._check_nearest(node, (h, w), size)
            interpolation = "nearest"
        elif mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel"):
            interpolation = "bilinear"
        else:
            raise NodeError(
                E704,
                f"resizes with mode={mode} and coordinate_transformation_mode={transform}; "
                "Keras upsamples nearest, or bilinear with half-pixel centers",
            )
        params = {"size": size, "interpolation": interpolation}
        self.add_layer(node, "upsampling2d", params, [x.layer], nonneg=x.nonneg)

    def _check_nearest(self, node, hw: tuple[int, int], size: tuple[int, int]) -> None:
        """onnx's reference Resize of an index map must repeat each cell (Keras's nearest)."""
        from onnx import helper

        probe = np.arange(hw[0] * hw[1], dtype=np.float32).reshape(1, 1, *hw)
        scales = np.array([1, 1, *size], dtype=np.float32)
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attributes.pop("axes", None)
        test = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attributes)
        result = self._evaluate_resize(test, probe, scales)
        expected = probe.repeat(size[0], axis=2).repeat(size[1], axis=3)
        if result.shape != expected.shape or not np.array_equal(result, expected):
            raise NodeError(
                E704,
                "picks nearest cells differently from Keras's nearest upsampling (a repeat)",
            )

    def _evaluate_resize(self, test, probe: np.ndarray, scales: np.ndarray) -> np.ndarray:
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        graph = helper.make_graph(
            [test],
            "probe",
            [
                helper.make_tensor_value_info("x", 1, probe.shape),
                helper.make_tensor_value_info("scales", 1, scales.shape),
            ],
            [helper.make_empty_tensor_value_info("y")],
        )
        model = helper.make_model(graph, opset_imports=list(self.model.opset_import))
        model.ir_version = self.model.ir_version
        return np.asarray(ReferenceEvaluator(model).run(None, {"x": probe, "scales": scales})[0])
