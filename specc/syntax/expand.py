"""Syntax tree to IR: blocks inlined, loops unrolled, branches chosen, paths merged.

Statements dispatch by keyword to a method ``stmt_<keyword>`` (model-level
keywords, control flow), else to a block call, a bare activation, or a layer
of the table; ``def`` functions are called from expressions through the
:class:`~specc.syntax.evaluate.Hooks` this class implements. Every problem
becomes a located diagnostic; expansion goes on with the next statement so
one run reports as much as it can.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from specc.codes import E102, E108, E111, E112
from specc.diagnostics import Diagnostic, RelatedSpan, Span, SpeccError, error
from specc.ir.graph import Model
from specc.ir.layers import KINDS, REGISTRY, ActivationLayer, lookup
from specc.ir.values import ACTIVATIONS, suggest
from specc.syntax import tree as t
from specc.syntax.calls import CallStatements
from specc.syntax.control import FUNCTION_STATEMENTS, ControlStatements
from specc.syntax.evaluate import Env
from specc.syntax.keras_layers import (
    KERAS_ALIASES,
    lacking_lookalike,
    unsupported_layer,
)
from specc.syntax.layer_statement import LayerStatements
from specc.syntax.model_statements import ModelStatements
from specc.syntax.scope import KEYWORDS, MAX_STEPS, BlockDef, ModelState, Scope
from specc.syntax.tensors import TensorStatements

__all__ = ["Expander"]


class Expander(
    ControlStatements, CallStatements, TensorStatements, ModelStatements, LayerStatements
):
    """Turns a file's statements into IR models, collecting diagnostics."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.blocks: dict[str, BlockDef] = {}
        self.functions: dict[str, BlockDef] = {}
        self.function_stack: list[str] = []
        self.steps = 0
        self._block_costs: dict[str, int] = {}
        self.state: ModelState

    # -- top level ---------------------------------------------------------

    def run(self, statements: list[t.Statement]) -> list[Model]:
        """All models of the file, in file order; models with errors are left out."""
        model_stmts = []
        seen: dict[str, Span] = {}
        for stmt in statements:
            try:
                if stmt.keyword in ("block", "def"):
                    defn = self._definition(stmt)
                    self._unique_toplevel(defn.name, stmt, seen)
                    table = self.blocks if stmt.keyword == "block" else self.functions
                    table[defn.name] = defn
                elif stmt.keyword == "model":
                    name = self._model_name(stmt)
                    self._unique_toplevel(name, stmt, seen)
                    model_stmts.append((name, stmt))
                else:
                    raise error(
                        E108,
                        f"'{stmt.head}' cannot stand at the top level of a file",
                        stmt.head_span,
                        "a file holds `model NAME { ... }`, `block NAME(...) { ... }` and "
                        "`def NAME(...) { ... }`",
                    )
            except SpeccError as exc:
                self.diagnostics.extend(exc.diagnostics)
        models = []
        for name, stmt in model_stmts:
            model = self._model(name, stmt)
            if model is not None:
                models.append(model)
        return models

    def _unique_toplevel(self, name: str, stmt: t.Statement, seen: dict[str, Span]) -> None:
        if name in seen:
            raise error(
                E111,
                f"'{name}' is already defined",
                stmt.items[0].span if stmt.items else stmt.span,
                related=(RelatedSpan(seen[name], f"'{name}' is first defined here"),),
            )
        seen[name] = stmt.span

    def _model_name(self, stmt: t.Statement) -> str:
        if (
            len(stmt.items) != 1
            or not isinstance(stmt.items[0], t.Positional)
            or not isinstance(stmt.items[0].value, t.Word)
            or stmt.body is None
        ):
            raise error(E108, "expected `model NAME { ... }`", stmt.span)
        return stmt.items[0].value.name

    # -- one model -----------------------------------------------------------

    def _model(self, name: str, stmt: t.Statement) -> Model | None:
        self.state = st = ModelState(name, stmt.span)
        body = stmt.body or []
        first = body[0] if body else None
        if first is None or first.keyword != "input":
            raise_at = first.span if first else stmt.span
            self.diagnostics.append(
                Diagnostic(
                    E108,
                    f"model '{name}' must start with `input SHAPE`",
                    raise_at,
                    "for example `input 32x32x3` (height x width x channels)",
                )
            )
            return None
        scope = Scope(Env(hooks=self))
        try:
            self.stmt_input(first, scope)
            self._run(body[1:], scope)
        except SpeccError as exc:  # a resource limit: stop this model
            self.diagnostics.extend(exc.diagnostics)
            return None
        if not st.broken and (dead := self.unreachable()):
            self.diagnostics.extend(dead)
            return None
        if len(st.nodes) == 1 and not st.broken:
            self.diagnostics.append(Diagnostic(E108, f"model '{name}' has no layers", stmt.span))
            return None
        if st.broken:
            return None
        return Model.model_construct(
            expects=st.expects,
            name=name,
            span=stmt.span,
            input_dtype=st.input_dtype,
            nodes=st.nodes,
            output=st.current,
            compile=st.compile,
            fit=st.fit,
        )

    def _run(self, body: list[t.Statement], scope: Scope) -> None:
        chain: bool | None = None  # in an if-chain: whether a branch has run
        for stmt in body:
            self.steps += 1
            if self.steps > MAX_STEPS:
                self._step(stmt.span, 0)
            try:
                keyword = stmt.keyword
                if keyword == "if" or keyword == "else":
                    chain = self._branch(stmt, scope, chain)
                else:
                    chain = None
                    self._statement(stmt, scope)
            except SpeccError as exc:
                # A function's error belongs to the expression that called it.
                if scope.function or any(d.code == E112 for d in exc.diagnostics):
                    raise
                self.diagnostics.extend(exc.diagnostics)
                self.state.broken = True
                chain = True if stmt.keyword in ("if", "else") else None

    def _step(self, span: Span, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_STEPS:
            raise error(
                E112,
                f"the file expands to more than {MAX_STEPS:,} statements",
                span,
                "lower the repeat counts; no model needs this many",
            )

    def _statement(self, stmt: t.Statement, scope: Scope) -> None:
        if scope.function and stmt.keyword not in FUNCTION_STATEMENTS:
            raise error(
                E108,
                f"function '{scope.function}' computes a value: its body holds "
                "let, if, else, for and return, never layers",
                stmt.head_span,
                "build layers in a `block`",
            )
        method = _statements(type(self)).get(stmt.keyword)
        if method is not None:
            method(self, stmt, scope)
        elif stmt.head in self.blocks:
            self._call_block(stmt, scope)
        elif stmt.keyword in ACTIVATIONS:
            self._layer(stmt, ActivationLayer, scope, bare_activation=True)
        elif (cls := lookup(stmt.keyword)) is not None:
            self._layer(stmt, cls, scope)
        elif (keras_name := unsupported_layer(stmt.head)) is not None:
            raise error(
                E102,
                f"'{stmt.head}' is Keras's {keras_name} layer, which specc does not support",
                stmt.head_span,
                "specc's layers: " + ", ".join(KINDS),
            )
        elif stmt.keyword in KERAS_ALIASES:
            kind = KERAS_ALIASES[stmt.keyword]
            raise error(
                E102,
                f"'{stmt.head}' is Keras's other name for {lookup(kind).keras_class}; "
                f"specc calls it {kind}",
                stmt.head_span,
                f"write {kind}",
            )
        else:
            choices = [*REGISTRY, *self.blocks, *ACTIVATIONS, *KEYWORDS, *KERAS_ALIASES]
            hint = suggest(stmt.head, choices)
            if (keras_name := lacking_lookalike(stmt.head, choices)) is not None:
                hint = f"; it looks like Keras's {keras_name}, which specc does not support"
            raise error(
                E102,
                f"unknown layer or block '{stmt.head}'{hint}",
                stmt.head_span,
                "layers include conv2d, dense, maxpooling2d, batchnormalization, add, "
                "concatenate; blocks must be defined with `block NAME(...) { }`",
            )

    # -- keywords --------------------------------------------------------------

    def _misplaced(self, stmt: t.Statement, where: str) -> SpeccError:
        return error(E108, f"`{stmt.keyword}` {where}", stmt.head_span)

    def stmt_model(self, stmt: t.Statement, scope: Scope) -> None:
        """A model inside a model is an error."""
        raise self._misplaced(stmt, "cannot be nested; define models at the top level")

    stmt_block = stmt_model


@functools.cache
def _statements(cls: type) -> dict[str, Callable[..., None]]:
    """keyword -> the class's ``stmt_<keyword>`` method (dispatch without a getattr each time)."""
    return {
        name.removeprefix("stmt_"): getattr(cls, name)
        for name in dir(cls)
        if name.startswith("stmt_") and callable(getattr(cls, name))
    }
