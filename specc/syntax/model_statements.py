"""The model-level keywords: input, repeat, compile, fit, expect (dispatched by name)."""

from __future__ import annotations

from typing import Any

from specc.diagnostics import Span, SpeccError, error
from specc.ir.graph import QUANTITIES, Expect, Node, Settings
from specc.ir.shapes import MAX_DIM, ShapeError, check_size
from specc.ir.values import suggest
from specc.syntax import tree as t
from specc.syntax.evaluate import Env, evaluate
from specc.syntax.scope import (
    DTYPES,
    MAX_NODES,
    MAX_STEPS,
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
            raise error("E104", "expected `input SHAPE`, such as `input 32x32x3`", stmt.span)
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
                "E107",
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
                        "E107",
                        f"input dtype must be one of {', '.join(DTYPES)}, received {dtype!r}",
                        item.value.span,
                    )
                st.input_dtype = dtype.lower()
            else:
                raise error(
                    "E103",
                    f"unknown parameter '{item.name}' for input{suggest(key, ('name', 'dtype'))}",
                    item.name_span,
                    "input takes SHAPE, name= and dtype=",
                )
        st.nodes.append(
            Node.build(index=0, name=name, kind="input", layer=None, inputs=[], span=stmt.span)
        )
        st.nodes[0].output_shape = value
        st.names[name] = 0

    def stmt_repeat(self, stmt: t.Statement, scope: Scope) -> None:
        """``repeat N { ... }``: the body N times."""
        if len(stmt.items) != 1 or not isinstance(stmt.items[0], t.Positional) or stmt.body is None:
            raise error("E108", "expected `repeat N { ... }`", stmt.span)
        count = evaluate(stmt.items[0].value, scope.env)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise error(
                "E107",
                f"repeat count must be a whole number >= 0, received {count!r}",
                stmt.items[0].span,
            )
        if not stmt.body:
            return
        if count * len(stmt.body) + len(self.state.nodes) > MAX_NODES:
            raise error(
                "E112",
                f"repeat {count:,} would expand to more than {MAX_NODES:,} layers",
                stmt.items[0].span,
                "no model needs this many layers; lower the count",
            )
        if count * self._cost(stmt.body, scope.env) + self.steps > MAX_STEPS:
            raise error(
                "E112",
                f"repeat {count:,} would expand to more than {MAX_STEPS:,} statements",
                stmt.items[0].span,
                "no model needs this many layers; lower the count",
            )
        for _ in range(count):
            self._run(stmt.body, scope)

    def _cost(self, body: list[t.Statement], env: Env, seen: frozenset[str] = frozenset()) -> int:
        """A lower bound of the statements ``body`` expands to, found without expanding it.

        Nested repeats multiply (counts that cannot be evaluated yet count once),
        so `repeat 1000 { repeat 1000 { ... } }` is refused before it runs.
        """
        total = 0
        for stmt in body:
            total += 1
            item = stmt.items[0] if len(stmt.items) == 1 else None
            if stmt.keyword == "repeat" and stmt.body and isinstance(item, t.Positional):
                try:
                    count = evaluate(item.value, env)
                except SpeccError:
                    count = 1
                if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                    total += count * self._cost(stmt.body, env, seen)
            elif stmt.body:
                total += sum(self._cost(sub.body or [], env, seen) for sub in stmt.body)
            elif stmt.head in self.blocks and stmt.head not in seen:
                if stmt.head not in self._block_costs:
                    block = self.blocks[stmt.head]
                    self._block_costs[stmt.head] = self._cost(block.body, {}, seen | {stmt.head})
                total += self._block_costs[stmt.head]
            if total > MAX_STEPS:
                break
        return total

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
                raise error("E105", f"`{stmt.keyword}` takes only key=value arguments", item.span)
            if item.name in kwargs:
                raise error("E106", f"'{item.name}' is given twice", item.span)
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
            raise error("E108", usage, stmt.span)
        quantity = items[0].value.name.lower()
        if quantity not in QUANTITIES:
            raise error(
                "E103",
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
                "E107",
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
