"""``specc keras``: the IR as a standalone Keras 3 Python module.

:class:`KerasEmitter` has one method per layer kind (named after the kind, as
sqlglot's generators do) returning the source of that layer's constructor; the
module around the layers (``build_model``, ``compile_model``, ``train``,
``load_weights``, ``__main__``) comes from ``templates/keras_module.py.j2``.
Every value is rendered by :mod:`specc.emit.keras_values` from validated
Python values, never copied from the spec's text, and laid out by
:mod:`specc.emit.keras_format` exactly as ``ruff format`` would.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
from specc.ir.layers import KINDS, explicit_params

TEMPLATE = "keras_module.py.j2"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OBJECT_SUFFIXES = {
    "_initializer": "initializers",
    "_regularizer": "regularizers",
    "_constraint": "constraints",
}


def emit_keras(model: Model, source: str = "model.cnn") -> str:
    """The Python source of a Keras 3 module building ``model``; raises SpeccError (E607)."""
    return KerasEmitter(model, source).module()


class KerasEmitter:
    """Writes one model as Keras 3 code; ``handler(kind)`` gives each layer kind's method."""

    def __init__(self, model: Model, source: str) -> None:
        if not model.inferred:
            raise ValueError(f"model {model.name} has errors; only a checked model is emitted")
        self.model = model
        self.source = "standard input" if source == "-" else (Path(source).name or source)

    # -- layers: one method per kind ------------------------------------------------------

    def handler(self, kind: str):
        """The method that writes layers of ``kind``; AttributeError when there is none."""
        if kind not in KINDS:
            raise AttributeError(f"no Keras emitter for layer kind {kind!r}")
        return getattr(self, kind, self.layer)  # most kinds need nothing but the generic call

    def conv2d(self, node: Node) -> Doc:
        """``layers.Conv2D(filters, kernel_size, ...)``."""
        return self.layer(node)

    def depthwiseconv2d(self, node: Node) -> Doc:
        """``layers.DepthwiseConv2D(kernel_size, ...)``."""
        return self.layer(node)

    def separableconv2d(self, node: Node) -> Doc:
        """``layers.SeparableConv2D(filters, kernel_size, ...)``."""
        return self.layer(node)

    def conv2dtranspose(self, node: Node) -> Doc:
        """``layers.Conv2DTranspose(filters, kernel_size, ...)``."""
        return self.layer(node)

    def maxpooling2d(self, node: Node) -> Doc:
        """``layers.MaxPooling2D(pool_size, ...)``."""
        return self.layer(node)

    def averagepooling2d(self, node: Node) -> Doc:
        """``layers.AveragePooling2D(pool_size, ...)``."""
        return self.layer(node)

    def globalaveragepooling2d(self, node: Node) -> Doc:
        """``layers.GlobalAveragePooling2D()``."""
        return self.layer(node)

    def globalmaxpooling2d(self, node: Node) -> Doc:
        """``layers.GlobalMaxPooling2D()``."""
        return self.layer(node)

    def dense(self, node: Node) -> Doc:
        """``layers.Dense(units, ...)``."""
        return self.layer(node)

    def flatten(self, node: Node) -> Doc:
        """``layers.Flatten()``."""
        return self.layer(node)

    def dropout(self, node: Node) -> Doc:
        """``layers.Dropout(rate, ...)``."""
        return self.layer(node)

    def batchnormalization(self, node: Node) -> Doc:
        """``layers.BatchNormalization(...)``."""
        return self.layer(node)

    def activation(self, node: Node) -> Doc:
        """``layers.Activation(activation)``."""
        return self.layer(node)

    def zeropadding2d(self, node: Node) -> Doc:
        """``layers.ZeroPadding2D(padding)``, padding as short as Keras accepts it."""
        (top, bottom), (left, right) = node.layer.padding  # type: ignore[union-attr]
        padding: Any = ((top, bottom), (left, right))
        if top == bottom and left == right:
            padding = top if top == left else (top, left)
        return self.layer(node, padding=padding)

    def upsampling2d(self, node: Node) -> Doc:
        """``layers.UpSampling2D(size, ...)``."""
        return self.layer(node)

    def reshape(self, node: Node) -> Doc:
        """``layers.Reshape(target_shape)``."""
        return self.layer(node)

    def add(self, node: Node) -> Doc:
        """``layers.Add()``."""
        return self.layer(node)

    def subtract(self, node: Node) -> Doc:
        """``layers.Subtract()``."""
        return self.layer(node)

    def multiply(self, node: Node) -> Doc:
        """``layers.Multiply()``."""
        return self.layer(node)

    def average(self, node: Node) -> Doc:
        """``layers.Average()``."""
        return self.layer(node)

    def maximum(self, node: Node) -> Doc:
        """``layers.Maximum()``."""
        return self.layer(node)

    def minimum(self, node: Node) -> Doc:
        """``layers.Minimum()``."""
        return self.layer(node)

    def concatenate(self, node: Node) -> Doc:
        """``layers.Concatenate(axis=...)``."""
        return self.layer(node)

    def layer(self, node: Node, **overrides: Any) -> Doc:
        """``layers.Class(positional..., key=value..., trainable=False, name="...")``.

        Only parameters that differ from Keras's defaults are written; Keras's
        leading parameters are passed by position while none is skipped.
        """
        layer = node.layer
        assert layer is not None
        params = {**explicit_params(layer), **overrides}
        trainable = params.pop("trainable", True)
        args: list[Doc] = []
        positional = True
        for key in type(layer).positional:
            if positional and key in params:
                args.append(self.param(node, key, params.pop(key)))
            else:
                positional = False
        for key, value in params.items():
            args.append((f"{key}=", self.param(node, key, value)))
        if trainable is False:
            args.append("trainable=False")
        args.append(("name=", py_string(node.name)))
        return call(f"layers.{type(layer).keras_class}", args)

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

    def reachable(self) -> list[Node]:
        """Layer nodes Keras keeps (those the output depends on), in the order written."""
        keep = {n.index for n in self.model.layers}
        return [n for n in self.model.nodes[1:] if n.index in keep]

    def block_comments(self) -> dict[int, str]:
        """A comment for the first node of each block call: ``residual (line 17)``."""
        out: dict[int, str] = {}
        previous = None
        for node in self.reachable():
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
        for node in self.reachable():
            doc = self.handler(node.kind)(node)
            items.append(
                comment_before(comments[node.index], doc) if node.index in comments else doc
            )
        args = [collection("[", items, "]", exploded=True), ("name=", py_string(self.model.name))]
        return render(("return ", call("keras.Sequential", args)), indent=1)

    def functional(self) -> str:
        """One assignment per layer, ``x`` for a tensor only the next layer uses."""
        nodes = self.reachable()
        consumers = self.model.consumers()
        names = variable_names([n.name for n in nodes])
        var = {0: "inputs"}
        for node in nodes:
            if node.index == self.model.output:
                var[node.index] = "outputs"
            elif consumers[node.index] == [node.index + 1]:
                var[node.index] = "x"
            else:
                var[node.index] = names[node.name]
        comments = self.block_comments()
        lines = [render(("inputs = ", self.input_call()), indent=1)]
        for node in nodes:
            ins = [var[i] for i in node.inputs]
            arg = collection("[", ins, "]") if node.layer and node.layer.merge else ins[0]
            doc: Doc = (f"{var[node.index]} = ", self.handler(node.kind)(node), call("", [arg]))
            if node.index in comments:
                lines.append(render(f"# {comments[node.index]}", indent=1))
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
            raise error("E607", f"{key!r} cannot be a Python keyword argument", span)
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
            raise error("E607", f"model name {model.name!r} is not a word", model.span)
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
