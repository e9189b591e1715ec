"""Fuzzing the front end: random text and mutated examples never crash specc.

Every input, however broken, must end in diagnostics (or none), never in a
traceback; each diagnostic must point inside the file and carry a code
registered in ``specc.diagnostics.CODES``. The same holds for ``specc check``
and ``specc summary`` run through ``specc.cli.main`` in every output format.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import re
import tempfile
from pathlib import Path

import pytest
from conftest import EXAMPLES, require
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from specgen import generate_spec

from specc.check import check_source
from specc.cli import main
from specc.commands import skeleton
from specc.diagnostics import (
    CODES,
    Diagnostic,
    printable,
    render_github,
    render_sarif,
    render_text,
)

# SPECC_FUZZ_EXAMPLES=5000 fuzzes longer (locally, when hunting bugs).
EXAMPLES_PER_TEST = int(os.environ.get("SPECC_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES_PER_TEST,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The examples, and the specs written with the computing blocks (if, for, def, names, paths).
SPECS = sorted((Path(__file__).resolve().parent / "specs").glob("*.cnn"))
EXAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in [*EXAMPLES, *SPECS]]
TOKEN_RE = re.compile(r"\s+|#[^\n]*|[A-Za-z_@][A-Za-z0-9_]*|[0-9.]+(?:[xkMGe][0-9]*)*|.", re.S)
VOCABULARY = [
    "{", "}", "(", ")", "[", "]", ",", ";", "=", "==", "<=", "+", "-", "*", "//", "/", "\n",
    "#", '"', "'", "@stem", "@nowhere", "x", "model", "block", "input", "repeat", "path",
    "expect", "compile", "fit", "params", "output", "conv2d", "dense", "add", "concatenate",
    "subtract", "maxpool", "flatten", "reshape", "batchnorm", "relu", "same", "valid",
    "name=", "strides=", "groups=", "axis=", "padding=", "activation=", "dilation_rate=",
    "0", "1", "-1", "3", "3x3", "0x0", "32x32x3", "1e999", "1.5M", "0.5", "2G", "nan",
    "99999999999999999999999", "none", "true", "false", "l2(0.01)", "adam(", "(3, 3)",
    "((0, 1), (2, 3))", "\t", "\r\n", "\u00e9", "\u2028", "\x00", "\ufeff", "\x0c", "\r",
    "\x85", "# noqa", "# noqa: W401",
    "if", "else", "and", "or", "not", "let", "for", "in", "range(3)", "def", "return", "%",
    "channels()", "height(@stem)", "int(", "round(", "max(", "str(", "[@stem, @stem]", "path @stem",
    '"_conv"', "f(", "def f(n) { return n }", "} else {", "1e308", "0.9 *",
]  # fmt: skip
# Characters str.splitlines() breaks at but the grammar does not.
ODD_BREAKS = ["\u2028", "\u2029", "\x0c", "\x0b", "\r", "\x1c", "\x85"]
ALPHABET = st.sampled_from(list("{}()[]@=,;#\n \t\"'xkMG.+-*/<>!_abcdefgz0123456789\r"))


def assert_well_located(text: str, diagnostics: list[Diagnostic]) -> None:
    """Every diagnostic: registered code, severity, span inside the text."""
    lines = text.split("\n")
    n_lines = max(len(lines), len(text.splitlines()))
    for d in diagnostics:
        assert d.code in CODES, d
        assert d.severity in ("error", "warning"), d
        assert d.message and "Traceback" not in d.message, d
        s = d.span
        assert 1 <= s.line <= n_lines + 1, (d, n_lines)
        assert 1 <= s.end_line <= n_lines + 1, (d, n_lines)
        assert s.column >= 1 and s.end_column >= 1, d
        assert (s.end_line, s.end_column) >= (s.line, s.column), d
        if s.line <= len(lines):
            assert s.column <= len(lines[s.line - 1]) + 2, (d, lines[s.line - 1])


def assert_rendered_at_its_line(text: str, diagnostics: list[Diagnostic]) -> None:
    """The text rendering quotes the line the diagnostic names (lines end at newlines),
    tabs as one space and control characters escaped."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for d in diagnostics:
        if d.span.line <= len(lines) and lines[d.span.line - 1].strip():
            line = lines[d.span.line - 1]
            shown = "".join(" " if c == "\t" else printable(c) for c in line)[:200]
            assert f"{d.span.line} | {shown}" in render_text([d], {"fuzz.cnn": text}), d


def check_text(text: str) -> None:
    """check_source must not raise; its diagnostics must be well located and renderable."""
    result = check_source(text, "fuzz.cnn")
    assert_well_located(text, result.diagnostics)
    assert_rendered_at_its_line(text, result.diagnostics)
    render_github(result.diagnostics)
    json.loads(render_sarif(result.diagnostics, "0"))
    for model in result.models:
        if not result.errors:
            assert model.inferred


@st.composite
def mutated_example(draw, generated: bool = False) -> str:
    """An example (or a generated spec) with 1 to 4 edits of characters, lines or tokens."""
    if generated:
        text = generate_spec(draw(st.integers(0, 10**6)), graphs=draw(st.booleans()))
    else:
        text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        unit = draw(st.sampled_from(["char", "line", "token"]))
        if unit == "char":
            parts = list(text)
        elif unit == "line":
            parts = text.splitlines(keepends=True)
        else:
            parts = TOKEN_RE.findall(text)
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        j = draw(st.integers(0, len(parts) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        if edit == "delete":
            del parts[i]
        elif edit == "duplicate":
            parts.insert(i, parts[i])
        elif edit == "swap":
            parts[i], parts[j] = parts[j], parts[i]
        else:
            new = draw(st.sampled_from(VOCABULARY) | st.text(ALPHABET, min_size=1, max_size=4))
            if unit == "token":
                new = f" {new} "
            if edit == "insert":
                parts.insert(i, new)
            else:
                parts[i] = new
        text = "".join(parts)
    return text


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text):
    check_text(text)


@FUZZ
@given(st.text(ALPHABET, max_size=400))
def test_punctuation_soup_never_crashes(text):
    check_text(text)


@FUZZ
@given(st.lists(st.sampled_from(VOCABULARY), max_size=60))
def test_token_soup_never_crashes(tokens):
    check_text(" ".join(tokens))
    check_text("model m {\n  input 8x8x3\n  " + " ".join(tokens) + "\n}\n")


@FUZZ
@given(mutated_example())
def test_mutated_examples_never_crash(text):
    check_text(text)


@FUZZ
@given(mutated_example(generated=True))
def test_mutated_generated_specs_never_crash(text):
    """Generated specs reach blocks, paths, @refs and every layer kind."""
    check_text(text)


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(FUZZ, max_examples=max(1, EXAMPLES_PER_TEST // 2))
@given(
    mutated_example(),
    st.sampled_from(["text", "json", "sarif", "github"]),
    st.sampled_from(["check", "summary"]),
)
# A mutation that moved the model into a block: no error, but no model either (E114).
@example("block b {\n  model m {\n    input 8\n    dense 2\n  }\n}\n", "text", "check")
def test_cli_on_mutated_examples(text, fmt, command):
    fd, path = tempfile.mkstemp(suffix=".cnn")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if command == "check":
            code, out, err = _run_cli(["check", path, "--format", fmt])
        else:
            extra = ["--format", "json"] if fmt == "json" else []
            code, out, err = _run_cli(["summary", path, *extra])
        # What the CLI read (text mode turns \r\n and \r into \n), checked as the CLI
        # checks a file: a file without a model is E114 (a mutation may nest it in a block).
        result = skeleton.check_text(path, Path(path).read_text(encoding="utf-8"))
    finally:
        os.unlink(path)
    assert code in (0, 1, 2), code
    assert "Traceback" not in out + err
    if result.errors:
        assert code == 1, (code, result.errors)
    elif command == "check":
        assert code == 0, (code, err)
    if fmt in ("json", "sarif") and (command == "check" or fmt == "json") and out.strip():
        json.loads(out)


@pytest.mark.parametrize("brk", ODD_BREAKS, ids=ascii)
def test_odd_line_breaks_do_not_shift_lines(brk):
    """A form feed or U+2028 in a comment is not a new line: carets and noqa stay put."""
    head = f"model m {{\n  input 8x8x3  # a{brk}b\n"
    lint = check_source(head + "  relu6  # noqa\n  dense 4\n}\n", "fuzz.cnn")
    assert [(d.code, d.span.line) for d in lint.diagnostics] == [("W401", 4)]
    text = head + "  relu6\n  conv2d 8 50\n}\n"
    result = check_source(text, "fuzz.cnn")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E201", 4)]
    assert_rendered_at_its_line(text, result.diagnostics)


# -- the language server: hypothesis-generated frames and edit sequences ----------------
# Served in-process (specc.lsp.server.SpeccServer.serve on byte buffers): the same
# frame reader and protocol as `specc lsp`, without a process per example.

LSP_EXAMPLES = settings(FUZZ, max_examples=max(1, EXAMPLES_PER_TEST // 6))
LSP_URIS = ["file:///fuzz/a.cnn", "file:///fuzz/b.cnn", "file:///etc/passwd", "untitled:x"]
LSP_METHODS = [
    "textDocument/hover", "textDocument/completion", "textDocument/definition",
    "textDocument/documentSymbol", "textDocument/inlayHint", "textDocument/formatting",
    "initialize", "shutdown", "workspace/symbol", "no/such/method",
]  # fmt: skip
EDIT_PIECES = st.sampled_from(
    [
        *"model{}()@=,x 38\n\t", "input 8", "dense 4", "\r\n", "\r", "\u2028", "\x0c",
        "\u00e9", "\U0001f600", "\ud800", "\x1b[2K",
    ]
)  # fmt: skip


def edit_text(max_size: int) -> st.SearchStrategy[str]:
    """Text made of spec words, line breaks LSP counts and some it does not, astral
    characters, a lone surrogate and a terminal escape."""
    return st.lists(EDIT_PIECES, max_size=max_size).map("".join)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
POSITIONS = st.fixed_dictionaries({"line": st.integers(0, 12), "character": st.integers(0, 40)})


def serve_in_process(frames: bytes) -> tuple[int, list[dict], object]:
    """Run a fresh server on ``frames``; its exit status, its messages and itself."""
    from lsp_stream import read_frames

    from specc.lsp.server import create_server

    server = create_server()
    out = io.BytesIO()
    status = server.serve(io.BytesIO(frames), out)
    out.seek(0)
    messages: queue.Queue = queue.Queue()
    read_frames(out, messages)
    return status, [m for m in iter(messages.get_nowait, None)], server


def lsp_frame(message: object) -> bytes:
    from lsp_stream import frame

    return frame(message if isinstance(message, bytes) else json.dumps(message).encode())


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {"capabilities": {}},
}


@st.composite
def lsp_message(draw, msg_id: int) -> tuple[bytes, int | None]:
    """One frame: a request (returns its id), a notification, or a malformed body."""
    kind = draw(st.sampled_from(["request", "request", "notification", "json", "bytes"]))
    uri = draw(st.sampled_from(LSP_URIS))
    well_formed = {"textDocument": {"uri": uri}, "position": draw(POSITIONS)}
    well_formed["range"] = {"start": draw(POSITIONS), "end": draw(POSITIONS)}
    params = draw(st.just(well_formed) | JSON_VALUES)
    if kind == "request":
        method = draw(st.sampled_from(LSP_METHODS))
        return lsp_frame(
            {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        ), msg_id
    if kind == "notification":
        item = {"uri": uri, "languageId": "cnn", "version": 1, "text": draw(edit_text(40))}
        method, params = draw(
            st.sampled_from([("textDocument/didOpen", {"textDocument": item})])
            | st.tuples(
                st.sampled_from(["textDocument/didChange", "textDocument/didClose", "$/x"]),
                JSON_VALUES,
            )
        )
        return lsp_frame({"jsonrpc": "2.0", "method": method, "params": params}), None
    if kind == "json":
        return lsp_frame(json.dumps(draw(JSON_VALUES)).encode()), None
    return lsp_frame(draw(st.binary(max_size=40))), None


@LSP_EXAMPLES
@given(st.data())
def test_lsp_answers_every_request_of_any_frame_sequence(data):
    require("pygls")
    drawn = [data.draw(lsp_message(i)) for i in range(data.draw(st.integers(1, 12)))]
    status, messages, _ = serve_in_process(lsp_frame(INITIALIZE) + b"".join(f for f, _ in drawn))
    assert status in (0, 1)
    answers = [m for m in messages if "method" not in m]
    sent = [i for _, i in drawn if i is not None]
    answered = [m["id"] for m in answers if isinstance(m.get("id"), int)]
    assert sorted(answered) == sorted(sent), (answered, sent)
    for m in answers:
        assert m.get("error", {}).get("code") != -32603, m  # an internal error: our bug
    assert not [
        m for m in messages if m.get("method") == "window/showMessage" and m["params"]["type"] == 1
    ]


@LSP_EXAMPLES
@given(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from([b"Content-Length: ", b"\r\n", b"99999999999", b"12", b"{}", b":"]),
        max_size=20,
    ),
)
def test_lsp_survives_any_byte_stream(noise, pieces):
    require("pygls")
    status, messages, _ = serve_in_process(lsp_frame(INITIALIZE) + noise + b"".join(pieces))
    assert status in (0, 1) and messages[0]["id"] == "init"


def utf16_offset(text: str, line: int, character: int) -> int:
    """Reference: the code-point offset of an LSP position, on UTF-16 code units."""
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
    if line >= len(lines):
        return len(text)
    start = sum(len(part) for part in lines[:line])
    body = lines[line].rstrip("\r\n")
    units = 0
    for index, char in enumerate(body):
        if units >= character:
            return start + index
        units += len(char.encode("utf-16-le", "surrogatepass")) // 2
    return start + len(body)


@st.composite
def lsp_edit(draw) -> dict:
    """A change event: the whole text, or a range (in order) and its new text."""
    new = draw(edit_text(12))
    if draw(st.integers(0, 5)) == 0:
        return {"text": new}
    start, end = sorted(
        [draw(POSITIONS), draw(POSITIONS)], key=lambda p: (p["line"], p["character"])
    )
    return {"range": {"start": start, "end": end}, "text": new}


@LSP_EXAMPLES
@given(
    st.sampled_from(EXAMPLE_TEXTS) | edit_text(80),
    st.lists(lsp_edit(), max_size=8),
)
def test_lsp_edit_sequences_track_the_text_and_its_diagnostics(text, edits):
    require("pygls")
    uri, fffd = "file:///fuzz/edit.cnn", lambda s: s.replace("\ud800", "\ufffd")
    item = {"uri": uri, "languageId": "cnn", "version": 0, "text": text}
    frames = [
        INITIALIZE,
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}},
    ]
    expected = fffd(text)
    for version, edit in enumerate(edits, 1):
        if "range" in edit:
            r = edit["range"]
            start = utf16_offset(expected, r["start"]["line"], r["start"]["character"])
            end = utf16_offset(expected, r["end"]["line"], r["end"]["character"])
            expected = expected[:start] + fffd(edit["text"]) + expected[max(start, end) :]
        else:
            expected = fffd(edit["text"])
        change = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]}
        frames.append({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": change})
    frames.append(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "textDocument/documentSymbol",
            "params": {"textDocument": {"uri": uri}},
        }
    )
    _, messages, server = serve_in_process(b"".join(lsp_frame(f) for f in frames))
    assert server.documents[uri].text == expected
    published = [
        m["params"] for m in messages if m.get("method") == "textDocument/publishDiagnostics"
    ]
    assert [p["version"] for p in published] == list(range(len(edits) + 1))
    want = check_source(expected, "/fuzz/edit.cnn").diagnostics
    got = published[-1]["diagnostics"]
    assert [(d["code"], d["range"]["start"]["line"]) for d in got] == [
        (d.code, d.span.line - 1) for d in want
    ]
    assert "error" not in next(m for m in messages if m.get("id") == 1)
