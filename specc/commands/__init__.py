"""One module per CLI command; each has ``register(subparsers)`` and ``run(args) -> int``.

``register`` must stay cheap (no heavy imports): the CLI builds every parser.
A command that reads a spec runs through :func:`specc.commands.skeleton.run_spec`
(read, check, pick the model, report, exit status); its module docstring shows
a whole command in a dozen lines. A command named by a Python keyword lives in
a module with a trailing underscore (``import_``).
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
    "train",
    "evaluate",
)
