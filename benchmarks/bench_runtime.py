"""CPU benchmark of ``specc run``'s backends: the numbers in benchmarks/NOTES.md.

    python benchmarks/bench_runtime.py [--seconds 20] [--json OUT.json]

1. NumPy's own float32 matrix-product peak on this machine (the ceiling the
   numpy runtime's convolutions can reach).
2. The CIFAR example at batch 256: numpy, tensorflow, onnxruntime and Keras
   ``predict``, timed in interleaved rounds (one process, so a busy machine
   slows all alike), each one's peak memory in a fresh process, and the
   ratios the issue asks for.
3. How cost grows: numpy and onnxruntime throughput for batch 1, 16, 256 at
   input sizes 32, 64, 128, 224 (the CIFAR network, input resized).

Tables are printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CIFAR = ROOT / "examples" / "cifar10_cnn.cnn"


def sgemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of NumPy's float32 ``a @ b`` (n x n x n), best of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), np.float32)
    b = rng.standard_normal((n, n), np.float32)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def blas_core() -> str:
    """OpenBLAS's kernel family (OPENBLAS_CORETYPE forces one; else it detects the CPU)."""
    from specc.runtime.threads import blas_core as core

    forced = os.environ.get("OPENBLAS_CORETYPE")
    return f"OpenBLAS core {core() or 'unknown'} (OPENBLAS_CORETYPE={forced})"


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cifar_at(size: int):
    """The CIFAR example with its input resized to ``size`` x ``size``."""
    from specc.check import check_source

    text = CIFAR.read_text().replace("input 32x32x3", f"input {size}x{size}x3")
    text = "\n".join(line for line in text.splitlines() if "expect" not in line)
    return check_source(text, "cifar.cnn").model()


def headline(seconds: float) -> dict[str, object]:
    """Part 2: the CIFAR example at batch 256, every backend."""
    import specc
    from specc.runtime.measure import build, peak_memory, throughput
    from specc.weights import init_weights

    batch = 256
    model = specc.load(CIFAR).model()
    weights = init_weights(model)
    x = np.random.default_rng(0).standard_normal((batch, 32, 32, 3), np.float32)
    names = ("numpy", "tensorflow", "onnxruntime", "keras")
    executors = {name: build(model, weights, name, "cpu") for name in names}
    reference = executors["keras"](x)
    for name in names:  # same function before timing it
        np.testing.assert_allclose(executors[name](x), reference, rtol=1e-4, atol=1e-4)
    times = throughput(executors, x, min_seconds=seconds)
    flops = 2 * model.total("macs") * batch
    rows = {}
    for name in names:
        rows[name] = {
            "images_per_s": batch / times[name],
            "gflops": flops / times[name] / 1e9,
            "ms_per_batch": times[name] * 1e3,
            "peak_mb": peak_memory(str(CIFAR), model.name, name, "cpu", batch, None),
        }
    return {"batch": batch, "macs": model.total("macs"), "rows": rows}


def scaling(seconds: float) -> list[dict[str, object]]:
    """Part 3: throughput by batch and input size, numpy against onnxruntime."""
    from specc.runtime.measure import build, throughput
    from specc.weights import init_weights

    out = []
    for size in (32, 64, 128, 224):
        model = cifar_at(size)
        weights = init_weights(model)
        executors = {name: build(model, weights, name, "cpu") for name in ("numpy", "onnxruntime")}
        for batch in (1, 16, 256):
            x = np.random.default_rng(0).standard_normal((batch, size, size, 3), np.float32)
            heavy = batch * size * size > 16 * 128 * 128
            times = throughput(
                executors,
                x,
                min_seconds=0 if heavy else seconds,
                min_rounds=1 if heavy else 5,
                warmup=1,
            )
            row = {"size": size, "batch": batch, "gflop_per_image": 2 * model.total("macs") / 1e9}
            for name, t in times.items():
                row[f"{name}_img_s"] = batch / t
            row["ratio"] = times["onnxruntime"] / times["numpy"]
            out.append(row)
            print(
                f"  {size}px batch {batch}: numpy {row['numpy_img_s']:.0f} img/s, "
                f"onnxruntime {row['onnxruntime_img_s']:.0f} img/s",
                file=sys.stderr,
                flush=True,
            )
    return out


def main() -> int:
    """Run all three parts; print Markdown; optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timing for part 2")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--no-scaling", action="store_true", help="skip part 3")
    args = parser.parse_args()
    load = os.getloadavg()
    peak = sgemm_peak()
    head = headline(args.seconds)
    grow = [] if args.no_scaling else scaling(min(args.seconds / 10, 2.0))
    peak_after = sgemm_peak()
    rows = head["rows"]
    print(f"CPU: {os.cpu_count()} cores, load average {load[0]:.1f} at start, {blas_core()}")
    print(f"NumPy float32 matmul peak: {peak:.0f} GFLOP/s (before), {peak_after:.0f} (after)\n")
    print(f"CIFAR example, batch {head['batch']}, {head['macs']:,} MACs per image\n")
    print("| backend | images/s | GFLOP/s | ms/batch | peak MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        peak_mb = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        print(
            f"| {name} | {r['images_per_s']:,.0f} | {r['gflops']:.1f} | "
            f"{r['ms_per_batch']:.1f} | {peak_mb} |"
        )
    ratio = rows["numpy"]["images_per_s"] / rows["onnxruntime"]["images_per_s"]
    tf_ratio = rows["tensorflow"]["images_per_s"] / rows["keras"]["images_per_s"]
    print(f"\nnumpy / onnxruntime throughput: {ratio:.2f}x (goal >= 0.5)")
    print(f"numpy GFLOP/s / matmul peak: {rows['numpy']['gflops'] / max(peak, peak_after):.2f}")
    if rows["numpy"]["peak_mb"] and rows["onnxruntime"]["peak_mb"]:
        mem = rows["numpy"]["peak_mb"] / rows["onnxruntime"]["peak_mb"]
        print(f"numpy / onnxruntime peak memory: {mem:.2f}x (goal <= 2)")
    print(f"tensorflow / keras predict throughput: {tf_ratio:.2f}x (goal >= 0.9)\n")
    print("| input | batch | GFLOP/image | numpy img/s | onnxruntime img/s | numpy/ort |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in grow:
        print(
            f"| {r['size']}x{r['size']} | {r['batch']} | {r['gflop_per_image']:.3f} | "
            f"{r['numpy_img_s']:,.1f} | {r['onnxruntime_img_s']:,.1f} | {r['ratio']:.2f} |"
        )
    if args.json:
        data = {"load": load, "sgemm_peak": [peak, peak_after], "cifar": head, "scaling": grow}
        Path(args.json).write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
