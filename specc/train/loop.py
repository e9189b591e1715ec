"""The epochs: one ``train()`` call of the generated module per epoch, checkpointed after each.

specc orders the samples itself, from ``(seed, epoch)``, and hands each
epoch's samples to Keras unshuffled: the order of epoch k does not depend on
what ran before it, so a run resumed from a checkpoint sees exactly the
batches an uninterrupted run sees, on every backend.

Under JAX's ``DataParallel`` every batch is split evenly over all devices of
all processes, and each process passes only its own share of each batch
(Keras then assembles the global batch). So the samples of an epoch are cut
to a multiple of the device count, and process ``p`` of ``P`` takes the
``p``-th ``P``-th of every batch. TensorFlow's ``MirroredStrategy`` splits
uneven batches itself.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from specc.train.backend import Topology
from specc.train.data import Data

Row = dict[str, float]


@dataclass
class Schedule:
    """How the epochs run: the fit settings with the command line's overrides applied."""

    epochs: int
    batch_size: int
    seed: int
    shuffle: bool = True
    validation_batch_size: int | None = None
    fit_kwargs: dict[str, Any] = field(default_factory=dict)  # passed on to train() as written


def epoch_order(samples: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The order of the samples in ``epoch``: a permutation drawn from ``(seed, epoch)``."""
    if not shuffle:
        return np.arange(samples)
    return np.random.default_rng([seed, epoch]).permutation(samples)


def even_split(topology: Topology) -> bool:
    """True where every batch must split evenly over the devices (JAX's DataParallel)."""
    return topology.backend == "jax" and topology.devices > 1


def local_rows(order: np.ndarray, batch_size: int, topology: Topology) -> np.ndarray:
    """The rows of ``order`` this process passes to Keras, batch by batch."""
    if not even_split(topology):
        return order
    usable = len(order) - len(order) % topology.devices
    p, count = topology.process_id, topology.num_processes
    parts = []
    for start in range(0, usable, batch_size):
        batch = order[start : min(start + batch_size, usable)]
        share = len(batch) // count
        parts.append(batch[p * share : (p + 1) * share])
    return np.concatenate(parts) if parts else order[:0]


def left_out(samples: int, topology: Topology) -> int:
    """Samples of each epoch that do not split evenly over the devices (left out)."""
    return samples % topology.devices if even_split(topology) else 0


def _progress_bar(keras: ModuleType, epochs: int) -> Any:
    """Keras's own progress bar, counting the run's epochs (``fit`` sees one at a time)."""

    class RunProgbar(keras.callbacks.ProgbarLogger):
        # As Keras's own progress bar: batch logs go to it asynchronously. Without this, a
        # ProgbarLogger passed in `callbacks` makes fit() wait for every step's logs.
        async_safe = True

        def set_params(self, params: dict[str, Any]) -> None:
            super().set_params({**params, "epochs": epochs})

    return RunProgbar()


def run_epochs(
    module: ModuleType,
    keras_model: Any,
    train: Data,
    validation: Data | None,
    schedule: Schedule,
    topology: Topology,
    rows: list[Row],
    after_epoch: Callable[[int, list[Row]], None],
) -> list[Row]:
    """Train from epoch ``len(rows)`` to ``schedule.epochs``; ``after_epoch`` after each one.

    ``rows`` is the history so far (one dict of logs per epoch, as Keras's
    ``History`` would hold them); the history is returned.
    """
    share = topology.num_processes if even_split(topology) else 1
    fit_kwargs = dict(schedule.fit_kwargs)
    validation_data = None
    if validation is not None:
        size = schedule.validation_batch_size or schedule.batch_size
        pick = local_rows(np.arange(len(validation)), size, topology)
        validation_data = (validation.x[pick], validation.y[pick])
        fit_kwargs["validation_batch_size"] = size // share
    if not topology.chief:
        fit_kwargs["verbose"] = 0
    fit_kwargs["callbacks"] = [_progress_bar(module.keras, schedule.epochs)]

    def samples(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        order = epoch_order(len(train), schedule.seed, epoch, schedule.shuffle)
        pick = local_rows(order, schedule.batch_size, topology)
        if len(pick) == len(train) and (pick[1:] > pick[:-1]).all():
            return train.x, train.y  # in order and whole: no copy
        return train.x[pick], train.y[pick]

    # The next epoch's samples are gathered while this one trains (numpy copies
    # without the GIL), so the copy costs no training time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        coming = pool.submit(samples, len(rows))
        for epoch in range(len(rows), schedule.epochs):
            x, y = coming.result()
            if epoch + 1 < schedule.epochs:
                coming = pool.submit(samples, epoch + 1)
            rows = _epoch(
                module, keras_model, x, y, epoch, schedule, share, validation_data, fit_kwargs, rows
            )
            after_epoch(epoch + 1, rows)
    return rows


def _epoch(
    module: ModuleType,
    keras_model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epoch: int,
    schedule: Schedule,
    share: int,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    fit_kwargs: dict[str, Any],
    rows: list[Row],
) -> list[Row]:
    """One epoch through the generated module's ``train()``; the history with its logs."""
    history = module.train(
        keras_model,
        x,
        y,
        epochs=epoch + 1,
        initial_epoch=epoch,
        batch_size=schedule.batch_size // share,
        shuffle=False,
        validation_split=0.0,
        validation_data=validation_data,
        **fit_kwargs,
    )
    return [*rows, {key: float(values[-1]) for key, values in history.history.items()}]
