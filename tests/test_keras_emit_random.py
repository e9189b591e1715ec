"""``specc keras`` on 200 random specs (``tests/specgen.py``), checked by real Keras.

Each generated module is imported and built by Keras: every layer's name,
output shape and parameter count and the totals equal specc's summary, and
every layer's config equals the reference model's built straight from the IR.
Every tenth model also loads the reference's weights and must compute its
outputs; every tenth gets ``compile``/``fit`` lines and trains one epoch.
All 200 sources pass ``ruff format --check`` and ``ruff check``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import require
from specgen import generate_spec
from test_keras_emit_common import (
    assert_matches_summary,
    assert_ruff_clean,
    assert_same_configs,
    check_text,
    import_source,
    random_input,
    weights_of,
)

from specc.emit.keras import emit_keras

SEEDS = range(200)
OPTIMIZERS = ("adam", "sgd(0.01)", "adam(learning_rate=1e-3, beta_1=0.8)", "rmsprop(5e-4)")
OPTIMIZERS += ("adamw(weight_decay=0.01)", "nadam", "sgd(learning_rate=0.1, momentum=0.9)")
LOSSES = ("mse", "mae", "huber(delta=0.5)", "log_cosh", "mean_squared_error")
METRICS = ("[mae]", "[rmse]", "[mse, mape]", "[]", "[root_mean_squared_error]")


def with_training(text: str, seed: int) -> str:
    """``text`` with random ``compile`` and ``fit`` lines after the input statement."""
    rng = random.Random(seed)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("input ")) + 1
    compile_line = (
        f"  compile optimizer={rng.choice(OPTIMIZERS)} loss={rng.choice(LOSSES)} "
        f"metrics={rng.choice(METRICS)}"
    )
    fit_line = (
        f"  fit epochs=2 batch_size={rng.choice((2, 4))} shuffle={rng.choice(('true', 'false'))}"
    )
    return "\n".join([*lines[:at], compile_line, fit_line, *lines[at:]]) + "\n"


def spec_text(seed: int) -> str:
    """The random spec of ``seed``; every tenth has training settings."""
    text = generate_spec(seed)
    return with_training(text, seed) if seed % 10 == 3 else text


@pytest.fixture(scope="module")
def sources():
    """seed -> (IR model, generated source)."""
    out = {}
    for seed in SEEDS:
        model = check_text(spec_text(seed), f"random_{seed}.cnn")
        out[seed] = (model, emit_keras(model, f"random_{seed}.cnn"))
    return out


def test_random_sources_pass_ruff(sources, tmp_path):
    for seed, (_, source) in sources.items():
        (tmp_path / f"random_{seed}.py").write_text(source)
    assert_ruff_clean(tmp_path)


def test_random_specs_cover_every_kind_and_both_styles(sources):
    from specc.ir.layers import KINDS

    kinds = {node.kind for model, _ in sources.values() for node in model.layers}
    assert kinds == set(KINDS)
    styles = {model.is_sequential for model, _ in sources.values()}
    assert styles == {True, False}
    assert sum(model.compile is not None for model, _ in sources.values()) >= 20


@pytest.mark.parametrize("seed", SEEDS)
def test_random_spec_builds_in_keras(sources, seed, tmp_path):
    require("tensorflow")
    from keras_reference import build_keras_model

    model, source = sources[seed]
    module = import_source(source, tmp_path)
    keras_model = module.build_model()
    assert_matches_summary(keras_model, model)
    reference = build_keras_model(model)
    assert_same_configs(keras_model, reference)
    if seed % 10 == 7:
        np.savez(tmp_path / "w.npz", **weights_of(reference))
        module.load_weights(keras_model, str(tmp_path / "w.npz"))
        x = random_input(model, 2, seed)
        expected = np.asarray(reference(x, training=False))
        got = np.asarray(keras_model(x, training=False))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    if model.compile is not None:
        assert module.FIT_SETTINGS == model.fit.kwargs
        x = random_input(model, 4, seed)
        y = np.random.default_rng(seed).standard_normal((4, *model.output_shape))
        history = module.train(keras_model, x, y.astype("float32"), epochs=1, verbose=0)
        assert len(history.history["loss"]) == 1
        optimizer = model.compile.kwargs["optimizer"]
        name = getattr(optimizer, "name", optimizer)
        assert type(keras_model.optimizer).__name__.lower() == name
