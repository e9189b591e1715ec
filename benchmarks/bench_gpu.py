"""The numpy runtime on a GPU (CuPy): agreement with Keras, and speed against cuDNN.

Three steps, the first where Keras is installed, the others on the GPU machine
(which has CuPy and PyTorch but no TensorFlow)::

    python benchmarks/bench_gpu.py reference .gpu/reference.npz   # Keras answers
    python benchmarks/bench_gpu.py check .gpu/reference.npz       # CuPy against them
    python benchmarks/bench_gpu.py bench                          # CuPy vs torch cuDNN
    python benchmarks/bench_gpu.py zoo                            # zoo vs torchvision

``reference`` stores, for every example, option spec and the 120 random specs
of the tests, the spec text, weights, an input and the real Keras model's
output. ``check`` runs each through ``NumpyBackend(device=...)`` and applies the
tests' tolerance (rtol 1e-5, atol 1e-5 x output scale). ``bench`` times the
CIFAR example on CuPy against the same network in ``torch.nn.functional``
(cuDNN, float32 with TF32 off, and TF32 on for reference), shows where CuPy's
time goes, and prints throughput for batch 1, 16, 256 at input sizes 32-224.
``zoo`` compares ResNet50 and MobileNetV2 of the zoo with their torchvision
twins (benchmarks/bench_gpu_zoo.py). ``--device cpu`` runs ``check``/``bench``
on NumPy and CPU torch (a dry run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CIFAR = ROOT / "examples" / "cifar10_cnn.cnn"
FLOAT_MAX = float(np.finfo(np.float32).max)


def make_reference(path: str) -> None:
    """Keras's outputs for the tests' cases, with everything needed to rerun them."""
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # noqa: F401  (environment for TensorFlow)
    from specgen import generate_spec
    from test_runtime_cases import OPTION_SPECS, example_cases, option_cases, random_cases

    arrays: dict[str, np.ndarray] = {}
    cases = example_cases() + option_cases() + random_cases()
    for i, case in enumerate(cases):
        if case.name.startswith("random"):
            source = generate_spec(int(case.name[len("random") :]))
        elif case.name.startswith("option:"):
            source = OPTION_SPECS
        else:
            source = (ROOT / "examples" / f"{case.name.split(':')[0]}.cnn").read_text()
        arrays[f"{i}/name"] = np.array(case.name)
        arrays[f"{i}/source"] = np.array(source)
        arrays[f"{i}/model"] = np.array(case.model.name)
        arrays[f"{i}/x"] = case.x
        arrays[f"{i}/expected"] = case.expected
        for key, value in case.weights.items():
            arrays[f"{i}/w/{key}"] = value
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    print(f"wrote {path}: {len(cases)} cases")


def agree(actual: np.ndarray, expected: np.ndarray) -> float:
    """The worst error over the allowed (rtol 1e-5, atol 1e-5 x scale); <= 1 passes."""
    if actual.shape != expected.shape:
        return float("inf")
    a = np.clip(actual.astype(np.float64), -FLOAT_MAX, FLOAT_MAX)
    e = np.clip(expected.astype(np.float64), -FLOAT_MAX, FLOAT_MAX)
    scale = max(1.0, float(np.abs(e[np.isfinite(e)]).max(initial=0.0)))
    allowed = 1e-5 * scale + 1e-5 * np.abs(e)
    same_nan = np.isnan(a) & np.isnan(e)
    with np.errstate(invalid="ignore"):
        err = np.where(same_nan | (a == e), 0.0, np.abs(a - e) / allowed)
    return float(np.nan_to_num(err, nan=np.inf).max(initial=0.0))


def check(path: str, device: str, out: str | None) -> int:
    """Every reference case through the numpy runtime on ``device``."""
    from specc.check import check_source
    from specc.runtime.numpy_backend import NumpyBackend

    data = np.load(path, allow_pickle=False)
    count = len({key.split("/")[0] for key in data.files})
    rows, failures = [], 0
    start = time.perf_counter()
    for i in range(count):
        name = str(data[f"{i}/name"])
        result = check_source(str(data[f"{i}/source"]), f"{name}.cnn")
        model = result.model(str(data[f"{i}/model"]))
        prefix = f"{i}/w/"
        weights = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
        try:
            actual = NumpyBackend(model, weights, device=device)(data[f"{i}/x"])
            worst = agree(actual, data[f"{i}/expected"])
            error = None
        except Exception as exc:  # report every case, never stop at the first
            worst, error = float("inf"), f"{type(exc).__name__}: {exc}"
        failures += not worst <= 1.0
        rows.append({"case": name, "worst_over_allowed": worst, "error": error})
        if not worst <= 1.0:
            print(f"FAIL {name}: {error or f'{worst:.2f} x the tolerance'}")
    took = time.perf_counter() - start
    worst_all = max(r["worst_over_allowed"] for r in rows)
    print(
        f"{count - failures}/{count} cases agree with Keras on {device} "
        f"(worst error {worst_all:.3f} x the tolerance) in {took:.1f} s"
    )
    if out:
        Path(out).write_text(json.dumps({"device": device, "cases": rows}, indent=1))
    return 1 if failures else 0


def torch_forward(model, weights: dict[str, np.ndarray], device: str):
    """``model`` (conv2d / pooling / flatten / dense / relu) in torch.nn.functional, NCHW."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from specc.lower import lower

    dev = torch.device("cuda" if device == "gpu" else "cpu")
    steps = []
    for op in lower(model).ops:
        node, layer, kind = op.node, op.layer, op.kind
        if kind == "conv2d":
            kernel = torch.tensor(weights[f"{node.name}/kernel"], device=dev).permute(3, 2, 0, 1)
            bias = torch.tensor(weights[f"{node.name}/bias"], device=dev)
            (t, b), (lf, r) = op.window.pads
            steps.append(
                lambda x, k=kernel.contiguous(), bb=bias, p=(lf, r, t, b), lay=layer: F.conv2d(
                    F.pad(x, p) if any(p) else x, k, bb, lay.strides, 0, lay.dilation_rate
                )
            )
        elif kind == "maxpooling2d":
            assert layer.padding == "valid"
            steps.append(lambda x, lay=layer: F.max_pool2d(x, lay.pool_size, lay.effective_strides))
        elif kind == "flatten":
            steps.append(lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))
        elif kind == "dense":
            kernel = torch.tensor(weights[f"{node.name}/kernel"], device=dev)
            bias = torch.tensor(weights[f"{node.name}/bias"], device=dev)
            steps.append(lambda x, k=kernel, bb=bias: torch.addmm(bb, x, k))
        else:
            raise ValueError(f"torch_forward does not translate {kind}")
        if getattr(layer, "activation", None) == "relu":
            steps.append(torch.relu)
        elif getattr(layer, "activation", None) not in (None, "linear"):
            raise ValueError(f"torch_forward does not translate {layer.activation}")

    def forward(x):
        x = x.permute(0, 3, 1, 2)
        for step in steps:
            x = step(x)
        return x

    return forward


def _timed(fn, sync, seconds: float = 1.0, warmup: int = 3) -> float:
    """Median-free, steady-state seconds per call: calls until ``seconds`` have passed."""
    for _ in range(warmup):
        fn()
    sync()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        if calls >= 3 and time.perf_counter() - start > seconds:
            break
    sync()
    return (time.perf_counter() - start) / calls


def cifar_at(size: int):
    """The CIFAR example with its input resized to ``size`` x ``size``."""
    from specc.check import check_source

    text = CIFAR.read_text().replace("input 32x32x3", f"input {size}x{size}x3")
    text = "\n".join(line for line in text.splitlines() if "expect" not in line)
    return check_source(text, "cifar.cnn").model()


def bench(device: str, out: str | None, sizes=(32, 64, 128, 224), batches=(1, 16, 256, 1024)):
    """CuPy (numpy runtime) against torch cuDNN on the CIFAR example."""
    import torch

    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    xp = np
    if device == "gpu":
        import cupy as xp

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda" if device == "gpu" else "cpu")

    def sync() -> None:
        if device == "gpu":
            xp.cuda.Device().synchronize()
            torch.cuda.synchronize()

    report: dict[str, object] = {"device": device}
    if device == "gpu":
        report["gpu"] = torch.cuda.get_device_name(0)
    rows = []
    for size in sizes:
        model = cifar_at(size)
        weights = init_weights(model)
        ours = NumpyBackend(model, weights, device=device)
        theirs = torch_forward(model, weights, device)
        for batch in batches:
            if size >= 128 and batch > 256:
                continue
            x = np.random.default_rng(0).standard_normal((batch, size, size, 3), np.float32)
            xd, xt = xp.asarray(x), torch.tensor(x, device=dev)
            with torch.no_grad():
                ref = theirs(xt).cpu().numpy()
                assert agree(ours(xd), ref) <= 1.0, "CuPy and torch disagree"
                t_ours = _timed(lambda f=ours, a=xd: f(a), sync)
                t_torch = _timed(lambda f=theirs, a=xt: f(a).cpu(), sync)
                if device == "gpu":
                    torch.backends.cudnn.allow_tf32 = True
                    torch.backends.cuda.matmul.allow_tf32 = True
                    t_tf32 = _timed(lambda f=theirs, a=xt: f(a).cpu(), sync)
                    torch.backends.cudnn.allow_tf32 = False
                    torch.backends.cuda.matmul.allow_tf32 = False
                else:
                    t_tf32 = None
            gflop = 2 * model.total("macs") * batch / 1e9
            rows.append(
                {
                    "size": size,
                    "batch": batch,
                    "numpy_img_s": batch / t_ours,
                    "torch_img_s": batch / t_torch,
                    "torch_tf32_img_s": None if t_tf32 is None else batch / t_tf32,
                    "numpy_gflops": gflop / t_ours,
                    "torch_gflops": gflop / t_torch,
                    "ratio": t_torch / t_ours,
                }
            )
            r = rows[-1]
            print(
                f"{size:4d}px batch {batch:5d}: numpy/{'cupy' if device == 'gpu' else 'cpu'} "
                f"{r['numpy_img_s']:10.0f} img/s {r['numpy_gflops']:8.0f} GF/s | torch "
                f"{r['torch_img_s']:10.0f} img/s {r['torch_gflops']:8.0f} GF/s | ratio "
                f"{r['ratio']:.2f}"
                + (f" | torch tf32 {r['torch_tf32_img_s']:.0f} img/s" if t_tf32 else ""),
                flush=True,
            )
    report["scaling"] = rows
    report["breakdown"] = breakdown(device, xp, sync, batches[-2:])
    if out:
        Path(out).write_text(json.dumps(report, indent=1))


def breakdown(device: str, xp, sync, batches) -> list[dict[str, object]]:
    """Where CuPy's time goes: each layer, and each convolution's im2col and matrix product."""
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.weights import init_weights

    out = []
    for batch in batches:
        model = cifar_at(32)
        ours = NumpyBackend(model, init_weights(model), device=device)
        x = xp.asarray(np.random.default_rng(0).standard_normal((batch, 32, 32, 3), np.float32))
        values = {0: x}
        total = 0.0
        for op, fn, _ in ours.steps:
            args = [values[i] for i in op.inputs]
            t = _timed(lambda fn=fn, args=args: fn(args), sync, seconds=0.3)
            values[op.index] = fn(args)
            total += t
            row = {"batch": batch, "layer": op.name, "ms": t * 1e3}
            if op.kind == "conv2d":
                row.update(conv_parts(op, args[0], xp, sync))
            out.append(row)
            print("  ", {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
        print(f"   batch {batch}: layers sum to {total * 1e3:.3f} ms", flush=True)
    return out


def conv_parts(op, x, xp, sync) -> dict[str, float]:
    """A convolution's im2col (padding included) and matrix product, timed apart."""
    from specc.runtime import nn

    lay, window = op.layer, op.window
    if nn.on_gpu(xp):
        from specc.runtime.cuda_kernels import im2col_padded

        args = (window.kernel, window.strides, window.dilation, window.pads, window.out_hw)

        def make():
            return im2col_padded(x, *args, True)
    else:

        def make():
            return nn.im2col(xp, nn.pad_hw(xp, x, window.pads), window, ones=True)[0]

    def generic():
        return nn.im2col(xp, nn.pad_hw(xp, x, window.pads), window, ones=True)[0]

    cols = make()
    mat = xp.ones((cols.shape[1], lay.filters), np.float32)
    im2col_s = _timed(make, sync, 0.2)
    generic_s = _timed(generic, sync, 0.2)
    matmul_s = _timed(lambda: cols @ mat, sync, 0.2)
    flops = 2 * cols.shape[0] * cols.shape[1] * lay.filters
    return {
        "im2col_ms": im2col_s * 1e3,
        "generic_im2col_ms": generic_s * 1e3,
        "matmul_ms": matmul_s * 1e3,
        "matmul_tflops": flops / matmul_s / 1e12,
    }


def main() -> int:
    """Command line: reference | check | bench | zoo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    ref = sub.add_parser("reference")
    ref.add_argument("path")
    chk = sub.add_parser("check")
    chk.add_argument("path")
    bch = sub.add_parser("bench")
    bch.add_argument("--sizes", default="32,64,128,224")
    bch.add_argument("--batches", default="1,16,256,1024")
    for p in (chk, bch):
        p.add_argument("--device", choices=("cpu", "gpu"), default="gpu")
    zoo = sub.add_parser("zoo", help="zoo ResNet50 / MobileNetV2 against torchvision (GPU)")
    zoo.add_argument("--batches", default="1,32,128")
    zoo.add_argument("--seconds", type=float, default=1.0, help="per timing")
    zoo.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    for p in (chk, bch, zoo):
        p.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    if args.step == "reference":
        make_reference(args.path)
        return 0
    if args.step == "zoo":
        from bench_gpu_zoo import run

        run(tuple(int(v) for v in args.batches.split(",")), args.seconds, args.rounds, args.json)
        return 0
    if args.step == "check":
        return check(args.path, args.device, args.json)
    ints = [tuple(int(v) for v in text.split(",")) for text in (args.sizes, args.batches)]
    bench(args.device, args.json, *ints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
