"""Stage 2: the Pydantic IR (layer classes, the graph) and shape inference."""
