"""Control flow in models, blocks and functions: if/else, let, repeat, for, return.

``if COND { } else if COND { } else { }`` runs one branch; a condition is
comparisons (chained as in Python, ``0 < r <= 1``) joined by ``and``, ``or``,
``not``, evaluated left to right with Python's short-circuit, and must be true
or false. ``let NAME = VALUE`` binds a name for the statements after it in the
same block, function or model (branches and loop bodies share that scope, as
in Python). ``repeat N { }`` and ``for NAME in range(...) { }`` are refused
before they run when they would expand past the resource limits.
"""

from __future__ import annotations

from typing import Any

from specc.codes import E101, E107, E108, E112
from specc.diagnostics import Span, SpeccError, error
from specc.syntax import tree as t
from specc.syntax.builtins import describe
from specc.syntax.calls import Return
from specc.syntax.evaluate import Env, evaluate
from specc.syntax.scope import LOGIC_WORDS, MAX_NODES, MAX_STEPS, BlockDef, ModelState, Scope

_RESERVED_NAMES = frozenset({*LOGIC_WORDS, "true", "false", "none", "in"})
# Statements a `def` body may hold: it computes a value and makes no layers.
FUNCTION_STATEMENTS = ("let", "if", "else", "for", "return")


class Condition:
    """An ``if`` condition read from a statement's items, evaluated as it is read."""

    def __init__(self, items: list[t.Item], env: Env, span: Span) -> None:
        self.items = items
        self.env = env
        self.span = span
        self.i = 0

    def value(self) -> bool:
        """True or false; a located error for anything else."""
        if not self.items:
            raise error(E108, "expected `if CONDITION { ... }`", self.span)
        result = self._or(True)
        if self.i < len(self.items):
            item = self.items[self.i]
            raise error(
                E101,
                "unexpected item in the condition",
                item.span,
                "join comparisons with and, or, not: `if stride == 2 and filters > 64`",
            )
        return result

    def _logic(self) -> str | None:
        item = self.items[self.i] if self.i < len(self.items) else None
        if isinstance(item, t.Positional) and isinstance(item.value, t.Word):
            word = item.value.name.lower()
            return word if word in LOGIC_WORDS else None
        return None

    def _or(self, live: bool) -> bool:
        result = self._and(live)
        while self._logic() == "or":
            self.i += 1
            right = self._and(live and not result)
            result = result or right
        return result

    def _and(self, live: bool) -> bool:
        result = self._not(live)
        while self._logic() == "and":
            self.i += 1
            right = self._not(live and result)
            result = result and right
        return result

    def _not(self, live: bool) -> bool:
        if self._logic() == "not":
            self.i += 1
            return not self._not(live)
        return self._comparison(live)

    def _operand(self, live: bool) -> tuple[Any, Span]:
        item = self.items[self.i] if self.i < len(self.items) else None
        if not isinstance(item, t.Positional) or self._logic() is not None:
            span = item.span if item is not None else self.span
            hint = "compare with ==, not =" if isinstance(item, t.Keyword) else None
            raise error(E101, "expected a value in the condition", span, hint)
        self.i += 1
        return (evaluate(item.value, self.env) if live else None), item.span

    def _comparison(self, live: bool) -> bool:
        from specc.syntax.builtins import compare

        left, span = self._operand(live)
        if not isinstance(self.items[self.i] if self.i < len(self.items) else None, t.Comparison):
            if live and not isinstance(left, bool):
                raise error(
                    E107,
                    f"a condition must be true or false, received {describe(left)}",
                    span,
                    "compare it: `if stride == 2 { ... }`",
                )
            return bool(left) if live else False
        result = True
        while isinstance(
            item := self.items[self.i] if self.i < len(self.items) else None, t.Comparison
        ):
            self.i += 1
            right, right_span = self._operand(live)
            if live and result:
                result = compare(item.op, left, right, span.to(right_span))
            left, span = right, right_span
        return result if live else False


class ControlStatements:
    """Control-flow ``stmt_<keyword>`` methods of :class:`specc.syntax.expand.Expander`."""

    state: ModelState
    steps: int
    blocks: dict[str, BlockDef]
    _block_costs: dict[str, int]

    def _branch(self, stmt: t.Statement, scope: Scope, chain: bool | None) -> bool | None:
        """Run an ``if`` or ``else`` of an if-chain; returns whether a branch has run
        (None once a plain ``else`` closes the chain)."""
        items = stmt.items
        if stmt.body is None:
            raise error(
                E108, f"expected `{stmt.keyword} ... {{ ... }}`: the body is missing", stmt.span
            )
        if stmt.keyword == "else":
            if chain is None:
                raise error(
                    E108,
                    "`else` must follow the `}` of an `if` or `else if`",
                    stmt.head_span,
                )
            word = items[0].value if items and isinstance(items[0], t.Positional) else None
            if not items:
                if not chain:
                    self._run(stmt.body, scope)  # type: ignore[attr-defined]
                return None
            if not (isinstance(word, t.Word) and word.name.lower() == "if"):
                raise error(
                    E108, "expected `else { ... }` or `else if CONDITION { ... }`", items[0].span
                )
            if chain:
                return True
            items = items[1:]
        taken = Condition(items, scope.env, stmt.head_span).value()
        if taken:
            self._run(stmt.body, scope)  # type: ignore[attr-defined]
        return taken

    def stmt_let(self, stmt: t.Statement, scope: Scope) -> None:
        """``let NAME = VALUE``: a name for the statements after it in this scope."""
        if (
            len(stmt.items) != 1
            or not isinstance(stmt.items[0], t.Keyword)
            or stmt.body is not None
        ):
            raise error(E108, "expected `let NAME = VALUE`", stmt.span)
        item = stmt.items[0]
        if item.name.lower() in _RESERVED_NAMES:
            raise error(
                E107, f"'{item.name}' is a word of the language, not a name", item.name_span
            )
        scope.env[item.name] = evaluate(item.value, scope.env)

    def stmt_return(self, stmt: t.Statement, scope: Scope) -> None:
        """``return VALUE``: the value of the ``def`` being called."""
        if scope.function is None:
            raise self._misplaced(stmt, "only appears in a `def` function")  # type: ignore[attr-defined]
        if len(stmt.items) != 1 or not isinstance(stmt.items[0], t.Positional) or stmt.body:
            raise error(E108, "expected `return VALUE`", stmt.span)
        raise Return(evaluate(stmt.items[0].value, scope.env))

    def stmt_repeat(self, stmt: t.Statement, scope: Scope) -> None:
        """``repeat N { ... }``: the body N times."""
        if len(stmt.items) != 1 or not isinstance(stmt.items[0], t.Positional) or stmt.body is None:
            raise error(E108, "expected `repeat N { ... }`", stmt.span)
        count = evaluate(stmt.items[0].value, scope.env)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise error(
                E107,
                f"repeat count must be a whole number >= 0, received {count!r}",
                stmt.items[0].span,
            )
        self._loop_guard(f"repeat {count:,}", count, stmt.body, scope, stmt.items[0].span)
        for _ in range(count):
            self._run(stmt.body, scope)  # type: ignore[attr-defined]

    def stmt_for(self, stmt: t.Statement, scope: Scope) -> None:
        """``for NAME in range(...) { ... }`` or ``for NAME in [a, b] { ... }``."""
        items = stmt.items
        usage = "expected `for NAME in range(START, STOP) { ... }` or `for (a, b) in [...] { }`"
        if (
            len(items) != 3
            or not all(isinstance(i, t.Positional) for i in items)
            or not isinstance(items[1].value, t.Word)  # type: ignore[union-attr]
            or items[1].value.name.lower() != "in"  # type: ignore[union-attr]
            or stmt.body is None
        ):
            raise error(E108, usage, stmt.span)
        target = items[0].value  # type: ignore[union-attr]
        names = [target] if isinstance(target, t.Word) else getattr(target, "items", None)
        if not names or not all(isinstance(n, t.Word) for n in names):
            raise error(E108, usage, target.span)
        values = self._iterable(items[2].value, scope.env)  # type: ignore[union-attr]
        self._loop_guard(
            f"for over {len(values):,} values", len(values), stmt.body, scope, items[2].span
        )
        for value in values:
            if isinstance(target, t.Word):
                scope.env[target.name] = value
            elif not isinstance(value, (list, tuple)) or len(value) != len(names):
                raise error(
                    E107,
                    f"for unpacks {len(names)} values, received {describe(value)}",
                    items[2].span,
                )
            else:
                for word, item in zip(names, value, strict=True):
                    scope.env[word.name] = item
            self._run(stmt.body, scope)  # type: ignore[attr-defined]

    def _iterable(self, expr: t.Expr, env: Env) -> range | list[Any] | tuple[Any, ...]:
        if isinstance(expr, t.Call) and expr.name.lower() == "range":
            args = [evaluate(a, env) for a in expr.args]
            if (
                expr.kwargs
                or not 1 <= len(args) <= 3
                or not all(isinstance(a, int) and not isinstance(a, bool) for a in args)
            ):
                raise error(E107, "range() takes 1 to 3 whole numbers, as in Python", expr.span)
            if len(args) == 3 and args[2] == 0:
                raise error(E107, "range() step must not be zero", expr.span)
            return range(*args)
        value = evaluate(expr, env)
        if not isinstance(value, (list, tuple)):
            raise error(
                E107,
                f"for needs range(...) or a list, received {describe(value)}",
                expr.span,
            )
        return value

    def _loop_guard(
        self, what: str, count: int, body: list[t.Statement], scope: Scope, span: Span
    ) -> None:
        """Refuse a loop that would expand past the layer or statement limits."""
        if not body:
            return
        if count * len(body) + len(self.state.nodes) > MAX_NODES:
            raise error(
                E112,
                f"{what} would expand to more than {MAX_NODES:,} layers",
                span,
                "no model needs this many layers; lower the count",
            )
        if count * self._cost(body, dict(scope.env)) + self.steps > MAX_STEPS:
            raise error(
                E112,
                f"{what} would expand to more than {MAX_STEPS:,} statements",
                span,
                "no model needs this many layers; lower the count",
            )

    def _loop_count(self, stmt: t.Statement, env: dict[str, Any]) -> int:
        """A loop's count for the cost bound, 1 when it cannot be known yet."""
        try:
            if stmt.keyword == "repeat" and len(stmt.items) == 1:
                count = evaluate(stmt.items[0].value, env)  # type: ignore[union-attr]
            elif stmt.keyword == "for" and len(stmt.items) == 3:
                count = len(self._iterable(stmt.items[2].value, Env(env)))  # type: ignore[union-attr]
            else:
                return 1
        except SpeccError:
            return 1
        return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 1

    def _cost(
        self, body: list[t.Statement], env: dict[str, Any], seen: frozenset[str] = frozenset()
    ) -> int:
        """A lower bound of the statements ``body`` expands to, found without expanding it.

        Nested loops multiply (counts that cannot be evaluated yet count once),
        so `repeat 1000 { repeat 1000 { ... } }` is refused before it runs; a
        branch of an ``if`` may not run, so it counts nothing.
        """
        total = 0
        for stmt in body:
            total += 1
            keyword = stmt.keyword
            if keyword in ("repeat", "for") and stmt.body:
                total += self._loop_count(stmt, env) * self._cost(stmt.body, env, seen)
            elif keyword in ("if", "else"):
                pass
            elif keyword == "path" and stmt.body:
                total += self._cost(stmt.body, env, seen)
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
