"""One module per CLI command; each has ``register(subparsers)`` and ``run(args) -> int``.

``register`` must stay cheap (no heavy imports): the CLI builds every parser.
"""

COMMANDS = (
    "check",
    "summary",
    "keras",
    "init",
    "onnx",
    "run",
    "bench",
    "fmt",
    "lsp",
    "train",
    "evaluate",
)
