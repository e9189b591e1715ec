"""What the language server answers: hover, inlay hints, definitions, symbols, formatting.

Each function takes a :class:`~specc.lsp.document.Document` (already checked)
and returns lsprotocol values; none of them re-checks the text, so each
answers in well under a millisecond on a large file.
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from specc.diagnostics import Span, SpeccError
from specc.ir.graph import Model, Node
from specc.ir.layers import REGISTRY, lookup
from specc.ir.shapes import fmt_shape
from specc.ir.values import ACTIVATIONS
from specc.lsp.document import Document, contains, site, units
from specc.syntax import tree as t

MAX_INSTANCES = 4


def _shape(shape) -> str:
    return fmt_shape(shape) if shape is not None else "?"


def _inputs(model: Model, node: Node) -> str:
    shapes = [_shape(model.nodes[i].output_shape) for i in node.inputs]
    return ", ".join(shapes) if shapes else "-"


def _node_lines(model: Model, node: Node) -> list[str]:
    if node.layer is None:
        return [f"**{node.name}** · input", f"shape: `{_shape(node.output_shape)}`"]
    keras = type(node.layer).keras_class
    return [
        f"**{node.name}** · {node.kind} (Keras `{keras}`)",
        f"input: `{_inputs(model, node)}` → output: `{_shape(node.output_shape)}`",
        f"params: {node.params:,} · MACs: {node.macs:,}",
    ]


def _call_lines(model: Model, nodes: list[Node]) -> list[str]:
    first, last = nodes[0], nodes[-1]
    params = sum(n.params for n in nodes)
    macs = sum(n.macs for n in nodes)
    return [
        f"block **{first.block}** in `{model.name}`: {len(nodes)} layer(s)",
        f"input: `{_inputs(model, first)}` → output: `{_shape(last.output_shape)}`",
        f"params: {params:,} · MACs: {macs:,}",
    ]


def _kind_lines(word: str) -> list[str] | None:
    cls = lookup(word)
    if cls is None:
        if word.lower() in ACTIVATIONS:
            lines = [f"**{word.lower()}** · activation layer (Keras `Activation`)"]
            if (layer := lookup(f"{word}_layer")) is not None:  # relu, elu, softmax
                lines.append(f"Keras's `{layer.keras_class}` layer class is `{layer.kind}`")
            return lines
        return None
    aliases = ", ".join(a for a, c in REGISTRY.items() if c is cls and a != cls.kind)
    usage = " ".join((cls.kind, *cls.positional))
    title = f"**{cls.kind}** (Keras `{cls.keras_class}`)"
    return [title + (f" · aliases: {aliases}" if aliases else ""), f"`{usage}`"]


def hover(doc: Document, position: lsp.Position) -> lsp.Hover | None:
    """Input and output shapes, params and MACs of the layer (or block call) under the cursor."""
    line, column = doc.locate(position)
    found = doc.nodes_at(line, column)
    text: list[str] = []
    span: Span | None = None
    if found is not None:
        span, pairs = found
        calls: dict[int, list[Node]] = {}
        models = {id(m): m for m, _ in pairs}
        for model, node in pairs:
            if node.call_site == span:
                calls.setdefault(id(model), []).append(node)
        if calls:
            for model_id, nodes in calls.items():
                text += _call_lines(models[model_id], nodes)
        else:
            shown = pairs[:MAX_INSTANCES]
            for model, node in shown:
                if text:
                    text.append("---")
                text += _node_lines(model, node)
                if node.call_site is not None:
                    text.append(f"in `{model.name}`, called at line {node.call_site.line}")
            if len(pairs) > len(shown):
                text.append(f"... and {len(pairs) - len(shown)} more call(s)")
    if not text:
        word = doc.word_at(line, column)
        lines = _kind_lines(word[0]) if word else None
        if word is None or lines is None:
            return None
        text, span = lines, word[1]
    assert span is not None
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n".join(text)),
        range=doc.range(span),
    )


def inlay_hints(doc: Document, visible: lsp.Range) -> list[lsp.InlayHint]:
    """The output shape at the end of each layer statement and block call of every model."""
    last: dict[Span, Node] = {}
    for model in doc.models:
        for node in model.nodes[1:]:
            last[site(node)] = node  # the last node of a call (or of a repeat) wins
    first, end = visible.start.line + 1, visible.end.line + 1
    hints = []
    for span, node in sorted(last.items(), key=lambda item: (item[0].end_line, item[0].end_column)):
        if node.output_shape is None or not first <= span.end_line <= end:
            continue
        hints.append(
            lsp.InlayHint(
                position=doc.position(span.end_line, span.end_column),
                label=f"→ {fmt_shape(node.output_shape)}",
                kind=lsp.InlayHintKind.Type,
                padding_left=True,
            )
        )
    return hints


def _blocks(doc: Document) -> dict[str, tuple[t.Statement, Span]]:
    out = {}
    for stmt in doc.statements:
        if stmt.keyword == "block" and stmt.items and isinstance(stmt.items[0], t.Positional):
            head = stmt.items[0].value
            if isinstance(head, (t.Word, t.Call)):
                s = head.span
                name_span = Span(s.file, s.line, s.column, s.line, s.column + len(head.name))
                out.setdefault(head.name, (stmt, name_span))
    return out


def _name_span(doc: Document, node: Node) -> Span:
    """Where ``name=NAME`` is written in the node's statement, else the statement."""
    pattern = re.compile(r"\bname\s*=\s*[\"']?(" + re.escape(node.name) + r")\b", re.I)
    for number in range(node.span.line, node.span.end_line + 1):
        match = pattern.search(doc.line(number))
        if match:
            col = match.start(1) + 1
            return Span(node.span.file, number, col, number, col + len(node.name))
    return node.span


def definition(doc: Document, position: lsp.Position) -> lsp.Location | None:
    """Where a block or an ``@name`` reference under the cursor is defined."""
    line, column = doc.locate(position)
    word = doc.word_at(line, column)
    if word is None:
        return None
    name, _ = word
    if name.startswith("@"):
        model = doc.model_at(line, column)
        if model is None:
            return None
        for node in model.nodes:
            if node.name == name[1:]:
                return lsp.Location(uri=doc.uri, range=doc.range(_name_span(doc, node)))
        return None
    block = _blocks(doc).get(name)
    if block is None:
        return None
    return lsp.Location(uri=doc.uri, range=doc.range(block[1]))


def symbols(doc: Document) -> list[lsp.DocumentSymbol]:
    """Models (with their layers and block calls) and blocks, for the outline."""
    models = {m.name: m for m in doc.models}
    out = []
    blocks = {id(stmt): span for stmt, span in _blocks(doc).values()}
    for stmt in doc.statements:
        if id(stmt) in blocks:
            head = stmt.items[0].value  # type: ignore[union-attr]
            params = ", ".join(a.name for a in getattr(head, "args", []) if isinstance(a, t.Word))
            params += "".join(f", {k.name}=…" for k in getattr(head, "kwargs", []))
            out.append(
                lsp.DocumentSymbol(
                    name=head.name,  # type: ignore[union-attr]
                    kind=lsp.SymbolKind.Function,
                    range=doc.range(stmt.span),
                    selection_range=doc.range(blocks[id(stmt)]),
                    detail=f"block({params.lstrip(', ')})",
                )
            )
        elif stmt.keyword == "model" and stmt.items and isinstance(stmt.items[0], t.Positional):
            value = stmt.items[0].value
            if not isinstance(value, t.Word):
                continue
            model = models.get(value.name)
            detail, children = "", []
            if model is not None and contains(model.span, stmt.span.line, stmt.span.column):
                detail = f"{_shape(model.input.output_shape)} → {_shape(model.output_shape)}"
                detail += f" · {model.total('params'):,} params"
                children = _layer_symbols(doc, model)
            out.append(
                lsp.DocumentSymbol(
                    name=value.name,
                    kind=lsp.SymbolKind.Class,
                    range=doc.range(stmt.span),
                    selection_range=doc.range(value.span),
                    detail=detail,
                    children=children,
                )
            )
    return out


def _layer_symbols(doc: Document, model: Model) -> list[lsp.DocumentSymbol]:
    seen: dict[Span, list[Node]] = {}
    for node in model.nodes[1:]:
        seen.setdefault(site(node), []).append(node)
    out = []
    for span, nodes in seen.items():
        node = nodes[-1]
        called = node.call_site == span
        out.append(
            lsp.DocumentSymbol(
                name=(node.block or "block") if called else node.name,
                kind=lsp.SymbolKind.Module if called else lsp.SymbolKind.Field,
                range=doc.range(span),
                selection_range=doc.range(span),
                detail=("block" if called else node.kind) + f" → {_shape(node.output_shape)}",
            )
        )
    return out


def formatting(doc: Document) -> list[lsp.TextEdit] | None:
    """The whole document in the canonical layout (nothing when it has a syntax error)."""
    from specc.fmt import format_source

    try:
        formatted = format_source(doc.text, doc.path)
    except SpeccError:
        return None
    if formatted == doc.text:
        return []
    end = lsp.Position(line=len(doc.lines) - 1, character=units(doc.lines[-1], doc.encoding))
    whole = lsp.Range(start=lsp.Position(line=0, character=0), end=end)
    return [lsp.TextEdit(range=whole, new_text=formatted)]
