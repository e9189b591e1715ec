"""How fast `specc check` is, against Keras doing the same job, measured in one run.

1. Cold process: `specc check --no-cache` on the CIFAR example (parse, infer,
   lint afresh: the number the README gives; target <= 0.15 s), against a cold
   process that imports Keras, builds the same model and calls `summary()`.
   Prints medians of wall and CPU seconds and the ratios. Beside it: the same
   check answered from the result cache (a user's second check of an unchanged
   file, specc/commands/check_cache.py), `python -c pass`, and the floor of any
   fresh check, a process that only imports pydantic's BaseModel and Field.
   Every process may keep its bytecode (in a temporary folder), as an installed
   package does, even where the environment sets PYTHONDONTWRITEBYTECODE.
2. Growth: generated specs of 1,000 to 20,000 layers, checked in-process;
   prints seconds and microseconds per layer (target: 10,000 layers < 1 s,
   cost per layer flat).

Usage: python benchmarks/bench_check.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CIFAR = ROOT / "examples" / "cifar10_cnn.cnn"

KERAS_JOB = """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
from keras import layers
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(128, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10),
])
model.summary(print_fn=lambda *a, **k: None)
assert model.count_params() == 356810
"""


def cold(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of a fresh process running ``cmd``.

    CPU seconds (user + system of the child) hardly change on a busy machine,
    where wall seconds include the wait for a free core.
    """
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def long_spec(layers: int) -> str:
    """A valid stack of ``layers`` layers (conv/batchnorm/relu triples on a small map)."""
    lines = ["model deep {", "  input 16x16x8"]
    for i in range(layers):
        lines.append(("  conv2d 8 3 same", "  batchnorm", "  relu")[i % 3])
    lines += ["  globalavgpool", "  dense 10", "}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the cold-start comparison and the growth table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    specc_cmd = [sys.executable, "-m", "specc.cli", "check", "-q", str(CIFAR)]
    floor_cmd = [sys.executable, "-c", "from pydantic import BaseModel, Field"]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as pyc:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "PYTHONPYCACHEPREFIX": pyc}
        for name in ("SPECC_NO_CACHE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        fresh_cmd = [*specc_cmd, "--no-cache"]
        for cmd in (specc_cmd, fresh_cmd, floor_cmd, [sys.executable, "-c", "pass"]):
            cold(cmd, 1, env)  # bytecode written; the result into the cache
        fresh_s = cold(fresh_cmd, args.runs, env)
        cached_s = cold(specc_cmd, args.runs, env)
        floor_s = cold(floor_cmd, args.runs, env)
        bare_s = cold([sys.executable, "-c", "pass"], args.runs, env)
    # Keras reads the bytecode its install wrote (a prefix would compile TensorFlow anew).
    keras_s = cold([sys.executable, "-c", KERAS_JOB], max(2, args.runs // 2))
    print(
        f"cold process, CIFAR example (medians of {args.runs}; load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {os.cpu_count()} cores)"
    )
    print(f"  {'':48} {'wall s':>7} {'cpu s':>7}")
    rows = [
        ("specc check --no-cache (target <= 0.15)", fresh_s),
        ("specc check, result from the cache", cached_s),
        ("python -c pass", bare_s),
        ("import pydantic BaseModel, Field (floor)", floor_s),
        ("keras build + summary()", keras_s),
    ]
    for label, (wall, cpu) in rows:
        print(f"  {label:48} {wall:7.3f} {cpu:7.3f}")
    print(
        f"  keras / specc check --no-cache: {keras_s[0] / fresh_s[0]:.1f}x wall, "
        f"{keras_s[1] / fresh_s[1]:.1f}x cpu (target >= 10x); "
        f"cached: {keras_s[0] / cached_s[0]:.1f}x wall"
    )

    from specc.check import check_source

    print("\ngrowth: in-process check of generated stacks")
    print("  (best of 3; CPU seconds are this process's own, robust to a busy machine)")
    print(f"  {'layers':>7} {'wall s':>8} {'cpu s':>8} {'us/layer':>9}")
    for n in (1_000, 2_500, 5_000, 10_000, 20_000):
        text = long_spec(n)
        wall, cpu = [], []
        for _ in range(3):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = check_source(text, "deep.cnn")
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            assert not result.errors, result.errors[:3]
        print(f"  {n:>7} {min(wall):8.3f} {min(cpu):8.3f} {min(cpu) / n * 1e6:9.1f}")


if __name__ == "__main__":
    main()
