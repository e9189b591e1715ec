"""``specc lsp`` as an editor uses it: a real LSP client talks to the server over stdio.

The expected answers come from ``specc check``'s own checker (``check_source``)
on the same text, and from the text itself (where a word is written), never
from numbers typed into the test.
"""

from __future__ import annotations

import sys

import pytest
from conftest import EXAMPLES, require

require("pygls")
pytest_lsp = require("pytest_lsp")
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from specc.check import check_source  # noqa: E402
from specc.fmt import format_source  # noqa: E402
from specc.ir.shapes import fmt_shape  # noqa: E402

URI = "file:///tmp/specc-lsp-test/net.cnn"
SOURCE = """\
# a file with two errors
block residual(filters) {
  add {
    path { }
    path {
      conv2d filters 3x3 same
      batchnorm
    }
  }
  relu
}

model net {
  input 16x16x3
  conv2d 8 3x3 same relu name=stem
  conv2d 8 20x20
  residual 8
  concatenate @stem
  flatten
  dense 10
}

model typo {
  input 8
  dense 4 rleu
}
"""


def lines() -> list[str]:
    return SOURCE.splitlines()


def where(word: str, occurrence: int = 0) -> lsp.Position:
    """The 0-based position of the ``occurrence``-th ``word`` in SOURCE."""
    found = [
        lsp.Position(line=i, character=text.index(word))
        for i, text in enumerate(lines())
        if word in text
    ]
    return found[occurrence]


def doc() -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=URI)


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "specc.cli", "lsp"]),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities())
    )
    caps = result.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.inlay_hint_provider
    assert caps.completion_provider and caps.document_symbol_provider
    assert caps.document_formatting_provider
    yield
    await lsp_client.shutdown_session()


def _expected(source: str) -> list[tuple[str, int, int, int, int]]:
    """What `specc check` reports, in LSP's 0-based coordinates."""
    return [
        (d.code, d.span.line - 1, d.span.column - 1, d.span.end_line - 1, d.span.end_column - 1)
        for d in check_source(source, "/tmp/specc-lsp-test/net.cnn").diagnostics
    ]


def _received(client: LanguageClient) -> list[tuple[str, int, int, int, int]]:
    return [
        (
            d.code,
            d.range.start.line,
            d.range.start.character,
            d.range.end.line,
            d.range.end.character,
        )
        for d in client.diagnostics[URI]
    ]


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_as_you_type(client: LanguageClient):
    global SOURCE
    item = lsp.TextDocumentItem(uri=URI, language_id="cnn", version=1, text=SOURCE)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    received = _received(client)
    assert received == _expected(SOURCE)
    codes = {d[0]: d for d in received}
    # the kernel that does not fit is reported on its statement, the typo on its word
    bad = where("conv2d 8 20x20")
    assert codes["E201"][1:3] == (bad.line, bad.character)
    typo = where("rleu")
    assert codes["E107"][1:3] == (typo.line, typo.character)
    messages = {d.code: d for d in client.diagnostics[URI]}
    assert "did you mean 'relu'" in messages["E107"].message
    assert messages["E201"].severity == lsp.DiagnosticSeverity.Error

    # the user fixes the kernel: an incremental edit, then the update arrives
    start = lsp.Position(line=bad.line, character=bad.character + len("conv2d 8 "))
    end = lsp.Position(line=start.line, character=start.character + len("20x20"))
    change = lsp.TextDocumentContentChangePartial(range=lsp.Range(start=start, end=end), text="1x1")
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[change],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    fixed = SOURCE.replace("conv2d 8 20x20", "conv2d 8 1x1")
    assert _received(client) == _expected(fixed)
    assert [d[0] for d in _received(client)] == ["E107"]
    # and the typo, as a full-text change
    SOURCE = fixed.replace("rleu", "relu")
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=3),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=SOURCE)],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert _received(client) == _expected(SOURCE) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_a_block_error_names_the_layer_inside_the_block(client: LanguageClient):
    uri = "file:///tmp/specc-lsp-test/blocks.cnn"
    text = "block b(k) {\n  conv2d 8 k\n}\nmodel m {\n  input 8x8x1\n  b 3\n  b 9\n}\n"
    item = lsp.TextDocumentItem(uri=uri, language_id="cnn", version=1, text=text)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [d] = client.diagnostics[uri]
    [expected] = check_source(text, "/tmp/specc-lsp-test/blocks.cnn").diagnostics
    assert (d.code, d.range.start.line) == (expected.code, expected.span.line - 1) == ("E201", 6)
    [related] = d.related_information
    [inside] = expected.related
    assert related.location.uri == uri and related.message == inside.message
    start = related.location.range.start
    assert (start.line, start.character) == (inside.span.line - 1, inside.span.column - 1)
    assert text.splitlines()[start.line][start.character :].startswith("conv2d 8 k")


def _model():
    return check_source(SOURCE, "net.cnn").model("net")


@pytest.mark.asyncio(loop_scope="module")
async def test_hover_shows_shapes_params_and_macs(client: LanguageClient):
    model = _model()
    stem = model.node("stem")
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=doc(), position=where("conv2d 8 3x3 same relu"))
    )
    text = hover.contents.value
    assert f"output: `{fmt_shape(stem.output_shape)}`" in text
    assert f"input: `{fmt_shape(model.input.output_shape)}`" in text
    assert f"params: {stem.params:,}" in text and f"MACs: {stem.macs:,}" in text
    assert hover.range.start == where("conv2d 8 3x3 same relu")

    # a block call: the whole call, from its first input to its last output
    call = [n for n in model.nodes if n.block == "residual"]
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=doc(), position=where("residual 8"))
    )
    text = hover.contents.value
    assert f"{len(call)} layer(s)" in text
    assert f"params: {sum(n.params for n in call):,}" in text
    assert f"output: `{fmt_shape(call[-1].output_shape)}`" in text


@pytest.mark.asyncio(loop_scope="module")
async def test_inlay_hints_give_each_output_shape(client: LanguageClient):
    model = _model()
    hints = await client.text_document_inlay_hint_async(
        lsp.InlayHintParams(
            text_document=doc(),
            range=lsp.Range(start=lsp.Position(line=0, character=0), end=where("dense 10")),
        )
    )
    by_line = {h.position.line: h.label for h in hints}
    at = {h.position.line: h.position.character for h in hints}
    for node in model.nodes[1:]:
        line = (node.call_site or node.span).line - 1
        if node.call_site is None:
            assert by_line[line] == f"→ {fmt_shape(node.output_shape)}"
            assert at[line] == len(lines()[line].rstrip())  # at the end of the statement
    call_line = where("residual 8").line
    last = [n for n in model.nodes if n.block == "residual"][-1]
    assert by_line[call_line] == f"→ {fmt_shape(last.output_shape)}"
    assert where("dense 10").line in by_line and where("dense 4").line not in by_line


async def _complete(client: LanguageClient, line: int, character: int) -> list[str]:
    result = await client.text_document_completion_async(
        lsp.CompletionParams(
            text_document=doc(), position=lsp.Position(line=line, character=character)
        )
    )
    return [item.label for item in result.items]


@pytest.mark.asyncio(loop_scope="module")
async def test_completion(client: LanguageClient):
    model_line = where("input 16x16x3").line
    # open a new line inside the model and type into it, as an editor would
    typed = "  conv2d 8 3 padding="
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(
            start=lsp.Position(line=model_line + 1, character=0),
            end=lsp.Position(line=model_line + 1, character=0),
        ),
        text=typed + "\n",
    )
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=4),
            content_changes=[change],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    line = model_line + 1
    start = await _complete(client, line, 2)
    assert {"conv2d", "maxpooling2d", "maxpool", "dense", "relu", "residual", "expect"} <= set(
        start
    )
    assert {"if", "else", "let", "for"} <= set(start)
    assert "model" not in start  # not inside a model
    assert {"model", "block", "def"} <= set(
        await _complete(client, len(lines()) + 1, 0)
    )  # after the last }
    params = await _complete(client, line, len("  conv2d 8 3 "))
    assert {"padding=", "strides=", "kernel_initializer=", "name=", "same", "relu"} <= set(params)
    assert set(await _complete(client, line, len(typed))) == {"valid", "same"}
    ref = where("concatenate @stem")
    names = await _complete(client, ref.line + 1, ref.character + len("concatenate @"))
    assert "stem" in names and "conv2d" in names
    # back to the text the other tests expect
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=5),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=SOURCE)],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert _received(client) == _expected(SOURCE)


@pytest.mark.asyncio(loop_scope="module")
async def test_go_to_definition(client: LanguageClient):
    ref = where("@stem")
    target = await client.text_document_definition_async(
        lsp.DefinitionParams(
            text_document=doc(),
            position=lsp.Position(line=ref.line, character=ref.character + 2),
        )
    )
    stem = where("name=stem")
    assert target.range.start == lsp.Position(line=stem.line, character=stem.character + 5)
    call = where("residual 8")
    target = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=doc(), position=call)
    )
    defined = where("block residual")
    assert target.uri == URI
    assert target.range.start == lsp.Position(line=defined.line, character=len("block "))


@pytest.mark.asyncio(loop_scope="module")
async def test_document_symbols(client: LanguageClient):
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=doc())
    )
    assert [(s.name, s.kind) for s in symbols] == [
        ("residual", lsp.SymbolKind.Function),
        ("net", lsp.SymbolKind.Class),
        ("typo", lsp.SymbolKind.Class),
    ]
    net = symbols[1]
    assert net.range.start.line == where("model net").line
    assert "stem" in [c.name for c in net.children]


@pytest.mark.asyncio(loop_scope="module")
async def test_formatting(client: LanguageClient):
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(
            text_document=doc(), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    (edit,) = edits
    assert edit.range.start == lsp.Position(line=0, character=0)
    assert edit.range.end == lsp.Position(line=len(SOURCE.split("\n")) - 1, character=0)
    assert edit.new_text == format_source(SOURCE)


@pytest.mark.asyncio(loop_scope="module")
async def test_formatting_refuses_a_syntax_error(client: LanguageClient):
    uri = "file:///tmp/specc-lsp-test/broken.cnn"
    text = "model b {\n  input 8\n  dense (4\n}\n"
    item = lsp.TextDocumentItem(uri=uri, language_id="cnn", version=1, text=text)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["E101"]
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert not edits
    # the server said why, before it answered
    assert "fix the syntax error first (line 4" in client.messages[-1].message


@pytest.mark.asyncio(loop_scope="module")
async def test_positions_are_utf16(client: LanguageClient):
    """After a character outside the BMP, LSP columns count UTF-16 units, not code points."""
    uri = "file:///tmp/specc-lsp-test/emoji.cnn"
    text = 'model e {\n  input 8\n  dense 4 name="😀"; dense 2 rleu\n}\n'
    item = lsp.TextDocumentItem(uri=uri, language_id="cnn", version=1, text=text)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    line = text.splitlines()[2]
    typo = next(d for d in client.diagnostics[uri] if "rleu" in d.message)
    assert typo.range.start.line == 2
    assert typo.range.start.character == len(line[: line.index("rleu")].encode("utf-16-le")) // 2
    assert typo.range.start.character == line.index("rleu") + 1  # the emoji is two units


def test_the_server_imports_no_framework_and_check_does_not_import_pygls():
    """The server (all its features run once) never imports TensorFlow, Keras or ONNX; the
    CLI's parser (what ``specc check`` builds on every start) does not import pygls."""
    import subprocess

    script = f"""
import sys
from lsprotocol import types as lsp
from specc.lsp.document import Document
from specc.lsp import features, server
from specc.lsp.completion import completion
doc = Document("file:///x.cnn", "/x.cnn")
doc.update(open({str(EXAMPLES[0])!r}).read())
for line in range(len(doc.lines)):
    position = lsp.Position(line=line, character=4)
    features.hover(doc, position); completion(doc, position); features.definition(doc, position)
full = lsp.Range(start=lsp.Position(line=0, character=0), end=position)
features.inlay_hints(doc, full); features.symbols(doc); features.formatting(doc)
server.create_server()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in
               ("tensorflow", "keras", "onnx", "onnxruntime", "torch", "cupy"))
assert not heavy, heavy
from specc.cli import build_parser
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cold = "import sys\nfrom specc.cli import build_parser\nbuild_parser()\n"
    cold += "assert 'pygls' not in sys.modules and 'lsprotocol' not in sys.modules\n"
    proc = subprocess.run([sys.executable, "-c", cold], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_feature_answers_on_half_typed_text():
    """Random edits (broken syntax included): every feature answers at every position of
    every line, without an exception, with positions inside the document."""
    import random

    from specc.lsp import features
    from specc.lsp.completion import completion
    from specc.lsp.document import Document

    rng = random.Random(3)
    text = "\n".join(p.read_text() for p in EXAMPLES[:4])
    doc = Document("file:///fuzz.cnn", "/fuzz.cnn")
    for _ in range(60):
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        j = rng.randrange(len(lines[i]) + 1)
        piece = rng.choice(["@", "=", " ", "{", "}", "(", '"', "#", "x", "\n", "conv2d ", ""])
        lines[i] = lines[i][:j] + piece + lines[i][j + rng.randint(0, 3) :]
        text = "\n".join(lines)
        doc.update(text)
        for line in rng.sample(range(len(doc.lines)), 5):
            for character in (0, len(doc.lines[line]) // 2, len(doc.lines[line]) + 3):
                position = lsp.Position(line=line, character=character)
                hover = features.hover(doc, position)
                if hover is not None:
                    assert 0 <= hover.range.start.line < len(doc.lines)
                assert isinstance(completion(doc, position), lsp.CompletionList)
                target = features.definition(doc, position)
                if target is not None:
                    assert 0 <= target.range.start.line < len(doc.lines)
        whole = lsp.Range(
            start=lsp.Position(line=0, character=0), end=lsp.Position(line=len(lines), character=0)
        )
        for hint in features.inlay_hints(doc, whole):
            assert 0 <= hint.position.line < len(doc.lines)
        for symbol in features.symbols(doc):
            assert 0 <= symbol.range.start.line <= symbol.range.end.line < len(doc.lines)
        features.formatting(doc)
