"""``specc import`` of Keras models: real Keras files in, specs that equal them out.

Each model is built and saved by Keras itself (``.keras`` and legacy ``.h5``),
imported without Keras, and compared with the Keras model: layer by layer
(name, class, output shape, params), and by its outputs through specc's numpy
backend and through the Keras module generated from the imported spec.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import EXAMPLES, require
from import_reference import assert_close_to_scale, assert_layers_match_keras, randomize_keras
from test_keras_emit_common import emit_and_import
from test_zoo import assert_matches_application

import specc
import specc.runtime as runtime
from specc.cli import main
from specc.fmt import format_source
from specc.importers import import_model
from specc.weights import init_weights, load_weights

APPLICATIONS = [
    ("VGG16", 32),
    ("ResNet50", 32),
    ("ResNet50V2", 32),
    ("MobileNet", 32),
    ("MobileNetV2", 32),
    ("EfficientNetB0", 32),
    ("EfficientNetV2B0", 32),
    ("MobileNetV3Small", 32),
    ("ConvNeXtTiny", 32),
    ("InceptionResNetV2", 75),
    ("NASNetMobile", 32),
    ("DenseNet121", 32),
    ("InceptionV3", 75),
    ("Xception", 71),
]


def _small_models():
    """A Sequential and a functional model over every layer kind the table has."""
    import keras
    from keras import layers

    keras.backend.clear_session()  # Keras's automatic names count from zero again
    sequential = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            layers.Conv2D(6, 3, padding="same", activation="relu"),
            layers.Conv2D(6, 3, padding="same", activation="relu"),
            layers.Conv2D(6, 3, padding="same", activation="relu"),
            layers.Conv2D(6, 3, padding="same", activation="relu"),
            layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Conv2DTranspose(4, 3, strides=2, padding="same", kernel_regularizer="l2"),
            layers.ZeroPadding2D(((0, 1), (1, 0))),
            layers.AveragePooling2D(3, strides=2, padding="same"),
            layers.UpSampling2D(2, interpolation="bilinear"),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(16, activation="tanh", kernel_initializer="he_normal"),
            layers.Reshape((4, 4)),
            layers.Flatten(),
            layers.Dense(5, activation="softmax"),
        ],
        name="small_sequential",
    )
    inputs = keras.Input((16, 16, 3), name="image")
    stem = layers.Conv2D(8, 3, strides=2, name="stem")(inputs)
    a = layers.SeparableConv2D(8, 3, padding="same", dilation_rate=2, name="sep")(stem)
    b = layers.Conv2D(8, 1, groups=2, name="grouped")(stem)
    merged = layers.Add(name="sum")([a, b])
    gated = layers.Multiply(name="gate")([merged, layers.Activation("sigmoid")(merged)])
    low = layers.Minimum()([layers.Maximum()([gated, a]), b])
    joined = layers.Concatenate(name="join")([low, layers.Subtract()([stem, b]), stem])
    avg = layers.Average()(
        [layers.GlobalAveragePooling2D()(joined), layers.GlobalMaxPooling2D()(joined)]
    )
    outputs = layers.Dense(3, name="head")(avg)
    functional = keras.Model(inputs, outputs, name="small_functional")
    return [sequential, functional]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_small_models_import_layer_by_layer_and_compute_the_same(tmp_path, suffix):
    require("tensorflow")
    require("h5py")
    for keras_model in _small_models():
        randomize_keras(keras_model)
        path = tmp_path / f"{keras_model.name}{suffix}"
        keras_model.save(path)
        result = import_model(str(path))
        assert_layers_match_keras(keras_model, result.model)
        x = np.random.default_rng(1).standard_normal((2, *keras_model.input_shape[1:]))
        x = x.astype("float32")
        want = keras_model.predict(x, verbose=0)
        got = runtime.run(result.model, x, result.weights)
        assert_close_to_scale(got, want, 1e-5)
        assert format_source(result.text) == result.text
        assert result.text.startswith(f"# imported from {path.name}: Keras ")


def test_written_spec_reads_as_a_person_would_write_it(tmp_path):
    require("tensorflow")
    sequential = _small_models()[0]
    sequential.save(tmp_path / "s.keras")
    text = import_model(str(tmp_path / "s.keras")).text
    assert "repeat 4 {\n    conv2d 6 3x3 same relu\n  }" in text  # Keras's own names omitted
    assert "depthwiseconv2d 3x3 use_bias=false depth_multiplier=2" in text
    assert "conv2dtranspose 4 3x3 same strides=2 kernel_regularizer=l2(0.01)" in text
    assert "zeropadding2d ((0, 1), (1, 0))" in text
    assert "dense 16 tanh kernel_initializer=he_normal" in text
    assert "maxpooling2d\n" in text  # pool_size 2x2 is the default
    assert "glorot_uniform" not in text and "channels_last" not in text
    assert f"expect params == {sequential.count_params()}" in text
    assert "expect output == 5" in text


@pytest.mark.slow
@pytest.mark.parametrize(("family", "size"), APPLICATIONS, ids=[a[0] for a in APPLICATIONS])
def test_keras_applications_import_exactly(tmp_path, family, size):
    """keras.applications (weights=None, randomized): layers, numpy outputs, generated Keras.

    The smallest model of each family, at a small input size (InceptionResNetV2's
    and InceptionV3's least is 75, Xception's 71).
    """
    keras = require("keras")
    require("tensorflow")
    build = getattr(keras.applications, family)
    keras_model = build(weights=None, input_shape=(size, size, 3), classes=10)
    randomize_keras(keras_model)
    path = tmp_path / f"{family}.keras"
    keras_model.save(path)
    result = import_model(str(path))
    # Layer for layer (inputs, output shape, params, get_config), Keras's operations
    # and private layers by the zoo's stand-ins for them (tests/test_zoo.py).
    assert_matches_application(result.model, keras_model)
    x = np.random.default_rng(0).standard_normal((2, size, size, 3)).astype("float32")
    want = keras_model.predict(x, verbose=0)
    assert_close_to_scale(runtime.run(result.model, x, result.weights), want, 1e-5)
    module = emit_and_import(result.model, tmp_path, f"{family}.cnn")
    regenerated = module.build_model()
    weights_path = tmp_path / "w.npz"
    np.savez(weights_path, **result.weights)
    module.load_weights(regenerated, str(weights_path))
    assert_close_to_scale(regenerated.predict(x, verbose=0), want, 1e-5)
    keras.backend.clear_session()


def test_a_layer_kind_specc_lacks_is_named(tmp_path, capsys):
    keras = require("keras")
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="conv")(inputs)
    x = layers.Reshape((36, 4))(x)
    for i in range(3):
        x = layers.Conv1D(4, 3, name=f"conv1d_{i}")(x)
    keras.Model(inputs, x).save(tmp_path / "m.keras")
    status = main(["import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.cnn")])
    err = capsys.readouterr().err
    assert status == 1
    assert "error[E702]: layer 'conv1d_0' (Conv1D) is a Conv1D layer" in err
    assert "(2 more Conv1D layers" in err
    assert not (tmp_path / "m.cnn").exists() and not (tmp_path / "m.npz").exists()


def test_lambda_and_custom_layers_are_refused_without_running_them(tmp_path, capsys):
    keras = require("keras")
    from keras import layers

    @keras.saving.register_keras_serializable(package="mine")
    class Scale(layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((4,))
    x = layers.Lambda(lambda t: t + 1.0, name="plus_one")(inputs)
    outputs = Scale(name="double")(layers.Dense(2)(x))
    keras.Model(inputs, outputs).save(tmp_path / "code.keras")
    status = main(["import", str(tmp_path / "code.keras"), "-o", str(tmp_path / "code.cnn")])
    err = capsys.readouterr().err
    assert status == 1
    assert "layer 'plus_one' (Lambda) is a Lambda layer: it holds Python code" in err
    assert "layer 'double' (Scale) is a custom layer (registered as 'mine>Scale'" in err
    assert "E703" in err and not (tmp_path / "code.cnn").exists()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_round_trip_spec_to_keras_to_spec_gives_the_same_model(tmp_path, path):
    """spec -> specc keras -> model.save(.keras) -> specc import: the same layers and weights."""
    require("tensorflow")
    for model in specc.load(path).models:
        module = emit_and_import(model, tmp_path, path.name)
        keras_model = module.build_model()
        weights = init_weights(model, seed=3)
        np.savez(tmp_path / "w.npz", **weights)
        module.load_weights(keras_model, str(tmp_path / "w.npz"))
        keras_model.save(tmp_path / "m.keras")
        result = import_model(str(tmp_path / "m.keras"))

        def layers_of(m):
            return [
                {k: v for k, v in e.items() if "line" not in k} for e in specc.summary(m)["layers"]
            ]

        assert layers_of(result.model) == layers_of(model)
        assert result.model.name == model.name
        assert list(result.weights) == list(weights)
        for key, value in weights.items():
            np.testing.assert_array_equal(result.weights[key], value)


def test_cli_writes_the_spec_and_its_weights(tmp_path, capsys):
    require("tensorflow")
    _small_models()[1].save(tmp_path / "f.keras")
    out = tmp_path / "out" / "f.cnn"
    assert main(["import", str(tmp_path / "f.keras"), "-o", str(out), "--name", "mine"]) == 0
    assert "wrote" in capsys.readouterr().out
    result = specc.load(out)
    assert result.diagnostics == [] and result.models[0].name == "mine"
    load_weights(tmp_path / "out" / "f.npz", result.models[0])
    assert main(["check", str(out)]) == 0


def test_branches_from_named_tensors_import_and_compute_the_same(tmp_path):
    """Not series-parallel: the gate reads b, which only a branch computes (side paths)."""
    keras = require("keras")
    require("tensorflow")
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="x")(inputs)
    a = layers.Conv2D(4, 1, name="a")(x)
    b = layers.Conv2D(4, 1, name="b")(x)
    gate = layers.Activation("sigmoid", name="gate")(b)
    outputs = layers.Multiply(name="out")([layers.Add(name="s")([a, b]), gate])
    keras_model = keras.Model(inputs, outputs)
    randomize_keras(keras_model)
    keras_model.save(tmp_path / "g.keras")
    result = import_model(str(tmp_path / "g.keras"))
    assert "  multiply name=out {\n    path { }\n    path @b {\n      sigmoid name=gate\n" in (
        result.text
    )
    assert_layers_match_keras(keras_model, result.model)
    x = np.random.default_rng(2).standard_normal((2, 8, 8, 3)).astype("float32")
    want = keras_model.predict(x, verbose=0)
    assert_close_to_scale(runtime.run(result.model, x, result.weights), want, 1e-5)


def test_convnext_private_layers_import_as_the_same_function(tmp_path):
    """LayerScale (a trained weight per channel) and StochasticDepth (the identity at
    inference), from keras.applications.convnext, where ConvNeXt's drop_path_rate > 0."""
    keras = require("keras")
    require("tensorflow")
    from keras import layers
    from keras.src.applications.convnext import LayerScale, StochasticDepth

    inputs = keras.Input((6, 6, 8))
    x = layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = LayerScale(0.5, 8, name="scale")(x)
    x = StochasticDepth(0.25, name="drop")(x)
    outputs = layers.Add(name="residual")([inputs, x])
    keras_model = keras.Model(inputs, outputs)
    keras_model.get_layer("scale").gamma.assign(np.linspace(-1.0, 2.0, 8, dtype="float32"))
    keras_model.save(tmp_path / "c.keras")
    result = import_model(str(tmp_path / "c.keras"))
    text = result.text
    assert (
        "depthwiseconv2d 1x1 use_bias=false depthwise_initializer=constant(0.5) name=scale" in text
    )
    assert "identity name=drop" in text
    assert "# StochasticDepth is the identity at inference, written as identity ('drop')" in text
    x = np.random.default_rng(3).standard_normal((2, 6, 6, 8)).astype("float32")
    want = keras_model.predict(x, verbose=0)
    assert_close_to_scale(runtime.run(result.model, x, result.weights), want, 1e-6)


def test_operations_specc_cannot_write_exactly_are_named(tmp_path, capsys):
    """x / 2 is not x * 0.5 in every bit, so a division stays an error naming the layer."""
    keras = require("keras")
    require("tensorflow")
    from keras import layers

    inputs = keras.Input((4, 4, 3))
    x = layers.Conv2D(3, 1, name="conv")(inputs)
    outputs = keras.ops.divide(x + 1.0, 2.0)
    keras.Model(inputs, outputs).save(tmp_path / "d.keras")
    status = main(["import", str(tmp_path / "d.keras"), "-o", str(tmp_path / "d.cnn")])
    err = capsys.readouterr().err
    assert (
        status == 1
        and "error[E702]: layer 'divide' (Divide) is the operation keras.ops.divide" in err
    )
    assert "(Add)" not in err  # x + 1.0 is written as rescaling; only the division is refused
    assert not (tmp_path / "d.cnn").exists()


@pytest.mark.slow
def test_keras2_h5_model_imports_and_computes_the_same(tmp_path):
    """A real Keras 2 model (tf_keras), saved as a legacy full-model .h5: MobileNetV3Small,
    whose hard-sigmoid TensorFlow functions (TFOpLambda) Keras 2 records as layers."""
    tf_keras = require("tf_keras")
    require("tensorflow")
    tf_keras.backend.clear_session()
    keras2_model = tf_keras.applications.MobileNetV3Small(
        weights=None, input_shape=(32, 32, 3), classes=10
    )
    randomize_keras(keras2_model)
    keras2_model.save(tmp_path / "m.h5")
    result = import_model(str(tmp_path / "m.h5"))
    assert result.text.startswith(f"# imported from m.h5: Keras {tf_keras.__version__} (HDF5)")
    assert "# tf.__operators__.add of a tensor and a number is written as rescaling" in result.text
    summary = {entry["name"]: entry for entry in specc.summary(result.model)["layers"]}
    for layer in keras2_model.layers[1:]:
        entry = summary[re.sub(r"\W", "_", layer.name)]
        assert list(layer.output_shape[1:]) == entry["output_shape"], layer.name
        assert layer.count_params() == entry["params"], layer.name
    assert result.model.total("params") == keras2_model.count_params()
    x = np.random.default_rng(4).standard_normal((2, 32, 32, 3)).astype("float32")
    want = keras2_model.predict(x, verbose=0)
    assert_close_to_scale(runtime.run(result.model, x, result.weights), want, 1e-5)
