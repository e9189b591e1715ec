"""Named tensors while a graph is built: @references, side paths, shapes, reachability.

``@NAME`` is the output of the layer named NAME; inside a block, when NAME is
one of its parameters (or a ``let``) holding a string, it is the layer that
string names, so a block can be handed the tensor to branch from
(``normal_cell 44 prev="stem_bn"``). ``path @p { ... }`` outside a merge is a
side path: it computes from ``@p`` (or the current tensor), and afterwards the
current tensor is what it was before; its result is used by name. Every layer
must reach the model's output, or Keras would drop it and the counts differ.

``channels()``, ``height()`` and ``width()`` need shapes before the model is
complete: the layers built so far are inferred on demand, each once.
"""

from __future__ import annotations

from specc.codes import E107, E108, E110
from specc.diagnostics import Diagnostic, SpeccError, error
from specc.ir.infer import infer_nodes
from specc.ir.shapes import Shape
from specc.ir.values import suggest
from specc.syntax import tree as t
from specc.syntax.builtins import describe
from specc.syntax.evaluate import Env
from specc.syntax.scope import ModelState, Scope


class TensorStatements:
    """The named-tensor half of :class:`specc.syntax.expand.Expander`."""

    state: ModelState

    def ref_index(self, ref: t.Ref, env: Env) -> int:
        """The node ``@name`` refers to (a parameter holding a layer name stands for it)."""
        st = self.state
        name = ref.name
        if name in env:
            value = env[name]
            if not isinstance(value, str):
                raise error(
                    E107,
                    f"@{name} needs a layer name, but {name} holds {describe(value)}",
                    ref.span,
                    f'pass the name of a layer as a string: {name}="stem"',
                )
            name = value
        if name not in st.names:
            known = [n for n in st.names if not n.startswith("input_layer")] or list(st.names)
            shown = f"@{ref.name}" + (f" (= '{name}')" if name != ref.name else "")
            raise error(
                E110,
                f"unknown {shown}{suggest(name, list(st.names))}",
                ref.span,
                "@NAME refers to an earlier layer's name=; named so far: " + ", ".join(known),
            )
        return st.names[name]

    def tensor_shape(self, ref: t.Ref | None, env: Env, span) -> Shape:
        """The shape of the current tensor or of ``@ref``, inferring what is pending."""
        st = self.state
        index = st.current if ref is None else self.ref_index(ref, env)
        if st.inferred < len(st.nodes):
            found = infer_nodes(st.nodes, st.inferred)
            st.inferred = len(st.nodes)
            if found:
                raise SpeccError(found)  # the layer's own error, at its place
        shape = st.nodes[index].output_shape
        if shape is None:
            raise SpeccError([])  # an error before it was reported already
        return shape

    def stmt_path(self, stmt: t.Statement, scope: Scope) -> None:
        """``path [@name] { ... }`` outside a merge: a side path, used later by name."""
        st = self.state
        if stmt.body is None:
            raise error(E108, "expected `path { ... }` or `path @name { ... }`", stmt.span)
        saved = st.current
        st.current = self.path_start(stmt, scope)
        try:
            self._run(stmt.body, scope)  # type: ignore[attr-defined]
        finally:
            st.current = saved

    def path_start(self, stmt: t.Statement, scope: Scope, start: int | None = None) -> int:
        """Where a path begins: ``@name`` when it says so, else ``start`` (the tensor
        current before the merge or side path)."""
        if not stmt.items:
            return self.state.current if start is None else start
        item = stmt.items[0]
        if (
            len(stmt.items) == 1
            and isinstance(item, t.Positional)
            and isinstance(item.value, t.Ref)
        ):
            return self.ref_index(item.value, scope.env)
        raise error(E108, "a path starts from the current tensor or from one @name", item.span)

    def unreachable(self) -> list[Diagnostic]:
        """E108 at the end of each path whose result never reaches the model's output."""
        st = self.state
        seen = {st.current}
        stack = [st.current]
        while stack:
            for i in st.nodes[stack.pop()].inputs:
                if i not in seen:
                    seen.add(i)
                    stack.append(i)
        used = {i for node in st.nodes for i in node.inputs}
        out = []
        for node in st.nodes[1:]:
            if node.index not in seen and node.index not in used:
                out.append(
                    Diagnostic(
                        E108,
                        f"layer '{node.name}' does not reach the model's output",
                        node.call_site or node.span,
                        f"its path's result is never used; merge it (`add [@{node.name}, ...]`) "
                        "or remove the path",
                    )
                )
        return out
