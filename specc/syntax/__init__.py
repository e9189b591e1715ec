"""Stage 1: text to syntax tree (parse) and syntax tree to layer graph (expand)."""

# Here, not in parse.py, so that reading a file (every command) does not import the parser.
MAX_FILE_BYTES = 2 * 1024 * 1024  # 100,000 layers fit in far less; parsing is ~4 s per MiB
