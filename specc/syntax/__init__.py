"""Stage 1: text to syntax tree (parse) and syntax tree to layer graph (expand)."""
