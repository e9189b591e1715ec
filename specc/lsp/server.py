"""``specc lsp``: the language server on stdio (pygls 2).

Diagnostics are published on open and on every change, computed by the same
checker as ``specc check`` (incrementally, :mod:`specc.lsp.analysis`). The
other features answer from the last check: hover, inlay hints, completion,
go to definition, document symbols and formatting (:mod:`specc.fmt`).
Frames are read with bounded memory (:mod:`specc.lsp.transport`), every
request is answered (:mod:`specc.lsp.protocol`), and only documents the client
opened are answered for. Nothing here imports TensorFlow or ONNX.
"""

from __future__ import annotations

import logging
import sys
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from specc import __version__
from specc.diagnostics import Diagnostic
from specc.lsp import features
from specc.lsp.completion import completion
from specc.lsp.document import Document, apply_edit, without_lone_surrogates
from specc.lsp.protocol import SpeccProtocol
from specc.lsp.transport import read_frames
from specc.syntax.parse import MAX_FILE_BYTES

TRIGGERS = ["@", "=", " "]
# A document may grow past the check's limit (it then reports E100), up to this.
MAX_DOCUMENT_CHARS = 8 * MAX_FILE_BYTES
logger = logging.getLogger(__name__)


def uri_path(uri: str) -> str:
    """The file path of a ``file://`` URI (the URI itself for other schemes)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


class SpeccServer(LanguageServer):
    """A pygls server holding one :class:`Document` per ``.cnn`` file the client opened.

    It answers only for those: a URI never opened (or closed) is never read from
    disk, and gets an empty answer.
    """

    protocol: SpeccProtocol

    def __init__(self, max_params: int | None = None, max_macs: int | None = None) -> None:
        super().__init__("specc", __version__, protocol_cls=SpeccProtocol)
        self.documents: dict[str, Document] = {}
        self.max_params, self.max_macs = max_params, max_macs

    @property
    def encoding(self) -> str:
        """The position encoding agreed at initialize."""
        return str(self.workspace.position_encoding or "utf-16")

    def open(self, uri: str, text: str) -> Document:
        """Start following a document the client opened."""
        doc = self.documents[uri] = Document(
            uri, uri_path(uri), self.encoding, max_params=self.max_params, max_macs=self.max_macs
        )
        doc.update(self._bounded(without_lone_surrogates(text)))
        return doc

    def change(self, doc: Document, changes: list[lsp.TextDocumentContentChangeEvent]) -> None:
        """Apply the client's changes, in order, and check the result."""
        text = doc.text
        for change in changes:
            new_text = without_lone_surrogates(change.text)
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                text = apply_edit(text, change.range, new_text, doc.encoding)
            else:
                text = new_text
            text = self._bounded(text)
        doc.update(text)

    def _bounded(self, text: str) -> str:
        if len(text) > MAX_DOCUMENT_CHARS:  # kept short of it: the check reports E100
            logger.warning("a document of %s characters: kept its start only", f"{len(text):,}")
            return text[: MAX_FILE_BYTES + 1]
        return text

    def document(self, uri: str) -> Document | None:
        """The open document at ``uri``, or None."""
        return self.documents.get(uri)

    def diagnostics(self, doc: Document) -> list[Diagnostic]:
        """What ``specc check`` with the server's budgets reports for the document."""
        assert doc.result is not None
        return list(doc.result.diagnostics)

    def publish(self, doc: Document, version: int | None) -> None:
        """Send the document's diagnostics."""
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=doc.uri,
                version=version,
                diagnostics=[doc.diagnostic(d) for d in self.diagnostics(doc)],
            )
        )

    def serve(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
        """Serve on a byte stream until exit or its end; the exit status (0 after shutdown).

        Frames are read with bounded memory (:mod:`specc.lsp.transport`) and each
        handled in turn, so no input can end the server but ``exit``.
        """
        self.protocol.set_writer(_Writer(stdout or sys.stdout.buffer))
        try:
            for frame in read_frames(stdin or sys.stdin.buffer):
                try:
                    self.protocol.handle_frame(frame)
                except (SystemExit, BrokenPipeError):
                    raise
                except Exception:  # a bug of ours: logged, and the session goes on
                    logger.exception("failed to handle a message")
        except SystemExit as exc:  # the exit notification
            return exc.code if isinstance(exc.code, int) else 1
        except BrokenPipeError:
            return 1
        return self.protocol.exit_code


class _Writer:
    """Messages to the client; closing only flushes (the process is about to end)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        self.stream.write(data)
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def create_server(max_params: int | None = None, max_macs: int | None = None) -> SpeccServer:
    """A server with every feature; budgets as ``specc check --max-params/--max-macs``."""
    server = SpeccServer(max_params, max_macs)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpeccServer, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        ls.publish(ls.open(item.uri, item.text), item.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpeccServer, params: lsp.DidChangeTextDocumentParams) -> None:
        doc = ls.document(params.text_document.uri)
        if doc is None:  # a client's race or bug: nothing to apply the changes to
            logger.warning("didChange for %s, which is not open: ignored", params.text_document.uri)
            return
        ls.change(doc, params.content_changes)
        ls.publish(doc, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpeccServer, params: lsp.DidCloseTextDocumentParams) -> None:
        if ls.documents.pop(params.text_document.uri, None) is not None:
            ls.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
            )

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: SpeccServer, params: lsp.HoverParams) -> lsp.Hover | None:
        doc = ls.document(params.text_document.uri)
        return features.hover(doc, params.position) if doc else None

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hint(ls: SpeccServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        doc = ls.document(params.text_document.uri)
        return features.inlay_hints(doc, params.range) if doc else []

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=TRIGGERS)
    )
    def complete(ls: SpeccServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        doc = ls.document(params.text_document.uri)
        if doc is None:
            return lsp.CompletionList(is_incomplete=False, items=[])
        return completion(doc, params.position)

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpeccServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        doc = ls.document(params.text_document.uri)
        return features.definition(doc, params.position) if doc else None

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: SpeccServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        doc = ls.document(params.text_document.uri)
        return features.symbols(doc) if doc else []

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: SpeccServer, params: lsp.DocumentFormattingParams
    ) -> list[lsp.TextEdit] | None:
        doc = ls.document(params.text_document.uri)
        if doc is None:
            return None
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


def main(max_params: int | None = None, max_macs: int | None = None) -> int:
    """Serve on stdin/stdout until the client says exit; the exit status."""
    return create_server(max_params, max_macs).serve()
