"""Shared test helpers.

``require(name)`` imports an optional dependency or skips the test with a
reason; in CI (``SPECC_REQUIRE_ALL=1``) a missing dependency fails instead,
because CI installs every extra and must never skip.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# specc check keeps results between runs; tests check afresh (tests/test_check_cache.py turns it on)
os.environ.setdefault("SPECC_NO_CACHE", "1")

# torchvision (through torch._dynamo, which loads triton) segfaults when it is
# imported after TensorFlow in one process (TF 2.21, torch 2.14.1: the two ship
# clashing native libraries); imported first, both work. The ONNX import tests
# export torchvision models in the same process as the Keras tests.
try:
    import torchvision  # noqa: F401
except ImportError:  # not installed: the tests that need it skip (or fail in CI)
    pass


def require(name: str) -> ModuleType:
    """Import ``name`` or skip (fail under SPECC_REQUIRE_ALL=1)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if os.environ.get("SPECC_REQUIRE_ALL"):
            pytest.fail(f"{name} is required in CI but cannot be imported: {exc}")
        pytest.skip(f"{name} is not installed ({exc})")
