"""The optimizer, loss and metric tables agree with the installed Keras."""

from __future__ import annotations

import inspect

import pytest
from conftest import require

from specc.check import check_source
from specc.ir.training import LOSSES, METRICS, OPTIMIZERS, accepted_args


def _keras_args(namespace: str, cls_name: str) -> set[str]:
    keras = require("keras")
    cls = getattr(getattr(keras, namespace), cls_name)
    return {p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")}


@pytest.mark.parametrize(
    ("table", "namespace"), [(OPTIMIZERS, "optimizers"), (LOSSES, "losses"), (METRICS, "metrics")]
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
