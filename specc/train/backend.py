"""Keras on the backend asked for, and the processes and devices that train together.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so the backend
is set in the environment before that import and a process that already holds
Keras on another backend is refused (E806) rather than silently trained on the
wrong one. ``--cpu-devices N`` splits the host into N devices before the
backend starts (XLA host devices for JAX, logical devices for TensorFlow), so
data-parallel training can be tried without accelerators.

Several processes (hosts) train together only on JAX, through
``keras.distribution.initialize``: the coordinator address, the process count
and this process's id come from the flags, else from Keras's environment
variables ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``..._NUM_PROCESSES`` and
``..._PROCESS_ID``. TensorFlow's ``MultiWorkerMirroredStrategy`` is refused:
Keras 3's ``fit`` cannot run under it (keras-team/keras#20585: it all-reduces
the first batch as a tuple and each scalar metric along axis 0).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from types import ModuleType

from specc.codes import E806
from specc.diagnostics import Diagnostic, Span, SpeccError

BACKENDS = ("tensorflow", "jax", "torch")
_XLA_DEVICES = "--xla_force_host_platform_device_count"


@dataclass(frozen=True)
class Cluster:
    """The processes of one training run (one, unless several were asked for)."""

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None

    def resolved(self) -> Cluster:
        """The flags, completed from Keras's environment variables."""
        env = os.environ
        count = self.num_processes
        if count is None and env.get("KERAS_DISTRIBUTION_NUM_PROCESSES"):
            count = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
        index = self.process_id
        if index is None and env.get("KERAS_DISTRIBUTION_PROCESS_ID"):
            index = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
        address = self.coordinator or env.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
        return Cluster(address, count, index)

    @property
    def several(self) -> bool:
        """True when more than one process trains."""
        return (self.num_processes or 1) > 1


@dataclass(frozen=True)
class Topology:
    """Where this process stands: its index among the processes, and the devices in all."""

    backend: str
    process_id: int = 0
    num_processes: int = 1
    devices: int = 1

    @property
    def chief(self) -> bool:
        """The process that prints and writes files (process 0)."""
        return self.process_id == 0


def _fail(message: str, span: Span, help: str | None = None) -> SpeccError:
    return SpeccError(Diagnostic(E806, message, span, help))


def import_keras(backend: str | None, cpu_devices: int | None, span: Span) -> ModuleType:
    """Keras on ``backend`` (KERAS_BACKEND, else Keras's default, when None); raises E806."""
    loaded = sys.modules.get("keras")
    if loaded is not None:
        current = loaded.backend.backend()
        if backend is not None and current != backend:
            raise _fail(
                f"Keras is already loaded on the {current} backend in this process; "
                f"--backend {backend} needs a fresh process",
                span,
            )
        return loaded
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend
    wanted = backend or os.environ.get("KERAS_BACKEND")
    if cpu_devices and wanted == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DEVICES}={cpu_devices}".strip()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
    except ImportError as exc:
        raise _fail(
            f"training needs Keras 3 and a backend: {exc}", span, "pip install 'specc[tensorflow]'"
        ) from None
    if cpu_devices and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)]
        )
    return keras


def start(keras: ModuleType, distribute: bool, cluster: Cluster, span: Span) -> Topology:
    """Join the other processes (JAX) and count the devices; raises E806 where it cannot run."""
    backend = keras.backend.backend()
    cluster = cluster.resolved()
    if not distribute:
        if cluster.several:
            raise _fail("several processes train together only with --distribute", span)
        return Topology(backend)
    if backend == "tensorflow":
        workers = _tf_workers()
        if cluster.several or workers > 1:
            raise _fail(
                "Keras 3 cannot fit under TensorFlow's MultiWorkerMirroredStrategy "
                "(keras-team/keras#20585)",
                span,
                "train on several hosts with --backend jax",
            )
        return Topology(backend)  # the replicas are counted in the strategy's scope
    if backend != "jax":
        raise _fail(f"--distribute needs the jax or tensorflow backend, not {backend}", span)
    if cluster.several:
        if cluster.process_id is None or cluster.coordinator is None:
            raise _fail(
                f"{cluster.num_processes} processes need a coordinator address and this "
                "process's id",
                span,
                "pass --coordinator HOST:PORT --process-id I (or KERAS_DISTRIBUTION_* variables)",
            )
        if not 0 <= cluster.process_id < (cluster.num_processes or 1):
            raise _fail(
                f"--process-id {cluster.process_id} is not below --num-processes "
                f"{cluster.num_processes}",
                span,
            )
        keras.distribution.initialize(
            cluster.coordinator, cluster.num_processes, cluster.process_id
        )
    import jax

    return Topology(backend, jax.process_index(), jax.process_count(), jax.device_count())


def _tf_workers() -> int:
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        cluster = config.get("cluster", {})
        return len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    except (ValueError, AttributeError):
        return 0
