"""The generated module is backend-agnostic Keras 3: it runs on JAX or PyTorch too.

For each example model and the random specs of 20 seeds (those without
``resizing``, which Keras computes differently there), the parent process (TensorFlow)
writes the generated module, a weights file and the outputs TensorFlow
computes; a subprocess with ``KERAS_BACKEND=jax`` or ``torch`` imports the
module, builds the model, loads the weights with ``load_weights`` (and writes
them back, unchanged, with ``save_weights``), and must compute the same outputs
(1e-5 relative); models with ``compile`` train one
step there too. Skipped where neither backend is installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, require
from specgen import generate_spec
from test_keras_emit_common import (
    check_text,
    import_source,
    random_input,
    random_targets,
    weights_of,
)

import specc
from specc.emit.keras import emit_keras

CHILD = r"""
import importlib.util, json, sys
import numpy as np
import keras

assert keras.backend.backend() == sys.argv[2], keras.backend.backend()
cases = json.load(open(sys.argv[1]))
for case in cases:
    spec = importlib.util.spec_from_file_location(case["stem"], case["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build_model()
    module.load_weights(model, case["weights"])
    module.save_weights(model, case["weights"] + ".saved")
    with np.load(case["weights"]) as put, np.load(case["weights"] + ".saved") as saved:
        assert sorted(saved.files) == sorted(put.files), case["stem"]
        assert all(np.array_equal(saved[k], put[k]) for k in put.files), case["stem"]
    data = np.load(case["data"])
    got = keras.ops.convert_to_numpy(model(data["x"], training=False))
    np.testing.assert_allclose(got, data["y"], rtol=1e-5, atol=1e-5, err_msg=case["stem"])
    if hasattr(module, "compile_model"):
        history = module.train(model, data["x"], data["t"], epochs=1, batch_size=2, verbose=0,
                               validation_split=0.0)
        assert len(history.history["loss"]) == 1
    print("ok", case["stem"])
"""


def _models():
    for path in EXAMPLES:
        yield from specc.load(path).models
    for seed in range(20):
        model = check_text(generate_spec(seed), f"random_{seed}.cnn")
        # Keras's image resize is a different function on JAX and PyTorch (no area
        # kernel, no Lanczos on PyTorch, other cubic weights): Resizing is TensorFlow's.
        if all(node.kind != "resizing" for node in model.layers):
            yield model


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_generated_modules_run_on_another_backend(backend, tmp_path):
    require(backend)  # CI installs jax and torch (.ci/run); elsewhere a missing one skips
    require("tensorflow")
    from keras_reference import build_keras_model

    cases = []
    for i, model in enumerate(_models()):
        stem = f"case_{i}_{model.name}"
        source = emit_keras(model, f"{model.name}.cnn")
        (tmp_path / f"{stem}.py").write_text(source)
        reference = build_keras_model(model)
        np.savez(tmp_path / f"{stem}_w.npz", **weights_of(reference))
        module = import_source(source, tmp_path, "tf")
        keras_model = module.build_model()
        module.load_weights(keras_model, str(tmp_path / f"{stem}_w.npz"))
        x = random_input(model, 4, seed=i)
        y = np.asarray(keras_model(x, training=False))
        np.savez(tmp_path / f"{stem}_data.npz", x=x, y=y, t=random_targets(model, 4))
        cases.append(
            {
                "stem": stem,
                "module": str(tmp_path / f"{stem}.py"),
                "weights": str(tmp_path / f"{stem}_w.npz"),
                "data": str(tmp_path / f"{stem}_data.npz"),
            }
        )
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "child.py").write_text(CHILD)
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, str(tmp_path / "child.py"), str(tmp_path / "cases.json"), backend],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert run.stdout.split().count("ok") == len(cases)
