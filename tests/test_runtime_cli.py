"""``specc run`` and ``specc bench`` on the command line, and the runtime's refusals.

Outputs are compared with ``specc.runtime.run`` (itself proven against Keras in
test_runtime_agreement.py); bad input must give a located diagnostic, exit 2
and no output file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, require

import specc
from specc.cli import main
from specc.diagnostics import SpeccError
from specc.ir.values import ACTIVATIONS
from specc.runtime import run
from specc.weights import init_weights, save_weights

CIFAR = str(ROOT / "examples" / "cifar10_cnn.cnn")
MNIST = str(ROOT / "examples" / "mnist_cnn.cnn")


@pytest.fixture(scope="module")
def cifar():
    return specc.load(CIFAR).model()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_numpy_backend_knows_every_activation():
    from specc.runtime.activations import ACTIVATION_FUNCTIONS

    # (every kind's handler in every backend: tests/test_completeness.py)
    assert set(ACTIVATIONS) <= set(ACTIVATION_FUNCTIONS) | {"linear"}


def test_tf_backend_knows_every_activation():
    tf = require("tensorflow")
    from specc.runtime.tf_backend import tf_activation

    x = tf.constant(np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4))
    for name in ACTIVATIONS:
        assert tf_activation(tf, x, name).shape == x.shape


def test_run_writes_what_the_api_computes(tmp_path, capsys, cifar):
    x = np.random.default_rng(0).standard_normal((3, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    weights = init_weights(cifar, seed=7)
    save_weights(tmp_path / "w.npz", weights)
    out = tmp_path / "sub" / "y.npy"
    code, stdout, _ = _run(
        capsys, CIFAR, "--input", str(tmp_path / "x.npy"), "-w", str(tmp_path / "w.npz"),
        "-o", str(out), "--top-k", "3",
    )  # fmt: skip
    assert code == 0
    expected = run(cifar, x, weights)
    np.testing.assert_array_equal(np.load(out), expected)
    assert "top 3 classes" in stdout
    best = int(np.argmax(expected[0]))
    assert f"{best}: " in stdout.splitlines()[-2] or f"{best}: " in stdout


def test_run_reads_npz_and_a_single_sample(tmp_path, capsys, cifar):
    x = np.random.default_rng(1).standard_normal((32, 32, 3)).astype(np.float32)
    np.savez(tmp_path / "one.npz", x=x, labels=np.arange(3))
    out = tmp_path / "y.npy"
    code, _, _ = _run(capsys, CIFAR, "-i", str(tmp_path / "one.npz"), "-o", str(out))
    assert code == 0
    assert np.load(out).shape == (1, 10)
    np.savez(tmp_path / "two.npz", a=x, b=x)
    code, _, err = _run(capsys, CIFAR, "-i", str(tmp_path / "two.npz"), "-o", str(out) + "2")
    assert code == 2 and "E601" in err and "holds a, b" in err


@pytest.mark.parametrize(
    ("array", "code", "flag"),
    [
        (np.zeros((2, 28, 28, 1), np.float32), "E602", None),
        (np.zeros((2, 32, 32, 3), bool), "E603", None),
        (np.full((1, 32, 32, 3), np.nan, np.float32), "E604", None),
        (np.full((1, 32, 32, 3), 1e300), "E604", None),
    ],
)
def test_bad_inputs_are_refused_and_nothing_is_written(tmp_path, capsys, array, code, flag):
    np.save(tmp_path / "x.npy", array)
    out = tmp_path / "y.npy"
    status, stdout, err = _run(capsys, CIFAR, "-i", str(tmp_path / "x.npy"), "-o", str(out))
    assert status == 2
    assert f"error[{code}]" in err
    assert f"{tmp_path / 'x.npy'}:1:1:" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "x.npy"]
    assert "Traceback" not in err + stdout


def test_allow_nan_runs_nan_through(tmp_path, capsys):
    x = np.zeros((1, 32, 32, 3), np.float32)
    x[0, 3, 4, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    status, _, _ = _run(capsys, CIFAR, "-i", str(tmp_path / "x.npy"), "--allow-nan", "-o", str(out))
    assert status == 0 and np.isnan(np.load(out)).any()


def test_unreadable_inputs(tmp_path, capsys):
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    for path in (tmp_path / "junk.npy", tmp_path / "missing.npy", tmp_path):
        status, _, err = _run(capsys, CIFAR, "-i", str(path))
        assert status == 2 and "error[E601]" in err, err
    np.save(tmp_path / "obj.npy", np.array([{}], dtype=object), allow_pickle=True)
    status, _, err = _run(capsys, CIFAR, "-i", str(tmp_path / "obj.npy"))
    assert status == 2 and "error[E603]" in err


def test_weights_that_do_not_fit_are_refused(tmp_path, capsys, cifar):
    weights = init_weights(cifar)
    weights["dense/kernel"] = weights["dense/kernel"][:10]
    save_weights(tmp_path / "w.npz", weights)
    np.save(tmp_path / "x.npy", np.zeros((1, 32, 32, 3), np.float32))
    out = tmp_path / "y.npy"
    status, _, err = _run(
        capsys, CIFAR, "-i", str(tmp_path / "x.npy"), "-w", str(tmp_path / "w.npz"), "-o", str(out)
    )
    assert status == 2 and "E504" in err and "dense" in err and not out.exists()


def test_images_are_read_checked_and_resized(tmp_path, capsys):
    pil = require("PIL.Image")
    rng = np.random.default_rng(2)
    pil.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(tmp_path / "a.png")
    pil.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(tmp_path / "b.png")
    out = tmp_path / "y.npy"
    status, stdout, _ = _run(capsys, MNIST, "-i", str(tmp_path / "a.png"), "-o", str(out))
    assert status == 0 and "a.png" in stdout
    pixels = np.asarray(pil.open(tmp_path / "a.png"), dtype=np.float32)[None, :, :, None]
    mnist = specc.load(MNIST).model()
    np.testing.assert_array_equal(np.load(out), run(mnist, pixels))
    status, _, err = _run(capsys, MNIST, "-i", str(tmp_path / "b.png"), "-o", str(out) + "2")
    assert status == 2 and "E602" in err and "--resize" in err
    both = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    status, _, _ = _run(capsys, MNIST, "-i", *both, "--resize", "-o", str(out))
    assert status == 0 and np.load(out).shape == (2, 10)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    status, _, err = _run(capsys, MNIST, "-i", str(tmp_path / "bad.png"))
    assert status == 2 and "E601" in err


def test_spec_errors_and_usage(tmp_path, capsys):
    bad = tmp_path / "bad.cnn"
    bad.write_text("model m {\n  input 8x8x3\n  conv2d 4 9x9\n}\n")
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 3), np.float32))
    status, _, err = _run(capsys, str(bad), "-i", str(tmp_path / "x.npy"))
    assert status == 1 and "E201" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", CIFAR, "-i", "x.npy", "--batch-size", "0"])
    assert exit_info.value.code == 2


def test_gpu_without_cupy_is_a_located_refusal(tmp_path, capsys):
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed: the GPU path is tested on the device machine")
    except ImportError:
        pass
    np.save(tmp_path / "x.npy", np.zeros((1, 32, 32, 3), np.float32))
    status, _, err = _run(capsys, CIFAR, "-i", str(tmp_path / "x.npy"), "--device", "gpu")
    assert status == 2 and "error[E605]" in err and "cupy" in err.lower()


def test_api_reports_at_the_input_line(cifar):
    with pytest.raises(SpeccError) as info:
        run(cifar, np.zeros((2, 3), np.float32))
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.code == "E602" and diagnostic.span == cifar.input.span
    with pytest.raises(SpeccError) as info:
        run(cifar, np.zeros((1, 32, 32, 3)), {"conv2d/kernel": np.zeros((3, 3, 3, 32))})
    assert {d.code for d in info.value.diagnostics} == {"E502"}


def test_bench_reports_throughput_in_json(capsys):
    status = main(
        ["bench", CIFAR, "--backends", "numpy", "--batch-size", "8", "--seconds", "0.2",
         "--no-memory", "--format", "json"]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    (result,) = data["results"]
    assert result["backend"] == "numpy" and result["images_per_s"] > 0
    expected = 2 * data["macs"] * result["images_per_s"] / 1e9
    assert result["gflops"] == pytest.approx(expected)
    assert result["ratio"] == 1.0
    assert main(["bench", CIFAR, "--backends", "numpy,pytorch"]) == 2


def test_bench_table_lists_unavailable_backends(capsys):
    status = main(
        ["bench", CIFAR, "--backends", "numpy,onnxruntime", "--device", "gpu", "--seconds", "0.1",
         "--no-memory", "--batch-size", "2"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "numpy" in out and "onnxruntime" in out


@pytest.mark.parametrize(
    ("forced", "core", "avx512", "noted"),
    [
        ("Haswell", "Haswell", True, True),  # forced below what the CPU runs
        ("Haswell", "Haswell", False, False),  # the CPU has no AVX-512 anyway
        (None, "Haswell", True, False),  # OpenBLAS's own choice
        ("SkylakeX", "SkylakeX", True, False),
    ],
)
def test_bench_notes_a_forced_slow_blas_kernel(capsys, monkeypatch, forced, core, avx512, noted):
    from specc.runtime import threads

    if forced is None:
        monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_CORETYPE", forced)
    monkeypatch.setattr(threads, "blas_core", lambda: core)
    monkeypatch.setattr(threads, "cpu_has_avx512", lambda: avx512)
    argv = ["bench", CIFAR, "--backends", "numpy", "--batch-size", "2", "--seconds", "0.1"]
    assert main([*argv, "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert ("note: OPENBLAS_CORETYPE" in out) == noted, out
    assert main([*argv, "--no-memory", "--format", "json"]) == 0
    blas = json.loads(capsys.readouterr().out)["blas"]
    assert blas["core"] == core and (blas["note"] is not None) == noted


@pytest.mark.parametrize("numba", ["1", "0"])
def test_bench_says_when_depthwise_convolutions_run_without_numba(
    capsys, monkeypatch, tmp_path, numba
):
    """A model with a depthwise convolution: the compiled kernels are used, or a note says
    how to get them; a model without one gets neither."""
    require("numba")
    monkeypatch.setenv("SPECC_NUMBA", numba)
    spec = tmp_path / "mobile.cnn"
    spec.write_text(
        "model mobile {\n  input 16x16x8\n  depthwiseconv2d 3x3 padding=same activation=relu6\n"
        "  conv2d 16 1x1\n  globalavgpool\n}\n",
        encoding="utf-8",
    )
    argv = ["bench", str(spec), "--backends", "numpy", "--batch-size", "2",
            "--seconds", "0.1", "--no-memory"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("specc[fast]" in out) == (numba == "0"), out
    assert main([*argv, "--format", "json"]) == 0
    kernels = json.loads(capsys.readouterr().out)["compiled_kernels"]
    assert kernels["used"] == (numba == "1") and (kernels["note"] is None) == (numba == "1")
    assert main(["bench", CIFAR, "--backends", "numpy", "--batch-size", "2", "--seconds", "0.1",
                 "--no-memory", "--format", "json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["compiled_kernels"] == {"used": False, "note": None}
