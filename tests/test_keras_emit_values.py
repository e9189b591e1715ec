"""Values in generated code: the Keras class tables, strings Keras resolves, the CLI.

The tables of :mod:`specc.emit.keras_values` are checked against the installed
Keras (every class exists; every bare name written as a string is one Keras
resolves to that class), and calls such as ``l2(0.01)`` or
``sparse_categorical_crossentropy(from_logits=true)`` become objects whose
Keras config holds exactly the spec's arguments.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, require
from test_keras_emit_common import check_text, import_source, keras_layers

from specc.cli import main
from specc.emit.keras import emit_keras
from specc.emit.keras_values import NAMESPACES, REQUIRED_ARGS, STRING_NAMES
from specc.ir.values import CONSTRAINTS, INITIALIZERS, REGULARIZERS
from specc.syntax.settings import CALLBACKS, LOSSES, METRICS, OPTIMIZERS


def test_tables_cover_every_name_the_front_end_accepts():
    assert set(NAMESPACES["initializers"]) == set(INITIALIZERS)
    assert set(NAMESPACES["regularizers"]) == set(REGULARIZERS)
    assert set(NAMESPACES["constraints"]) == set(CONSTRAINTS)
    assert set(NAMESPACES["optimizers"]) == set(OPTIMIZERS)
    assert set(NAMESPACES["losses"]) == set(LOSSES)
    assert set(NAMESPACES["metrics"]) == set(METRICS)
    assert set(NAMESPACES["callbacks"]) == set(CALLBACKS)


def test_table_classes_exist_in_keras():
    keras = require("keras")
    for namespace, table in NAMESPACES.items():
        module = getattr(keras, namespace)
        for name, cls in table.items():
            assert isinstance(getattr(module, cls, None), type), f"keras.{namespace}.{cls}"
            if (namespace, name) not in REQUIRED_ARGS and name not in ("identity",):
                getattr(module, cls)()  # constructible with no arguments


def test_bare_names_written_as_strings_resolve_to_the_table_class():
    keras = require("keras")
    for namespace in ("initializers", "regularizers", "constraints", "optimizers"):
        module = getattr(keras, namespace)
        for name in STRING_NAMES[namespace]:
            resolved = module.get(name)
            assert isinstance(resolved, getattr(module, NAMESPACES[namespace][name])), name
    for name in STRING_NAMES["losses"]:
        loss_class = getattr(keras.losses, NAMESPACES["losses"][name])
        assert loss_class().fn is keras.losses.get(name), name
    for name in STRING_NAMES["metrics"] - {"acc"}:  # compile itself resolves "acc"
        resolved = keras.metrics.get(name)
        assert isinstance(resolved, getattr(keras.metrics, NAMESPACES["metrics"][name])), name


def test_bare_metric_strings_compile_and_train(tmp_path):
    """Each metric name written as a string is one ``model.compile`` accepts."""
    require("tensorflow")
    import numpy as np

    sparse = {name for name in STRING_NAMES["metrics"] if name.startswith("sparse_")}
    names = sorted(STRING_NAMES["metrics"] - sparse)
    metrics = ", ".join(names)
    text = "\n".join(
        [
            "model m {",
            "  input 4",
            "  dense 3 softmax",
            f"  compile optimizer=sgd loss=categorical_crossentropy metrics=[{metrics}]",
            "}",
        ]
    )
    model = check_text(text)
    module = import_source(emit_keras(model), tmp_path)
    keras_model = module.compile_model(module.build_model())
    x = np.ones((4, 4), "float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    logs = keras_model.train_on_batch(x, y, return_dict=True)
    assert len(logs) == len(names) + 1


def test_calls_become_keras_objects_with_the_spec_arguments(tmp_path):
    keras = require("keras")
    text = "\n".join(
        [
            "model m {",
            "  input 6x6x2",
            "  conv2d 4 3 kernel_initializer=random_normal(stddev=0.02, seed=3)"
            " kernel_regularizer=l1_l2(l1=0.01, l2=0.02) bias_constraint=max_norm(2.0)"
            " bias_initializer=constant(0.5) kernel_constraint=non_neg trainable=false",
            "  flatten",
            "  dense 3 kernel_regularizer=l2 bias_regularizer=l1_l2 activity_regularizer=l2(0.1)",
            "  compile optimizer=adam(learning_rate=1e-3) "
            "loss=sparse_categorical_crossentropy(from_logits=true) "
            "metrics=[accuracy, auc(num_thresholds=50)]",
            "}",
        ]
    )
    model = check_text(text)
    source = emit_keras(model)
    assert "keras.initializers.RandomNormal(stddev=0.02, seed=3)" in source
    assert "keras.regularizers.L1L2(l1=0.01, l2=0.02)" in source
    assert "keras.constraints.MaxNorm(max_value=2.0)" in source
    assert 'kernel_constraint="non_neg"' in source and "trainable=False" in source
    assert "bias_regularizer=keras.regularizers.L1L2()" in source
    assert "keras.optimizers.Adam(learning_rate=0.001)" in source
    assert "keras.losses.SparseCategoricalCrossentropy(from_logits=True)" in source
    module = import_source(source, tmp_path)
    keras_model = module.compile_model(module.build_model())
    conv = keras_model.get_layer("conv2d")
    assert not conv.trainable
    assert conv.kernel_initializer.get_config() == {"mean": 0.0, "stddev": 0.02, "seed": 3}
    assert conv.kernel_regularizer.get_config() == {"l1": 0.01, "l2": 0.02}
    assert conv.bias_constraint.get_config()["max_value"] == 2.0
    assert float(conv.bias_initializer.get_config()["value"]) == 0.5
    assert isinstance(keras_model.optimizer, keras.optimizers.Adam)
    assert keras_model.optimizer.get_config()["learning_rate"] == pytest.approx(1e-3)
    assert isinstance(keras_model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert keras_model.loss.get_config()["from_logits"] is True
    dense = keras_layers(keras_model)[-1]
    assert dense.activity_regularizer.get_config()["l2"] == pytest.approx(0.1)


# -- the command line ---------------------------------------------------------------------


def test_cli_stdout_without_output(capsys):
    path = ROOT / "examples" / "mnist_cnn.cnn"
    assert main(["keras", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Generated by specc from mnist_cnn.cnn.\n")
    assert out == (ROOT / "tests" / "golden" / "keras" / "mnist_cnn.py").read_text()


def test_cli_refuses_a_spec_with_errors_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "bad.cnn"
    path.write_text("model m {\n  input 3x3x1\n  conv2d 8 5x5\n}\n")
    out = tmp_path / "out" / "m.py"
    assert main(["keras", str(path), "-o", str(out)]) == 1
    assert not out.exists()
    assert f"{path}:3:3: error[E201]" in capsys.readouterr().err


def test_cli_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "m.py"
    assert main(["keras", str(tmp_path / "missing.cnn"), "-o", str(out)]) == 2
    path = ROOT / "examples" / "mnist_cnn.cnn"
    assert main(["keras", str(path), "--model", "nope", "-o", str(out)]) == 2
    assert "no model named 'nope'" in capsys.readouterr().err
    assert not out.exists()
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["keras", str(path), "-o", str(blocked / "m.py")]) == 2


def test_cli_picks_a_model_by_name(tmp_path, capsys):
    path = tmp_path / "two.cnn"
    path.write_text("model a {\n  input 4\n  dense 2\n}\nmodel b {\n  input 5\n  dense 3\n}\n")
    assert main(["keras", str(path), "--model", "b"]) == 0
    out = capsys.readouterr().out
    assert "keras.Input(shape=(5,)" in out and 'name="b"' in out


RARE = """
model rare {
  input 8x8x4 dtype=float16 name=image
  dropout 0.5 noise_shape=(none, 1, 1, 4) seed=3
  zeropad ((1, 2), (0, 1))
  zeropad (2, 1)
  zeropad 1
  conv2d 8 3 dilation_rate=2 groups=2 use_bias=false data_format=channels_last name=Conv
  bn axis=3 center=false scale=false momentum=0.9 epsilon=1e-5 trainable=false
  sepconv 4 3 depth_multiplier=2 same pointwise_initializer=he_normal
  concatenate axis=-1 @Conv
  convtranspose 4 3 strides=2 output_padding=1 padding=same
  upsample (2, 1) interpolation=bilinear
  dwconv 3 depth_multiplier=2 strides=2 relu6
  avgpool 2 strides=1 padding=same
  globalmaxpool keepdims=true
  reshape (-1,)
  dense 6 leaky_relu use_bias=false
  activation gelu name=class
}
"""


def test_rarely_used_parameters_reach_keras(tmp_path):
    require("tensorflow")
    from keras_reference import build_keras_model
    from test_keras_emit_common import assert_matches_summary, assert_same_configs

    model = check_text(RARE)
    source = emit_keras(model)
    assert "noise_shape=(None, 1, 1, 4)" in source and 'dtype="float16"' in source
    assert "layers.ZeroPadding2D(1, " in source and "layers.ZeroPadding2D((2, 1), " in source
    module = import_source(source, tmp_path)
    keras_model = module.build_model()
    assert keras_model.inputs[0].dtype == "float16"
    assert_matches_summary(keras_model, model)
    assert_same_configs(keras_model, build_keras_model(model))
