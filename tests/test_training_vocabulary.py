"""The optimizer, loss, metric and callback tables agree with the installed Keras."""

from __future__ import annotations

import inspect

import pytest
from conftest import require

from specc.check import check_source
from specc.ir.training import (
    CALLBACK_REQUIRED,
    CALLBACKS,
    CALLBACKS_LEFT_OUT,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    accepted_args,
)


def _keras_args(namespace: str, cls_name: str) -> set[str]:
    keras = require("keras")
    cls = getattr(getattr(keras, namespace), cls_name)
    return {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")}


@pytest.mark.keras
@pytest.mark.parametrize(
    ("table", "namespace"),
    [
        (OPTIMIZERS, "optimizers"),
        (LOSSES, "losses"),
        (METRICS, "metrics"),
        (CALLBACKS, "callbacks"),
    ],
)
def test_tables_match_keras_signatures(table, namespace):
    for name, (cls_name, _) in table.items():
        assert set(accepted_args(table, name)) == _keras_args(namespace, cls_name), name


def test_unknown_optimizer_argument_is_located():
    source = "model m {\n  input 8\n  dense 2\n  compile optimizer=adam(lr=0.1)\n}\n"
    [d] = check_source(source, "t.cnn").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("E103", 4, 11)
    assert "adam() takes no argument 'lr'" in d.message


def test_known_arguments_pass():
    source = (
        "model m {\n  input 8\n  dense 2\n"
        "  compile optimizer=sgd(0.1, momentum=0.9) loss=huber(delta=2.0) "
        "metrics=[accuracy, auc(num_thresholds=50)]\n}\n"
    )
    assert check_source(source, "t.cnn").diagnostics == []


@pytest.mark.keras
def test_every_keras_callback_is_in_the_table_or_left_out_for_a_reason():
    keras = require("keras")
    classes = {
        name
        for name in dir(keras.callbacks)
        if inspect.isclass(obj := getattr(keras.callbacks, name))
        and issubclass(obj, keras.callbacks.Callback)
    }
    in_table = {cls_name for cls_name, _ in CALLBACKS.values()}
    assert classes == in_table | CALLBACKS_LEFT_OUT
    assert not in_table & CALLBACKS_LEFT_OUT
    for name, (cls_name, _) in CALLBACKS.items():
        signature = inspect.signature(getattr(keras.callbacks, cls_name).__init__)
        required = tuple(
            p.name
            for p in signature.parameters.values()
            if p.default is p.empty and p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        )
        assert CALLBACK_REQUIRED.get(name, ()) == required, name


FIT_WITH_CALLBACKS = """model m {
  input 4
  dense 1
  compile optimizer=sgd(0.01) loss=mse
  fit epochs=30 validation_split=0.5 verbose=0 callbacks=[early_stopping(monitor=val_loss, patience=1, min_delta=1e9), reduce_lr_on_plateau(monitor=val_loss, factor=0.5, patience=1), csv_logger("LOG", append=false), terminate_on_nan]
}
"""


@pytest.mark.keras
def test_fit_callbacks_reach_keras_and_run(tmp_path):
    keras = require("keras")
    import numpy as np
    from test_keras_emit_common import check_text, import_source

    from specc.emit.keras import emit_keras

    log = tmp_path / "log.csv"
    model = check_text(FIT_WITH_CALLBACKS.replace("LOG", str(log)))
    module = import_source(emit_keras(model), tmp_path)
    early, plateau, logger, nan = module.FIT_SETTINGS["callbacks"]
    assert isinstance(early, keras.callbacks.EarlyStopping)
    assert (early.monitor, early.patience, early.min_delta) == ("val_loss", 1, 1e9)
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau) and plateau.factor == 0.5
    assert isinstance(logger, keras.callbacks.CSVLogger) and logger.filename == str(log)
    assert isinstance(nan, keras.callbacks.TerminateOnNaN)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    history = module.train(module.build_model(), x, x[:, :1])
    # min_delta=1e9 means no epoch improves: early stopping ends fit after patience + 1 epochs.
    assert len(history.history["loss"]) == 2
    assert len(log.read_text().splitlines()) == 3  # a header and one row per epoch


@pytest.mark.parametrize(
    ("callbacks", "code", "message"),
    [
        (
            "[early_stoping]",
            "E107",
            "unknown callback 'early_stoping'; did you mean 'early_stopping'?",
        ),
        (
            "[early_stopping(patince=3)]",
            "E103",
            "callback early_stopping() takes no argument 'patince'",
        ),
        ("[csv_logger]", "E104", "callback csv_logger needs filename"),
        ("[csv_logger(append=true)]", "E104", "callback csv_logger needs filename"),
        ("[lambda_callback]", "E107", "unknown callback 'lambda_callback'"),
    ],
)
def test_bad_callbacks_are_located(callbacks, code, message):
    source = f"model m {{\n  input 8\n  dense 2\n  fit callbacks={callbacks}\n}}\n"
    [d] = check_source(source, "t.cnn").diagnostics
    assert (d.code, d.span.line, d.span.column) == (code, 4, 7)
    assert message in d.message
