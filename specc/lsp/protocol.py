"""pygls's LSP protocol, made to answer every request and to survive any input.

:class:`SpeccProtocol` hooks pygls at its documented extension point (the
``protocol_cls`` of a server) and adds what the LSP specification asks and
pygls leaves out:

- a frame that is not JSON, or not JSON-RPC, is answered with -32700 or
  -32600; a request whose params do not fit its method with -32602 and its id
  (pygls drops it, and the client waits for ever);
- a request before ``initialize`` gets -32002 ServerNotInitialized, one after
  ``shutdown`` gets -32600 InvalidRequest; notifications then are dropped,
  except ``exit``, which ends the process with 0 after ``shutdown`` and 1
  without it;
- documents are the server's, not pygls's workspace's: pygls would read a file
  from disk for any URI a client names, and raises KeyError on a change to a
  document it does not hold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any

import cattrs
from lsprotocol import types as lsp
from pygls.protocol import LanguageServerProtocol, lsp_method

from specc.lsp.transport import Refused

logger = logging.getLogger(__name__)

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, NOT_INITIALIZED = -32700, -32600, -32602, -32002


def _message_id(raw: object) -> int | str | None:
    """The id of a raw message where it is one JSON-RPC allows (a string or an integer)."""
    msg_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(msg_id, str) or (isinstance(msg_id, int) and not isinstance(msg_id, bool)):
        return msg_id
    return None


def _reasons(exc: BaseException) -> list[str]:
    """What cattrs found wrong, one line per field (``expected int @ $.params.position``)."""
    if isinstance(exc, cattrs.BaseValidationError):
        return cattrs.transform_error(exc)[:5]
    return [f"{type(exc).__name__}: {exc}"]


class SpeccProtocol(LanguageServerProtocol):
    """The protocol of ``specc lsp``: see the module docstring."""

    def handle_frame(self, frame: bytes | Refused) -> None:
        """Decode one frame from :func:`specc.lsp.transport.read_frames` and handle it."""
        if isinstance(frame, Refused):
            logger.warning("refused a frame: %s", frame.reason)
            self.reply_error(None, frame.code, frame.reason)
            return
        try:
            raw = json.loads(frame)
        except (ValueError, RecursionError) as exc:
            self.reply_error(None, PARSE_ERROR, f"the message is not JSON: {exc}")
            return
        msg_id = _message_id(raw)
        method = raw.get("method") if isinstance(raw, dict) else None
        if (
            not isinstance(raw, dict)
            or raw.get("jsonrpc") != self.VERSION
            or ("method" in raw and not isinstance(method, str))
        ):
            self.reply_error(msg_id, INVALID_REQUEST, "not a JSON-RPC 2.0 message")
            return
        try:
            message = self.structure_message(raw)
        except Exception as exc:  # params that do not fit the method's type
            if method is not None and msg_id is not None:
                why = "; ".join(_reasons(exc.__cause__ or exc))
                self.reply_error(msg_id, INVALID_PARAMS, f"invalid params for {method}: {why}")
            else:
                logger.warning("dropped a %s notification with invalid params", method)
            return
        self.handle_message(message)

    def handle_message(self, message: Any) -> None:
        """Lifecycle first (initialize, shutdown, exit), then pygls's dispatch."""
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None) if method is not None else None
        if method == lsp.EXIT:
            super().handle_message(message)
            return
        if self._shutdown:
            if msg_id is not None:
                self.reply_error(msg_id, INVALID_REQUEST, "the server is shutting down")
            return
        if method is not None and method != lsp.INITIALIZE and self._workspace is None:
            if msg_id is not None:
                self.reply_error(msg_id, NOT_INITIALIZED, "send initialize first")
            return
        if method == lsp.INITIALIZE and self._workspace is not None:
            self.reply_error(msg_id, INVALID_REQUEST, "initialize was already received")
            return
        super().handle_message(message)

    def reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Send an error response (``id`` null where the message's id is unknown)."""
        error = {"code": code, "message": message}
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": error})

    @property
    def exit_code(self) -> int:
        """What the process exits with when the stream ends: 0 after shutdown, else 1."""
        return 0 if self._shutdown else 1

    # Document sync: the server keeps the texts (see SpeccServer); pygls's
    # workspace is left empty, so it can neither read files nor raise KeyError.

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> Generator:
        """Hand the opened document to the server."""
        yield from self._user_handler(lsp.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> Generator:
        """Hand the changes to the server, which applies them."""
        yield from self._user_handler(lsp.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams) -> Generator:
        """Tell the server the document is closed."""
        yield from self._user_handler(lsp.TEXT_DOCUMENT_DID_CLOSE, params)

    def _user_handler(self, method: str, params: Any) -> Generator:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None
