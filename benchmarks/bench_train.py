"""`specc train` against the same training written by hand in Keras, in one run.

Both train the same network on the same data with the same settings, each in a
fresh process, in alternating order (specc, Keras, specc, Keras, ...):

- ``specc``: ``specc train SPEC --data D.npz --validation D.npz --format json``;
- ``keras``: a plain Keras script (the network written out by hand,
  ``compile``, ``fit(x, y, validation_data=...)``, shuffled by Keras, with
  Keras's progress bar as ``specc train`` shows it);
- ``specc --distribute`` (with ``--distribute``): the same over every device.

Reported per variant (medians over ``--runs``): the steady epoch time (median
of the epochs after the first, which also compiles) as training images per
second, the whole fit including the first epoch, the final validation
accuracy, and the ratio of throughputs to the hand-written script.

Data sets: ``digits`` (scikit-learn's 1,797 8x8 images with
examples/digits_cnn.cnn; 1,437 to train, 360 to validate) and ``digits32``
(the digits scaled to 32x32x3 with noise, ``--samples`` of them, with
examples/cifar10_unpadded.cnn: a larger workload, for accelerators).

Usage: python benchmarks/bench_train.py [--data digits|digits32] [--backend jax]
       [--epochs N] [--batch-size N] [--runs N] [--samples N] [--distribute]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "digits": ROOT / "examples" / "digits_cnn.cnn",
    "digits32": ROOT / "examples" / "cifar10_unpadded.cnn",
}
# The networks of SPECS, written out by hand as a Keras user would.
LAYERS = {
    "digits": """[
    keras.Input((8, 8, 1)),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"),
    layers.Flatten(),
    layers.Dropout(0.25),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
]""",
    "digits32": """[
    keras.Input((32, 32, 3)),
    layers.Conv2D(32, 3, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(128, 3, activation="relu"),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
]""",
}
KERAS_SCRIPT = """
import json, sys, time
import numpy as np
import keras
from keras import layers

data = np.load(sys.argv[1])
epochs, batch_size = int(sys.argv[2]), int(sys.argv[3])
keras.utils.set_random_seed(0)
model = keras.Sequential(LAYERS)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)


class Clock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())


clock = Clock()
history = model.fit(
    data["x_train"], data["y_train"], epochs=epochs, batch_size=batch_size,
    validation_data=(data["x_test"], data["y_test"]), callbacks=[clock],
)
epoch_seconds = [b - a for a, b in zip(clock.times, clock.times[1:])]
print("\\n" + json.dumps({
    "seconds": clock.times[-1] - clock.times[0],
    "epoch_seconds": epoch_seconds,
    "final": {k: v[-1] for k, v in history.history.items()},
    "backend": keras.backend.backend(),
}))
"""


def make_data(kind: str, samples: int, folder: Path) -> Path:
    """The data set as a .npz with x_train/y_train/x_test/y_test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    if kind == "digits32":
        rng = np.random.default_rng(0)
        pick = rng.integers(0, len(x), samples)
        big = np.kron(x[pick], np.ones((4, 4), np.float32))[..., None].repeat(3, axis=-1)
        x = big + rng.normal(0.0, 0.2, big.shape).astype(np.float32)
        y = y[pick]
    else:
        x = x[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    path = folder / f"{kind}.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def run_json(command: list[str], env: dict[str, str]) -> dict:
    """Run ``command`` and read the JSON object it prints last."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    text = "\n" + done.stdout  # the object is last; Keras's progress bar may come before it
    return json.loads(text[text.rindex("\n{") :])


def main() -> int:
    """Time each variant ``--runs`` times, interleaved; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(SPECS), default="digits")
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--samples", type=int, default=60000, help="digits32 only")
    parser.add_argument("--distribute", action="store_true", help="also specc --distribute")
    parser.add_argument("--json", metavar="OUT", help="write every measurement here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench_train_"))
    data = make_data(args.data, args.samples, folder)
    script = folder / "hand_written.py"
    script.write_text(KERAS_SCRIPT.replace("LAYERS", LAYERS[args.data]))
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "KERAS_BACKEND": args.backend, "PYTHONPATH": path}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    common = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    specc = [sys.executable, "-m", "specc.cli", "train", str(SPECS[args.data])]
    specc += ["--data", str(data), "--validation", str(data), "--format", "json"]
    specc += ["--backend", args.backend, *common]
    hand = [sys.executable, str(script), str(data)]
    variants = {
        "keras (hand-written)": [*hand, str(args.epochs), str(args.batch_size)],
        "specc train": [*specc, "-o", str(folder / "w.npz")],
    }
    if args.distribute:
        variants["specc train --distribute"] = [*specc, "--distribute", "-o", str(folder / "d.npz")]
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, command in variants.items():
            results[name].append(run_json(command, env))
    with np.load(data) as npz:
        train_samples = len(npz["x_train"])
    rows = []
    for name, runs in results.items():
        # the epochs after each run's first (which compiles), pooled over the runs
        steady = statistics.median(
            t for r in runs for t in r["epoch_seconds"][1:] or r["epoch_seconds"]
        )
        rows.append(
            {
                "variant": name,
                "images_per_s": train_samples / steady,
                "steady_epoch_s": steady,
                "fit_s": statistics.median(r["seconds"] for r in runs),
                "val_accuracy": statistics.median(r["final"]["val_accuracy"] for r in runs),
            }
        )
    reference = rows[0]["images_per_s"]
    print(
        f"{args.data}: {train_samples:,} training images, {args.epochs} epochs, batch "
        f"{args.batch_size}, backend {args.backend}, {args.runs} run(s) each"
    )
    print(f"{'variant':<28}{'images/s':>12}{'epoch s':>10}{'fit s':>9}{'val acc':>9}{'ratio':>8}")
    for row in rows:
        print(
            f"{row['variant']:<28}{row['images_per_s']:>12,.0f}{row['steady_epoch_s']:>10.3f}"
            f"{row['fit_s']:>9.2f}{row['val_accuracy']:>9.4f}"
            f"{row['images_per_s'] / reference:>8.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
