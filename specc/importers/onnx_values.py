"""Element-wise ONNX ops, merges and reshapes: activations, Add/Mul/Concat, Flatten, Pad, Resize.

An activation is an ``activation`` layer (the fusion pass folds it into the
convolution or dense layer before it); ``x * sigmoid(x)`` is ``silu``. A
merge of two feature maps is Keras's merge layer (broadcasting as ONNX does:
``(C, 1, 1)`` against ``(C, H, W)`` is ``1x1xC`` against ``HxWxC``); a
concatenation over channels is ``concatenate`` on the last axis.
"""

from __future__ import annotations

import math

import numpy as np

from specc.codes import E704
from specc.importers.onnx_model import NodeError, Tensor

# op type -> (activation, its output is >= 0)
_UNARY = {
    "Relu": ("relu", True),
    "Tanh": ("tanh", False),
    "Softplus": ("softplus", True),
    "Softsign": ("softsign", False),
    "HardSwish": ("hard_silu", False),
    "Exp": ("exponential", True),
    "Mish": ("mish", False),
}
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

    def _activation(self, node, name: str, nonneg: bool = False) -> None:
        x = self.tensor(node)
        self.add_layer(
            node,
            "activation",
            {"activation": name},
            [x.layer],
            layout=x.layout,
            nonneg=nonneg,
            chw=x.chw,
        )

    def _check(self, node, attribute: str, expected: float, default: float, keras: str) -> None:
        value = float(self.attr(node, attribute, default))
        if not math.isclose(value, expected, rel_tol=1e-5):
            raise NodeError(
                E704,
                f"has {attribute}={value}; Keras's {keras} has {expected}",
                "the configurable activation layers come with the language's next version",
            )

    def _unary(self, node) -> None:
        self._activation(node, *_UNARY[node.op_type])

    op_relu = op_tanh = op_softplus = op_softsign = op_hard_swish = op_exp = op_mish = _unary

    def op_leaky_relu(self, node) -> None:
        self._check(node, "alpha", 0.2, 0.01, "leaky_relu")
        self._activation(node, "leaky_relu")

    def op_elu(self, node) -> None:
        self._check(node, "alpha", 1.0, 1.0, "elu")
        self._activation(node, "elu")

    def op_selu(self, node) -> None:
        self._check(node, "alpha", 1.67326319217681884765625, 1.67326319217681884765625, "selu")
        self._check(node, "gamma", 1.05070102214813232421875, 1.05070102214813232421875, "selu")
        self._activation(node, "selu")

    def op_hard_sigmoid(self, node) -> None:
        self._check(node, "alpha", 1 / 6, 0.2, "hard_sigmoid")
        self._check(node, "beta", 0.5, 0.5, "hard_sigmoid")
        self._activation(node, "hard_sigmoid", True)

    def op_gelu(self, node) -> None:
        if self.attr(node, "approximate", "none") != "none":
            raise NodeError(E704, "is the tanh approximation of gelu; Keras's gelu is exact")
        self._activation(node, "gelu")

    def op_clip(self, node) -> None:
        low = self.attr(node, "min", None) if self.opset < 11 else self.const(node, 1, "minimum")
        high = self.attr(node, "max", None) if self.opset < 11 else self.const(node, 2, "maximum")
        low = None if low is None else float(np.asarray(low))
        high = None if high is None or np.isinf(high) else float(np.asarray(high))
        if low == 0.0 and high == 6.0:
            self._activation(node, "relu6", True)
        elif low == 0.0 and high is None:
            self._activation(node, "relu", True)
        else:
            raise NodeError(E704, f"clips to [{low}, {high}]; Keras's activations clip to [0, 6]")

    def op_sigmoid(self, node) -> None:
        x = node.input[0]
        reader = self.single_consumer(node.output[0])
        other = self.nodes[reader] if reader is not None else None
        if (
            other is not None
            and other.op_type == "Mul"
            and sorted(other.input) == sorted([x, node.output[0]])
        ):
            self.absorbed.add(reader)  # x * sigmoid(x) is silu
            t = self.tensor(node)
            self.add_layer(
                node,
                "activation",
                {"activation": "silu"},
                [t.layer],
                layout=t.layout,
                output=other.output[0],
            )
            return
        self._activation(node, "sigmoid", True)

    def _softmax(self, node, name: str) -> None:
        x = self.tensor(node)
        default = -1 if self.opset >= 13 else 1
        axis = int(self.attr(node, "axis", default))
        rank = len(x.shape) + 1
        if x.layout == "flat" or (axis % rank) != (1 if x.layout == "nchw" else rank - 1):
            raise NodeError(
                E704, f"takes its {name} over axis {axis}; Keras's is over the channels"
            )
        self._activation(node, name, name == "softmax")

    def op_softmax(self, node) -> None:
        self._softmax(node, "softmax")

    def op_log_softmax(self, node) -> None:
        self._softmax(node, "log_softmax")

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

    def op_pad(self, node) -> None:
        x = self.feature_map(node)
        if self.attr(node, "mode", "constant") != "constant":
            raise NodeError(E704, f"pads in mode {self.attr(node, 'mode')}; Keras pads with zeros")
        pads = self.attr(node, "pads", None) if self.opset < 11 else self.const(node, 1, "pads")
        value = self.attr(node, "value", 0.0) if self.opset < 11 else self.const(node, 2, "value")
        if len(node.input) > 3 and node.input[3]:
            raise NodeError(E704, "pads selected axes; specc pads height and width")
        p = [int(v) for v in np.asarray(pads).reshape(-1)]
        if value is not None and float(np.asarray(value)) != 0.0:
            raise NodeError(E704, f"pads with {float(np.asarray(value))}; Keras pads with zeros")
        if len(p) != 8 or p[0] or p[1] or p[4] or p[5] or min(p) < 0:
            raise NodeError(E704, f"pads {p}; specc pads only height and width, by >= 0")
        padding = ((p[2], p[6]), (p[3], p[7]))
        self.add_layer(node, "zeropadding2d", {"padding": padding}, [x.layer], nonneg=x.nonneg)

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
