"""The model-level keywords: input, repeat, compile, fit, expect (dispatched by name)."""

from __future__ import annotations

from typing import Any

from specc.codes import E103, E104, E105, E106, E107, E108
from specc.diagnostics import Span, error
from specc.ir.graph import QUANTITIES, Expect, Node, Settings
from specc.ir.shapes import MAX_DIM, ShapeError, check_size
from specc.ir.values import suggest
from specc.syntax import tree as t
from specc.syntax.evaluate import evaluate
from specc.syntax.scope import (
    DTYPES,
    BlockDef,
    ModelState,
    Scope,
    name_value,
)
from specc.syntax.settings import check_settings


class ModelStatements:
    """``stmt_<keyword>`` methods of :class:`specc.syntax.expand.Expander`."""

    state: ModelState
    blocks: dict[str, BlockDef]

    def stmt_input(self, stmt: t.Statement, scope: Scope) -> None:
        """``input SHAPE [name=] [dtype=]``: the model's input node."""
        st = self.state
        if st.nodes:
            raise self._misplaced(stmt, "must be the first statement of the model, and only once")
        positional = [i for i in stmt.items if isinstance(i, t.Positional)]
        keywords = {i.name.lower(): i for i in stmt.items if isinstance(i, t.Keyword)}
        if "shape" in keywords:
            positional.append(t.Positional(keywords.pop("shape").value, stmt.span))
        if len(positional) != 1 or stmt.body is not None:
            raise error(E104, "expected `input SHAPE`, such as `input 32x32x3`", stmt.span)
        value = evaluate(positional[0].value, scope.env)
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        if (
            not isinstance(value, tuple)
            or not value
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
            or not all(1 <= d <= MAX_DIM for d in value)
        ):
            raise error(
                E107,
                f"input shape must be positive integers such as 32x32x3, received {value!r}",
                positional[0].span,
            )
        try:
            check_size(value)
        except ShapeError as exc:
            shown = "x".join(map(str, value))
            message = f"input shape {shown} is too large to allocate"
            raise error(exc.code, message, positional[0].span) from None
        name = "input_layer"
        for key, item in keywords.items():
            if key == "name":
                name = name_value(item, scope.env)
            elif key == "dtype":
                dtype = evaluate(item.value, scope.env)
                if not isinstance(dtype, str) or dtype.lower() not in DTYPES:
                    raise error(
                        E107,
                        f"input dtype must be one of {', '.join(DTYPES)}, received {dtype!r}",
                        item.value.span,
                    )
                st.input_dtype = dtype.lower()
            else:
                raise error(
                    E103,
                    f"unknown parameter '{item.name}' for input{suggest(key, ('name', 'dtype'))}",
                    item.name_span,
                    "input takes SHAPE, name= and dtype=",
                )
        st.nodes.append(
            Node.build(index=0, name=name, kind="input", layer=None, inputs=[], span=stmt.span)
        )
        st.nodes[0].output_shape = value
        st.names[name] = 0

    def stmt_compile(self, stmt: t.Statement, scope: Scope) -> None:
        """``compile key=value...``: arguments of Keras's ``model.compile``."""
        self.state.compile = self._settings(stmt, scope)

    def stmt_fit(self, stmt: t.Statement, scope: Scope) -> None:
        """``fit key=value...``: arguments of Keras's ``model.fit`` (no data)."""
        self.state.fit = self._settings(stmt, scope)

    def _settings(self, stmt: t.Statement, scope: Scope) -> Settings:
        if not scope.top:
            raise self._misplaced(stmt, "belongs at the top level of a model, not in a block")
        if getattr(self.state, stmt.keyword) is not None:
            raise self._misplaced(stmt, "is given twice in this model")
        kwargs: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for item in stmt.items:
            if not isinstance(item, t.Keyword):
                raise error(E105, f"`{stmt.keyword}` takes only key=value arguments", item.span)
            if item.name in kwargs:
                raise error(E106, f"'{item.name}' is given twice", item.span)
            kwargs[item.name] = evaluate(item.value, scope.env)
            spans[item.name] = item.span
        settings = Settings.model_construct(kwargs=kwargs, spans=spans, span=stmt.span)
        check_settings(stmt.keyword, settings)
        return settings

    def stmt_expect(self, stmt: t.Statement, scope: Scope) -> None:
        """``expect QUANTITY OP VALUE``."""
        items = stmt.items
        usage = "expected `expect QUANTITY OP VALUE`, such as `expect params == 356810`"
        if (
            len(items) != 3
            or not isinstance(items[0], t.Positional)
            or not isinstance(items[0].value, t.Word)
            or not isinstance(items[1], t.Comparison)
            or not isinstance(items[2], t.Positional)
        ):
            raise error(E108, usage, stmt.span)
        quantity = items[0].value.name.lower()
        if quantity not in QUANTITIES:
            raise error(
                E103,
                f"unknown quantity '{items[0].value.name}'{suggest(quantity, QUANTITIES)}",
                items[0].span,
                "quantities: " + ", ".join(QUANTITIES),
            )
        value = evaluate(items[2].value, scope.env)
        if isinstance(value, int) and not isinstance(value, bool):
            pass
        elif (
            quantity == "output"
            and isinstance(value, tuple)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            pass
        else:
            raise error(
                E107,
                f"expect {quantity} needs a whole number"
                + (" or a shape such as 8x8x16" if quantity == "output" else "")
                + f", received {value!r}",
                items[2].span,
            )
        if quantity == "output" and isinstance(value, int):
            value = (value,)
        self.state.expects.append(
            Expect.model_construct(quantity=quantity, op=items[1].op, value=value, span=stmt.span)
        )
