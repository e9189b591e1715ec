"""Peak memory of specc given zip bombs as weights and inputs (no memory limit set).

Builds the bombs of ``tests/test_hostile_bombs.py`` at the size of issue 18
(six 1 GiB arrays of zeros, 6 MB on disk, under names the model lacks; a
1 GiB array where a 32-byte weight belongs; a 1 GiB input of the wrong
shape) and prints, for each, the exit status, the first diagnostic and the
peak resident memory of the ``specc run`` process (``ru_maxrss``).

Usage: python benchmarks/bench_bombs.py [--arrays N]
To measure another checkout, run it with PYTHONPATH pointing there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bombs import run_limited, zeros_npz  # noqa: E402

SPEC = "model m {\n  input 8\n  dense 4\n}\n"
WEIGHTS = {"dense/kernel": ((8, 4), "<f4"), "dense/bias": ((4,), "<f4")}
GIB_OF_FLOATS = ((2**28,), "<f4")


def main() -> None:
    """Build the bombs in a temporary folder and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", type=int, default=6, help="1 GiB arrays in the first bomb")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "m.cnn").write_text(SPEC)
        np.save(folder / "x.npy", np.ones((2, 8), np.float32))
        extra = {f"ghost{i}/kernel": GIB_OF_FLOATS for i in range(args.arrays)}
        cases = {
            f"weights: {args.arrays} extra 1 GiB arrays": (
                zeros_npz(folder / "extra.npz", {**WEIGHTS, **extra}),
                ["-w", "extra.npz", "-i", "x.npy"],
            ),
            "weights: a 1 GiB kernel": (
                zeros_npz(folder / "shape.npz", {**WEIGHTS, "dense/kernel": GIB_OF_FLOATS}),
                ["-w", "shape.npz", "-i", "x.npy"],
            ),
            "input: 1 GiB of the wrong shape": (
                zeros_npz(folder / "wide.npz", {"x": GIB_OF_FLOATS}),
                ["-i", "wide.npz"],
            ),
        }
        print(f"{'case':40} {'file':>8} {'exit':>4} {'peak RSS':>10}  first diagnostic")
        for name, (bomb, extra_args) in cases.items():
            done = run_limited(["run", "m.cnn", *extra_args], None, folder)
            first = (done.stderr.strip().splitlines() or [""])[0]
            size = f"{bomb.stat().st_size / 2**20:.1f} MB"
            peak = f"{done.peak_rss_mib:,.0f} MiB"
            print(f"{name:40} {size:>8} {done.returncode:>4} {peak:>10}  {first[:90]}")


if __name__ == "__main__":
    main()
