"""Statements as ``.cnn`` text that a person would write.

- Values as a spec writes them: ``3x3`` kernels, ``strides=2`` for a square,
  bare ``same`` and ``relu`` on conv, pooling and dense layers, ``l2(0.01)``;
  every parameter equal to Keras's default (the layer table's) is left out.
- Names: the source's own; ``name=`` is left out where specc's automatic name
  is the same (``conv2d_1`` in a Sequential model), computed as the expander
  computes it; a name that is not a word is made one, and the header says so.
- Identical consecutive statements fold into ``repeat N { ... }`` where that
  is shorter (a run of one statement at least four times, of two at least
  three times, of three or more at least twice). Statements that differ only
  in their names do not fold: the names are the source's and are kept.
- A header ``# imported from FILE: ...``, and ``expect`` lines for the
  parameter count and the output shape.

The text is then laid out by :func:`specc.fmt.format_source`, so it is
fmt-canonical by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from specc.importers.graph import ImportedModel
from specc.importers.keras_config import validated
from specc.importers.structure import Statement
from specc.ir.layers import ActivationLayer, explicit_params, lookup
from specc.ir.values import FnValue
from specc.syntax.evaluate import CALL_POSITIONAL
from specc.syntax.scope import KEYWORDS, NAME_RE

INDENT = "  "
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONSTANTS = ("true", "false", "none")
_DIMS_FIELDS = ("kernel_size", "pool_size")
_PAIR_FIELDS = ("strides", "dilation_rate", "size", "output_padding")


def word_or_string(text: str) -> str:
    """``same`` as a bare word; anything that would not read back as that string, quoted."""
    if _WORD.match(text) and text.lower() not in _CONSTANTS:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def value_text(value: Any, field: str | None = None) -> str:
    """A validated parameter value as spec text."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return word_or_string(value)
    if isinstance(value, FnValue):
        return _call_text(value)
    if isinstance(value, tuple):
        return _tuple_text(value, field)
    raise TypeError(f"no spec text for {value!r}")


def _call_text(value: FnValue) -> str:
    if not value.kwargs:
        return value.name
    positional = CALL_POSITIONAL.get(value.name, ())
    if len(value.kwargs) == 1 and positional and value.kwargs[0][0] == positional[0]:
        return f"{value.name}({value_text(value.kwargs[0][1])})"
    args = ", ".join(f"{key}={value_text(v)}" for key, v in value.kwargs)
    return f"{value.name}({args})"


def _positive_ints(value: tuple) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)


def _tuple_text(value: tuple, field: str | None) -> str:
    if len(value) >= 2 and _positive_ints(value):
        if field in _PAIR_FIELDS and len(set(value)) == 1:
            return str(value[0])
        if field in (*_DIMS_FIELDS, *_PAIR_FIELDS):
            return "x".join(map(str, value))
    if field == "padding" and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        if all(a == b for a, b in value):
            rows, cols = value[0][0], value[1][0]
            return str(rows) if rows == cols else f"({rows}, {cols})"
    items = [value_text(v) for v in value]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def spec_names(model: ImportedModel) -> tuple[dict[str, str], list[str]]:
    """Each source name as a spec name (a word, unique), and notes on those changed."""
    taken: set[str] = set()
    out: dict[str, str] = {}
    notes: list[str] = []
    for name in [model.input_name, *(layer.name for layer in model.layers)]:
        word = name if NAME_RE.match(name) else re.sub(r"\W", "_", name)[:120] or "layer"
        if not word[0].isalpha() and word[0] != "_":
            word = f"_{word}"
        base, n = word, 1
        while word in taken:
            word, n = f"{base}_{n}", n + 1
        taken.add(word)
        out[name] = word
        if word != name:
            notes.append(f"'{name}' is written as {word}")
    return out, notes


def model_name(model: ImportedModel, given: str | None) -> str:
    """The spec's model name: ``--name``, else the source's, made a word."""
    name = given or model.name or Path(model.source).stem
    word = re.sub(r"\W", "_", name) or "model"
    if not word[0].isalpha() and word[0] != "_":
        word = f"m_{word}"
    if word.lower() in KEYWORDS or lookup(word) is not None:
        word = f"{word}_model"
    return word


class _Renderer:
    """Statement text, with specc's automatic names reproduced to leave ``name=`` out."""

    def __init__(self, names: dict[str, str], input_name: str) -> None:
        self.names = names
        self.taken = {names[input_name]}
        self.counters: dict[str, int] = {}

    def name_item(self, kind: str, source_name: str) -> list[str]:
        cls = lookup(kind)
        assert cls is not None
        name = self.names[source_name]
        n = self.counters.get(cls.auto_name, 0)
        while (auto := cls.auto_name if n == 0 else f"{cls.auto_name}_{n}") in self.taken:
            n += 1
        self.taken.add(name)
        if name == auto:
            self.counters[cls.auto_name] = n + 1
            return []
        return [f"name={word_or_string(name)}"]

    def body(self, statements: list[Statement]) -> list[str]:
        return fold_repeats([self.statement(s) for s in statements])

    def statement(self, stmt: Statement) -> list[str]:
        layer = stmt.layer
        if layer is None:  # a side path from a named tensor
            lines = [f"path @{self.names[stmt.source or '']} {{"]
            lines.extend(INDENT + text for text in self.body(stmt.body))
            return [*lines, "}"]
        cls = lookup(layer.kind)
        assert cls is not None
        params = explicit_params(validated(cls, layer.params))
        items: list[str] = []
        head = layer.kind
        if cls is ActivationLayer:
            head = params.pop("activation", None) or "linear"
        for key in cls.positional:
            if key in params:
                text = value_text(params.pop(key), key)
                # `rescaling 0.5 -1.0` would read as one difference: a negative one is named
                items.append(f"{key}={text}" if items and text.startswith("-") else text)
        if cls.bare_words:
            if params.get("padding") == "same":
                items.append(params.pop("padding"))
            if isinstance(params.get("activation"), str):
                items.append(params.pop("activation"))
        items.extend(f"{key}={value_text(value, key)}" for key, value in params.items())
        refs = [f"@{self.names[ref]}" for ref in stmt.refs]
        items.extend(["[" + ", ".join(refs) + "]"] if stmt.listed else refs)
        paths = [self.body(path) for path in stmt.paths] if stmt.paths is not None else None
        items.extend(self.name_item(layer.kind, layer.name))
        line = " ".join([head, *items])
        if paths is None:
            return [line]
        lines = [line + " {"]
        for n, path in enumerate(paths):
            source = stmt.sources[n] if stmt.sources is not None else None
            start = f"path @{self.names[source]}" if source is not None else "path"
            if not path:
                lines.append(INDENT + start + " { }")
                continue
            lines.append(INDENT + start + " {")
            lines.extend(INDENT * 2 + text for text in path)
            lines.append(INDENT + "}")
        lines.append("}")
        return lines


def fold_repeats(statements: list[list[str]]) -> list[str]:
    """The statements' lines, with runs of identical groups as ``repeat N { ... }``."""
    out: list[str] = []
    i = 0
    while i < len(statements):
        best_period, best_count = 1, 1
        for period in range(1, min(8, (len(statements) - i) // 2) + 1):
            group = statements[i : i + period]
            count = 1
            while statements[i + count * period : i + (count + 1) * period] == group:
                count += 1
            if count >= 2 and period * count > best_period * best_count:
                best_period, best_count = period, count
        if best_count > 1 and _worth_folding(best_period, best_count):
            out.append(f"repeat {best_count} {{")
            for lines in statements[i : i + best_period]:
                out.extend(INDENT + text for text in lines)
            out.append("}")
            i += best_period * best_count
        else:
            out.extend(statements[i])
            i += 1
    return out


def _worth_folding(period: int, count: int) -> bool:
    """Fold when the repeat is shorter than the copies: its two lines must pay off."""
    return period * (count - 1) > 2


def shape_text(shape: Iterable[int]) -> str:
    """``(7, 7, 512)`` as ``7x7x512``; ``(10,)`` as ``10``."""
    return "x".join(str(d) for d in shape)


def render_spec(
    model: ImportedModel,
    statements: list[Statement],
    names: dict[str, str],
    name: str,
    expects: tuple[int, tuple[int, ...]] | None = None,
) -> str:
    """The spec text (before fmt); ``expects`` is ``(params, output shape)`` once known."""
    renderer = _Renderer(names, model.input_name)
    header = [f"# imported from {Path(model.source).name}: {model.description}"]
    header.extend(f"# {note}" for note in model.notes)
    input_line = f"input {shape_text(model.input_shape)}"
    if names[model.input_name] != "input_layer":
        input_line += f" name={word_or_string(names[model.input_name])}"
    if model.input_dtype != "float32":
        input_line += f" dtype={model.input_dtype}"
    body = [input_line, *renderer.body(statements)]
    if expects is not None:
        params, output = expects
        body += ["", f"expect params == {params}", f"expect output == {shape_text(output)}"]
    lines = [*header, f"model {name} {{", *(INDENT + line if line else "" for line in body), "}"]
    return "\n".join(lines) + "\n"
