"""``specc import`` of Keras models: real Keras files in, specs that equal them out.

Each model is built and saved by Keras itself (``.keras`` and legacy ``.h5``),
imported without Keras, and compared with the Keras model: layer by layer
(name, class, output shape, params), and by its outputs through specc's numpy
backend and through the Keras module generated from the imported spec.
"""

from __future__ import annotations

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


def test_graph_the_language_cannot_write_yet_is_a_located_error(tmp_path, capsys):
    keras = require("keras")
    from keras import layers

    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="x")(inputs)
    a = layers.Conv2D(4, 1, name="a")(x)
    b = layers.Conv2D(4, 1, name="b")(x)
    gate = layers.Activation("sigmoid", name="gate")(b)  # reads b, which only a path computes
    outputs = layers.Multiply()([layers.Add()([a, b]), gate])
    keras.Model(inputs, outputs).save(tmp_path / "g.keras")
    status = main(["import", str(tmp_path / "g.keras"), "-o", str(tmp_path / "g.cnn")])
    err = capsys.readouterr().err
    assert status == 1 and "error[E705]" in err
    assert "layer 'gate' (Activation) reads 'b', which is not the current tensor" in err
    assert not (tmp_path / "g.cnn").exists()
