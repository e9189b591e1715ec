"""One module per CLI command; each has ``register(subparsers)`` and ``run(args) -> int``.

``register`` must stay cheap (no heavy imports): the CLI builds every parser.
A command that reads a spec runs through :func:`specc.commands.skeleton.run_spec`
(read, check, pick the model, report, exit status); its module docstring shows
a whole command in a dozen lines.
"""

COMMANDS = ("check", "summary", "keras", "init", "onnx", "run", "bench", "fmt", "lsp")
