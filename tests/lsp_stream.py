"""A raw JSON-RPC client for ``specc lsp``: frames written byte for byte, answers read back.

Unlike pytest-lsp's client, this one can send what no well-behaved client
would: wrong lengths, broken JSON, requests out of order. A thread reads the
server's stdout into a queue of parsed messages.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any


def frame(message: dict[str, Any] | bytes) -> bytes:
    """One LSP frame: ``Content-Length`` header and the JSON body."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frames(stream: Any, out: queue.Queue) -> None:
    """Parse frames from ``stream`` into ``out`` until EOF; None marks the end."""
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                out.put(None)
                return
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None, "a frame without Content-Length"
        out.put(json.loads(stream.read(length)))


class Server:
    """``python -m specc.cli lsp`` in a subprocess, driven frame by frame."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "specc.cli", "lsp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.messages: queue.Queue = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        threading.Thread(
            target=read_frames, args=(self.proc.stdout, self.messages), daemon=True
        ).start()
        self.next_id = 0

    def send(self, data: dict[str, Any] | bytes, raw: bool = False) -> None:
        """Write a message (framed) or, with ``raw``, bytes as they are."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(data if raw else frame(data))  # type: ignore[arg-type]
        self.proc.stdin.flush()

    def request(self, method: str, params: Any = None, msg_id: Any = None) -> Any:
        """Send a request; its id."""
        if msg_id is None:
            self.next_id += 1
            msg_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def receive(self, timeout: float = 30) -> dict[str, Any] | None:
        """The next message from the server (None once it has closed stdout)."""
        if self.pending:
            return self.pending.pop(0)
        return self.messages.get(timeout=timeout)

    def response(self, msg_id: Any, timeout: float = 30) -> dict[str, Any]:
        """The response to ``msg_id``; other messages received meanwhile are kept."""
        kept = []
        try:
            while True:
                message = self.messages.get(timeout=timeout)
                assert message is not None, "the server closed its output"
                if "method" not in message and message.get("id") == msg_id:
                    return message
                kept.append(message)
        finally:
            self.pending.extend(kept)

    def notifications(self, method: str) -> list[dict[str, Any]]:
        """Every notification ``method`` received so far (drains the queue)."""
        while True:
            try:
                message = self.messages.get(timeout=0.2)
            except queue.Empty:
                break
            if message is None:
                break
            self.pending.append(message)
        found = [m for m in self.pending if m.get("method") == method]
        self.pending = [m for m in self.pending if m.get("method") != method]
        return found

    def initialize(self) -> dict[str, Any]:
        """The initialize handshake; the server's answer."""
        answer = self.response(self.request("initialize", {"capabilities": {}}))
        self.notify("initialized", {})
        return answer

    def open(self, uri: str, text: str, version: int = 1) -> None:
        """didOpen a ``.cnn`` document."""
        item = {"uri": uri, "languageId": "cnn", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})

    def wait(self, timeout: float = 30) -> int:
        """The exit status, once the server has ended."""
        return self.proc.wait(timeout)

    def close(self) -> None:
        """Close stdin and end the process if it is still there."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
