"""ONNX activations as Keras activations or Keras's activation layers.

An activation Keras's ``Activation`` computes exactly (``Relu``, ``Elu`` of
alpha 1, ``LeakyRelu`` of slope 0.2, ``Clip(0, 6)``) is an ``activation``
layer, which the fusion pass folds into the convolution or dense layer
before it; ``x * sigmoid(x)`` is ``silu``. Other parameters take the layer
class that holds them: ``LeakyRelu`` of any slope >= 0 is ``leakyrelu``,
``Elu`` is ``elu_layer``, ``Clip(0, m)`` is ``relu_layer m``, ``PRelu`` of a
constant slope is ``prelu`` (its slope laid out as the NHWC input, shared
where it broadcasts), ``HardSigmoid(alpha, beta)`` is ``rescaling alpha
beta`` and ``relu_layer 1.0``, and a ``Softmax`` over other axes than the
channels is ``softmax_layer``.
"""

from __future__ import annotations

import math

import numpy as np

from specc.codes import E704
from specc.importers.onnx_model import NodeError

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
_SELU = {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}
_NCHW_TO_NHWC = {1: 3, 2: 1, 3: 2}  # ONNX's axis (batch 0) to the spec's


def _number(value) -> float:
    """A float32 value as its shortest decimal (0.1, not 0.10000000149)."""
    return float(str(np.float32(value)))


class ActivationOps:
    """``op_<op in snake case>`` methods of :class:`~specc.importers.onnx_ops.Translator`."""

    def _layer(self, node, kind: str, params: dict, nonneg: bool = False, weights=()) -> None:
        x = self.tensor(node)
        self.add_layer(
            node, kind, params, [x.layer], weights, layout=x.layout, nonneg=nonneg, chw=x.chw
        )

    def _activation(self, node, name: str, nonneg: bool = False) -> None:
        self._layer(node, "activation", {"activation": name}, nonneg)

    def _unary(self, node) -> None:
        self._activation(node, *_UNARY[node.op_type])

    op_relu = op_tanh = op_softplus = op_softsign = op_hard_swish = op_exp = op_mish = _unary

    def op_leaky_relu(self, node) -> None:
        slope = float(self.attr(node, "alpha", 0.01))
        if slope == 0.2:  # the leaky_relu activation's slope
            self._activation(node, "leaky_relu")
        elif slope >= 0:
            self._layer(node, "leakyrelu", {"negative_slope": slope}, slope == 0)
        else:
            raise NodeError(
                E704, f"has alpha={slope}; Keras's LeakyReLU takes a slope >= 0", "use a PRelu"
            )

    def op_elu(self, node) -> None:
        alpha = float(self.attr(node, "alpha", 1.0))
        if alpha == 1.0:
            self._activation(node, "elu")
        else:
            self._layer(node, "elu_layer", {"alpha": alpha})

    def op_selu(self, node) -> None:
        for attribute, keras in _SELU.items():
            value = float(self.attr(node, attribute, keras))
            if not math.isclose(value, keras, rel_tol=1e-6):
                raise NodeError(
                    E704,
                    f"has {attribute}={value}; Keras's selu has {keras}, and no Keras layer "
                    "takes another",
                )
        self._activation(node, "selu")

    def op_hard_sigmoid(self, node) -> None:
        alpha = float(self.attr(node, "alpha", 0.2))
        beta = float(self.attr(node, "beta", 0.5))
        if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
            self._activation(node, "hard_sigmoid", True)  # relu6(x + 3) / 6
            return
        x = self.tensor(node)  # max(0, min(1, alpha * x + beta))
        params = {"scale": alpha, "offset": beta}
        scaled = self.add_layer(node, "rescaling", params, [x.layer], suffix="_scale")
        self.add_layer(node, "relu_layer", {"max_value": 1.0}, [scaled.layer], nonneg=True)

    def op_gelu(self, node) -> None:
        if self.attr(node, "approximate", "none") != "none":
            raise NodeError(E704, "is the tanh approximation of gelu; Keras's gelu is exact")
        self._activation(node, "gelu")

    def op_clip(self, node) -> None:
        low = self.attr(node, "min", None) if self.opset < 11 else self.const(node, 1, "minimum")
        high = self.attr(node, "max", None) if self.opset < 11 else self.const(node, 2, "maximum")
        low = None if low is None else _number(np.asarray(low))
        high = None if high is None or np.isinf(high) else _number(np.asarray(high))
        if low != 0.0 or (high is not None and high < 0):
            raise NodeError(
                E704,
                f"clips to [{low}, {high}]; Keras's ReLU clips from 0 to a maximum >= 0",
            )
        if high == 6.0:
            self._activation(node, "relu6", True)
        elif high is None:
            self._activation(node, "relu", True)
        else:
            self._layer(node, "relu_layer", {"max_value": high}, True)

    def op_p_relu(self, node) -> None:
        x = self.tensor(node)
        slope = self.const(node, 1, "slope")
        if slope is None:
            raise NodeError(E704, "has no slope")
        slope = np.asarray(slope, dtype=np.float32)
        rank = len(x.shape)
        if slope.ndim == rank + 1 and slope.shape[0] == 1:
            slope = slope[0]
        if slope.ndim > rank:
            raise NodeError(E704, f"has a slope of shape {slope.shape} for input {x.shape}")
        slope = slope.reshape((1,) * (rank - slope.ndim) + slope.shape)
        if x.layout == "nchw":
            slope = slope.transpose(1, 2, 0)
            shape = (x.shape[1], x.shape[2], x.shape[0])
        elif x.layout == "flat" and slope.size > 1:
            c, h, w = x.chw  # type: ignore[misc]
            slope = slope.reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
            shape = x.shape
        else:
            shape = x.shape
        shared = tuple(
            i + 1 for i, (s, n) in enumerate(zip(slope.shape, shape, strict=True)) if s == 1 < n
        )
        params = {"shared_axes": shared} if shared else {}
        self._layer(node, "prelu", params, weights=[slope])

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
        rank = len(x.shape) + 1
        axis = int(self.attr(node, "axis", -1 if self.opset >= 13 else 1)) % rank
        # before opset 13, Softmax coerces its input to 2-D: it normalizes axis and all after
        onnx_axes = [axis] if self.opset >= 13 else list(range(axis, rank))
        if 0 in onnx_axes:
            raise NodeError(E704, f"takes its {name} over the batch axis")
        if x.layout == "nchw":
            axes = sorted(_NCHW_TO_NHWC[a] for a in onnx_axes)
        elif x.layout == "flat" and rank == 2:
            axes = [1]  # one axis in either element order: the same values, the same order
        else:
            axes = onnx_axes
        if axes == [rank - 1]:
            self._activation(node, name, name == "softmax")
        elif name == "softmax":
            keras_axes = [-1 if a == rank - 1 else a for a in axes]
            axis_param = keras_axes[0] if len(keras_axes) == 1 else tuple(keras_axes)
            self._layer(node, "softmax_layer", {"axis": axis_param}, True)
        else:
            raise NodeError(
                E704, f"takes its {name} over ONNX axes {onnx_axes}; Keras's is over the channels"
            )

    def op_softmax(self, node) -> None:
        self._softmax(node, "softmax")

    def op_log_softmax(self, node) -> None:
        self._softmax(node, "log_softmax")
