"""``specc keras`` on the examples: the generated module, imported and run by real Keras.

For every example model the generated ``build_model()`` gives the layers, shapes
and parameter counts of specc's summary and the same layer configs as the
reference model built straight from the IR; ``load_weights`` makes it compute
the reference's outputs; ``compile_model``/``train`` run a training step; the
source passes ruff and equals its golden file byte for byte.
"""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, require
from test_keras_emit_common import (
    assert_matches_summary,
    assert_ruff_clean,
    assert_same_configs,
    emit_and_import,
    import_source,
    random_input,
    random_targets,
    weights_of,
)

import specc
from specc.cli import main
from specc.emit.keras import KerasEmitter, emit_keras
from specc.ir.layers import KINDS, LAYER_CLASSES

GOLDEN = ROOT / "tests" / "golden" / "keras"
MODELS = [(path, model.name) for path in EXAMPLES for model in specc.load(path).models]


def golden_path(path, name: str):
    """``tests/golden/keras/STEM.py`` (``STEM__MODEL.py`` for files with several models)."""
    several = len(specc.load(path).models) > 1
    return GOLDEN / (f"{path.stem}__{name}.py" if several else f"{path.stem}.py")


def test_every_kind_has_a_handler():
    emitter = KerasEmitter(specc.load(EXAMPLES[0]).models[0], "x.cnn")
    assert all(callable(emitter.handler(kind)) for kind in KINDS)
    with pytest.raises(AttributeError):
        emitter.handler("conv3d")


def test_positional_parameters_are_keras_leading_parameters():
    keras = require("keras")
    for cls in LAYER_CLASSES:
        signature = inspect.signature(getattr(keras.layers, cls.keras_class).__init__)
        leading = [p for p in signature.parameters if p != "self"][: len(cls.positional)]
        assert tuple(leading) == cls.positional, cls.kind


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each example model: (IR, generated module, generated Keras model)."""
    require("tensorflow")
    folder = tmp_path_factory.mktemp("examples")
    out = {}
    for path, name in MODELS:
        model = specc.load(path).model(name)
        module = emit_and_import(model, folder, path.name)
        out[name] = (model, module, module.build_model())
    return out


@pytest.mark.parametrize("path,name", MODELS, ids=[name for _, name in MODELS])
def test_example_builds_as_summarized(built, path, name):
    from keras_reference import build_keras_model

    model, _, keras_model = built[name]
    assert_matches_summary(keras_model, model)
    reference = build_keras_model(model)
    assert_same_configs(keras_model, reference)


@pytest.mark.parametrize("path,name", MODELS, ids=[name for _, name in MODELS])
def test_load_weights_gives_the_reference_outputs(built, path, name, tmp_path):
    from keras_reference import build_keras_model

    model, module, keras_model = built[name]
    reference = build_keras_model(model)
    arrays = weights_of(reference)
    np.savez(tmp_path / "w.npz", **arrays)
    module.load_weights(keras_model, str(tmp_path / "w.npz"))
    x = random_input(model, 2)
    expected = np.asarray(reference(x, training=False))
    got = np.asarray(keras_model(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_load_weights_names_layer_array_and_shapes(built, tmp_path):
    _, module, keras_model = built["tiny_resnet"]
    arrays = weights_of(keras_model)
    path = tmp_path / "w.npz"

    missing = {k: v for k, v in arrays.items() if k != "stem/bias"}
    np.savez(path, **missing)
    with pytest.raises(ValueError, match=r"layer 'stem' needs array 'stem/bias' of shape \(16,\)"):
        module.load_weights(keras_model, str(path))

    wrong = {**arrays, "dense/kernel": np.zeros((3, 10), "float32")}
    np.savez(path, **wrong)
    pattern = (
        r"'dense/kernel' of layer 'dense' has shape \(3, 10\), but the layer expects \(32, 10\)"
    )
    with pytest.raises(ValueError, match=pattern):
        module.load_weights(keras_model, str(path))

    extra = {**arrays, "ghost/kernel": np.zeros(2, "float32")}
    np.savez(path, **extra)
    before = [w.numpy().copy() for w in keras_model.weights]
    with pytest.raises(ValueError, match="no layer of the model has: ghost/kernel"):
        module.load_weights(keras_model, str(path))
    # Nothing was assigned: every array is checked before any is set.
    for old, w in zip(before, keras_model.weights, strict=True):
        np.testing.assert_array_equal(old, w.numpy())


def test_load_weights_reads_specc_init_output(built, tmp_path):
    """``specc init`` writes the weights format; the generated module reads it."""
    _, module, keras_model = built["small_vgg"]
    path = tmp_path / "w.npz"
    assert main(["init", str(ROOT / "examples" / "vgg_blocks.cnn"), "-o", str(path)]) == 0
    module.load_weights(keras_model, str(path))
    with np.load(path) as npz:
        np.testing.assert_array_equal(
            keras_model.get_layer("conv2d").weights[0].numpy(), npz["conv2d/kernel"]
        )


@pytest.mark.parametrize(
    "name", [name for path, name in MODELS if specc.load(path).model(name).compile]
)
def test_train_runs_one_epoch(built, name):
    model, module, keras_model = built[name]
    assert model.fit is None or module.FIT_SETTINGS == model.fit.kwargs
    history = module.train(
        keras_model, random_input(model, 8), random_targets(model, 8), epochs=1, verbose=0
    )
    assert keras_model.compiled
    assert len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0])


def test_generated_sources_pass_ruff(tmp_path):
    for path, name in MODELS:
        (tmp_path / f"{name}.py").write_text(emit_keras(specc.load(path).model(name), path.name))
    assert_ruff_clean(tmp_path)


def test_sequential_for_stacks_functional_for_graphs():
    for path, name in MODELS:
        model = specc.load(path).model(name)
        source = emit_keras(model, path.name)
        assert ("keras.Sequential(" in source) == model.is_sequential, name
        assert ("keras.Model(inputs, outputs" in source) == (not model.is_sequential), name
        # Every layer's name is passed explicitly, auto names included, in Keras's order
        # for stacks and in the order written for graphs.
        names = [
            kw.value.value
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and ast.unparse(node.func).startswith("layers.")
            for kw in node.keywords
            if kw.arg == "name"
        ]
        assert sorted(names) == sorted(n.name for n in model.layers), name
        # No dependency on specc: keras and numpy (the standard library, and TensorFlow
        # inside data_parallel() for its tf.distribute strategies, where training is).
        imports = {
            alias.name if isinstance(node, ast.Import) else node.module
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert imports - {"contextlib", "os", "tensorflow"} == {"keras", "numpy"}, imports


@pytest.mark.parametrize("path,name", MODELS, ids=[name for _, name in MODELS])
def test_golden_file(path, name, tmp_path, capsys):
    out = tmp_path / "out.py"
    assert main(["keras", str(path), "--model", name, "-o", str(out)]) == 0
    again = emit_keras(specc.load(path).model(name), str(path))
    assert out.read_bytes() == again.encode("utf-8")
    golden = golden_path(path, name)
    assert golden.exists(), f"run python tests/regen_golden_keras.py to create {golden.name}"
    assert out.read_bytes() == golden.read_bytes(), f"{golden.name} differs; review, then regen"


def test_main_prints_the_summary(tmp_path):
    require("tensorflow")
    import subprocess
    import sys

    path = ROOT / "examples" / "mnist_cnn.cnn"
    out = tmp_path / "mnist.py"
    assert main(["keras", str(path), "-o", str(out)]) == 0
    run = subprocess.run(
        [sys.executable, str(out)], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "mnist_cnn" in run.stdout and "34,826" in run.stdout


def test_module_without_compile_has_no_training_code(tmp_path):
    model = specc.load(ROOT / "examples" / "cifar10_cnn.cnn").models[0]
    source = emit_keras(model, "cifar10_cnn.cnn")
    assert "def compile_model" not in source and "def train" not in source
    assert "FIT_SETTINGS" not in source
    assert "def load_weights" in source and 'if __name__ == "__main__":' in source
    require("tensorflow")
    module = import_source(source, tmp_path)
    assert not hasattr(module, "train")
