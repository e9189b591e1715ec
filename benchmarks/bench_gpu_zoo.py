"""Zoo models on the numpy runtime (CuPy + cuDNN) against their torchvision twins on cuDNN.

``python benchmarks/bench_gpu.py zoo`` (on the GPU machine) runs, in one
process, ResNet50 (zoo/resnet.cnn) and MobileNetV2 (zoo/mobilenet_v2.cnn)
against ``torchvision.models.resnet50`` and ``mobilenet_v2`` (weights=None,
eval, cuDNN with ``cudnn.benchmark``, float32 with TF32 off) at each batch
size. The architectures are twins, not the same function: Keras pads its
stride-2 convolutions 'same' (the odd pixel at the end, or a ZeroPadding2D)
where torchvision pads symmetrically, and Keras's ResNet50 (v1) strides in
the first 1x1 convolution of a stage where torchvision's (v1.5) strides in
the 3x3 one, which costs torchvision 6% more MACs (both counts printed;
MobileNetV2's agree exactly). The ratio compares the throughput of the two
architectures, images per second; the last column divides it by the MACs.
Both sides take a device-resident batch and return the output on the host.

Columns: ours with CUDA graphs (the default) and eagerly; torchvision eager
(NCHW, the ratio's denominator), channels-last, and replayed from a CUDA
graph (channels-last), so that every ratio can be read against torch's best.
Then where our time goes at the largest batch: each step timed alone, summed
by what ran it.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "resnet50": ("zoo/resnet.cnn", "resnet50", "resnet50"),
    "mobilenet_v2": ("zoo/mobilenet_v2.cnn", "mobilenetv2", "mobilenet_v2"),
}


def zoo_model(path: str, name: str):
    """The zoo spec's model ``name``."""
    from specc.check import check_source

    return check_source((ROOT / path).read_text(), path).model(name)


def torch_twin(name: str, channels_last: bool):
    """torchvision's model of that name, random weights, eval, on the GPU."""
    import torch
    import torchvision

    model = getattr(torchvision.models, name)(weights=None).cuda().eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def torch_graph(model, x):
    """A CUDA graph replaying ``model(x)`` (torch's own capture)."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.no_grad():
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        out = model(x)
    return lambda: (graph.replay(), out.cpu())


def run(batches: tuple[int, ...], seconds: float, rounds: int, out: str | None) -> None:
    """The table, the breakdown and the JSON report."""
    import cupy
    import torch

    sys.path.insert(0, str(ROOT / "tests"))
    from bench_gpu import _timed, agree
    from zoo_weights import random_weights

    from specc.runtime import cudnn
    from specc.runtime.numpy_backend import NumpyBackend

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True

    def sync() -> None:
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()

    report: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(0),
        "cudnn_ours": cudnn.version(),
        "cudnn_torch": torch.backends.cudnn.version(),
        "cupy": cupy.__version__,
        "torch": torch.__version__,
    }
    rows, breakdowns = [], {}
    rng = np.random.default_rng(0)
    for key, (path, name, twin) in MODELS.items():
        model = zoo_model(path, name)
        weights = random_weights(model, rng)
        ours = NumpyBackend(model, weights, device="gpu")
        eager = NumpyBackend(model, weights, device="gpu")
        eager._graphs.graphs = False
        nchw, nhwc = torch_twin(twin, False), torch_twin(twin, True)
        torch_macs = _torch_macs(nchw)
        x2 = rng.standard_normal((2, 224, 224, 3)).astype(np.float32)
        cpu = NumpyBackend(model, weights)(x2)
        worst = agree(ours(x2), cpu)
        print(f"{key}: GPU vs CPU runtime, worst {worst:.3f} x the tolerance", flush=True)
        for batch in batches:
            x = rng.standard_normal((batch, 224, 224, 3)).astype(np.float32)
            xd = cupy.asarray(x)
            xt = torch.tensor(x, device="cuda").permute(0, 3, 1, 2).contiguous()
            xl = xt.to(memory_format=torch.channels_last)
            with torch.no_grad():
                variants = {
                    "ours_graph": lambda f=ours, a=xd: f(a),
                    "ours_eager": lambda f=eager, a=xd: f(a),
                    "torch": lambda f=nchw, a=xt: f(a).cpu(),
                    "torch_nhwc": lambda f=nhwc, a=xl: f(a).cpu(),
                    "torch_nhwc_graph": torch_graph(nhwc, xl),
                }
                times: dict[str, list[float]] = {v: [] for v in variants}
                for _ in range(rounds):
                    for variant, fn in variants.items():
                        times[variant].append(_timed(fn, sync, seconds))
            t = {v: statistics.median(s) for v, s in times.items()}
            row = {
                "model": key,
                "batch": batch,
                **{f"{v}_img_s": batch / s for v, s in t.items()},
                "ratio": t["torch"] / t["ours_graph"],
                "ratio_best_torch": min(t["torch"], t["torch_nhwc"], t["torch_nhwc_graph"])
                / t["ours_graph"],
                "spread": {v: [batch / s for s in ts] for v, ts in times.items()},
            }
            rows.append(row)
            print(_line(row), flush=True)
        breakdowns[key] = breakdown(ours, batches[-1], rng, sync)
        report[f"{key}_macs"] = {"ours": model.total("macs"), "torchvision": torch_macs}
        report[f"{key}_paths"] = dict(ours._gpu.used)
        report[f"{key}_graph_failure"] = ours._graphs.failure
        ours = eager = nchw = nhwc = variants = None
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
    report["rows"], report["breakdown"] = rows, breakdowns
    _print_table(rows, report)
    if out:
        Path(out).write_text(json.dumps(report, indent=1))


def _torch_macs(model) -> int:
    """Multiply-accumulates of a torchvision model's convolutions and linear layers, 224x224."""
    import torch

    total = 0

    def hook(module, inputs, output) -> None:
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            k = module.weight[0].numel()  # (C/groups) * kh * kw
            total += output.numel() * k
        elif isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224, device="cuda"))
    for h in handles:
        h.remove()
    return total


def breakdown(backend, batch: int, rng, sync) -> dict[str, float]:
    """Milliseconds per batch of each step timed alone (eager), summed by what ran it."""
    import cupy
    from bench_gpu import _timed

    from specc.runtime import cudnn

    x = cupy.asarray(rng.standard_normal((batch, 224, 224, 3)).astype(np.float32))
    values = {0: x}
    sums: dict[str, float] = {}
    convs: dict[str, list[float]] = {}  # by kernel and stride: ours, best exact, best any, cuBLAS
    with backend._gpu.stream:
        for op, fn, _ in backend.steps:
            args = [values[i] for i in op.inputs]
            t = _timed(lambda fn=fn, args=args: fn(args), sync, seconds=0.05, warmup=1)
            values[op.index] = fn(args)
            label = op.kind if op.activation in (None, "linear") else f"{op.kind}+{op.activation}"
            sums[label] = sums.get(label, 0.0) + t * 1e3
            if op.window is None or not op.kind.startswith("conv2d"):
                continue
            conv = getattr(fn, "cudnn", None)
            exact = best = float("nan")  # what cuDNN's search timed, where cuDNN runs it
            if conv is not None:
                found = next(v for k, v in conv.searched.items() if k[0] == batch)
                ok = [(algo, ms) for algo, status, ms in found if not status]
                exact = min(ms for algo, ms in ok if algo in cudnn.EXACT_ALGOS)
                best = min(ms for _, ms in ok)
            kernel = op.window.kernel
            group = f"{kernel[0]}x{kernel[1]}/s{op.window.strides[0]}"
            group += " cuDNN" if conv is not None else " cuBLAS"
            row = convs.setdefault(group, [0.0, 0.0, 0.0, 0])
            for j, v in enumerate((t * 1e3, exact, best, 1)):
                row[j] += v
    sums["total"] = sum(sums.values())
    print(f"  where the time goes at batch {batch} (ms, eager steps timed alone):", flush=True)
    for label, ms in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"    {label:32s} {ms:8.3f}", flush=True)
    print("  convolutions, ms: ours (with epilogue) | cuDNN's search: best exact | best any")
    for group, (ours, exact, best, count) in sorted(convs.items()):
        print(f"    {group:15s} x{count:<3d} {ours:8.3f} | {exact:8.3f} | {best:8.3f}")
    return {"ops": sums, "convs": convs}


def _line(r: dict) -> str:
    return (
        f"{r['model']:13s} batch {r['batch']:4d}: ours graph {r['ours_graph_img_s']:8.0f} "
        f"eager {r['ours_eager_img_s']:8.0f} | torch {r['torch_img_s']:8.0f} "
        f"nhwc {r['torch_nhwc_img_s']:8.0f} nhwc+graph {r['torch_nhwc_graph_img_s']:8.0f} img/s"
        f" | ratio {r['ratio']:.2f} (vs best torch {r['ratio_best_torch']:.2f})"
    )


def _print_table(rows: list[dict], report: dict) -> None:
    print("\n| model | batch | ours (graph) img/s | ours eager | torchvision | "
          "tv channels-last | tv c-l + graph | ratio | vs best torch | per MAC |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        macs = report[f"{r['model']}_macs"]
        per_mac = r["ratio"] * macs["ours"] / macs["torchvision"]  # MAC/s over MAC/s
        print(
            f"| {r['model']} | {r['batch']} | {r['ours_graph_img_s']:,.0f} | "
            f"{r['ours_eager_img_s']:,.0f} | {r['torch_img_s']:,.0f} | "
            f"{r['torch_nhwc_img_s']:,.0f} | {r['torch_nhwc_graph_img_s']:,.0f} | "
            f"**{r['ratio']:.2f}** | {r['ratio_best_torch']:.2f} | {per_mac:.2f} |"
        )
    for key in MODELS:
        print(
            f"{key}: MACs {report[f'{key}_macs']}, paths {report[f'{key}_paths']}, "
            f"graph failure {report[f'{key}_graph_failure']}"
        )
