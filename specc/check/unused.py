"""W404 and W406: blocks and ``def`` functions that no model of the file reaches.

Reach is read from the text, not from one expansion: a call counts wherever it
is written in a model, or in a block or function that a model reaches, even
in an ``if`` branch that this file's arguments never take (a block written for
``kind == "hard_swish"`` is used, though every model here passes ``relu``).
So the warning means what its fix says: nothing would break if it were deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from specc.codes import W404, W406
from specc.diagnostics import Diagnostic, Span
from specc.syntax import tree as t
from specc.syntax.scope import BlockDef


def unused_definition_warnings(
    statements: list[t.Statement], blocks: dict[str, BlockDef], functions: dict[str, BlockDef]
) -> list[Diagnostic]:
    """W404 for each block and W406 for each function that no model reaches, at its name."""
    reached = _reached(statements, blocks, functions)
    found = []
    for table, code, what, verb, where in (
        (blocks, W404, "block", "used", "call it from a model"),
        (functions, W406, "function", "called", "call it from a model or a block"),
    ):
        for name, defn in table.items():
            if name not in reached:
                found.append(
                    Diagnostic(
                        code,
                        f"{what} '{name}' is never {verb}",
                        _name_span(defn),
                        f"{where}, or delete it",
                        severity="warning",
                    )
                )
    return found


def _reached(
    statements: list[t.Statement], blocks: dict[str, BlockDef], functions: dict[str, BlockDef]
) -> set[str]:
    """Names of the blocks and functions that the file's models call, directly or not."""
    reached: set[str] = set()
    todo: list[Iterable[t.Statement | t.Expr]] = [
        s.body or () for s in statements if s.keyword == "model"
    ]
    while todo:
        for name in _callees(todo.pop(), blocks, functions):
            if name not in reached:
                reached.add(name)
                defn = blocks.get(name) or functions[name]
                defaults = [d for _, d, _ in defn.params if d is not None]
                todo.append([*defaults, *defn.body])
    return reached


def _callees(
    roots: Iterable[t.Statement | t.Expr],
    blocks: dict[str, BlockDef],
    functions: dict[str, BlockDef],
) -> Iterator[str]:
    """Every block called as a statement and function called in an expression under ``roots``.

    A loop with a stack, not recursion: a hostile file may nest expressions deeply.
    """
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, t.Statement):
            if node.head in blocks:
                yield node.head
            stack.extend(i.value for i in node.items if not isinstance(i, t.Comparison))
            stack.extend(node.body or ())
        elif isinstance(node, t.Call):
            if node.name in functions:
                yield node.name
            stack.extend(node.args)
            stack.extend(kw.value for kw in node.kwargs)
        elif isinstance(node, t.BinOp):
            stack.extend((node.left, node.right))
        elif isinstance(node, t.Neg):
            stack.append(node.operand)
        elif isinstance(node, t.TupleExpr | t.ListExpr):
            stack.extend(node.items)


def _name_span(defn: BlockDef) -> Span:
    """The span of the definition's name alone, without its parameter list."""
    start = defn.name_span
    return Span(start.file, start.line, start.column, start.line, start.column + len(defn.name))
