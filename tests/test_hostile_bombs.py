"""Zip bombs as weights and inputs: refused from their ``.npy`` headers, in bounded memory.

Each bomb is a real ``.npz`` (deflated members, true sizes and CRCs, readable
by ``numpy.load``) holding 1 GiB arrays of zeros in about 1 MB each; specc
runs in a subprocess whose address space is limited to 512 MiB, so a single
decompressed array would end it with a MemoryError. The expected diagnostic
names the array, as for a small file.
"""

from __future__ import annotations

import numpy as np
import pytest
from bombs import run_limited, zeros_npz

from specc.check import check_source
from specc.weights import expected_weights

LIMIT = 512 * 2**20
GIB_OF_FLOATS = (2**28,)
SPEC = "model m {\n  input 8\n  dense 4\n}\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs")
    (path / "m.cnn").write_text(SPEC)
    np.save(path / "x.npy", np.ones((2, 8), np.float32))
    return path


def weights_shapes() -> dict[str, tuple[tuple[int, ...], str]]:
    model = check_source(SPEC).models[0]
    return {key: (tuple(weight.shape), "<f4") for key, _, weight in expected_weights(model)}


def test_extra_arrays_are_listed_without_being_decompressed(folder):
    junk = ("ghost/kernel", "dense/extra", "ghost2/bias")
    bomb = zeros_npz(
        folder / "extra.npz", {**weights_shapes(), **{k: (GIB_OF_FLOATS, "<f4") for k in junk}}
    )
    assert bomb.stat().st_size < 8 * 2**20
    done = run_limited(["run", "m.cnn", "-w", bomb.name, "-i", "x.npy"], LIMIT, folder)
    assert done.returncode == 2, done.stderr
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr
    for key in junk:
        assert f"error[E503]: weights file holds '{key}'" in done.stderr, done.stderr


def test_a_weight_of_the_wrong_shape_is_refused_from_its_header(folder):
    shapes = weights_shapes()
    (key, (shape, _)), *_ = shapes.items()
    bomb = zeros_npz(folder / "shape.npz", {**shapes, key: (GIB_OF_FLOATS, "<f4")})
    done = run_limited(["run", "m.cnn", "-w", bomb.name, "-i", "x.npy"], LIMIT, folder)
    assert done.returncode == 2, done.stderr
    assert f"error[E504]: layer 'dense': array '{key}' has shape {GIB_OF_FLOATS}" in done.stderr
    assert f"expected {shape}" in done.stderr


def test_the_same_weights_load_when_they_fit(folder):
    weights = zeros_npz(folder / "fits.npz", weights_shapes())
    done = run_limited(["run", "m.cnn", "-w", weights.name, "-i", "x.npy"], LIMIT, folder)
    assert done.returncode == 0, done.stderr


def test_an_input_of_the_wrong_shape_is_refused_from_its_header(folder):
    bomb = zeros_npz(folder / "wide.npz", {"x": (GIB_OF_FLOATS, "<f4")})
    done = run_limited(["run", "m.cnn", "-i", bomb.name], LIMIT, folder)
    assert done.returncode == 2, done.stderr
    assert "error[E602]: input of shape 268435456 does not fit model 'm'" in done.stderr


def test_an_input_batch_larger_than_memory_is_refused_before_reading(folder):
    rows = 2**30 // (8 * 4)
    bomb = zeros_npz(folder / "tall.npz", {"junk": ((4,), "<f4"), "x": ((rows, 8), "<f4")})
    done = run_limited(["run", "m.cnn", "-i", bomb.name], LIMIT, folder)
    assert done.returncode == 2, done.stderr
    assert f"error[E601]: input of shape ({rows}, 8) needs 2.0 GiB of memory" in done.stderr
    assert "MemoryError" not in done.stderr
