"""Helpers for the import tests: random weights for real models, and comparisons.

Models come from Keras (keras.applications, hand-built Sequential and
functional models) and from torchvision through ``torch.onnx.export``; the
imported spec is then compared with them, never with a copy of specc's own
arithmetic.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import specc
from specc.ir.graph import Model
from specc.ir.layers import lookup


def randomize_keras(model, seed: int = 0) -> None:
    """Every weight random, BatchNormalization's and Normalization's statistics included
    (kernels keep Keras's draw)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for weight in layer.weights:
            shape = tuple(weight.shape)
            name = weight.name.rsplit("/", 1)[-1].split(":")[0]  # Keras 2: "bn/gamma:0"
            if name in ("moving_variance", "gamma", "variance"):
                value = rng.uniform(0.5, 1.5, shape)
            elif name in ("moving_mean", "beta", "bias", "mean"):
                value = rng.normal(0.0, 0.1, shape)
            else:
                continue
            weight.assign(value.astype("float32"))


def randomize_torch(model, seed: int = 0) -> None:
    """BatchNorm statistics and affine parameters random, as a trained model has them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)


def export_onnx(model, x, path: Path) -> Path:
    """``torch.onnx.export`` of an eval-mode model (the TorchScript exporter, offline)."""
    import torch

    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17)
    return path


def assert_layers_match_keras(keras_model, model: Model) -> None:
    """Layer by layer: name, Keras class, output shape and params, in Keras's order."""
    built = [lay for lay in keras_model.layers if type(lay).__name__ != "InputLayer"]
    summary = specc.summary(model)["layers"]
    assert [lay.name for lay in built] == [entry["name"] for entry in summary]
    for lay, entry in zip(built, summary, strict=True):
        assert type(lay).__name__ == lookup(entry["kind"]).keras_class, lay.name
        assert list(lay.output.shape[1:]) == entry["output_shape"], lay.name
        assert lay.count_params() == entry["params"], lay.name
    assert keras_model.count_params() == model.total("params")


def assert_close_to_scale(got: np.ndarray, want: np.ndarray, tolerance: float) -> None:
    """``|got - want| <= tolerance * max|want|`` everywhere: the error against the output's scale."""
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = float(np.abs(want).max())
    error = float(np.abs(got - want).max())
    assert error <= tolerance * scale, f"max error {error:.3g} against output scale {scale:.3g}"


def nhwc(x: np.ndarray) -> np.ndarray:
    """An NCHW batch in Keras's NHWC layout."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
