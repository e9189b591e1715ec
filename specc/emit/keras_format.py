"""A small pretty printer that lays out Python expressions the way ``ruff format`` does.

Generated code must pass ``ruff format --check`` as written, so long calls,
lists and dicts are broken with the same rules as ruff (and black): an
expression stays on one line when it fits in 100 columns; a call that does
not fit first moves its arguments to one indented line, and only when they do
not fit there either puts one argument per line with a trailing comma; a
list, tuple or dict that does not fit puts one item per line with a trailing
comma. The printer is Wadler/Prettier's: documents made of text, groups,
indentation and optional line breaks, a group printed flat when it fits up to
the next possible break after it.
"""

from __future__ import annotations

from dataclasses import dataclass

LINE_LENGTH = 100
INDENT = "    "


@dataclass(frozen=True)
class Line:
    """A possible line break: nothing (``soft``) or a space when its group is flat."""

    soft: bool = True


@dataclass(frozen=True)
class IfBreak:
    """Text printed only when the enclosing group is broken (or ``flat`` when it is not)."""

    broken: str
    flat: str = ""


@dataclass(frozen=True)
class Group:
    """Content printed flat if it fits, else with its own line breaks taken."""

    parts: tuple
    hard: bool = False  # contains a forced line break: never flat


@dataclass(frozen=True)
class Indent:
    """Content whose line breaks indent one level deeper."""

    parts: tuple


class Hard:
    """A forced line break (after a comment)."""


HARD = Hard()
Doc = str | Line | IfBreak | Group | Indent | Hard | tuple


def _has_hard(doc: Doc) -> bool:
    if isinstance(doc, Hard):
        return True
    if isinstance(doc, Group):
        return doc.hard
    if isinstance(doc, (Indent, tuple)):
        parts = doc.parts if isinstance(doc, Indent) else doc
        return any(_has_hard(p) for p in parts)
    return False


def group(*parts: Doc) -> Group:
    """A group of ``parts``; it is broken whenever it holds a forced break."""
    return Group(parts, hard=any(_has_hard(p) for p in parts))


def _join(items: list[Doc]) -> tuple:
    out: list[Doc] = []
    for i, item in enumerate(items):
        if i:
            out += [",", Line(soft=False)]
        out.append(item)
    return tuple(out)


def call(callee: str, args: list[Doc]) -> Doc:
    """``callee(args)``: arguments on the line, on one indented line, or one per line."""
    if not args:
        return f"{callee}()"
    inner = group(*_join(args), IfBreak(","))
    return (callee, group("(", Indent((Line(), inner)), Line(), ")"))


def collection(
    open_: str, items: list[Doc], close: str, one_tuple: bool = False, exploded: bool = False
) -> Doc:
    """A list, tuple or dict display: on the line, or one item per line with a trailing comma.

    ``exploded`` always puts one item per line; the trailing comma keeps ruff from joining them.
    """
    if not items:
        return open_ + close
    trailing = IfBreak(",", "," if one_tuple else "")
    doc = group(open_, Indent((Line(), *_join(items), trailing)), Line(), close)
    return Group(doc.parts, hard=True) if exploded else doc


def comment_before(text: str, doc: Doc) -> Doc:
    """``doc`` preceded by a ``# text`` comment line."""
    return (f"# {text}", HARD, doc)


def render(doc: Doc, indent: int = 0) -> str:
    """Print ``doc`` starting at ``indent`` levels (the first line's indentation included)."""
    base = INDENT * indent
    out: list[str] = [base]
    column = len(base)
    # Commands: (indentation, broken?, doc), the stack top last.
    stack: list[tuple[str, bool, Doc]] = [(base, True, doc)]
    while stack:
        ind, broken, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            column += len(d)
        elif isinstance(d, tuple):
            stack.extend((ind, broken, p) for p in reversed(d))
        elif isinstance(d, Indent):
            stack.extend((ind + INDENT, broken, p) for p in reversed(d.parts))
        elif isinstance(d, Group):
            flat = not d.hard and _fits(d, stack, LINE_LENGTH - column)
            stack.extend((ind, not flat, p) for p in reversed(d.parts))
        elif isinstance(d, IfBreak):
            text = d.broken if broken else d.flat
            out.append(text)
            column += len(text)
        elif isinstance(d, Line | Hard):
            if broken or isinstance(d, Hard):
                out[-1] = out[-1].rstrip(" ")
                out.append("\n" + ind)
                column = len(ind)
            elif not d.soft:
                out.append(" ")
                column += 1
    return "".join(out)


def _fits(first: Group, rest: list[tuple[str, bool, Doc]], width: int) -> bool:
    """Whether ``first`` printed flat, and what follows up to its next break, fit in ``width``."""
    todo: list[tuple[bool, Doc]] = [(False, first)]
    rest_index = len(rest)
    while width >= 0:
        if not todo:
            if rest_index == 0:
                return True
            rest_index -= 1
            _, broken, d = rest[rest_index]
            todo.append((broken, d))
            continue
        broken, d = todo.pop()
        if isinstance(d, str):
            width -= len(d)
        elif isinstance(d, tuple):
            todo.extend((broken, p) for p in reversed(d))
        elif isinstance(d, Indent):
            todo.extend((broken, p) for p in reversed(d.parts))
        elif isinstance(d, Group):
            todo.extend((broken or d.hard, p) for p in reversed(d.parts))
        elif isinstance(d, IfBreak):
            width -= len(d.broken if broken else d.flat)
        elif isinstance(d, Line | Hard):
            if broken or isinstance(d, Hard):
                return True
            width -= 0 if d.soft else 1
    return False
