"""``specc lsp`` over a hostile stream: bad frames, requests out of order, files never opened.

A real JSON-RPC stream over the server's stdio (``python -m specc.cli lsp``),
written byte for byte (:mod:`lsp_stream`). Every request must get a response
(the LSP specification's error codes where it names one), the server must
survive every frame, and it must answer only for documents the client opened.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from conftest import require
from lsp_stream import Server, frame

require("pygls")

from specc.check import check_source  # noqa: E402
from specc.lsp.transport import MAX_MESSAGE_BYTES  # noqa: E402

URI = "file:///tmp/specc-hostile/net.cnn"
SOURCE = "model net {\n  input 8\n  dense 4 relu\n}\n"
AT_DENSE = {"line": 2, "character": 3}


def doc(uri: str = URI) -> dict:
    return {"textDocument": {"uri": uri}}


def hover(server: Server, uri: str = URI, position: dict = AT_DENSE) -> dict:
    return server.response(server.request("textDocument/hover", {**doc(uri), "position": position}))


def peak_rss(server: Server) -> int:
    """The server process's peak resident memory so far, in bytes."""
    status = open(f"/proc/{server.proc.pid}/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


@pytest.fixture
def server():
    running = Server()
    yield running
    running.close()


@pytest.fixture
def ready(server):
    server.initialize()
    server.open(URI, SOURCE)
    return server


def test_a_request_before_initialize_is_server_not_initialized(server):
    answer = hover(server)
    assert answer["error"]["code"] == -32002 and "traceback" not in str(answer).lower()
    assert "result" in server.initialize()  # and the session goes on


def test_a_request_whose_params_do_not_parse_is_answered(ready):
    msg_id = ready.request("textDocument/hover", {**doc(), "position": {"line": 0}})
    answer = ready.response(msg_id)
    assert answer["error"]["code"] == -32602
    assert "position.character" in answer["error"]["message"]
    assert "contents" in hover(ready)["result"]


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", -32700),
        (b'"a string"', -32600),
        (b"[1, 2]", -32600),
        (b'{"id": 7, "method": "shutdown"}', -32600),  # no jsonrpc member
        (b'{"jsonrpc": "2.0", "id": 8, "method": 5}', -32600),
        (b"\xff\xfe\x00", -32700),
        (b"[" * 100_000 + b"]" * 100_000, -32700),
    ],
    ids=["broken", "string", "array", "no-jsonrpc", "method-number", "not-utf8", "deep"],
)
def test_malformed_messages_get_errors_and_the_server_goes_on(ready, body, code):
    ready.send(frame(body), raw=True)
    answer = ready.receive()
    while answer is not None and answer.get("method") == "textDocument/publishDiagnostics":
        answer = ready.receive()
    assert answer is not None and answer["error"]["code"] == code, answer
    assert "contents" in hover(ready)["result"]


def test_an_oversized_frame_is_refused_with_a_bounded_read(ready):
    # Really sent: the server reads it through in chunks and stays in step.
    size = MAX_MESSAGE_BYTES + 1000
    before = peak_rss(ready)
    ready.send(b"Content-Length: %d\r\n\r\n" % size, raw=True)
    writer = threading.Thread(target=ready.send, args=(b" " * size, True))
    writer.start()
    answer = ready.response(None, timeout=120)
    writer.join()
    assert answer["error"]["code"] == -32600 and "over the limit" in answer["error"]["message"]
    assert "contents" in hover(ready)["result"]
    growth = peak_rss(ready) - before
    assert growth < size // 4, f"peak RSS grew by {growth:,} bytes: the body was held"


def test_a_content_length_of_99999999999_does_not_end_the_server(server):
    server.initialize()
    server.send(b"Content-Length: 99999999999\r\n\r\n{}", raw=True)
    answer = server.response(None)
    assert answer["error"]["code"] == -32600
    assert server.proc.poll() is None
    server.proc.stdin.close()  # the claimed body never comes: the stream ends
    assert server.wait() == 1
    assert b"MemoryError" not in server.proc.stderr.read()


def test_an_endless_header_line_is_dropped_in_bounded_memory(ready):
    ready.send(b"X-Junk: " + b"a" * (64 * 2**20) + b"\r\n\r\n", raw=True)
    assert ready.response(None)["error"]["code"] == -32700
    assert "contents" in hover(ready)["result"]


def test_requests_after_shutdown_are_invalid_and_exit_is_0(ready):
    assert ready.response(ready.request("shutdown"))["result"] is None
    assert hover(ready)["error"]["code"] == -32600
    ready.notify("exit")
    assert ready.wait() == 0


def test_exit_without_shutdown_is_1(server):
    server.initialize()
    server.notify("exit")
    assert server.wait() == 1


def test_a_change_to_a_document_never_opened_or_closed_is_ignored_quietly(ready):
    change = {"contentChanges": [{"text": "model x {\n}\n"}]}
    unknown = "file:///tmp/specc-hostile/never.cnn"
    ready.notify(
        "textDocument/didChange", {"textDocument": {"uri": unknown, "version": 2}, **change}
    )
    ready.notify("textDocument/didClose", doc())
    ready.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 3}, **change})
    assert hover(ready)["result"] is None  # closed: no answer from what was
    assert ready.notifications("window/showMessage") == []


def test_a_lone_surrogate_does_not_stop_diagnostics(ready):
    text = SOURCE.replace("relu", "rleu \ud800")
    uri = "file:///tmp/specc-hostile/surrogate.cnn"
    ready.open(uri, text)
    ready.response(ready.request("textDocument/documentSymbol", doc(uri)))  # after the publish
    published = [
        m["params"]
        for m in ready.notifications("textDocument/publishDiagnostics")
        if m["params"]["uri"] == uri
    ]
    expected = check_source(text.replace("\ud800", "\ufffd"), "surrogate.cnn").diagnostics
    assert published and [d["code"] for d in published[-1]["diagnostics"]] == [
        d.code for d in expected
    ]


def test_files_never_opened_are_never_read(ready, tmp_path):
    secret = tmp_path / "secret.cnn"
    secret.write_text("model secret {\n  input 8\n  dense 4\n}\n")
    fifo = tmp_path / "pipe.cnn"
    os.mkfifo(fifo)
    start = time.monotonic()
    for uri in (secret.as_uri(), fifo.as_uri(), "file:///dev/zero"):
        symbols = ready.request("textDocument/documentSymbol", doc(uri))
        assert ready.response(symbols, timeout=10)["result"] == []
        assert hover(ready, uri)["result"] is None
    assert time.monotonic() - start < 10
