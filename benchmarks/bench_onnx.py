"""onnxruntime throughput: specc's ONNX graph against the graph Keras itself exports.

Both graphs carry the same weights (``init_weights`` with random biases) and
are first checked to compute what Keras computes; then each runs on
onnxruntime's CPU provider with default options, batch after batch, for a
fixed time per batch size in interleaved slices (the median is reported).
Keras's export (``model.export(format="onnx")``) needs ``tf2onnx``
(``pip install --no-deps tf2onnx``: its pinned protobuf would break TensorFlow).

    python benchmarks/bench_onnx.py [--spec examples/cifar10_cnn.cnn] [--batch 1 32]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def weights_for(model, seed: int = 0) -> dict[str, np.ndarray]:
    """Keras-style initial weights with random biases (so no Add is folded away)."""
    from specc.weights import init_weights

    weights = init_weights(model, seed)
    rng = np.random.default_rng(seed)
    for key, value in weights.items():
        if value.ndim == 1 and not key.endswith("moving_variance"):
            weights[key] = rng.normal(0.0, 0.1, value.shape).astype(np.float32)
    return weights


def keras_export(model, weights, path: str):
    """The Keras model (weights set) and its own ONNX export at ``path``."""
    from keras_reference import build_keras_model

    keras_model = build_keras_model(model)
    for node in model.layers:
        keras_model.get_layer(node.name).set_weights(
            [weights[f"{node.name}/{w.name}"] for w in node.weights]
        )
    keras_model(np.zeros((1, *model.input.output_shape), np.float32))
    keras_model.export(path, format="onnx", verbose=False)
    return keras_model


def throughput(session, feed_name: str, x: np.ndarray, seconds: float) -> float:
    """Samples per second over ``seconds`` of back-to-back runs."""
    runs, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or runs == 0:
        session.run(None, {feed_name: x})
        runs += 1
    return runs * len(x) / elapsed


def compare(sessions: dict, x: np.ndarray, seconds: float, rounds: int = 5) -> dict[str, float]:
    """Median throughput of each session over ``rounds`` interleaved slices of time.

    Interleaving keeps a busy neighbour on the machine from favouring one graph.
    """
    for session in sessions.values():
        for _ in range(3):  # warm-up
            session.run(None, {session.get_inputs()[0].name: x})
    samples: dict[str, list[float]] = {label: [] for label in sessions}
    for _ in range(rounds):
        for label, session in sessions.items():
            name = session.get_inputs()[0].name
            samples[label].append(throughput(session, name, x, seconds / rounds))
    return {label: float(np.median(rates)) for label, rates in samples.items()}


def main(argv: list[str] | None = None) -> int:
    """Print both throughputs and their ratio per batch size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "examples" / "cifar10_cnn.cnn"))
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    import onnxruntime as ort

    import specc
    from specc.emit.onnx import emit_onnx

    model = specc.load(args.spec).model()
    weights = weights_for(model)
    ours = emit_onnx(model, weights).SerializeToString()
    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "keras.onnx")
        try:
            keras_model = keras_export(model, weights, keras_path)
        except Exception as exc:  # tf2onnx missing or refusing the model
            print(f"Keras's ONNX export failed ({type(exc).__name__}: {exc})", file=sys.stderr)
            return 1
        theirs = Path(keras_path).read_bytes()

    sessions = {}
    for label, blob in (("specc", ours), ("keras export", theirs)):
        sessions[label] = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(4, *model.input.output_shape)).astype(np.float32)
    expected = np.asarray(keras_model(x))
    for label, session in sessions.items():
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale, err_msg=label)
    print(
        f"{model.name}: onnxruntime {ort.__version__}, CPU, {os.cpu_count()} cores; "
        f"outputs of both graphs equal Keras's to 1e-5"
    )
    print(
        f"{'batch':>5}  {'specc (samples/s)':>18}  {'keras export (samples/s)':>25}  {'ratio':>6}"
    )
    for batch in args.batch:
        xb = np.random.default_rng(batch).normal(size=(batch, *model.input.output_shape))
        xb = xb.astype(np.float32)
        rates = compare(sessions, xb, args.seconds)
        ratio = rates["specc"] / rates["keras export"]
        print(
            f"{batch:>5}  {rates['specc']:>18,.0f}  {rates['keras export']:>25,.0f}  {ratio:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
