"""The language server: ``specc lsp`` (pygls 2 over stdio).

:mod:`specc.lsp.analysis` checks incrementally (no pygls needed, usable alone);
:mod:`specc.lsp.server` wires the features of :mod:`specc.lsp.features` and
:mod:`specc.lsp.completion` to the protocol.
"""
