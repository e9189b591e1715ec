"""What expansion keeps while it walks a model: limits, scopes, blocks, the graph so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from specc.codes import E107
from specc.diagnostics import Span, error
from specc.ir.graph import Expect, Node, Settings
from specc.syntax import tree as t
from specc.syntax.evaluate import Env, evaluate

MAX_NODES = 100_000
MAX_STEPS = 1_000_000
MAX_CALL_DEPTH = 64
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
DTYPES = ("float32", "float16", "bfloat16", "float64")
KEYWORDS = tuple(
    "model block input repeat path compile fit expect if else let for def return".split()
)
# Words that build a condition: `if stride == 2 and not first { ... }`.
LOGIC_WORDS = ("and", "or", "not")


@dataclass
class BlockDef:
    """``block NAME(params) { body }`` or ``def NAME(params) { body }``: parameters with
    their default expressions."""

    name: str
    params: list[tuple[str, t.Expr | None, Span]]
    body: list[t.Statement]
    span: Span
    name_span: Span


@dataclass
class Scope:
    """Where a statement runs: its parameter values and the block calls around it."""

    env: Env = field(default_factory=Env)
    calls: tuple[str, ...] = ()
    call_site: Span | None = None
    top: bool = True
    block_call: int | None = None  # numbers the outermost calls, so repeated calls differ
    function: str | None = None  # the `def` whose body this is: no layers here


class ModelState:
    """The graph under construction: nodes, names, and the current tensor."""

    def __init__(self, name: str, span: Span) -> None:
        self.name = name
        self.span = span
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.current = 0
        self.inferred = 1  # nodes before this index have their shapes (see tensor_shape)
        self.compile: Settings | None = None
        self.fit: Settings | None = None
        self.expects: list[Expect] = []
        self.input_dtype = "float32"
        self.broken = False
        self.block_calls = 0


def name_value(item: t.Keyword, env: Env) -> str:
    """The value of ``name=``: a word usable as a Python and ONNX identifier."""
    value = evaluate(item.value, env)
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise error(
            E107,
            f"layer name must be a word of letters, digits and '_', received {value!r}",
            item.value.span,
            "names become Python and ONNX identifiers; write name=stem",
        )
    return value
