"""Random specs: the ONNX graph run by onnxruntime computes what real Keras computes.

``specgen`` writes 120 valid models (half plain stacks, half graphs with merges,
paths and @references, every layer kind and activation among them); for each,
the emitted graph must pass the checker and strict shape inference with specc's
shapes, and agree with the Keras model built from the same IR and weights to
1e-5 relative.
"""

from __future__ import annotations

import pytest
from conftest import require
from specgen import generate_spec
from test_onnx import assert_matches_keras

from specc.check import check_source

SEEDS = range(0, 120)
CHUNK = 30


@pytest.mark.parametrize("start", range(SEEDS.start, SEEDS.stop, CHUNK))
def test_random_specs_match_keras(start):
    require("tensorflow")
    require("onnxruntime")
    failures = []
    for seed in range(start, start + CHUNK):
        text = generate_spec(seed, graphs=seed % 2 == 0)
        result = check_source(text, f"random_{seed}.cnn")
        assert result.errors == [], (seed, result.errors)
        try:
            assert_matches_keras(result.models[0], seed=seed, batch=2 + seed % 3)
        except AssertionError as exc:
            failures.append(f"seed {seed}: {str(exc)[:400]}\n{text}")
    assert not failures, "\n".join(failures)
