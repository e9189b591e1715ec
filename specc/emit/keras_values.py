"""Python source for IR values: validated literals and whitelisted Keras names only.

Nothing a spec writes reaches the generated module as raw text. Numbers,
booleans, ``None``, strings, tuples and lists are re-rendered from their
Python values (strings escaped, non-finite numbers refused); function values
(``l2(0.01)``, ``adam(learning_rate=1e-3)``) become Keras classes looked up in
the tables below, with keyword names that must be plain Python identifiers.
Anything else is refused with a located E607 diagnostic.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
from typing import Any

from specc.codes import E607
from specc.diagnostics import Span, error
from specc.emit.keras_format import Doc, call, collection
from specc.ir.training import CALLBACK_REQUIRED, CALLBACKS, LOSSES, METRICS, OPTIMIZERS
from specc.ir.values import FnValue

# Keras class of each function name, per namespace: keras.<namespace>.<Class>.
INITIALIZER_CLASSES = {
    "glorot_uniform": "GlorotUniform",
    "glorot_normal": "GlorotNormal",
    "he_normal": "HeNormal",
    "he_uniform": "HeUniform",
    "lecun_normal": "LecunNormal",
    "lecun_uniform": "LecunUniform",
    "zeros": "Zeros",
    "ones": "Ones",
    "orthogonal": "Orthogonal",
    "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal",
    "constant": "Constant",
    "identity": "Identity",
    "variance_scaling": "VarianceScaling",
}
REGULARIZER_CLASSES = {
    "l1": "L1",
    "l2": "L2",
    "l1_l2": "L1L2",
    "orthogonal_regularizer": "OrthogonalRegularizer",
}
CONSTRAINT_CLASSES = {
    "max_norm": "MaxNorm",
    "non_neg": "NonNeg",
    "unit_norm": "UnitNorm",
    "min_max_norm": "MinMaxNorm",
}
OPTIMIZER_CLASSES = {name: cls for name, (cls, _) in OPTIMIZERS.items()}
LOSS_CLASSES = {name: cls for name, (cls, _) in LOSSES.items()}
METRIC_CLASSES = {name: cls for name, (cls, _) in METRICS.items()}
CALLBACK_CLASSES = {name: cls for name, (cls, _) in CALLBACKS.items()}
NAMESPACES: dict[str, dict[str, str]] = {
    "initializers": INITIALIZER_CLASSES,
    "regularizers": REGULARIZER_CLASSES,
    "constraints": CONSTRAINT_CLASSES,
    "optimizers": OPTIMIZER_CLASSES,
    "losses": LOSS_CLASSES,
    "metrics": METRIC_CLASSES,
    "callbacks": CALLBACK_CLASSES,
}
# Bare names Keras resolves from a string (``keras.<namespace>.get(name)``, or
# ``compile``'s own lookup for metrics); any other bare name is written as its
# class with no arguments. tests/test_keras_emit_values.py checks both lists.
STRING_NAMES: dict[str, frozenset[str]] = {
    "initializers": frozenset(INITIALIZER_CLASSES) - {"constant"},
    "regularizers": frozenset({"l1", "l2", "orthogonal_regularizer"}),
    "constraints": frozenset(CONSTRAINT_CLASSES),
    "optimizers": frozenset(OPTIMIZER_CLASSES) - {"lamb", "muon"},
    "losses": frozenset(LOSS_CLASSES),
    "metrics": frozenset(METRIC_CLASSES) - {"rmse", "fbeta_score", "iou", "mean_iou", "log_cosh"},
    "callbacks": frozenset(),  # fit takes callback objects only
}

# Arguments without a default in Keras: a bare name cannot stand for these objects.
REQUIRED_ARGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("metrics", "iou"): ("num_classes", "target_class_ids"),
    ("metrics", "mean_iou"): ("num_classes",),
    **{("callbacks", name): args for name, args in CALLBACK_REQUIRED.items()},
}


def py_string(text: str) -> str:
    """A Python string literal for ``text`` in ruff's preferred quotes, every character escaped
    that is not printable."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for ch in text:
        if ch == "\\" or ch == quote:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])
        else:
            out.append(ch)
    literal = quote + "".join(out) + quote
    if ast.literal_eval(literal) != text:  # the one property everything rests on
        raise AssertionError(f"string literal does not round-trip: {text!r}")
    return literal


def comment_text(text: str) -> str:
    """``text`` made safe for a ``#`` comment: no line breaks or unprintable characters."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters (``...`` in the middle) so that lines stay short."""
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return text[:half] + "..." + text[len(text) - (limit - 3 - half) :]


def is_identifier(name: Any) -> bool:
    """A plain Python identifier usable as a keyword argument (ASCII, not a keyword)."""
    return (
        isinstance(name, str)
        and name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
    )


def literal(value: Any, span: Span, what: str) -> Doc:
    """Source for a plain value (number, bool, None, string, tuple, list), or E607."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise error(
                E607,
                f"{what} is {value!r}, which Keras cannot take",
                span,
                "write a finite number",
            )
        return repr(value)
    if isinstance(value, str):
        return py_string(value)
    if isinstance(value, tuple):
        items = [literal(v, span, what) for v in value]
        return collection("(", items, ")", one_tuple=len(items) == 1)
    if isinstance(value, list):
        return collection("[", [literal(v, span, what) for v in value], "]")
    if isinstance(value, FnValue):
        raise error(
            E607,
            f"{what} cannot be a call such as {value.name}(...) in Keras code",
            span,
            "write a plain value",
        )
    raise error(E607, f"{what} has a value Keras code cannot express: {value!r}", span)


def keras_object(value: Any, namespace: str, span: Span, what: str) -> Doc:
    """A name or ``FnValue`` of ``namespace`` as a Keras string or ``keras.<ns>.<Class>(...)``."""
    table = NAMESPACES[namespace]
    fn = FnValue(value) if isinstance(value, str) else value
    if not isinstance(fn, FnValue) or fn.name.lower() not in table:
        return literal(value, span, what)
    name = fn.name.lower()
    if not fn.kwargs and name in STRING_NAMES[namespace]:
        return py_string(name)
    given = {key for key, _ in fn.kwargs}
    missing = [key for key in REQUIRED_ARGS.get((namespace, name), ()) if key not in given]
    if missing:
        raise error(
            E607,
            f"{what} {name} needs {', '.join(missing)} in Keras",
            span,
            f"write {name}({', '.join(f'{key}=...' for key in missing)})",
        )
    args: list[Doc] = []
    for key, arg in fn.kwargs:
        if not is_identifier(key):
            raise error(
                E607,
                f"{name}() argument name {key!r} cannot be a Python keyword argument",
                span,
            )
        args.append((f"{key}=", literal(arg, span, f"{what} {name}({key}=...)")))
    return call(f"keras.{namespace}.{table[name]}", args)


RESERVED = frozenset(
    {"inputs", "outputs", "x", "y", "model", "keras", "layers", "np", "overrides", "path"}
    | {"build_model", "compile_model", "train", "load_weights", "FIT_SETTINGS"}
    | set(dir(builtins))
)


def variable_names(names: list[str]) -> dict[str, str]:
    """Distinct, lowercase, non-reserved Python variable names for layer names.

    ``Stem`` -> ``stem``, ``class`` -> ``class_``, ``__import__`` -> ``import_``;
    a clash gets ``_2``, ``_3``, ... in the order given.
    """
    used: set[str] = set()
    out: dict[str, str] = {}
    for name in names:
        base = name.lower().strip("_")[:32].rstrip("_") or "t"
        if not base.isascii() or not base.isidentifier() or base[0].isdigit():
            base = "t_" + "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in base)
        if keyword.iskeyword(base) or keyword.issoftkeyword(base) or base in RESERVED:
            base += "_"
        candidate, n = base, 2
        while candidate in used or candidate in RESERVED:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        out[name] = candidate
    return out
