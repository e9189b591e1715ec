"""CPU benchmark of the zoo models on every backend, side by side in one run.

    python benchmarks/bench_zoo.py [--models MobileNetV2,ResNet50,EfficientNetB0]
                                   [--batches 1,8,64] [--seconds 5] [--json OUT.json]

``--models`` names models of zoo/*.cnn (keras.applications' names: case and
underscores do not matter, ``ConvNeXtTiny`` is ``convnext_tiny``) or
``cifar10_cnn``, the CIFAR example. For each model and batch size, the numpy
runtime, the TensorFlow backend, onnxruntime and Keras ``predict`` run the
same weights on the same batch, timed in interleaved rounds
(:func:`specc.runtime.measure.throughput`, one process, so a busy machine
slows all alike). The table gives images/s and each backend's throughput as a
fraction of onnxruntime's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BACKENDS = ("numpy", "tensorflow", "onnxruntime", "keras")
DEFAULT_MODELS = "MobileNetV2,ResNet50,EfficientNetB0,DenseNet121,ConvNeXtTiny"
EXAMPLES = {"cifar10_cnn": Path("examples/cifar10_cnn.cnn")}
HEAVY_VALUES = 64 * 224 * 224
"""Input pixels per batch past which one timed round is enough (a call takes seconds)."""


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def known_models() -> dict[str, tuple[Path, str]]:
    """Every model of zoo/*.cnn and the examples: lookup key -> (spec file, model name)."""
    found = {_key(name): (path, name) for name, path in EXAMPLES.items()}
    for path in sorted((ROOT / "zoo").glob("*.cnn")):
        for name in re.findall(r"^model (\w+) \{", path.read_text(encoding="utf-8"), re.M):
            found[_key(name)] = (path.relative_to(ROOT), name)
    return found


def load(name: str):
    """The checked model called ``name`` (any case, underscores optional)."""
    from specc.check import check_source

    path, model_name = known_models()[_key(name)]
    result = check_source((ROOT / path).read_text(encoding="utf-8"), str(path))
    assert not result.errors, result.errors
    return result.model(model_name)


def measure(name: str, batches: list[int], seconds: float) -> list[dict[str, object]]:
    """One row per batch size: images/s of every backend and its ratio to onnxruntime's."""
    from specc.runtime.measure import build, throughput
    from specc.weights import init_weights

    model = load(name)
    weights = init_weights(model)
    executors = {backend: build(model, weights, backend, "cpu") for backend in BACKENDS}
    rows = []
    for batch in batches:
        shape = model.input.output_shape
        x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
        reference = executors["onnxruntime"](x)
        scale = max(1.0, float(np.abs(reference).max()))
        differences = {
            backend: float(np.abs(fn(x) - reference).max()) / scale
            for backend, fn in executors.items()
        }
        heavy = batch * shape[0] * shape[1] >= HEAVY_VALUES
        times = throughput(
            executors,
            x,
            min_seconds=0 if heavy else seconds,
            min_rounds=1 if heavy else 3,
            warmup=1,
            block_seconds=0 if heavy else 0.25,
        )
        row: dict[str, object] = {"model": name, "batch": batch, "macs": model.total("macs")}
        for backend, t in times.items():
            row[f"{backend}_img_s"] = batch / t
            row[f"{backend}_ratio"] = times["onnxruntime"] / t
        row["max_relative_difference"] = max(differences.values())
        rows.append(row)
        print(f"  {name} batch {batch}: " + _ratios(row), file=sys.stderr, flush=True)
    return rows


def _ratios(row: dict[str, object]) -> str:
    return ", ".join(f"{b} {row[f'{b}_ratio']:.2f}" for b in BACKENDS)


def table(rows: list[dict[str, object]]) -> str:
    """The Markdown table: images/s, and in parentheses the fraction of onnxruntime's."""
    head = "| model | batch | " + " | ".join(BACKENDS) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(BACKENDS)]
    for row in rows:
        cells = [f"{row[f'{b}_img_s']:.1f} ({row[f'{b}_ratio']:.2f})" for b in BACKENDS]
        lines.append(f"| {row['model']} | {row['batch']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    """Measure the chosen models and batches; print the table; optionally write JSON."""
    from specc.runtime.threads import blas_core, blas_note, cpu_count

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--batches", default="1,8,64")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per batch size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = args.models.split(",")
    known = known_models()
    unknown = [name for name in names if _key(name) not in known]
    if unknown:
        listed = ", ".join(name for _, name in known.values())
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {listed}")
    batches = [int(b) for b in args.batches.split(",")]
    rows = [row for name in names for row in measure(name, batches, args.seconds)]
    kernels = f"NumPy's OpenBLAS on its {blas_core() or 'unknown'} kernels"
    print(f"{cpu_count()} CPU cores, {kernels}; images/s (fraction of onnxruntime's)\n")
    note = blas_note()
    if note:
        print(f"note: {note}\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
