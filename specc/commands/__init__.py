"""One module per CLI command; each has ``register(subparsers)`` and ``run(args) -> int``.

``register`` must stay cheap (no heavy imports): the CLI builds every parser. A command
named by a Python keyword lives in a module with a trailing underscore (``import_``).
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
    "diagram",
    "featuremaps",
    "filters",
    "import_",
    "weights",
)
