"""Weights: drawn from each layer's initializers, loaded from and saved to ``.npz``.

A weights file is a ``.npz`` whose keys are ``LAYER_NAME/WEIGHT_NAME``, with
Keras's weight names and layouts: exactly the ``node.weights`` of the IR, so
one file serves the generated Keras model, the ONNX graph and every backend.

Initial values follow Keras 3's initializers
(``keras/src/initializers/random_initializers.py``): the same distributions
and fan computation, drawn with NumPy from a generator seeded by
``(seed, layer name, weight name)``, so a layer's values do not depend on
the layers around it.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np

from specc.codes import E107, E501, E502, E503, E504, E505
from specc.diagnostics import Diagnostic, Span, SpeccError, sort_key
from specc.io import NotRegularFileError, open_regular, write_atomically
from specc.ir.graph import Model, Node
from specc.ir.layers import Weight
from specc.ir.values import INITIALIZER_DEFAULTS, FnValue
from specc.npz import NPY_MAGIC, ZIP_MAGICS, ArrayHeader, NotAnArrayError, NpzArchive

# Keras divides the stddev of its truncated variance-scaling normal by the
# stddev of a unit normal truncated to [-2, 2].
TRUNCATION_STDDEV = 0.87962566103423978

# (scale, mode, distribution) of Keras's VarianceScaling presets.
VARIANCE_SCALING: dict[str, tuple[float, str, str]] = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}


def weight_key(node: Node, weight: Weight) -> str:
    """The ``.npz`` key of one weight: ``conv2d/kernel``."""
    return f"{node.name}/{weight.name}"


def expected_weights(model: Model) -> Iterator[tuple[str, Node, Weight]]:
    """Every weight the model needs, as ``(key, node, weight)``, in Keras's layer order."""
    for node in model.layers:
        for weight in node.weights:
            yield weight_key(node, weight), node, weight


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` as Keras computes them: receptive field = product of leading dims."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _generator(seed: int, key: str, init: FnValue) -> np.random.Generator:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    entropy = [seed, *words]
    init_seed = init.get("seed")
    if init_seed is not None:
        entropy.append(int(init_seed) + 1)
    return np.random.default_rng(np.random.SeedSequence(entropy))


def truncated_normal(
    rng: np.random.Generator, shape: tuple[int, ...], mean: float, stddev: float
) -> np.ndarray:
    """Normal samples redrawn until within two standard deviations (as TensorFlow does)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


def _orthogonal(rng: np.random.Generator, shape: tuple[int, ...], gain: float) -> np.ndarray:
    rows = math.prod(shape[:-1])
    cols = shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    d = np.diag(r)
    q = q * np.where(d < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


def initial_value(init: FnValue, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """One array drawn from the Keras initializer ``init`` (float64; the caller casts).

    Raises ``ValueError`` where Keras would (orthogonal on rank < 2, identity on rank != 2).
    """
    kwargs = {**INITIALIZER_DEFAULTS.get(init.name, {}), **dict(init.kwargs)}
    name = init.name
    if name in VARIANCE_SCALING or name == "variance_scaling":
        scale, mode, distribution = VARIANCE_SCALING.get(name) or (
            float(kwargs["scale"]),
            str(kwargs["mode"]).lower(),
            str(kwargs["distribution"]).lower(),
        )
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
        scale /= max(1.0, fan)
        if distribution == "truncated_normal":
            return truncated_normal(rng, shape, 0.0, math.sqrt(scale) / TRUNCATION_STDDEV)
        if distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)
    if name == "zeros":
        return np.zeros(shape)
    if name == "ones":
        return np.ones(shape)
    if name == "constant":
        return np.full(shape, float(kwargs["value"]))
    if name == "random_normal":
        return rng.normal(float(kwargs["mean"]), float(kwargs["stddev"]), shape)
    if name == "random_uniform":
        return rng.uniform(float(kwargs["minval"]), float(kwargs["maxval"]), shape)
    if name == "truncated_normal":
        return truncated_normal(rng, shape, float(kwargs["mean"]), float(kwargs["stddev"]))
    if name == "orthogonal":
        if len(shape) < 2:
            raise ValueError(f"orthogonal needs a weight of rank 2 or more, received shape {shape}")
        return _orthogonal(rng, shape, float(kwargs["gain"]))
    if name == "identity":
        if len(shape) != 2:
            raise ValueError(f"identity needs a weight of rank 2, received shape {shape}")
        return float(kwargs["gain"]) * np.eye(*shape)
    raise ValueError(f"initializer '{name}' is not supported")


def init_weights(model: Model, seed: int = 0) -> dict[str, np.ndarray]:
    """Every weight of ``model`` drawn from its initializer: float32, keyed ``layer/weight``.

    Reproducible for a given ``seed`` and independent of the order of layers.
    Raises :class:`SpeccError` (E107, at the layer) for an initializer Keras
    would refuse on that weight's shape.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, received {seed}")
    out: dict[str, np.ndarray] = {}
    problems: list[Diagnostic] = []
    for key, node, weight in expected_weights(model):
        rng = _generator(seed, key, weight.initializer)
        try:
            value = initial_value(weight.initializer, tuple(weight.shape), rng)
        except ValueError as exc:
            problems.append(Diagnostic(E107, f"{node.name}/{weight.name}: {exc}", node.span))
            continue
        out[key] = np.asarray(value, dtype=np.float32, order="C")  # keeps 0-d arrays
    if problems:
        raise SpeccError(problems)
    return out


def load_weights(path: str | Path, model: Model) -> dict[str, np.ndarray]:
    """Read a ``.npz`` and check it against ``model``: float32 arrays in Keras's order.

    Raises :class:`SpeccError` with every problem: E501 unreadable file, E502
    missing array, E503 extra array, E504 wrong shape, E505 non-float or
    non-finite values (each located at the layer's statement). Names, shapes
    and dtypes are compared from the ``.npy`` headers first: only arrays that
    fit the model are decompressed, so a zip bomb costs no memory.
    """
    path = str(path)
    file_span = Span(path, 1, 1, 1, 2)
    try:
        with open_regular(path) as f:
            magic = f.read(4)
        if magic not in ZIP_MAGICS:
            raise SpeccError(_not_npz(file_span, magic))
        archive = NpzArchive.open(path)
    except FileNotFoundError:
        raise SpeccError(Diagnostic(E501, "no such weights file", file_span)) from None
    except IsADirectoryError:
        raise SpeccError(Diagnostic(E501, "is a directory, not a .npz file", file_span)) from None
    except NotRegularFileError as exc:
        raise SpeccError(Diagnostic(E501, f"is {exc.strerror}", file_span)) from None
    except SpeccError:
        raise
    except Exception as exc:  # corrupt archives fail in many ways (zip, zlib, format)
        raise SpeccError(_unreadable_npz(file_span, exc)) from None
    with archive:
        return _check(archive, archive.load, model, file_span)


_WRITE_IT = "write it with `specc init` or numpy.savez"


def _not_npz(span: Span, magic: bytes) -> Diagnostic:
    """E501 for a file that is not a zip archive, said as what it is."""
    if magic == NPY_MAGIC[:4]:
        what = "is a single .npy array, not a .npz archive of named weights"
    else:
        what = "is not a .npz archive of weights (it does not start as a zip file does)"
    return Diagnostic(E501, what, span, _WRITE_IT)


def _unreadable_npz(span: Span, exc: Exception) -> Diagnostic:
    """E501 for a zip archive that numpy cannot read, in words rather than an exception."""
    text = str(exc)
    if "pickle" in text:
        what = "holds Python objects (pickled arrays), which specc never loads"
    elif isinstance(exc, ValueError) and text:
        what = f"is not a valid .npz archive: {text[:1].lower()}{text[1:]}"
    else:
        what = "is a damaged .npz archive: it cannot be unzipped"
    return Diagnostic(E501, what, span, _WRITE_IT)


def _unreadable_member(span: Span, key: str, exc: Exception) -> Diagnostic:
    """E501 for one array of a readable archive that cannot be decompressed or decoded."""
    if isinstance(exc, NotAnArrayError):
        why = f"{str(exc)[:1].lower()}{str(exc)[1:]}"
    else:
        why = "the archive is damaged there (it cannot be unzipped)"
    return Diagnostic(E501, f"array '{key}' cannot be read: {why}", span, _WRITE_IT)


def check_weights(arrays: Mapping[str, np.ndarray], model: Model) -> dict[str, np.ndarray]:
    """Validate ``arrays`` against ``model`` (E502-E505) and return them as float32."""
    headers = {key: ArrayHeader.of(value) for key, value in arrays.items()}
    return _check(headers, lambda key: np.asarray(arrays[key]), model, model.span)


def _check(
    headers: Mapping[str, ArrayHeader | str],
    load: Callable[[str], np.ndarray],
    model: Model,
    file_span: Span,
) -> dict[str, np.ndarray]:
    """Compare ``headers`` with the model's weights; ``load`` only the arrays that fit."""
    problems: list[Diagnostic] = []
    out: dict[str, np.ndarray] = {}
    expected = {key: (node, weight) for key, node, weight in expected_weights(model)}
    for key, (node, weight) in expected.items():
        header = headers.get(key)
        problem = _mismatch(key, header, node, weight)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            array = load(key)
        except Exception as exc:  # truncated or corrupt member, bad CRC
            problems.append(_unreadable_member(file_span, key, exc))
            continue
        with np.errstate(over="ignore"):
            value = np.asarray(array, dtype=np.float32, order="C")
        if not np.isfinite(value).all():
            problems.append(
                Diagnostic(
                    E505,
                    f"layer '{node.name}': array '{key}' holds NaN or infinity"
                    + (" (after conversion to float32)" if np.isfinite(array).all() else ""),
                    node.span,
                )
            )
            continue
        out[key] = value
    names = {node.name: node for node in model.nodes[1:]}
    for key in headers:
        if key not in expected:
            layer = key.split("/", 1)[0]
            node = names.get(layer)
            where = f"layer '{layer}' has no weight by that name" if node else "no such layer"
            problems.append(
                Diagnostic(
                    E503,
                    f"weights file holds '{key}', which the model does not have ({where})",
                    node.span if node else model.span,
                )
            )
    if problems:
        raise SpeccError(sorted(problems, key=sort_key))
    return out


def _mismatch(
    key: str, header: ArrayHeader | str | None, node: Node, weight: Weight
) -> Diagnostic | None:
    """E502/E504/E505 where the header shows the array cannot be the weight."""
    if header is None:
        return Diagnostic(
            E502,
            f"weights file lacks '{key}' (layer '{node.name}' needs its {weight.name} "
            f"of shape {tuple(weight.shape)})",
            node.span,
        )
    if isinstance(header, str):
        return Diagnostic(E505, f"layer '{node.name}': array '{key}' {header}", node.span)
    if header.dtype.kind != "f":
        return Diagnostic(
            E505,
            f"layer '{node.name}': array '{key}' has dtype {header.dtype}, expected floating point",
            node.span,
        )
    if header.shape != tuple(weight.shape):
        return Diagnostic(
            E504,
            f"layer '{node.name}': array '{key}' has shape {header.shape}, "
            f"expected {tuple(weight.shape)}",
            node.span,
        )
    return None


# 1980-01-01, the earliest time a zip entry can carry: same arrays, same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def weights_bytes(weights: Mapping[str, np.ndarray]) -> bytes:
    """The ``.npz`` bytes of ``weights``: entries in the mapping's order, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in weights.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_weights(path: str | Path, weights: Mapping[str, np.ndarray]) -> None:
    """Write ``weights`` to ``path`` as ``.npz``, deterministically and atomically."""
    write_atomically(str(path), weights_bytes(weights))
