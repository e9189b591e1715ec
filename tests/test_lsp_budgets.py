"""``specc lsp --max-params/--max-macs``: the editor shows the budgets ``specc check`` enforces.

A real LSP client talks to a server started with budgets; the expected
diagnostics are ``check_source``'s with the same budgets.
"""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, require

require("pygls")
pytest_lsp = require("pytest_lsp")
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from specc.check import check_source  # noqa: E402

URI = "file:///tmp/specc-lsp-budgets/cifar.cnn"
SOURCE = (ROOT / "examples" / "cifar10_cnn.cnn").read_text()
ARGS = ["--max-params", "100k", "--max-macs", "1.5M"]


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "specc.cli", "lsp", *ARGS]),
    scope="module",
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="module")
async def test_budgets_are_reported_as_you_type(client: LanguageClient):
    expected = check_source(SOURCE, "cifar.cnn", max_params=100_000, max_macs=1_500_000)
    assert {d.code for d in expected.diagnostics} == {"E302", "E303"}
    item = lsp.TextDocumentItem(uri=URI, language_id="cnn", version=1, text=SOURCE)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=item))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    received = sorted((d.code, d.message, d.range.start.line) for d in client.diagnostics[URI])
    assert received == sorted((d.code, d.message, d.span.line - 1) for d in expected.diagnostics)
    # a model whose inference fails gets no budget diagnostics, as in specc check
    broken = SOURCE.replace("maxpooling2d 2x2", "maxpooling2d 40x40")
    assert broken != SOURCE
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=broken)],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    codes = {d.code for d in client.diagnostics[URI]}
    expected_codes = {d.code for d in check_source(broken, "c.cnn", 100_000, 1_500_000).diagnostics}
    assert codes == expected_codes and "E302" not in codes
