"""``specc run --taps``: intermediate outputs of the numpy runtime.

Ground truth: Keras's own ``keras.Model(inputs, layer.output)`` for each layer,
with the same weights (tests/keras_reference.py builds the model from the IR).
Tapping a convolution that the runtime fuses with its max pooling, or whose
relu it defers past the pooling, must still give the convolution's own output.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, require
from test_runtime_cases import _weights, assert_agrees

import specc
from specc.cli import main
from specc.lower.passes import CONV_MAXPOOL
from specc.runtime.numpy_backend import NumpyBackend
from specc.weights import init_weights, load_weights, save_weights

EXAMPLES = ["cifar10_cnn", "tiny_resnet", "inception_mini", "mnist_cnn"]


def _model(name: str):
    return specc.load(str(ROOT / "examples" / f"{name}.cnn")).model()


@pytest.mark.keras
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_tap_equals_the_keras_layer_output(example):
    require("tensorflow")
    import keras
    from keras_reference import build_keras_model

    model = _model(example)
    rng = np.random.default_rng(7)
    weights = _weights(model, rng)
    reference = build_keras_model(model)
    for layer in reference.layers:
        arrays = [weights[f"{layer.name}/{w.name}"] for w in layer.weights]
        if arrays:
            layer.set_weights(arrays)
    x = rng.uniform(0, 255, (3, *model.input.output_shape)).astype(np.float32)
    names = [node.name for node in model.layers]
    output, taps = NumpyBackend(model, weights, taps=names).with_taps(x)
    probe = keras.Model(reference.input, [reference.get_layer(n).output for n in names])
    expected = probe(x, training=False)
    for name, want in zip(names, expected, strict=True):
        assert_agrees(taps[name], np.asarray(want, dtype=np.float32), f"{example}: tap {name}")
    assert_agrees(output, np.asarray(reference(x, training=False)), f"{example}: output")


def test_a_tapped_convolution_is_neither_fused_nor_deferred():
    model = _model("cifar10_cnn")
    conv, conv_1 = model.node("conv2d").index, model.node("conv2d_1").index
    weights = init_weights(model, seed=3)

    def fused(backend: NumpyBackend) -> set[int]:
        return {op.nodes[0].index for op in backend.plan.ops if op.kind == CONV_MAXPOOL}

    assert conv in fused(NumpyBackend(model, weights))  # the untapped runtime fuses this one
    backend = NumpyBackend(model, weights, taps=["conv2d"])
    tapped = next(op for op in backend.plan.ops if op.nodes[0].index == conv)
    assert tapped.kind == "conv2d" and tapped.activation == "relu"  # neither fused nor deferred
    assert conv_1 in fused(backend)  # the others stay fused
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    output, taps = backend.with_taps(x)
    assert taps["conv2d"].min() >= 0  # relu applied to the tap itself
    np.testing.assert_allclose(output, NumpyBackend(model, weights)(x), rtol=1e-5, atol=1e-5)
    # The unfused pass: the conv output's 2x2 maximum is the next layer's input.
    pooled = taps["conv2d"].reshape(2, 16, 2, 16, 2, 32).max(axis=(2, 4))
    _, again = NumpyBackend(model, weights, taps=["max_pooling2d"]).with_taps(x)
    np.testing.assert_allclose(pooled, again["max_pooling2d"], rtol=1e-5, atol=1e-4)


def test_the_input_can_be_tapped():
    model = _model("mnist_cnn")
    x = np.random.default_rng(2).uniform(0, 255, (2, *model.input.output_shape))
    backend = NumpyBackend(model, init_weights(model), taps=["input_layer"])
    output, taps = backend.with_taps(x.astype(np.float32))
    np.testing.assert_array_equal(taps["input_layer"], x.astype(np.float32))
    np.testing.assert_array_equal(output, backend(x.astype(np.float32)))


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["run", *argv])
    return code, capsys.readouterr().err


def test_run_taps_writes_one_array_per_layer(tmp_path, capsys):
    spec = str(ROOT / "examples" / "cifar10_cnn.cnn")
    model = _model("cifar10_cnn")
    weights = tmp_path / "w.npz"
    save_weights(weights, init_weights(model, seed=1))
    x = np.random.default_rng(1).uniform(0, 255, (70, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "taps.npz"
    argv = [spec, "-i", str(tmp_path / "x.npy"), "-w", str(weights), "-o", str(out)]
    code, err = _cli(capsys, *argv, "--taps", "conv2d,max_pooling2d", "--taps", "dense")
    assert code == 0, err
    with np.load(out) as saved:
        assert list(saved.files) == ["conv2d", "max_pooling2d", "dense"]
        _, direct = NumpyBackend(
            model, load_weights(weights, model), taps=["conv2d", "max_pooling2d", "dense"]
        ).with_taps(x)
        for name in saved.files:
            np.testing.assert_allclose(saved[name], direct[name], rtol=1e-5, atol=1e-4)
    assert _cli(capsys, *argv, "--taps", "conv2d,max_pooling2d,dense", "--batch-size", "16")[0] == 0
    with np.load(out) as saved:
        np.testing.assert_allclose(saved["dense"], direct["dense"], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("extra", "code", "needle"),
    [
        (["--taps", "conv2x", "-o", "{out}"], "E611", "did you mean 'conv2d'"),
        (["--taps", "conv2d", "-o", "{out}", "--backend", "onnxruntime"], "E614", "numpy"),
        (["--taps", "conv2d", "-o", "{dir}/taps.npy"], "E614", "TAPS.npz"),
        (["--taps", "conv2d"], "E614", "TAPS.npz"),
    ],
)
def test_bad_taps_are_coded_and_write_nothing(tmp_path, capsys, extra, code, needle):
    np.save(tmp_path / "x.npy", np.zeros((32, 32, 3), np.float32))
    spec = str(ROOT / "examples" / "cifar10_cnn.cnn")
    out = str(tmp_path / "taps.npz")
    argv = [a.format(out=out, dir=tmp_path) for a in extra]
    status, err = _cli(capsys, spec, "-i", str(tmp_path / "x.npy"), *argv)
    assert status == 2
    assert f"error[{code}]" in err and needle in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
