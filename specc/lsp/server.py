"""``specc lsp``: the language server on stdio (pygls 2).

Diagnostics are published on open and on every change, computed by the same
checker as ``specc check`` (incrementally, :mod:`specc.lsp.analysis`). The
other features answer from the last check: hover, inlay hints, completion,
go to definition, document symbols and formatting (:mod:`specc.fmt`).
Nothing here imports TensorFlow or ONNX.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from specc import __version__
from specc.diagnostics import Diagnostic
from specc.lsp import features
from specc.lsp.completion import completion
from specc.lsp.document import Document

TRIGGERS = ["@", "=", " "]


def uri_path(uri: str) -> str:
    """The file path of a ``file://`` URI (the URI itself for other schemes)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


class SpeccServer(LanguageServer):
    """A pygls server holding one :class:`Document` per open ``.cnn`` file."""

    def __init__(self, max_params: int | None = None, max_macs: int | None = None) -> None:
        super().__init__("specc", __version__)
        self.documents: dict[str, Document] = {}
        self.max_params, self.max_macs = max_params, max_macs

    def document(self, uri: str) -> Document:
        """The document for ``uri``, checked against the workspace's current text."""
        text = self.workspace.get_text_document(uri).source
        doc = self.documents.get(uri)
        if doc is None:
            doc = Document(uri, uri_path(uri), max_params=self.max_params, max_macs=self.max_macs)
            self.documents[uri] = doc
        doc.encoding = str(self.workspace.position_encoding or "utf-16")
        if doc.result is None or doc.text != text:
            doc.update(text)
        return doc

    def diagnostics(self, doc: Document) -> list[Diagnostic]:
        """What ``specc check`` with the server's budgets reports for the document."""
        assert doc.result is not None
        return list(doc.result.diagnostics)

    def publish(self, uri: str, version: int | None) -> None:
        """Check the document and send its diagnostics."""
        doc = self.document(uri)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri,
                version=version,
                diagnostics=[doc.diagnostic(d) for d in self.diagnostics(doc)],
            )
        )


def create_server(max_params: int | None = None, max_macs: int | None = None) -> SpeccServer:
    """A server with every feature; budgets as ``specc check --max-params/--max-macs``."""
    server = SpeccServer(max_params, max_macs)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpeccServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpeccServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpeccServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.documents.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpeccServer, params: lsp.HoverParams) -> lsp.Hover | None:
        return features.hover(ls.document(params.text_document.uri), params.position)

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: SpeccServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        return features.inlay_hints(ls.document(params.text_document.uri), params.range)

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=TRIGGERS)
    )
    def complete(ls: SpeccServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        return completion(ls.document(params.text_document.uri), params.position)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpeccServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        return features.definition(ls.document(params.text_document.uri), params.position)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: SpeccServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        return features.symbols(ls.document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: SpeccServer, params: lsp.DocumentFormattingParams
    ) -> list[lsp.TextEdit] | None:
        doc = ls.document(params.text_document.uri)
        edits = features.formatting(doc)
        if edits is None:
            first = doc.result.diagnostics[0] if doc.result and doc.result.diagnostics else None
            where = f" (line {first.span.line}: {first.message})" if first else ""
            ls.window_show_message(
                lsp.ShowMessageParams(
                    type=lsp.MessageType.Warning,
                    message=f"specc fmt: fix the syntax error first{where}",
                )
            )
        return edits

    return server


def main(max_params: int | None = None, max_macs: int | None = None) -> None:
    """Serve on stdin/stdout until the client says exit."""
    create_server(max_params, max_macs).start_io()
