"""Definitions and calls: ``block NAME(...) { layers }`` and ``def NAME(...) { return ... }``.

A block is called like a layer and inlines its layers; a ``def`` is called in
an expression (``make_divisible(c * alpha, 8)``) and computes a value with
``let``, ``if``/``else``, ``for`` and ``return``. Both bind arguments the same
way: positional ones in order, then ``key=value``, then defaults; neither may
call itself, and calls nest at most MAX_CALL_DEPTH deep.
"""

from __future__ import annotations

from typing import Any

from specc.codes import E101, E103, E104, E105, E106, E107, E108, E109, E112
from specc.diagnostics import Span, error
from specc.ir.layers import REGISTRY
from specc.ir.values import ACTIVATIONS, suggest
from specc.syntax import tree as t
from specc.syntax.builtins import BUILTINS, SHAPE_FUNCTIONS
from specc.syntax.evaluate import KERAS_FUNCTIONS, Env, evaluate
from specc.syntax.scope import KEYWORDS, LOGIC_WORDS, MAX_CALL_DEPTH, BlockDef, Scope


class Return(Exception):  # noqa: N818 - control flow, not an error
    """``return VALUE`` leaving a function body (never a SpeccError: nothing catches it)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class CallStatements:
    """Definitions and calls of :class:`specc.syntax.expand.Expander`."""

    blocks: dict[str, BlockDef]
    functions: dict[str, BlockDef]
    function_stack: list[str]

    def _definition(self, stmt: t.Statement) -> BlockDef:
        """``block NAME(param, param=default) { ... }`` or the same with ``def``."""
        what = stmt.keyword
        usage = f"expected `{what} NAME(param, param=default) {{ ... }}`"
        if len(stmt.items) != 1 or not isinstance(stmt.items[0], t.Positional):
            raise error(E108, usage, stmt.span)
        head = stmt.items[0].value
        if stmt.body is None:
            raise error(E108, usage + "; the body is missing", stmt.span)
        params: list[tuple[str, t.Expr | None, Span]] = []
        if isinstance(head, t.Word) and what == "block":
            name = head.name
        elif isinstance(head, t.Call):
            name = head.name
            for arg in head.args:
                if not isinstance(arg, t.Word):
                    raise error(E108, f"a {what} parameter must be a name", arg.span)
                params.append((arg.name, None, arg.span))
            for kw in head.kwargs:
                params.append((kw.name, kw.value, kw.span))
            names = [p[0] for p in params]
            for i, (pname, _, span) in enumerate(params):
                if pname in names[:i]:
                    raise error(E106, f"parameter '{pname}' is declared twice", span)
                if pname.lower() in (*LOGIC_WORDS, "true", "false", "none"):
                    raise error(E107, f"'{pname}' is a word of the language, not a name", span)
        else:
            raise error(E108, usage, head.span)
        low = name.lower()
        if what == "block" and (low in REGISTRY or low in ACTIVATIONS or low in KEYWORDS):
            raise error(
                E108,
                f"block name '{name}' is a layer name or keyword of the language",
                head.span,
                "choose another name, such as conv_block",
            )
        reserved = (*BUILTINS, *SHAPE_FUNCTIONS, *KERAS_FUNCTIONS, "range")
        if what == "def" and low in reserved:
            raise error(
                E108,
                f"function name '{name}' is a built-in or Keras function",
                head.span,
                "choose another name, such as make_divisible",
            )
        return BlockDef(name, params, stmt.body, stmt.span, head.span)

    def _bind(
        self,
        defn: BlockDef,
        positional: list[tuple[t.Expr, Span]],
        keywords: list[t.Keyword],
        env: Env,
        site: Span,
        what: str,
    ) -> Env:
        """The callee's scope: each parameter bound to its argument or default."""
        names = [p[0] for p in defn.params]
        bound = env.child({})
        if len(positional) > len(names):
            raise error(
                E105,
                f"{what} '{defn.name}' takes {len(names)} argument(s) "
                f"({', '.join(names) or 'none'}), received {len(positional)}",
                positional[len(names)][1],
            )
        for (pname, _, _), (expr, _) in zip(defn.params, positional, strict=False):
            bound[pname] = evaluate(expr, env)
        for item in keywords:
            if item.name not in names:
                raise error(
                    E103,
                    f"{what} '{defn.name}' has no parameter '{item.name}'"
                    + suggest(item.name, names),
                    item.name_span,
                    f"its parameters: {', '.join(names) or 'none'}",
                )
            if item.name in bound:
                raise error(E106, f"'{item.name}' is given twice", item.span)
            bound[item.name] = evaluate(item.value, env)
        for pname, default, _ in defn.params:
            if pname not in bound:
                if default is None:
                    call = f"{defn.name} " + " ".join(names)
                    if what == "function":
                        call = f"{defn.name}({', '.join(names)})"
                    raise error(
                        E104,
                        f"{what} '{defn.name}' needs argument '{pname}'",
                        site,
                        f"call it as `{call}`",
                    )
                bound[pname] = evaluate(default, env.child({}))
        return bound

    def _call_block(self, stmt: t.Statement, scope: Scope) -> None:
        block = self.blocks[stmt.head]
        if block.name in scope.calls:
            chain = " -> ".join((*scope.calls[scope.calls.index(block.name) :], block.name))
            raise error(
                E109,
                f"block '{block.name}' calls itself ({chain})",
                stmt.head_span,
                "blocks may call other blocks, never themselves; use repeat",
            )
        if len(scope.calls) >= MAX_CALL_DEPTH:
            raise error(
                E112,
                f"blocks call each other more than {MAX_CALL_DEPTH} deep",
                stmt.head_span,
                "flatten the block structure",
            )
        if stmt.body is not None:
            raise error(E108, f"block call '{block.name}' takes no {{ }} body", stmt.span)
        for item in stmt.items:
            if isinstance(item, t.Comparison):
                raise error(E101, f"unexpected '{item.op}'", item.span)
        positional = [(i.value, i.span) for i in stmt.items if isinstance(i, t.Positional)]
        keywords = [i for i in stmt.items if isinstance(i, t.Keyword)]
        env = self._bind(block, positional, keywords, scope.env, stmt.span, "block")
        call = scope.block_call
        if call is None:  # numbers the outermost calls, so repeated calls differ
            call, self.state.block_calls = self.state.block_calls, self.state.block_calls + 1  # type: ignore[attr-defined]
        inner = Scope(
            env,
            (*scope.calls, block.name),
            scope.call_site or stmt.span,
            top=False,
            block_call=call,
        )
        self._run(block.body, inner)  # type: ignore[attr-defined]

    # -- functions (the evaluate.Hooks protocol) ---------------------------------

    def has_function(self, name: str) -> bool:
        """True when the file defines ``def name(...)``."""
        return name in self.functions

    def function_names(self) -> list[str]:
        """The file's function names."""
        return list(self.functions)

    def call_function(self, expr: t.Call, env: Env) -> Any:
        """Run ``def NAME`` on the call's arguments; its ``return`` gives the value."""
        func = self.functions[expr.name]
        if func.name in self.function_stack:
            chain = " -> ".join((*self.function_stack, func.name))
            raise error(E109, f"function '{func.name}' calls itself ({chain})", expr.span)
        if len(self.function_stack) >= MAX_CALL_DEPTH:
            raise error(
                E112, f"functions call each other more than {MAX_CALL_DEPTH} deep", expr.span
            )
        positional = [(arg, arg.span) for arg in expr.args]
        bound = self._bind(func, positional, expr.kwargs, env, expr.span, "function")
        self.function_stack.append(func.name)
        try:
            self._run(func.body, Scope(bound, top=False, function=func.name))  # type: ignore[attr-defined]
        except Return as result:
            return result.value
        finally:
            self.function_stack.pop()
        raise error(
            E108,
            f"function '{func.name}' ended without `return`",
            func.span,
            "end every branch of its body with `return VALUE`",
        )
