"""``specc keras``: the IR as a standalone Keras 3 Python module.

:class:`KerasEmitter` writes every op of the model's plan
(:func:`specc.lower.lower`) as one generic call, ``layers.<Keras class>(...)``
with the parameters Keras needs, and :data:`OVERRIDES` rewrites them for the
few kinds Keras spells otherwise (sqlglot's generators fall back the same
way to ``function_fallback_sql``). The module around the layers
(``build_model``, ``compile_model``, ``train``, ``load_weights``,
``__main__``) comes from ``templates/keras_module.py.j2``.
Every value is rendered by :mod:`specc.emit.keras_values` from validated
Python values, never copied from the spec's text, and laid out by
:mod:`specc.emit.keras_format` exactly as ``ruff format`` would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from specc.codes import E607
from specc.diagnostics import error
from specc.emit.keras_format import Doc, call, collection, comment_before, render
from specc.emit.keras_values import (
    comment_text,
    is_identifier,
    keras_object,
    literal,
    py_string,
    shorten,
    variable_names,
)
from specc.ir.graph import Model, Node, Settings
from specc.ir.layers import KINDS
from specc.lower import Op, lower

TEMPLATE = "keras_module.py.j2"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OBJECT_SUFFIXES = {
    "_initializer": "initializers",
    "_regularizer": "regularizers",
    "_constraint": "constraints",
}


def short_padding(op: Op) -> dict[str, Any]:
    """ZeroPadding2D's padding as short as Keras accepts it: ``1``, ``(1, 2)`` or in full."""
    (top, bottom), (left, right) = op.layer.padding  # type: ignore[attr-defined]
    padding: Any = ((top, bottom), (left, right))
    if top == bottom and left == right:
        padding = top if top == left else (top, left)
    return {"padding": padding}


OVERRIDES: dict[str, Callable[[Op], dict[str, Any]]] = {"zeropadding2d": short_padding}
"""Layer kinds whose Keras call differs from the generic one: parameters rewritten."""


def emit_keras(model: Model, source: str = "model.cnn") -> str:
    """The Python source of a Keras 3 module building ``model``; raises SpeccError (E607)."""
    return KerasEmitter(model, source).module()


def generated_module(model: Model, source: str = "model.cnn") -> ModuleType:
    """The module :func:`emit_keras` writes, imported under its own name (Keras is
    imported only when this runs). Commands that run the model in Keras use this."""
    module = ModuleType(f"specc_generated_{model.name}")
    code = compile(emit_keras(model, source), f"<specc keras {model.name}>", "exec")
    exec(code, module.__dict__)  # specc's own template; spec values are escaped literals
    return module


def assign_weights(keras_model: Any, weights: Mapping[str, Any]) -> None:
    """Set every layer's weights from specc's ``LAYER/WEIGHT`` arrays (checked already),
    as the generated module's ``load_weights`` does."""
    for layer in keras_model.layers:
        if layer.weights:
            layer.set_weights([weights[f"{layer.name}/{w.name}"] for w in layer.weights])
            if hasattr(layer, "finalize_state"):  # Normalization copies its weights
                layer.finalize_state()


class KerasEmitter:
    """Writes one model as Keras 3 code; ``handler(kind)`` gives each layer kind's method."""

    def __init__(self, model: Model, source: str) -> None:
        if not model.inferred:
            raise ValueError(f"model {model.name} has errors; only a checked model is emitted")
        self.model = model
        self.plan = lower(model)
        self.source = "standard input" if source == "-" else (Path(source).name or source)

    # -- layers: one generic call, overrides where Keras wants another spelling ---------

    def handler(self, kind: str) -> Callable[[Op], Doc]:
        """The function that writes layers of ``kind``; AttributeError when there is none."""
        if kind not in KINDS:
            raise AttributeError(f"no Keras emitter for layer kind {kind!r}")
        override = OVERRIDES.get(kind)
        if override is None:
            return self.layer
        return lambda op: self.layer(op, **override(op))

    def layer(self, op: Op, **overrides: Any) -> Doc:
        """``layers.Class(positional..., key=value..., trainable=False, name="...")``.

        The class is the layer class's Keras class; only the parameters Keras
        needs or whose value differs from Keras's default are written
        (:attr:`Op.params`), Keras's leading parameters by position while none
        is skipped.
        """
        cls = type(op.layer)
        params = {**op.params, **overrides}
        trainable = params.pop("trainable", True)
        args: list[Doc] = []
        positional = True
        for key in cls.positional:
            if positional and key in params:
                args.append(self.param(op.node, key, params.pop(key)))
            else:
                positional = False
        for key, value in params.items():
            args.append((f"{key}=", self.param(op.node, key, value)))
        if trainable is False:
            args.append("trainable=False")
        args.append(("name=", py_string(op.name)))
        return call(f"layers.{cls.keras_class}", args)

    def param(self, node: Node, key: str, value: Any) -> Doc:
        """The source of one parameter value (Keras objects for initializers and friends)."""
        span = node.span_of(key)
        what = f"{node.kind} {key}"
        for suffix, namespace in _OBJECT_SUFFIXES.items():
            if key.endswith(suffix):
                return keras_object(value, namespace, span, what)
        return literal(value, span, what)

    # -- the model ------------------------------------------------------------------------

    def input_call(self) -> Doc:
        """``keras.Input(shape=..., name=...)`` (and ``dtype=`` unless float32)."""
        node = self.model.input
        args: list[Doc] = [("shape=", literal(tuple(node.output_shape or ()), node.span, "shape"))]
        if self.model.input_dtype != "float32":
            args.append(("dtype=", py_string(self.model.input_dtype)))
        args.append(("name=", py_string(node.name)))
        return call("keras.Input", args)

    def block_comments(self) -> dict[int, str]:
        """A comment for the first layer of each block call: ``residual (line 17)``."""
        out: dict[int, str] = {}
        previous = None
        for op in self.plan.ops:
            node = op.node
            site = (node.block, node.call_site)
            if node.block is not None and site != previous:
                line = f" (line {node.call_site.line})" if node.call_site else ""
                if _WORD.match(node.block):
                    out[node.index] = f"{shorten(node.block)}{line}"
            previous = site
        return out

    def sequential(self) -> str:
        """``return keras.Sequential([...], name=...)``."""
        comments = self.block_comments()
        items: list[Doc] = [self.input_call()]
        for op in self.plan.ops:
            doc = self.handler(op.kind)(op)
            items.append(comment_before(comments[op.index], doc) if op.index in comments else doc)
        args = [collection("[", items, "]", exploded=True), ("name=", py_string(self.model.name))]
        return render(("return ", call("keras.Sequential", args)), indent=1)

    def functional(self) -> str:
        """One assignment per layer, ``x`` for a tensor only the next layer uses."""
        ops = self.plan.ops
        consumers = self.plan.consumers()
        names = variable_names([op.name for op in ops])
        var = {0: "inputs"}
        for op in ops:
            if op.index == self.plan.output:
                var[op.index] = "outputs"
            elif consumers[op.index] == [op.index + 1]:
                var[op.index] = "x"
            else:
                var[op.index] = names[op.name]
        comments = self.block_comments()
        lines = [render(("inputs = ", self.input_call()), indent=1)]
        for op in ops:
            ins = [var[i] for i in op.inputs]
            arg = collection("[", ins, "]") if op.layer.merge else ins[0]
            doc: Doc = (f"{var[op.index]} = ", self.handler(op.kind)(op), call("", [arg]))
            if op.index in comments:
                lines.append(render(f"# {comments[op.index]}", indent=1))
            lines.append(render(doc, indent=1))
        model = call("keras.Model", ["inputs", "outputs", ("name=", py_string(self.model.name))])
        lines.append(render(("return ", model), indent=1))
        return "\n".join(lines)

    def compile_call(self, settings: Settings) -> str:
        """``model.compile(optimizer=..., loss=..., metrics=[...])``."""
        args: list[Doc] = []
        for key, value in settings.kwargs.items():
            args.append((f"{key}=", self.setting(settings, key, value)))
        return render(call("model.compile", args), indent=1)

    def setting(self, settings: Settings, key: str, value: Any) -> Doc:
        """One ``compile`` or ``fit`` value; optimizers, losses and metrics as Keras objects."""
        span = settings.spans.get(key, settings.span)
        if not is_identifier(key):
            raise error(E607, f"{key!r} cannot be a Python keyword argument", span)
        if key == "optimizer":
            return keras_object(value, "optimizers", span, key)
        if key == "loss":
            return keras_object(value, "losses", span, key)
        if key in ("metrics", "weighted_metrics", "callbacks"):
            namespace = "callbacks" if key == "callbacks" else "metrics"
            items = value if isinstance(value, (list, tuple)) else [value]
            return collection("[", [keras_object(v, namespace, span, key) for v in items], "]")
        return literal(value, span, key)

    def fit_settings(self, settings: Settings | None) -> str:
        """``FIT_SETTINGS = {...}``: the ``fit`` keywords ``train`` passes to ``model.fit``."""
        items: list[Doc] = []
        if settings is not None:
            for key, value in settings.kwargs.items():
                items.append((py_string(key), ": ", self.setting(settings, key, value)))
        return render(("FIT_SETTINGS = ", collection("{", items, "}")))

    def module(self) -> str:
        """The whole module, from the template."""
        from jinja2 import Environment, FileSystemLoader, StrictUndefined

        from specc.resources import resource_dir

        model = self.model
        if not _WORD.match(model.name):
            raise error(E607, f"model name {model.name!r} is not a word", model.span)
        env = Environment(
            loader=FileSystemLoader(str(resource_dir("templates"))),
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,
        )
        has_training = model.compile is not None or model.fit is not None
        return env.get_template(TEMPLATE).render(
            source=shorten(comment_text(self.source), 60),
            model_name=shorten(model.name),
            params=f"{model.total('params'):,}",
            trainable=f"{model.total('trainable_params'):,}",
            build_body=self.sequential() if model.is_sequential else self.functional(),
            compile_call=self.compile_call(model.compile) if model.compile else None,
            compile_line=model.compile.span.line if model.compile else None,
            fit_settings=self.fit_settings(model.fit) if has_training else None,
            fit_line=model.fit.span.line if model.fit else None,
        )
