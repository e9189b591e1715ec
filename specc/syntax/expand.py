"""Syntax tree to IR: blocks inlined, repeats unrolled, paths merged, names given.

Statements dispatch by keyword to a method ``stmt_<keyword>`` (model-level
keywords), else to a block call, a bare activation, or a layer of the table.
Every problem becomes a located diagnostic; expansion goes on with the next
statement so one run reports as much as it can.
"""

from __future__ import annotations

from specc.diagnostics import Diagnostic, RelatedSpan, Span, SpeccError, error
from specc.ir.graph import Model
from specc.ir.layers import REGISTRY, ActivationLayer, lookup
from specc.ir.values import ACTIVATIONS, suggest
from specc.syntax import tree as t
from specc.syntax.evaluate import Env, evaluate
from specc.syntax.layer_statement import LayerStatements
from specc.syntax.model_statements import ModelStatements
from specc.syntax.scope import (
    KEYWORDS,
    MAX_CALL_DEPTH,
    MAX_STEPS,
    BlockDef,
    ModelState,
    Scope,
)

__all__ = ["Expander"]


class Expander(ModelStatements, LayerStatements):
    """Turns a file's statements into IR models, collecting diagnostics."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.blocks: dict[str, BlockDef] = {}
        self.used_blocks: set[str] = set()
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
                if stmt.keyword == "block":
                    block = self._block_def(stmt)
                    self._unique_toplevel(block.name, stmt, seen)
                    self.blocks[block.name] = block
                elif stmt.keyword == "model":
                    name = self._model_name(stmt)
                    self._unique_toplevel(name, stmt, seen)
                    model_stmts.append((name, stmt))
                else:
                    raise error(
                        "E108",
                        f"'{stmt.head}' cannot stand at the top level of a file",
                        stmt.head_span,
                        "a file holds `model NAME { ... }` and `block NAME(...) { ... }`",
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
                "E111",
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
            raise error("E108", "expected `model NAME { ... }`", stmt.span)
        return stmt.items[0].value.name

    def _block_def(self, stmt: t.Statement) -> BlockDef:
        usage = "expected `block NAME(param, param=default) { ... }`"
        if len(stmt.items) != 1 or not isinstance(stmt.items[0], t.Positional):
            raise error("E108", usage, stmt.span)
        head = stmt.items[0].value
        if stmt.body is None:
            raise error("E108", usage + "; the body is missing", stmt.span)
        params: list[tuple[str, t.Expr | None, Span]] = []
        if isinstance(head, t.Word):
            name = head.name
        elif isinstance(head, t.Call):
            name = head.name
            for arg in head.args:
                if not isinstance(arg, t.Word):
                    raise error("E108", "a block parameter must be a name", arg.span)
                params.append((arg.name, None, arg.span))
            for kw in head.kwargs:
                params.append((kw.name, kw.value, kw.span))
            names = [p[0] for p in params]
            for i, (pname, _, span) in enumerate(params):
                if pname in names[:i]:
                    raise error("E106", f"parameter '{pname}' is declared twice", span)
        else:
            raise error("E108", usage, head.span)
        low = name.lower()
        if low in REGISTRY or low in ACTIVATIONS or low in KEYWORDS:
            raise error(
                "E108",
                f"block name '{name}' is a layer name or keyword of the language",
                head.span,
                "choose another name, such as conv_block",
            )
        return BlockDef(name, params, stmt.body, stmt.span, head.span)

    def unused_blocks(self) -> list[BlockDef]:
        """Blocks that no model expanded."""
        return [b for name, b in self.blocks.items() if name not in self.used_blocks]

    # -- one model -----------------------------------------------------------

    def _model(self, name: str, stmt: t.Statement) -> Model | None:
        self.state = st = ModelState(name, stmt.span)
        body = stmt.body or []
        first = body[0] if body else None
        if first is None or first.keyword != "input":
            raise_at = first.span if first else stmt.span
            self.diagnostics.append(
                Diagnostic(
                    "E108",
                    f"model '{name}' must start with `input SHAPE`",
                    raise_at,
                    "for example `input 32x32x3` (height x width x channels)",
                )
            )
            return None
        try:
            self.stmt_input(first, Scope())
            self._run(body[1:], Scope())
        except SpeccError as exc:  # a resource limit: stop this model
            self.diagnostics.extend(exc.diagnostics)
            return None
        if len(st.nodes) == 1 and not st.broken:
            self.diagnostics.append(Diagnostic("E108", f"model '{name}' has no layers", stmt.span))
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
        for stmt in body:
            self._step(stmt.span)
            try:
                self._statement(stmt, scope)
            except SpeccError as exc:
                if any(d.code == "E112" for d in exc.diagnostics):
                    raise
                self.diagnostics.extend(exc.diagnostics)
                self.state.broken = True

    def _step(self, span: Span, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_STEPS:
            raise error(
                "E112",
                f"the file expands to more than {MAX_STEPS:,} statements",
                span,
                "lower the repeat counts; no model needs this many",
            )

    def _statement(self, stmt: t.Statement, scope: Scope) -> None:
        method = getattr(self, f"stmt_{stmt.keyword}", None)
        if method is not None:
            method(stmt, scope)
        elif stmt.head in self.blocks:
            self._call_block(stmt, scope)
        elif stmt.keyword in ACTIVATIONS:
            self._layer(stmt, ActivationLayer, scope, bare_activation=True)
        elif (cls := lookup(stmt.keyword)) is not None:
            self._layer(stmt, cls, scope)
        else:
            choices = [*REGISTRY, *self.blocks, *ACTIVATIONS, *KEYWORDS]
            raise error(
                "E102",
                f"unknown layer or block '{stmt.head}'{suggest(stmt.head, choices)}",
                stmt.head_span,
                "layers include conv2d, dense, maxpooling2d, batchnormalization, add, "
                "concatenate; blocks must be defined with `block NAME(...) { }`",
            )

    # -- keywords --------------------------------------------------------------

    def _misplaced(self, stmt: t.Statement, where: str) -> SpeccError:
        return error("E108", f"`{stmt.keyword}` {where}", stmt.head_span)

    def stmt_model(self, stmt: t.Statement, scope: Scope) -> None:
        """A model inside a model is an error."""
        raise self._misplaced(stmt, "cannot be nested; define models at the top level")

    stmt_block = stmt_model

    def stmt_path(self, stmt: t.Statement, scope: Scope) -> None:
        """A path outside a merge layer is an error."""
        raise self._misplaced(stmt, "only appears inside a merge layer: `add { path { } ... }`")

    def _call_block(self, stmt: t.Statement, scope: Scope) -> None:
        block = self.blocks[stmt.head]
        self.used_blocks.add(block.name)
        if block.name in scope.calls:
            chain = " -> ".join((*scope.calls[scope.calls.index(block.name) :], block.name))
            raise error(
                "E109",
                f"block '{block.name}' calls itself ({chain})",
                stmt.head_span,
                "blocks may call other blocks, never themselves; use repeat",
            )
        if len(scope.calls) >= MAX_CALL_DEPTH:
            raise error(
                "E112",
                f"blocks call each other more than {MAX_CALL_DEPTH} deep",
                stmt.head_span,
                "flatten the block structure",
            )
        if stmt.body is not None:
            raise error("E108", f"block call '{block.name}' takes no {{ }} body", stmt.span)
        names = [p[0] for p in block.params]
        env: Env = {}
        positional = [i for i in stmt.items if isinstance(i, t.Positional)]
        if len(positional) > len(names):
            raise error(
                "E105",
                f"block '{block.name}' takes {len(names)} argument(s) "
                f"({', '.join(names) or 'none'}), received {len(positional)}",
                positional[len(names)].span,
            )
        for (pname, _, _), item in zip(block.params, positional, strict=False):
            env[pname] = evaluate(item.value, scope.env)
        for item in stmt.items:
            if isinstance(item, t.Comparison):
                raise error("E101", f"unexpected '{item.op}'", item.span)
            if isinstance(item, t.Keyword):
                if item.name not in names:
                    raise error(
                        "E103",
                        f"block '{block.name}' has no parameter '{item.name}'"
                        + suggest(item.name, names),
                        item.name_span,
                        f"its parameters: {', '.join(names) or 'none'}",
                    )
                if item.name in env:
                    raise error("E106", f"'{item.name}' is given twice", item.span)
                env[item.name] = evaluate(item.value, scope.env)
        for pname, default, _ in block.params:
            if pname not in env:
                if default is None:
                    raise error(
                        "E104",
                        f"block '{block.name}' needs argument '{pname}'",
                        stmt.span,
                        f"call it as `{block.name} " + " ".join(names) + "`",
                    )
                env[pname] = evaluate(default, {})
        call = scope.block_call
        if call is None:
            call, self.state.block_calls = self.state.block_calls, self.state.block_calls + 1
        inner = Scope(env, (*scope.calls, block.name), scope.call_site or stmt.span, False, call)
        self._run(block.body, inner)
