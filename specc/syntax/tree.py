"""The syntax tree: statements and value expressions, each with its span.

The grammar is generic (a head word, arguments, an optional body), so this
tree is small; meaning is given to it by :mod:`specc.syntax.expand`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specc.diagnostics import Span


@dataclass
class Number:
    """A number literal: ``32``, ``0.5``, ``1e-3``, or a count ``1.5M``."""

    value: int | float
    span: Span
    text: str = ""


@dataclass
class Dims:
    """Dimensions written ``3x3`` or ``32x32x3``."""

    values: tuple[int, ...]
    span: Span


@dataclass
class String:
    """A quoted string; ``"same"`` means the same as the word ``same``."""

    value: str
    span: Span


@dataclass
class Word:
    """A bare word: an enum value, a block parameter, true/false/none."""

    name: str
    span: Span


@dataclass
class Ref:
    """``@name``: the output of an earlier layer of the same model."""

    name: str
    span: Span


@dataclass
class TupleExpr:
    """A Python-style tuple ``(3, 3)`` or ``(1000,)``."""

    items: list[Expr]
    span: Span


@dataclass
class ListExpr:
    """A list ``[accuracy, auc]``."""

    items: list[Expr]
    span: Span


@dataclass
class Call:
    """A call ``l2(0.01)`` or ``random_normal(stddev=0.02)``."""

    name: str
    args: list[Expr]
    kwargs: list[Keyword]
    span: Span


@dataclass
class BinOp:
    """Arithmetic ``a + b``, ``a - b``, ``a * b``, ``a / b``, ``a // b``, ``a % b``."""

    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass
class Neg:
    """Unary minus."""

    operand: Expr
    span: Span


Expr = Number | Dims | String | Word | Ref | TupleExpr | ListExpr | Call | BinOp | Neg


@dataclass
class Positional:
    """A positional argument of a statement."""

    value: Expr
    span: Span


@dataclass
class Keyword:
    """``name=value``, in a statement or in a call."""

    name: str
    name_span: Span
    value: Expr
    span: Span


@dataclass
class Comparison:
    """A comparison operator, as in ``expect params == 10``."""

    op: str
    span: Span


Item = Positional | Keyword | Comparison


@dataclass
class Statement:
    """``head item... { body }``: every statement of the language has this form."""

    head: str
    head_span: Span
    items: list[Item]
    body: list[Statement] | None
    span: Span
    body_span: Span | None = None
    comments: list[str] = field(default_factory=list)
    # The head word, lowercased: keywords and layer kinds are case-insensitive.
    keyword: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.keyword = self.head.lower()
