"""Completion: layer kinds, keywords and blocks at the start of a statement; a layer's
parameter names after it; enum values after ``key=``; layer names after ``@``.

It reads only the text before the cursor (and the last check's models for
``@`` names), so it works on the half-typed, unparsable line an editor has
while someone types.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from specc.ir.graph import QUANTITIES
from specc.ir.layers import KINDS, REGISTRY, ActivationLayer, Layer, lookup
from specc.ir.values import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS
from specc.lsp.document import Document
from specc.syntax.scope import DTYPES
from specc.syntax.settings import (
    CALLBACKS,
    COMPILE_ARGS,
    FIT_ARGS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
)

Kind = lsp.CompletionItemKind
_STRINGS = re.compile(r"\"([^\"\\\n]|\\.)*\"?|'([^'\\\n]|\\.)*'?")
_BLOCK = re.compile(r"(?m)^[ \t]*block[ \t]+([A-Za-z_]\w*)(?:[ \t]*\(([^)]*)\))?", re.I)
_MODEL = re.compile(r"\s*model\b", re.I)
_NAMED = re.compile(r"\bname\s*=\s*[\"']?([A-Za-z_]\w*)", re.I)
_MODEL_KEYWORDS = ("input", "repeat", "path", "compile", "fit", "expect")
_CONTROL_KEYWORDS = ("if", "else", "let", "for", "return")
_BOOLS = ("true", "false")
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def _item(label: str, kind: lsp.CompletionItemKind, detail: str = "") -> lsp.CompletionItem:
    return lsp.CompletionItem(label=label, kind=kind, detail=detail or None)


def _depth(doc: Document, line: int, prefix: str) -> int:
    depth = 0
    for text in [*doc.lines[: line - 1], prefix]:
        code = _STRINGS.sub("", text).split("#", 1)[0]
        depth += code.count("{") - code.count("}")
    return depth


def _blocks(doc: Document) -> dict[str, list[str]]:
    """Block names with their parameter names, read from the text as it is now."""
    out: dict[str, list[str]] = {}
    for match in _BLOCK.finditer(doc.text):
        params = [p.split("=")[0].strip() for p in (match.group(2) or "").split(",")]
        out.setdefault(match.group(1), [p for p in params if p])
    return out


def _statement_start(doc: Document, line: int, prefix: str) -> list[lsp.CompletionItem]:
    if _depth(doc, line, prefix) <= 0:
        return [_item("model", Kind.Keyword, "model NAME { ... }"),
                _item("block", Kind.Keyword, "block NAME(params) { ... }"),
                _item("def", Kind.Keyword, "def NAME(params) { ... return VALUE }")]  # fmt: skip
    items = [_item(k, Kind.Keyword) for k in _MODEL_KEYWORDS]
    items += [_item(k, Kind.Keyword, "control flow") for k in _CONTROL_KEYWORDS]
    for kind in KINDS:
        items.append(_item(kind, Kind.Class, f"Keras {REGISTRY[kind].keras_class}"))
    for word, cls in REGISTRY.items():
        if word != cls.kind:
            items.append(_item(word, Kind.Class, f"alias of {cls.kind}"))
    items += [_item(a, Kind.Function, "activation layer") for a in ACTIVATIONS]
    items += [_item(b, Kind.Module, "block") for b in _blocks(doc)]
    return items


def layer_values(cls: type[Layer], key: str) -> tuple[str, ...]:
    """The words a layer parameter takes, where it takes words."""
    field = cls.model_fields.get(key)
    if field is None:
        return ()
    if key == "padding" and cls.kind != "zeropadding2d":
        return ("valid", "same")
    if key == "activation":
        return tuple(ACTIVATIONS)
    if key.endswith("initializer"):
        return tuple(INITIALIZERS)
    if key.endswith("regularizer"):
        return tuple(REGULARIZERS)
    if key.endswith("constraint"):
        return tuple(CONSTRAINTS)
    if key == "data_format":
        return ("channels_last",)
    if key == "interpolation":
        return _INTERPOLATIONS
    if key == "fill_mode":
        return ("constant",)
    if field.annotation is bool:
        return _BOOLS
    return ()


def _values(head: str, key: str) -> tuple[str, ...]:
    low, key = head.lower(), key.lower()
    if low == "compile":
        table = {"optimizer": OPTIMIZERS, "loss": LOSSES, "metrics": METRICS}
        table |= {"weighted_metrics": METRICS, "run_eagerly": _BOOLS, "jit_compile": _BOOLS}
        return tuple(table.get(key, ()))
    if low == "fit":
        return {"shuffle": _BOOLS, "callbacks": tuple(CALLBACKS)}.get(key, ())
    if low == "input":
        return DTYPES if key == "dtype" else ()
    cls = ActivationLayer if low in ACTIVATIONS else lookup(low)
    return layer_values(cls, key) if cls is not None else ()


def _arguments(doc: Document, head: str, words: list[str]) -> list[lsp.CompletionItem]:
    low = head.lower()
    given = {w.split("=")[0].lower() for w in words[1:] if "=" in w}
    blocks = _blocks(doc)
    if head in blocks:
        return [_item(f"{p}=", Kind.Property, f"parameter of {head}") for p in blocks[head]
                if p.lower() not in given]  # fmt: skip
    if low in ("compile", "fit"):
        names = COMPILE_ARGS if low == "compile" else FIT_ARGS
        return [_item(f"{n}=", Kind.Property, f"{low} argument") for n in names if n not in given]
    if low == "input":
        return [_item(f"{n}=", Kind.Property) for n in ("dtype", "name") if n not in given]
    if low == "expect":
        if len(words) <= 1:
            return [_item(q, Kind.EnumMember, "quantity") for q in QUANTITIES]
        if len(words) == 2:
            return [_item(op, Kind.Operator) for op in ("==", "!=", "<", "<=", ">", ">=")]
        return []
    cls = ActivationLayer if low in ACTIVATIONS else lookup(low)
    if cls is None:
        return []
    items = [
        _item(f"{name}=", Kind.Property, f"{cls.kind} parameter")
        for name in (*cls.model_fields, "name")
        if name not in given and not (cls is ActivationLayer and low in ACTIVATIONS and
                                      name == "activation")
    ]  # fmt: skip
    if cls.bare_words:
        items += [_item(w, Kind.EnumMember, "padding") for w in ("valid", "same")]
        items += [_item(a, Kind.EnumMember, "activation") for a in ACTIVATIONS]
    return items


def _references(doc: Document, line: int, column: int) -> list[lsp.CompletionItem]:
    names: dict[str, str] = {}
    for model in doc.last_models:  # names survive edits that move lines
        if model.span.line <= line:
            names = {node.name: node.kind for node in model.nodes if node.span.line < line}
    before = doc.lines[: line - 1]
    start = max((i for i, text in enumerate(before) if _MODEL.match(text)), default=0)
    for match in _NAMED.finditer("\n".join(before[start:])):  # names typed since the check
        names.setdefault(match.group(1), "layer")
    return [_item(name, Kind.Reference, kind) for name, kind in names.items()]


def completion(doc: Document, position: lsp.Position) -> lsp.CompletionList:
    """What may be typed at the cursor."""
    line, column = doc.locate(position)
    prefix = doc.line(line)[: column - 1]
    code = _STRINGS.sub(lambda m: "_" * len(m.group()), prefix)
    if "#" in code or code.count('"') % 2 or code.count("'") % 2:
        return lsp.CompletionList(is_incomplete=False, items=[])
    segment = re.split(r"[;{}]", code)[-1]
    items: list[lsp.CompletionItem]
    if re.search(r"@\w*$", segment):
        items = _references(doc, line, column)
    else:
        words = segment.split()
        typing = bool(words) and not segment[-1].isspace()
        key = re.search(r"([A-Za-z_]\w*)=[\w\"']*$", segment)
        if not words or (len(words) == 1 and typing):
            items = _statement_start(doc, line, prefix)
        elif key is not None:
            items = [
                _item(v, Kind.EnumMember, key.group(1)) for v in _values(words[0], key.group(1))
            ]
        else:
            done = words[:-1] if typing else words
            items = _arguments(doc, words[0], done)
    return lsp.CompletionList(is_incomplete=False, items=items)
