"""One training run from start to end: settings, data, Keras, the epochs, checkpoints.

Everything that can be checked is checked before Keras trains: the spec's
``compile`` (E805), the data (E60x, E70x), the backend and the devices
(E806), the checkpoint to resume from (E807). Only then does the first epoch
start; until then nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from specc.codes import E806, E807
from specc.diagnostics import Diagnostic, Span, SpeccError
from specc.emit.keras import generated_module
from specc.ir.graph import Model
from specc.train.backend import Cluster, Topology, import_keras, start
from specc.train.checkpoint import read_checkpoint, restore, save_checkpoint
from specc.train.data import Data, read_data, split_validation
from specc.train.keras_model import build, read_weights, training_loss
from specc.train.loop import Row, Schedule, left_out, run_epochs
from specc.train.signals import signals_held

KERAS_BATCH_SIZE = 32  # model.fit's default
KERAS_EPOCHS = 1
# fit settings the loop itself implements; every other one is passed on to train().
_OWN = ("epochs", "batch_size", "shuffle", "validation_split", "validation_batch_size")


@dataclass
class Request:
    """What ``specc train`` was asked to do."""

    model: Model
    source: str
    data: str
    checkpoint_dir: str
    validation: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    backend: str | None = None
    distribute: bool = False
    cpu_devices: int | None = None
    cluster: Cluster = field(default_factory=Cluster)
    resume: bool = False
    initial_weights: str | None = None


@dataclass
class Run:
    """A prepared run: Keras built, data checked, state restored; ``epochs()`` trains."""

    request: Request
    keras: ModuleType
    module: ModuleType
    keras_model: Any
    train: Data
    validation: Data | None
    schedule: Schedule
    topology: Topology
    rows: list[Row]
    scope: contextlib.ExitStack  # the distribution scope the model was built in, held open
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    first_epoch: int = 0  # epochs done before this run (resumed from the checkpoint)
    epoch_seconds: list[float] = field(default_factory=list)  # each epoch of this run, wall

    def close(self) -> None:
        """Leave the distribution scope."""
        self.scope.close()

    def epochs(self, after_epoch: Callable[[int, list[Row]], None] | None = None) -> list[Row]:
        """Train the remaining epochs, checkpointing after each (on process 0)."""
        request = self.request
        begin = time.perf_counter()

        def done(epoch: int, rows: list[Row]) -> None:
            now = time.perf_counter()
            self.epoch_seconds.append(now - (last[0] if last else begin))
            last[:] = [now]
            with signals_held(signal.SIGINT, signal.SIGTERM):  # both written, or neither
                if self.topology.chief:
                    save_checkpoint(
                        request.checkpoint_dir,
                        self.keras_model,
                        request.model.name,
                        epoch,
                        rows,
                        self.schedule.seed,
                    )
                if after_epoch is not None:
                    after_epoch(epoch, rows)

        last: list[float] = []
        self.rows = run_epochs(
            self.module,
            self.keras_model,
            self.train,
            self.validation,
            self.schedule,
            self.topology,
            self.rows,
            done,
        )
        self.seconds = time.perf_counter() - begin
        return self.rows

    def weights(self) -> dict[str, np.ndarray]:
        """The trained weights in specc's format (``LAYER/WEIGHT``)."""
        return read_weights(self.keras_model, self.request.model)


def _setting_error(message: str, span: Span, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(E806, message, span, help))


def schedule_of(request: Request) -> tuple[Schedule, float | None]:
    """The fit settings with the flags applied, and the validation split to make."""
    model = request.model
    fit = dict(model.fit.kwargs) if model.fit is not None else {}
    if "initial_epoch" in fit:
        span = model.fit.spans["initial_epoch"]  # type: ignore[union-attr]
        raise _setting_error(
            "fit initial_epoch resumes a Keras run; specc train resumes from its checkpoints",
            span,
            "remove initial_epoch and pass --resume",
        )
    schedule = Schedule(
        epochs=request.epochs or fit.get("epochs") or KERAS_EPOCHS,
        batch_size=request.batch_size or fit.get("batch_size") or KERAS_BATCH_SIZE,
        seed=request.seed or 0,
        shuffle=bool(fit.get("shuffle", True)),
        validation_batch_size=fit.get("validation_batch_size"),
        fit_kwargs={k: v for k, v in fit.items() if k not in _OWN},
    )
    return schedule, fit.get("validation_split")


def prepare(request: Request) -> Run:
    """Check everything, build the model and restore the checkpoint; raises SpeccError."""
    model = request.model
    loss = training_loss(model)
    schedule, split = schedule_of(request)
    wanted = request.backend or os.environ.get("KERAS_BACKEND")
    if request.distribute and wanted not in (None, "jax", "tensorflow"):
        raise _setting_error(
            f"--distribute needs the jax or tensorflow backend, not {wanted}", model.span
        )
    keras_module: list[ModuleType] = []

    def keras() -> ModuleType:
        if not keras_module:
            keras_module.append(import_keras(request.backend, request.cpu_devices, model.span))
        return keras_module[0]

    train = read_data(request.data, model, loss, "train", keras=keras)
    notes: list[str] = []
    validation = None
    if request.validation is not None:
        validation = read_data(
            request.validation, model, loss, "test", train.class_names, keras=keras
        )
        if split:
            notes.append(f"--validation {request.validation} replaces validation_split={split}")
    elif split:
        train, validation = split_validation(train, split)
    checkpoint = read_checkpoint(request.checkpoint_dir, model.name)
    if request.resume and checkpoint is None:
        raise SpeccError(
            Diagnostic(
                E807,
                f"no checkpoint to resume in {request.checkpoint_dir}",
                Span(request.checkpoint_dir, 1, 1, 1, 2),
                "leave out --resume to start afresh",
            )
        )
    if request.resume and checkpoint is not None:
        if request.seed is not None and request.seed != checkpoint.seed:
            raise SpeccError(
                Diagnostic(
                    E807,
                    f"the checkpoint's run has seed {checkpoint.seed}; --seed {request.seed} "
                    "would change the order of the remaining epochs",
                    Span(request.checkpoint_dir, 1, 1, 1, 2),
                )
            )
        schedule.seed = checkpoint.seed
    elif checkpoint is not None:
        notes.append(
            f"starting afresh: the checkpoint of epoch {checkpoint.epoch} in "
            f"{request.checkpoint_dir} will be replaced"
        )
    initial = None
    if request.initial_weights is not None:
        from specc.weights import load_weights

        initial = load_weights(request.initial_weights, model)
    topology = start(keras(), request.distribute, request.cluster, model.span)
    return _build(
        request, keras(), schedule, train, validation, topology, checkpoint, initial, notes
    )


def _build(
    request: Request,
    keras: ModuleType,
    schedule: Schedule,
    train: Data,
    validation: Data | None,
    topology: Topology,
    checkpoint: Any,
    initial: dict[str, np.ndarray] | None,
    notes: list[str],
) -> Run:
    from specc.weights import init_weights

    model = request.model
    module = generated_module(model, request.source)
    keras.utils.set_random_seed(schedule.seed)
    scope = contextlib.ExitStack()
    try:
        if request.distribute:
            scope.enter_context(module.data_parallel())
        keras_model = build(module, initial or init_weights(model, schedule.seed))
        if topology.backend == "tensorflow" and request.distribute:
            import tensorflow as tf

            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            topology = Topology("tensorflow", devices=replicas)
        rows: list[Row] = []
        if request.resume and checkpoint is not None:
            restore(keras_model, checkpoint, request.checkpoint_dir)
            rows = checkpoint.history
        _check_devices(schedule, train, topology, model, notes)
    except BaseException:
        scope.close()
        raise
    return Run(
        request,
        keras,
        module,
        keras_model,
        train,
        validation,
        schedule,
        topology,
        rows,
        scope,
        notes,
        first_epoch=len(rows),
    )


def _check_devices(
    schedule: Schedule, train: Data, topology: Topology, model: Model, notes: list[str]
) -> None:
    """Batches must split evenly over JAX's devices; say which samples each epoch leaves out."""
    if topology.backend == "jax" and topology.devices > 1:
        if schedule.batch_size % topology.devices:
            raise _setting_error(
                f"batch size {schedule.batch_size} does not split evenly over "
                f"{topology.devices} devices",
                model.fit.spans.get("batch_size", model.span) if model.fit else model.span,
                f"pass --batch-size with a multiple of {topology.devices}",
            )
        dropped = left_out(len(train), topology)
        if dropped:
            notes.append(
                f"{dropped} of the {len(train):,} samples are left out of each (shuffled) "
                f"epoch, so that every batch splits evenly over {topology.devices} devices"
            )


def default_checkpoint_dir(output: str) -> str:
    """``w.npz`` -> ``w.checkpoint``: beside the weights file."""
    root, ext = os.path.splitext(output)
    return (root if ext.lower() == ".npz" else output) + ".checkpoint"


def keras_failed(model: Model, exc: Exception) -> SpeccError:
    """An error Keras raised while training, as an E806 diagnostic at the model."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return _setting_error(f"Keras stopped training: {type(exc).__name__}: {first}", model.span)
