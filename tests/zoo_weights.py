"""Random weights under which a deep zoo network is well conditioned.

Weights drawn at random leave each BatchNormalization's moving statistics
unrelated to what the layer receives, so activations shrink or grow layer
after layer. Deep networks then either forget their input (the output is the
biases' and BatchNormalization offsets' doing) or turn chaotic: in
EfficientNetV2L a change of 1e-6 in the input changes the output entirely, and
no two float32 computations of it agree. A trained network is neither, and
the weights here imitate one:

- the initializers' draws, with biases, gammas and betas perturbed so that
  each of them matters (``random_weights``);
- each residual branch's last BatchNormalization scaled by ``BRANCH_SCALE``,
  as deep residual networks start training with their branches near zero
  (Goyal et al. 2017 set that gamma to 0), so that a hundred blocks do not
  compound (``residual_branch_norms``); ConvNeXt's layer scales (1e-6 at
  initialization, which would silence the branches) drawn around it too;
- then each moving mean and variance set to those its layer receives over a
  batch of random images (``calibrate``). Nothing may change after that: the
  statistics of every layer follow from all the weights before it.
"""

from __future__ import annotations

import numpy as np

from specc.ir.graph import Model

BRANCH_SCALE = 0.1
BIAS_SPREAD = 1e-4  # without normalization (VGG) the signal reaching the logits is ~1e-3
CALIBRATION_BATCH = 16


def pixels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random images in [0, 255], what the applications' own preprocessing layers expect."""
    return rng.uniform(0.0, 255.0, shape).astype(np.float32)


def random_weights(model: Model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The initializers' draws, with every bias, gamma and beta perturbed, and the
    residual branches scaled down."""
    from specc.weights import init_weights

    weights = init_weights(model, seed=int(rng.integers(1 << 30)))
    for key, array in weights.items():
        kind = key.rsplit("/", 1)[1]
        if kind == "gamma":
            weights[key] = rng.uniform(0.5, 1.5, array.shape).astype(np.float32)
        elif kind == "beta":
            weights[key] = (array + rng.normal(0, 0.1, array.shape)).astype(np.float32)
        elif kind == "bias":
            weights[key] = (array + rng.normal(0, BIAS_SPREAD, array.shape)).astype(np.float32)
        elif kind.endswith("kernel") and array.size > 1 and np.all(array == array.flat[0]):
            # one constant (ConvNeXt's layer scale): drawn like the scaled branches
            weights[key] = (BRANCH_SCALE * rng.uniform(0.5, 1.5, array.shape)).astype(np.float32)
    for name in residual_branch_norms(model):
        for weight in ("gamma", "beta"):
            key = f"{name}/{weight}"
            weights[key] = (weights[key] * BRANCH_SCALE).astype(np.float32)
    return weights


def _chain(model: Model, index: int, consumers: dict[int, int]) -> list[int]:
    """The nodes from ``index`` back through single-input, single-consumer layers."""
    chain = [index]
    node = model.nodes[index]
    while len(node.inputs) == 1 and consumers.get(node.index, 0) == 1 and node.index > 0:
        node = model.nodes[node.inputs[0]]
        chain.append(node.index)
    return chain


def residual_branch_norms(model: Model) -> list[str]:
    """The BatchNormalization ending each residual branch: of an ``add``'s two inputs,
    the longer chain back to where they fork, through any dropout."""
    consumers: dict[int, int] = {}
    for node in model.layers:
        for i in node.inputs:
            consumers[i] = consumers.get(i, 0) + 1
    names = []
    for node in model.layers:
        if node.kind != "add" or len(node.inputs) != 2:
            continue
        chains = [_chain(model, i, consumers) for i in node.inputs]
        branch = max(chains, key=len)
        if len(branch) == min(len(c) for c in chains):
            continue  # two equal branches: neither is the residual
        for index in branch:
            kind = model.nodes[index].kind
            if kind == "batchnormalization":
                names.append(model.nodes[index].name)
            if kind != "dropout":
                break
    return names


def calibrate(keras_model, model: Model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``keras_model``'s weights, its normalization statistics taken from a batch.

    One pass in training mode with momentum 0 and dropout off sets every
    moving mean and variance to its input's.
    """
    from keras import layers
    from test_keras_emit_common import weights_of

    saved = []
    for layer in keras_model.layers:
        for cls, attribute in ((layers.BatchNormalization, "momentum"), (layers.Dropout, "rate")):
            if isinstance(layer, cls):
                saved.append((layer, attribute, getattr(layer, attribute)))
                setattr(layer, attribute, 0.0)
    keras_model(pixels(rng, (CALIBRATION_BATCH, *model.input.output_shape)), training=True)
    for layer, attribute, value in saved:
        setattr(layer, attribute, value)
    # Keras keeps Normalization's count as an int64; specc's weights are floats.
    return {key: array.astype(np.float32) for key, array in weights_of(keras_model).items()}
