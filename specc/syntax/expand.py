"""Syntax tree to IR: blocks inlined, repeats unrolled, paths merged, names given.

Statements dispatch by keyword to a method ``stmt_<keyword>`` (model-level
keywords), else to a block call, a bare activation, or a layer of the table.
Every problem becomes a located diagnostic; expansion goes on with the next
statement so one run reports as much as it can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from specc.diagnostics import Diagnostic, Span, SpeccError, error
from specc.ir.graph import QUANTITIES, Expect, Model, Node, Settings
from specc.ir.layers import REGISTRY, ActivationLayer, Layer, lookup
from specc.ir.shapes import MAX_DIM, ShapeError, check_size
from specc.ir.values import ACTIVATIONS, suggest
from specc.syntax import tree as t
from specc.syntax.evaluate import Env, evaluate
from specc.syntax.settings import check_settings

MAX_NODES = 100_000
MAX_STEPS = 1_000_000
MAX_CALL_DEPTH = 64
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
DTYPES = ("float32", "float16", "bfloat16", "float64")
KEYWORDS = ("model", "block", "input", "repeat", "path", "compile", "fit", "expect")


@dataclass
class BlockDef:
    """``block NAME(params) { body }``: parameters with their default expressions."""

    name: str
    params: list[tuple[str, t.Expr | None, Span]]
    body: list[t.Statement]
    span: Span
    name_span: Span


@dataclass
class Scope:
    """Where a statement runs: its parameter values and the block calls around it."""

    env: Env = field(default_factory=dict)
    calls: tuple[str, ...] = ()
    call_site: Span | None = None
    top: bool = True


class _ModelState:
    """The graph under construction: nodes, names, and the current tensor."""

    def __init__(self, name: str, span: Span) -> None:
        self.name = name
        self.span = span
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.current = 0
        self.compile: Settings | None = None
        self.fit: Settings | None = None
        self.expects: list[Expect] = []
        self.input_dtype = "float32"
        self.broken = False


def _name_value(item: t.Keyword, env: Env) -> str:
    value = evaluate(item.value, env)
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise error(
            "E107",
            f"layer name must be a word of letters, digits and '_', received {value!r}",
            item.value.span,
            "names become Python and ONNX identifiers; write name=stem",
        )
    return value


class Expander:
    """Turns a file's statements into IR models, collecting diagnostics."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.blocks: dict[str, BlockDef] = {}
        self.used_blocks: set[str] = set()
        self.steps = 0
        self._block_costs: dict[str, int] = {}
        self.state: _ModelState

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
                f"'{name}' is already defined at line {seen[name].line}",
                stmt.items[0].span if stmt.items else stmt.span,
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
        self.state = st = _ModelState(name, stmt.span)
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
                name = _name_value(item, scope.env)
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

    # -- blocks ------------------------------------------------------------------

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
        inner = Scope(env, (*scope.calls, block.name), scope.call_site or stmt.span, top=False)
        self._run(block.body, inner)

    # -- layers --------------------------------------------------------------------

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
        name: str | None = None
        name_span: Span | None = None

        def put(key: str, value: Any, span: Span) -> None:
            if key in values:
                raise error("E106", f"{cls.kind} {key} is given twice", span)
            values[key] = value
            spans[key] = span

        if bare_activation:
            put("activation", stmt.keyword, stmt.head_span)
        for item in stmt.items:
            if isinstance(item, t.Comparison):
                raise error("E101", f"unexpected '{item.op}'", item.span)
            if isinstance(item, t.Keyword):
                key = item.name.lower()
                if key == "name":
                    name, name_span = _name_value(item, scope.env), item.value.span
                    continue
                if key not in fields:
                    raise error(
                        "E103",
                        f"unknown parameter '{item.name}' for {cls.kind}"
                        + suggest(key, list(fields)),
                        item.name_span,
                        f"{cls.kind} takes " + ", ".join(list(fields)[:10]),
                    )
                put(key, evaluate(item.value, scope.env), item.span)
                continue
            if isinstance(item.value, t.Ref):
                refs.append(item.value)
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
                    "E107",
                    f"unexpected word '{value}' for {cls.kind}{suggest(value, words)}",
                    span,
                    "bare words set padding (valid, same) or the activation",
                )
            expected = ", ".join(cls.positional) or "none"
            raise error(
                "E105",
                f"{cls.kind} takes {len(cls.positional)} positional argument(s) ({expected}), "
                f"received {len(positionals)}",
                span,
                "name the others: key=value",
            )
        for (value, span), key in zip(positionals, cls.positional, strict=False):
            put(key, value, span)
        if refs and not cls.merge:
            raise error(
                "E107",
                f"{cls.kind} cannot take @{refs[0].name}: only merge layers take @references",
                refs[0].span,
                "merge with it: `concatenate @name`",
            )
        if stmt.body is not None and not cls.merge:
            raise error("E108", f"{cls.kind} takes no {{ }} body", stmt.body_span or stmt.span)
        layer = self._validate(cls, values, spans, stmt)
        inputs = self._merge_inputs(stmt, cls, refs, scope) if cls.merge else [self.state.current]
        self._add_node(cls, layer, inputs, stmt, spans, name, name_span, scope)

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
                            "E104",
                            f"{cls.kind} needs {key}{where}",
                            stmt.span,
                            f"write `{usage}`",
                        )
                    )
                else:
                    message = str(err["msg"]).removeprefix("Value error, ")
                    diagnostics.append(
                        Diagnostic(
                            "E107",
                            f"{cls.kind} {key}: {message}",
                            spans.get(key, stmt.span),
                        )
                    )
            raise SpeccError(diagnostics) from None

    def _merge_inputs(
        self, stmt: t.Statement, cls: type[Layer], refs: list[t.Ref], scope: Scope
    ) -> list[int]:
        st = self.state
        start = st.current
        inputs: list[int] = []
        if stmt.body is not None:
            for sub in stmt.body:
                if sub.keyword != "path" or sub.body is None or sub.items:
                    raise error(
                        "E108",
                        f"inside {cls.kind} {{ }} only `path {{ ... }}` may appear",
                        sub.span,
                    )
                st.current = start
                self._run(sub.body, scope)
                inputs.append(st.current)
            st.current = start
        else:
            inputs.append(start)
        for ref in refs:
            if ref.name not in st.names:
                known = [n for n in st.names if not n.startswith("input_layer")] or list(st.names)
                raise error(
                    "E110",
                    f"unknown @{ref.name}{suggest(ref.name, list(st.names))}",
                    ref.span,
                    "@NAME refers to an earlier layer's name=; named so far: "
                    + ", ".join(known[:8]),
                )
            inputs.append(st.names[ref.name])
        low = getattr(cls, "min_inputs", 2)
        high = getattr(cls, "max_inputs", None)
        if len(inputs) < low or (high is not None and len(inputs) > high):
            want = f"exactly {high}" if high == low else f"at least {low}"
            raise error(
                "E204",
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
    ) -> None:
        st = self.state
        if len(st.nodes) >= MAX_NODES:
            raise error(
                "E112",
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
            other = st.nodes[st.names[name]].span.line
            raise error(
                "E111",
                f"layer name '{name}' is already used at line {other}",
                name_span or stmt.span,
                "layer names must be unique within a model (Keras refuses duplicates)",
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
            )
        )
        st.names[name] = index
        st.current = index
