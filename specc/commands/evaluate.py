"""``specc evaluate FILE --data TEST -w W.npz``: the loss and every compiled metric.

With ``--format json`` the result is one object keyed by metric name
(``{"loss": ..., "accuracy": ...}``), plus ``confusion_matrix`` (rows: true
class, columns: predicted class) for a classifier. Exit status 0; 1 when the
spec has errors or no ``compile``; 2 for data, weights or a backend that
cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from specc.commands.common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, add_model_arg, positive_int

MAX_MATRIX_CLASSES = 30  # wider confusion matrices go to --format json only


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` parser."""
    from specc.train.backend import BACKENDS

    p = sub.add_parser("evaluate", help="loss and metrics of trained weights on test data (Keras)")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--data", required=True, metavar="TEST", help=".npz (x/y or x_test/y_test) or class folders"
    )
    p.add_argument("-w", "--weights", required=True, metavar="W.npz", help="the weights")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="samples per batch (32)")
    p.add_argument("--backend", choices=BACKENDS, help="Keras backend (default: KERAS_BACKEND)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    add_model_arg(p)


def run(args: argparse.Namespace) -> int:
    """Check the spec, weights and data; evaluate; print the metrics."""
    from specc.commands.common import load_model, report_late
    from specc.diagnostics import SpeccError
    from specc.emit.keras import generated_module
    from specc.train.backend import import_keras
    from specc.train.data import read_data
    from specc.train.keras_model import build, training_loss
    from specc.weights import load_weights

    model, status = load_model(args)
    if model is None:
        return status
    try:
        loss = training_loss(model)
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_ERRORS
    try:
        weights = load_weights(args.weights, model)

        def keras():
            return import_keras(args.backend, None, model.span)

        data = read_data(args.data, model, loss, "test", keras=keras)
        keras()
        keras_model = build(generated_module(model, args.file), weights)
    except SpeccError as exc:
        report_late(args.file, exc)
        return EXIT_USAGE
    size = args.batch_size or 32
    results = keras_model.evaluate(data.x, data.y, batch_size=size, verbose=0, return_dict=True)
    names = sorted(results, key=lambda k: k != "loss")  # loss first, then Keras's order
    out: dict[str, object] = {k: float(results[k]) for k in names}
    matrix = None
    if loss.classifier:
        matrix = _confusion(keras_model.predict(data.x, batch_size=size, verbose=0), data, loss)
        out["confusion_matrix"] = matrix
    if args.format == "json":
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return EXIT_OK
    _print(model.name, data, out, matrix, keras().backend.backend())
    return EXIT_OK


def _confusion(outputs, data, loss) -> list[list[int]]:
    import numpy as np

    from specc.train.labels import predicted_classes, true_classes

    classes = 2 if outputs.shape[-1] == 1 else outputs.shape[-1]
    truth = true_classes(data.y, loss).ravel()
    guess = predicted_classes(outputs, loss).ravel()
    keep = (truth >= 0) & (truth < classes)  # ignore_class labels count in no cell
    cells = np.bincount(truth[keep] * classes + guess[keep], minlength=classes * classes)
    return cells.reshape(classes, classes).tolist()


def _print(name: str, data, out: dict, matrix, backend: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from specc.train.data import describe

    console = Console(highlight=False)
    console.print(f"{name} on {describe(data)} (Keras, {backend})")
    for key, value in out.items():
        if key != "confusion_matrix":
            console.print(f"  {key:<24} {value:.4f}")
    if matrix is None or len(matrix) > MAX_MATRIX_CLASSES:
        return
    labels = data.class_names or [str(i) for i in range(len(matrix))]
    table = Table(title="confusion matrix (rows: true class, columns: predicted)")
    table.add_column("", no_wrap=True)
    for label in labels:
        table.add_column(label, justify="right", no_wrap=True)
    for label, row in zip(labels, matrix, strict=True):
        table.add_row(label, *(str(v) for v in row))
    console.print(table)
