"""Checkpoints: the whole training state after an epoch, in one ``.npz`` replaced atomically.

``DIR/checkpoint.npz`` holds every variable of the model (weights, batch
statistics, the dropout seed generators' states), every variable of the
optimizer (its step count and moments), and a JSON record: the model's name,
the epochs done, the history so far and the run's seed. It is written to a
temporary file and renamed into place, so an interrupted run (Ctrl-C, a
killed process) leaves the previous checkpoint whole. Restoring all of it
makes a resumed run compute what an uninterrupted one would have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specc.codes import E807
from specc.diagnostics import Diagnostic, Span, SpeccError

FORMAT = "specc-checkpoint-1"
FILE_NAME = "checkpoint.npz"


@dataclass
class Checkpoint:
    """The state after ``epoch`` epochs."""

    epoch: int
    history: list[dict[str, float]]  # one dict of Keras's logs per epoch done
    seed: int
    model_values: list[np.ndarray] = field(default_factory=list)
    optimizer_values: list[np.ndarray] = field(default_factory=list)


def checkpoint_path(directory: str) -> Path:
    """The checkpoint file in ``directory``."""
    return Path(directory) / FILE_NAME


def _values(variables: list[Any]) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in variables]


def save_checkpoint(
    directory: str,
    keras_model: Any,
    model_name: str,
    epoch: int,
    history: list[dict[str, float]],
    seed: int,
) -> Path:
    """Write the state after ``epoch`` epochs; returns the file written."""
    from specc.io import write_atomically
    from specc.weights import weights_bytes

    record = {
        "format": FORMAT,
        "model": model_name,
        "epoch": epoch,
        "seed": seed,
        "history": history,
        "variables": [v.path for v in keras_model.variables],
        "optimizer": [v.path for v in keras_model.optimizer.variables],
    }
    arrays: dict[str, np.ndarray] = {
        "record": np.frombuffer(json.dumps(record).encode("utf-8"), dtype=np.uint8)
    }
    for i, value in enumerate(_values(keras_model.variables)):
        arrays[f"model/{i:05d}"] = value
    for i, value in enumerate(_values(keras_model.optimizer.variables)):
        arrays[f"optimizer/{i:05d}"] = value
    path = checkpoint_path(directory)
    write_atomically(str(path), weights_bytes(arrays))
    return path


def read_checkpoint(directory: str, model_name: str) -> Checkpoint | None:
    """The checkpoint in ``directory``, None when there is none; E807 when it is unusable."""
    path = checkpoint_path(directory)
    span = Span(str(path), 1, 1, 1, 2)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            record = json.loads(bytes(npz["record"]).decode("utf-8"))
            models = sorted(k for k in npz.files if k.startswith("model/"))
            optimizers = sorted(k for k in npz.files if k.startswith("optimizer/"))
            model_values = [npz[k] for k in models]
            optimizer_values = [npz[k] for k in optimizers]
    except Exception as exc:  # a foreign or damaged file fails in many ways
        raise SpeccError(
            Diagnostic(E807, f"cannot read checkpoint: {type(exc).__name__}: {exc}", span)
        ) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SpeccError(Diagnostic(E807, "not a specc checkpoint", span))
    if record.get("model") != model_name:
        raise SpeccError(
            Diagnostic(
                E807,
                f"the checkpoint is of model '{record.get('model')}', not '{model_name}'",
                span,
                "use another --checkpoint-dir, or leave out --resume to start afresh",
            )
        )
    try:
        history = [{str(k): float(v) for k, v in row.items()} for row in record["history"]]
        checkpoint = Checkpoint(
            int(record["epoch"]), history, int(record["seed"]), model_values, optimizer_values
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpeccError(
            Diagnostic(E807, f"the checkpoint's record is damaged ({exc!r})", span)
        ) from None
    if checkpoint.epoch != len(history):
        raise SpeccError(
            Diagnostic(E807, "the checkpoint's record is damaged (epochs and history)", span)
        )
    return checkpoint


def restore(keras_model: Any, checkpoint: Checkpoint, directory: str) -> None:
    """Assign the checkpoint's state to a built and compiled model; E807 when it does not fit."""
    span = Span(str(checkpoint_path(directory)), 1, 1, 1, 2)
    pairs = [
        (keras_model.variables, checkpoint.model_values, "model"),
        (keras_model.optimizer.variables, checkpoint.optimizer_values, "optimizer"),
    ]
    for variables, values, what in pairs:
        if len(variables) != len(values):
            raise SpeccError(
                Diagnostic(
                    E807,
                    f"the checkpoint holds {len(values)} {what} variables, the {what} has "
                    f"{len(variables)}",
                    span,
                )
            )
        for variable, value in zip(variables, values, strict=True):
            if tuple(variable.shape) != tuple(value.shape):
                raise SpeccError(
                    Diagnostic(
                        E807,
                        f"{what} variable '{variable.path}' has shape {tuple(variable.shape)}, "
                        f"the checkpoint's {tuple(value.shape)}",
                        span,
                    )
                )
    for variables, values, _ in pairs:
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value.astype(variable.dtype))
