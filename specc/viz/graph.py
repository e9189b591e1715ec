"""DOT text to SVG, PNG or PDF through the ``graphviz`` package and Graphviz's ``dot``."""

from __future__ import annotations

from specc.codes import E613
from specc.diagnostics import Span, error

RENDERED = ("svg", "png", "pdf")
INSTALL_DOT = (
    "install Graphviz (apt-get install graphviz, brew install graphviz, "
    "or https://graphviz.org/download/); -o FILE.dot or FILE.mmd needs no Graphviz"
)


def render_dot(dot: str, fmt: str, span: Span) -> bytes:
    """``dot`` rendered as ``fmt`` (svg, png or pdf); E613 when Graphviz is missing."""
    try:
        import graphviz
    except ImportError:
        raise error(
            E613,
            f"writing .{fmt} needs the graphviz Python package",
            span,
            "pip install 'specc[viz]'; " + INSTALL_DOT,
        ) from None
    try:
        return graphviz.Source(dot).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise error(
            E613,
            f"writing .{fmt} needs Graphviz's `dot` program, which is not on PATH",
            span,
            INSTALL_DOT,
        ) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise error(
            E613,
            f"Graphviz's `dot` failed: {detail[-1] if detail else exc}",
            span,
            "write -o FILE.dot and run `dot` on it to see the whole message",
        ) from None
