"""Layer statements: arguments bound to Keras parameters, validated, merged, named."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from specc.codes import E101, E103, E104, E105, E106, E107, E108, E111, E112, E204
from specc.diagnostics import Diagnostic, RelatedSpan, Span, SpeccError, error
from specc.ir.graph import Node
from specc.ir.layers import Layer
from specc.ir.values import ACTIVATIONS, suggest
from specc.syntax import tree as t
from specc.syntax.evaluate import evaluate
from specc.syntax.scope import (
    MAX_NODES,
    ModelState,
    Scope,
    name_value,
)


def _ref_list(expr: t.Expr) -> bool:
    """``[@a, @b, ...]``: a merge's inputs, listed."""
    return (
        isinstance(expr, t.ListExpr)
        and bool(expr.items)
        and all(isinstance(item, t.Ref) for item in expr.items)
    )


def parameter_names(cls: type[Layer]) -> list[str]:
    """Every parameter a layer statement accepts: the positional ones first, ``name`` last."""
    rest = [f for f in cls.model_fields if f not in cls.positional and f != "trainable"]
    return [*cls.positional, *rest, "trainable", "name"]


class LayerStatements:
    """The layer half of :class:`specc.syntax.expand.Expander`."""

    state: ModelState

    def _layer(
        self,
        stmt: t.Statement,
        cls: type[Layer],
        scope: Scope,
        bare_activation: bool = False,
    ) -> None:
        fields = cls.model_fields
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        positionals: list[tuple[Any, Span]] = []
        refs: list[t.Ref] = []
        listed: list[t.Expr] | None = None
        name: str | None = None
        name_span: Span | None = None

        def put(key: str, value: Any, span: Span) -> None:
            if key in values:
                raise error(E106, f"{cls.kind} {key} is given twice", span)
            values[key] = value
            spans[key] = span

        if bare_activation:
            put("activation", stmt.keyword, stmt.head_span)
        for item in stmt.items:
            if isinstance(item, t.Comparison):
                raise error(E101, f"unexpected '{item.op}'", item.span)
            if isinstance(item, t.Keyword):
                key = item.name.lower()
                if key == "name":
                    name, name_span = name_value(item, scope.env), item.value.span
                    continue
                if key not in fields:
                    raise error(
                        E103,
                        f"unknown parameter '{item.name}' for {cls.kind}"
                        + suggest(key, list(fields)),
                        item.name_span,
                        f"{cls.kind} takes " + ", ".join(parameter_names(cls)),
                    )
                put(key, evaluate(item.value, scope.env), item.span)
                continue
            if isinstance(item.value, t.Ref):
                refs.append(item.value)
                continue
            if _ref_list(item.value):
                if listed is not None:
                    raise error(E106, f"{cls.kind} takes one list of inputs", item.span)
                listed = item.value.items  # type: ignore[union-attr]
                continue
            value = evaluate(item.value, scope.env)
            if cls.bare_words and isinstance(value, str):
                word = value.lower()
                if word in ("valid", "same") and "padding" in fields:
                    put("padding", value, item.span)
                    continue
                if word in ACTIVATIONS and "activation" in fields:
                    put("activation", value, item.span)
                    continue
            positionals.append((value, item.span))
        if len(positionals) > len(cls.positional):
            value, span = positionals[len(cls.positional)]
            if isinstance(value, str):
                words = [*ACTIVATIONS, "valid", "same"] if cls.bare_words else []
                raise error(
                    E107,
                    f"unexpected word '{value}' for {cls.kind}{suggest(value, words)}",
                    span,
                    "bare words set padding (valid, same) or the activation",
                )
            expected = ", ".join(cls.positional) or "none"
            raise error(
                E105,
                f"{cls.kind} takes {len(cls.positional)} positional argument(s) ({expected}), "
                f"received {len(positionals)}",
                span,
                "name the others: key=value",
            )
        for (value, span), key in zip(positionals, cls.positional, strict=False):
            put(key, value, span)
        if listed is not None:
            if stmt.body is not None or refs:
                raise error(
                    E108,
                    f"{cls.kind} [@a, @b, ...] lists every input: add no paths or other @names",
                    stmt.span,
                )
            refs = listed  # type: ignore[assignment]
        if refs and not cls.merge:
            raise error(
                E107,
                f"{cls.kind} cannot take @{refs[0].name}: only merge layers take @references",
                refs[0].span,
                "merge with it: `concatenate @name`",
            )
        if stmt.body is not None and not cls.merge:
            raise error(E108, f"{cls.kind} takes no {{ }} body", stmt.body_span or stmt.span)
        layer = self._validate(cls, values, spans, stmt)
        inputs = (
            self._merge_inputs(stmt, cls, refs, scope, listed is not None)
            if cls.merge
            else [self.state.current]
        )
        written = tuple(range(len(inputs) - len(refs), len(inputs)))  # refs come last
        self._add_node(cls, layer, inputs, stmt, spans, name, name_span, scope, written)

    def _validate(
        self, cls: type[Layer], values: dict[str, Any], spans: dict[str, Span], stmt: t.Statement
    ) -> Layer:
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            diagnostics = []
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                if err["type"] == "missing":
                    where = (
                        f" (positional argument {cls.positional.index(key) + 1})"
                        if key in cls.positional
                        else ""
                    )
                    usage = " ".join([cls.kind, *cls.positional])
                    diagnostics.append(
                        Diagnostic(
                            E104,
                            f"{cls.kind} needs {key}{where}",
                            stmt.span,
                            f"write `{usage}`",
                        )
                    )
                else:
                    message = str(err["msg"]).removeprefix("Value error, ")
                    diagnostics.append(
                        Diagnostic(
                            E107,
                            f"{cls.kind} {key}: {message}",
                            spans.get(key, stmt.span),
                        )
                    )
            raise SpeccError(diagnostics) from None

    def _merge_inputs(
        self, stmt: t.Statement, cls: type[Layer], refs: list[t.Ref], scope: Scope, listed: bool
    ) -> list[int]:
        """The merge's inputs: its paths' ends (or the current tensor), then the @names;
        a list ``[@a, @b]`` gives exactly those."""
        st = self.state
        start = st.current
        inputs: list[int] = []
        if stmt.body is not None:
            for sub in stmt.body:
                if sub.keyword != "path" or sub.body is None:
                    raise error(
                        E108,
                        f"inside {cls.kind} {{ }} only `path {{ ... }}` or `path @name {{ ... }}` "
                        "may appear",
                        sub.span,
                    )
                st.current = self.path_start(sub, scope, start)  # type: ignore[attr-defined]
                self._run(sub.body, scope)  # type: ignore[attr-defined]
                inputs.append(st.current)
            st.current = start
        elif not listed:
            inputs.append(start)
        for ref in refs:
            inputs.append(self.ref_index(ref, scope.env))  # type: ignore[attr-defined]
        low = getattr(cls, "min_inputs", 2)
        high = getattr(cls, "max_inputs", None)
        if len(inputs) < low or (high is not None and len(inputs) > high):
            want = f"exactly {high}" if high == low else f"at least {low}"
            raise error(
                E204,
                f"{cls.kind} needs {want} inputs, received {len(inputs)}",
                stmt.span,
                "give paths `{ path { } path { ... } }` or @references to merge",
            )
        return inputs

    def _add_node(
        self,
        cls: type[Layer],
        layer: Layer,
        inputs: list[int],
        stmt: t.Statement,
        spans: dict[str, Span],
        name: str | None,
        name_span: Span | None,
        scope: Scope,
        ref_inputs: tuple[int, ...] = (),
    ) -> None:
        st = self.state
        if len(st.nodes) >= MAX_NODES:
            raise error(
                E112,
                f"model '{st.name}' expands to more than {MAX_NODES:,} layers",
                stmt.span,
                "no model needs this many layers; lower the repeat counts",
            )
        if name is None:
            n = st.counters.get(cls.auto_name, 0)
            while (name := cls.auto_name if n == 0 else f"{cls.auto_name}_{n}") in st.names:
                n += 1
            st.counters[cls.auto_name] = n + 1
        elif name in st.names:
            first = RelatedSpan(st.nodes[st.names[name]].span, f"'{name}' is first used here")
            raise error(
                E111,
                f"layer name '{name}' is already used",
                name_span or stmt.span,
                "layer names must be unique within a model (Keras refuses duplicates)",
                related=(first,),
            )
        index = len(st.nodes)
        st.nodes.append(
            Node.build(
                index=index,
                name=name,
                kind=cls.kind,
                layer=layer,
                inputs=inputs,
                span=stmt.span,
                arg_spans=spans,
                block=scope.calls[0] if scope.calls else None,
                call_site=scope.call_site,
                block_call=scope.block_call,
                ref_inputs=ref_inputs,
            )
        )
        st.names[name] = index
        st.current = index
