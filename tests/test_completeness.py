"""Every layer kind is complete: a documented class with Keras's defaults, and a handler everywhere.

docs/contributing.md sends whoever adds a layer kind here: each test names
the kinds (or classes) that lack something, and where it belongs.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Annotated

from conftest import require
from pydantic import TypeAdapter

from specc.check import check_source
from specc.ir.layer_base import Layer
from specc.ir.layers import KINDS, LAYER_CLASSES, REGISTRY
from specc.lower import FUSED_KINDS


def _handlers() -> dict[str, object]:
    """Each target, by the name the report uses, and the object holding its handlers."""
    from specc.emit.onnx import OnnxEmitter
    from specc.runtime.numpy_backend import NumpyBackend
    from specc.runtime.tf_backend import TensorFlowBackend

    return {
        "ONNX emitter (specc/emit/onnx_layers.py)": OnnxEmitter,
        "numpy backend (specc/runtime/numpy_backend.py, numpy_conv.py)": NumpyBackend,
        "TensorFlow backend (specc/runtime/tf_backend.py)": TensorFlowBackend,
    }


def test_every_kind_has_a_handler_in_every_target():
    from specc.emit.keras import KerasEmitter
    from specc.runtime.numpy_backend import NumpyBackend

    emitter = KerasEmitter(check_source("model m {\n  input 4\n  dense 2\n}\n").model(), "m")
    missing = []
    for cls in LAYER_CLASSES:
        if "output_shape" not in _own_methods(cls) and not cls.same_shape:
            missing.append(f"{cls.kind}: a shape rule (output_shape, or same_shape = True)")
        try:
            emitter.handler(cls.kind)
        except AttributeError:
            missing.append(f"{cls.kind}: the Keras emitter (specc/emit/keras.py)")
        for target, obj in _handlers().items():
            if not callable(getattr(obj, cls.kind, None)):
                missing.append(f"{cls.kind}: the {target}")
    for kind in FUSED_KINDS:  # ops only passes make; the numpy runtime runs the passes
        if not callable(getattr(NumpyBackend, kind, None)):
            missing.append(f"{kind} (an op of specc/lower/passes.py): the numpy backend")
    assert not missing, "missing:\n" + "\n".join(missing)


def _own_methods(cls: type[Layer]) -> set[str]:
    """Methods defined by ``cls`` or a base of it below :class:`Layer`."""
    return {name for klass in cls.__mro__ if klass is not Layer for name in vars(klass)}


def test_the_registry_is_the_table_of_classes():
    assert KINDS == tuple(cls.kind for cls in LAYER_CLASSES)
    assert len(set(KINDS)) == len(KINDS)
    assert {cls for cls in REGISTRY.values()} == set(LAYER_CLASSES)


def test_every_layer_class_has_a_docstring():
    bases = {base for cls in LAYER_CLASSES for base in cls.__mro__ if issubclass(base, Layer)}
    undocumented = sorted(
        c.__name__ for c in bases if not (c.__dict__.get("__doc__") or "").strip()
    )
    assert not undocumented, f"layer classes without a docstring: {undocumented}"


def test_no_base_class_knows_its_subclasses_kinds():
    """A base class's code never names a kind: what differs is a class attribute of the subclass."""
    words = set(REGISTRY)
    bases = {base for cls in LAYER_CLASSES for base in cls.__mro__[1:] if issubclass(base, Layer)}
    offenders = []
    for base in bases:
        tree = ast.parse(textwrap.dedent(inspect.getsource(base)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.lower() in words:
                    offenders.append(f"{base.__name__}: {node.value!r} (line {node.lineno})")
    assert not offenders, offenders


def test_defaults_are_keras_defaults():
    """Each field's default, validated as specc validates a spec's value, equals Keras's.

    A field specc defaults where Keras requires a value is listed in the
    class's ``keras_required`` (the emitters always pass it on); a field
    specc requires has no default in Keras either.
    """
    keras = require("keras")
    wrong = []
    for cls in LAYER_CLASSES:
        keras_class = getattr(keras.layers, cls.keras_class, None)
        if keras_class is None:
            wrong.append(f"{cls.kind}: keras.layers has no {cls.keras_class}")
            continue
        signature = inspect.signature(keras_class.__init__)
        for name, info in cls.model_fields.items():
            if name == "trainable":  # every Keras layer takes it through **kwargs: True
                assert info.default is True
                continue
            param = signature.parameters.get(name)
            if param is None:
                wrong.append(
                    f"{cls.kind}.{name}: not a parameter of keras.layers.{cls.keras_class}"
                )
                continue
            keras_has = param.default is not inspect.Parameter.empty
            if info.is_required():
                if keras_has:
                    wrong.append(
                        f"{cls.kind}.{name}: required in specc, {param.default!r} in Keras"
                    )
                continue
            if not keras_has:
                if name not in cls.keras_required:
                    wrong.append(f"{cls.kind}.{name}: Keras requires it; list it in keras_required")
                continue
            adapter = TypeAdapter(Annotated[(info.annotation, *info.metadata)])
            if adapter.validate_python(param.default) != info.default:
                wrong.append(f"{cls.kind}.{name}: specc {info.default!r}, Keras {param.default!r}")
    assert not wrong, "\n".join(wrong)


def test_contributing_names_tests_that_exist():
    """docs/contributing.md's table of which test names what points at real tests."""
    import re

    from conftest import ROOT

    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/\w+\.py)::(\w+)`", text)
    assert len(named) >= 6
    for path, name in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"
    for path in re.findall(r"`(tests/\w+\.py)`", text) + re.findall(r"`(specc/[\w/]+\.py)`", text):
        assert (ROOT / path).is_file(), path
