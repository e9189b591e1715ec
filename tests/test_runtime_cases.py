"""Cases for the runtime agreement tests: examples and random specs, each with Keras's answer.

A case is a checked model, weights (``specc.weights.init_weights`` with the
biases and BatchNormalization statistics perturbed, so that every weight
matters), an input batch and the output of the real Keras model
(``keras_reference.build_keras_model``) holding those weights. Cases are built
once per test session and shared by the backend tests.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import EXAMPLES, require

from specc.check import check_source
from specc.ir.graph import Model
from specc.ir.layers import KINDS

RANDOM_SPECS = 120  # the issue asks for at least 100

# Options rare in random specs, each written out (Keras still computes the answer).
OPTION_SPECS = """
model grouped { input 9x9x8
  conv2d 12 3x3 groups=4 padding=same strides=2 activation=gelu
  conv2d 24 5x5 groups=12 padding=same activation=swish
  conv2d 6 (2, 4) groups=2 padding=same dilation_rate=2 activation=selu
  conv2d 6 1x1 groups=3 use_bias=false }
model depthwise { input 11x10x4
  depthwiseconv2d 3x3 depth_multiplier=3 strides=2 padding=same activation=relu6
  depthwiseconv2d (2, 3) dilation_rate=(2, 1) padding=same activation=mish
  depthwiseconv2d 4x4 strides=3 dilation_rate=2 padding=same
  separableconv2d 5 3x3 depth_multiplier=2 padding=same activation=softplus }
model norm_activations { input 12x10x6
  conv2d 8 3x3 same use_bias=false name=c
  batchnorm
  relu_layer 6.0
  depthwiseconv2d 3x3 same use_bias=false
  batchnorm
  relu_layer
  concatenate @c
  batchnorm
  activation swish
  conv2d 4 1x1
  relu_layer 6.0 negative_slope=0.1 }
model separable { input 13x12x3
  separableconv2d 4 (3, 2) strides=(2, 1) padding=valid activation=elu
  separableconv2d 6 2x2 depth_multiplier=2 dilation_rate=2 padding=same
  separableconv2d 5 3x3 strides=2 dilation_rate=2 padding=same use_bias=false }
model transposed { input 5x6x3
  conv2dtranspose 4 3x3 strides=2 padding=same activation=tanh
  conv2dtranspose 3 (4, 3) strides=(2, 3) padding=valid output_padding=(1, 2)
  conv2dtranspose 2 2x2 strides=3 padding=same output_padding=(2, 1)
  conv2dtranspose 2 3x3 dilation_rate=2 padding=same
  conv2dtranspose 2 (2, 5) strides=2 padding=valid use_bias=false }
model pooling { input 13x11x3
  maxpool 3x3 strides=2 padding=same
  avgpool (2, 3) strides=(1, 2) padding=same
  avgpool 2x2 strides=1 padding=valid
  maxpool (3, 1) strides=(2, 1) padding=valid
  globalmaxpool keepdims=true
  flatten }
model resizes { input 4x5x2
  concatenate {
    path { upsample (2, 3) interpolation=bilinear }
    path { upsample (2, 3) interpolation=bicubic }
    path { upsample (2, 3) interpolation=nearest }
  }
  globalavgpool keepdims=true }
model resizes_not_in_onnx { input 4x5x2
  concatenate {
    path { upsample (2, 3) interpolation=area }
    path { upsample (2, 3) interpolation=lanczos3 }
    path { upsample (2, 3) interpolation=lanczos5 }
  } }
model merges { input 6x6x4
  conv2d 4 3x3 same name=a
  conv2d 4 1x1 name=b
  add @a @b
  multiply @a @b
  average @a @b
  maximum @a @b
  minimum @a @b
  subtract @a
  concatenate @a @b axis=1
  batchnorm axis=2 epsilon=0.01
  batchnorm axis=1 center=false scale=false
  zeropad ((1, 2), (0, 3))
  reshape (-1, 12)
  dense 3 hard_sigmoid
  activation log_softmax }
model fused_pooling { input 28x23x3
  conv2d 16 3x3 strides=(2, 1) activation=relu6
  maxpool 2
  conv2d 16 3x3
  maxpool 2 padding=same
  conv2d 12 3x3 padding=same groups=4 activation=relu
  maxpool 2 }
model fused_pooling_odd { input 9x11x16
  conv2d 8 3x3 padding=same activation=relu
  maxpool 2
  conv2d 8 (2, 2) padding=same dilation_rate=(1, 2) activation=sigmoid
  maxpool 2 }
model activations { input 16
  dense 8 sigmoid
  dense 8 exponential
  dense 8 softsign
  dense 8 swish
  dense 8 hard_silu
  dense 8 leaky_relu
  dense 8 silu
  dense 8 softmax }
"""
FLOAT_MAX = float(np.finfo(np.float32).max)


@dataclass
class Case:
    """One model with weights, an input and Keras's output."""

    name: str
    model: Model
    weights: dict[str, np.ndarray]
    x: np.ndarray
    expected: np.ndarray


def _weights(model: Model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    from specc.weights import init_weights

    weights = init_weights(model, seed=int(rng.integers(1 << 30)))
    for key, array in weights.items():
        kind = key.rsplit("/", 1)[1]
        if kind in ("moving_variance", "variance"):
            weights[key] = rng.uniform(0.5, 2.0, array.shape).astype(np.float32)
        elif kind in ("bias", "beta", "moving_mean", "gamma", "mean", "alpha"):
            weights[key] = (array + rng.normal(0, 0.3, array.shape)).astype(np.float32)
    return weights


def make_case(name: str, model: Model, seed: int, batch: int = 2) -> Case:
    """Keras's output for ``model`` with perturbed weights."""
    from keras_reference import build_keras_model

    rng = np.random.default_rng(seed)
    keras_model = build_keras_model(model)
    weights = _weights(model, rng)
    for layer in keras_model.layers:
        arrays = [weights[f"{layer.name}/{w.name}"] for w in layer.weights]
        if arrays:
            layer.set_weights(arrays)
            if hasattr(layer, "finalize_state"):  # Normalization copies its weights
                layer.finalize_state()
    x = rng.standard_normal((batch, *model.input.output_shape)).astype(np.float32)
    expected = np.asarray(keras_model(x, training=False), dtype=np.float32)
    return Case(name, model, weights, x, expected)


@functools.cache
def example_cases() -> list[Case]:
    """Every model of every example."""
    require("tensorflow")
    cases = []
    for path in EXAMPLES:
        result = check_source(path.read_text(), str(path))
        for model in result.models:
            cases.append(make_case(f"{path.stem}:{model.name}", model, seed=len(cases)))
    return cases


@functools.cache
def option_cases() -> list[Case]:
    """The models of :data:`OPTION_SPECS`."""
    require("tensorflow")
    result = check_source(OPTION_SPECS, "options.cnn")
    assert not result.errors, result.errors
    cases = []
    for model in result.models:
        cases.append(make_case(f"option:{model.name}", model, seed=100 + len(cases)))
    return cases


@functools.cache
def random_cases() -> list[Case]:
    """``RANDOM_SPECS`` random specs of tests/specgen.py (seeds 0, 1, ...)."""
    require("tensorflow")
    from specgen import generate_spec

    cases: list[Case] = []
    for seed in range(RANDOM_SPECS):
        result = check_source(generate_spec(seed), f"random{seed}.cnn")
        assert not result.errors, (seed, result.errors)
        cases.append(make_case(f"random{seed}", result.model(), seed))
    return cases


def assert_agrees(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """float32 agreement: rtol 1e-5 and atol 1e-5 x the output's scale.

    Values beyond float32's range compare as the largest float (an ``exponential``
    chain may overflow to inf in one runtime and stop just short in another).
    """
    assert actual.shape == expected.shape, what
    assert actual.dtype == np.float32, what
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max(initial=0.0)))
    np.testing.assert_allclose(
        np.clip(actual, -FLOAT_MAX, FLOAT_MAX),
        np.clip(expected, -FLOAT_MAX, FLOAT_MAX),
        rtol=1e-5,
        atol=1e-5 * scale,
        err_msg=what,
    )


# float32's unit roundoff: every rounded operation is off by at most this fraction.
UNIT_ROUNDOFF = 2.0**-24
# How many standard deviations of rounding noise a reordering may show (see below).
ROUNDING_SIGMAS = 5.0


def reduction_lengths(model: Model) -> list[int]:
    """Terms of each sum of products the model computes: K of each convolution and dense.

    A layer's MACs per output element is the length of the dot product behind
    each output (kernel window x input channels / groups for a convolution,
    inputs for dense).
    """
    return [
        node.macs // math.prod(node.output_shape)
        for node in model.nodes[1:]
        if node.macs and node.output_shape
    ]


def reassociation_atol(lengths: list[int], reference: np.ndarray) -> float:
    """How far two float32 runs of the same computation may drift when only sum orders differ.

    Chunks, micro-batches and threads change the shapes handed to BLAS, and
    BLAS picks its blocking and kernels (AVX2, AVX-512, small-matrix paths)
    from the shapes and the CPU, so the K products of each dot product are
    added in another order. Each order's rounding error is a sum of K
    roundings of size <= u * |partial sum|; modelled as independent, mean-zero
    (Higham and Mary, "A new approach to probabilistic rounding error
    analysis", SIAM J. Sci. Comput. 2019), it stays below
    lambda * sqrt(K) * u * scale with probability >= 1 - 2 exp(-lambda^2 / 2)
    (lambda = 5: 7e-6 per element). Layers add their own independent errors,
    which the next layers carry on at about the activations' scale, so over
    the network sqrt(sum K) replaces sqrt(K); two runs differ by at most twice
    one run's error. Scale: the largest output, at least 1 (as assert_agrees).
    A real chunking bug (a row shifted, a sample mixed with another) moves
    outputs by the scale itself, orders of magnitude above this.
    """
    finite = np.abs(reference[np.isfinite(reference)])
    scale = max(1.0, float(finite.max(initial=0.0)))
    return 2 * ROUNDING_SIGMAS * math.sqrt(sum(lengths)) * UNIT_ROUNDOFF * scale


def test_random_specs_cover_every_kind_and_option():
    """Random cases hold every layer kind; with the option specs, every option the issue names."""
    models = [case.model for case in random_cases()]
    assert len(models) >= 100
    assert {node.kind for model in models for node in model.nodes[1:]} == set(KINDS)
    models += [case.model for case in option_cases()]
    nodes = [node for model in models for node in model.nodes[1:]]
    layers = [node.layer for node in nodes]

    def some(pred) -> bool:
        return any(pred(layer) for layer in layers)

    assert some(lambda lay: max(getattr(lay, "strides", None) or (1, 1)) > 1)
    assert some(
        lambda lay: (
            getattr(lay, "padding", None) == "same"
            and any(k % 2 == 0 for k in getattr(lay, "kernel_size", (1, 1)))
        )
    )
    assert some(lambda lay: max(getattr(lay, "dilation_rate", (1, 1))) > 1)
    assert some(lambda lay: getattr(lay, "groups", 1) > 1)
    assert some(lambda lay: getattr(lay, "depth_multiplier", 1) > 1)
    assert some(
        lambda lay: lay.kind in ("maxpooling2d", "averagepooling2d") and lay.padding == "same"
    )
    assert some(lambda lay: lay.kind == "conv2dtranspose" and max(lay.strides) > 1)
    for method in ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"):
        assert some(lambda lay, m=method: lay.kind == "upsampling2d" and lay.interpolation == m)
    assert some(lambda lay: lay.kind == "conv2dtranspose" and lay.output_padding is not None)
    assert some(lambda lay: lay.kind == "batchnormalization" and lay.axis != -1)
    from specc.ir.values import ACTIVATIONS

    used = {getattr(lay, "activation", None) for lay in layers}
    assert set(ACTIVATIONS) <= used


@pytest.mark.parametrize("index", range(3))
def test_cases_are_not_trivial(index):
    """Keras's outputs vary with the input (a constant output would prove nothing)."""
    case = example_cases()[index]
    assert np.ptp(case.expected) > 0
