"""A layer graph as the statements of a spec: chains, merges with paths, @references.

In a spec, a layer reads the current tensor; a merge layer reads the ends of
its paths, each path starting from the current tensor, followed by the
tensors it names with ``@NAME``. Any series-parallel graph (ResNet, DenseNet,
Inception, Xception) can be written so, as can skip connections to earlier
tensors. The walk is pull-based, from the output back:

- a plain layer is its input's statements, then itself;
- a merge is written, where possible, as the statements of its first input
  followed by ``merge @second @third`` when the other inputs are computed on
  the way (a skip connection: ``concatenate @stem``);
- otherwise as ``merge { path { ... } ... }`` from the nearest tensor that
  dominates its inputs (every route from the model's input passes through
  it): ResNet's residual ``add { path { } path { conv ... } }``.

A graph that is not series-parallel in this sense, where a layer must read a
tensor that is not current where the walk would compute it (NASNet's cells,
which mix branches of the current tensor and of the previous cell's input),
is written branch by branch instead (:func:`_by_name`), each input's branch
whole before the layer reading it: a layer that reads the current tensor is
a statement; one that reads another tensor starts a side path
``path @name { ... }``, which the layers reading its end extend; a merge takes
the side paths just written as its own paths (``add { path @h { ... } path
@p { } }``, as zoo/nasnet.cnn writes a cell) or else lists its inputs
(``add [@a, @b]``, ``add @b`` when the first is current). Every layer reaches
the output, so the output is current at the end.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from specc.codes import E701, E705
from specc.importers.graph import ImportedLayer, ImportedModel, import_error
from specc.ir.layers import lookup


@dataclass
class Statement:
    """One layer statement; a merge has ``paths`` (or None: no body) and ``refs``.

    ``listed``: the refs are all the merge's inputs (``add [@a, @b]``);
    ``sources``: the named tensor each path starts from (None: the current one).
    A side path ``path @source { ... }`` has no layer, its ``source`` and its ``body``.
    """

    layer: ImportedLayer | None
    paths: list[list[Statement]] | None = None
    refs: list[str] = field(default_factory=list)
    listed: bool = False
    source: str | None = None
    body: list[Statement] = field(default_factory=list)
    sources: list[str | None] | None = None


class _NotSeriesParallelError(Exception):
    """The walk met a tensor it cannot make current: the graph is written by name."""


def structure(model: ImportedModel) -> list[Statement]:
    """The statements that compute ``model``'s output from its input (E705 where no spec can)."""
    walker = _Walker(model)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(model.layers) + 1000))
    try:
        return walker.emit(0, walker.index[model.output])
    except _NotSeriesParallelError:
        return _by_name(walker)
    finally:
        sys.setrecursionlimit(limit)


def _by_name(walker: _Walker) -> list[Statement]:
    """The layers branch by branch, side paths from named tensors where a branch begins."""
    out: list[Statement] = []
    current = 0
    side: Statement | None = None  # the open side path
    side_end = -1
    for v in _branch_order(walker):
        layer = walker.layers[v]
        assert layer is not None
        ins = walker.inputs[v]
        if walker.merge[v]:
            side = None
            out.append(_merge_by_name(walker, out, layer, ins, current))
            current = v
        elif side is not None and ins[0] == side_end:
            side.body.append(Statement(layer))
            side_end = v
        elif ins[0] == current:
            side = None
            out.append(Statement(layer))
            current = v
        else:
            side = Statement(None, source=walker._name(ins[0]), body=[Statement(layer)])
            side_end = v
            out.append(side)
    return out


def _merge_by_name(
    walker: _Walker, out: list[Statement], layer: ImportedLayer, ins: list[int], current: int
) -> Statement:
    """``merge { path @h { ... } path @p { } }`` when the side paths just written end at
    the merge's inputs, in its order (they move into it); else ``merge [@a, @b]``."""
    k = len(out)
    while k > 0 and out[k - 1].layer is None:
        k -= 1
    ends = [walker.index[stmt.body[-1].layer.name] for stmt in out[k:]]  # type: ignore[union-attr]
    used = [i for i in ins if i in ends]
    if used and len(set(ins)) == len(ins) and ends[len(ends) - len(used) :] == used:
        moved = out[len(out) - len(used) :]
        del out[len(out) - len(used) :]
        by_end = dict(zip(used, moved, strict=True))
        paths, sources = [], []
        for i in ins:
            stmt = by_end.get(i)
            paths.append(stmt.body if stmt is not None else [])
            source = stmt.source if stmt is not None else walker._name(i)
            sources.append(None if i == current and stmt is None else source)
        return Statement(layer, paths, sources=sources)
    first = ins[0] == current
    refs = [walker._name(i) for i in (ins[1:] if first else ins)]
    return Statement(layer, None, refs, listed=not first)


def _branch_order(walker: _Walker) -> list[int]:
    """The layers in a depth-first order from the output: each input's branch whole, then
    the layer reading them; the output's own chain comes last."""
    order: list[int] = []
    done = {0}
    stack = [(walker.index[walker.model.output], 0)]
    while stack:
        v, k = stack.pop()
        ins = walker.inputs[v]
        while k < len(ins) and ins[k] in done:
            k += 1
        if k < len(ins):
            stack += [(v, k + 1), (ins[k], 0)]
            continue
        if v not in done:
            done.add(v)
            order.append(v)
    return order


class _Walker:
    def __init__(self, model: ImportedModel) -> None:
        self.model = model
        self.path = model.source
        self.layers: list[ImportedLayer | None] = [None, *model.layers]
        self.index = {model.input_name: 0}
        for i, layer in enumerate(model.layers, 1):
            if layer.name in self.index:
                raise import_error(E705, self.path, f"two layers are called '{layer.name}'")
            self.index[layer.name] = i
        if model.output not in self.index:
            raise import_error(E701, self.path, f"the output layer '{model.output}' is missing")
        self.inputs: list[list[int]] = [[]]
        for layer in model.layers:
            missing = [n for n in layer.inputs if n not in self.index]
            if missing:
                raise import_error(
                    E701, self.path, f"{layer.origin} reads '{missing[0]}', which no layer makes"
                )
            ins = [self.index[n] for n in layer.inputs]
            if any(i >= self.index[layer.name] for i in ins):
                raise import_error(
                    E705, self.path, f"{layer.origin} reads a layer that comes after it (a cycle)"
                )
            self.inputs.append(ins)
        self.merge = [False] + [_is_merge(layer) for layer in model.layers]
        for layer, ins in zip(model.layers, self.inputs[1:], strict=True):
            if not _is_merge(layer) and len(ins) != 1:
                raise import_error(E705, self.path, f"{layer.origin} reads {len(ins)} tensors")
        self.idom, self.depth = self._dominators()
        self.ancestors = [0] * len(self.layers)  # bit u of ancestors[v]: u computes into v
        for v in range(1, len(self.layers)):
            for u in self.inputs[v]:
                self.ancestors[v] |= self.ancestors[u] | (1 << u)
        self.emitted = {0}

    def _dominators(self) -> tuple[list[int], list[int]]:
        """Immediate dominators from the input (layers are in topological order)."""
        n = len(self.layers)
        idom, depth = [0] * n, [0] * n
        for v in range(1, n):
            d = self.inputs[v][0]
            for u in self.inputs[v][1:]:
                d = self._lca(d, u, idom, depth)
            idom[v], depth[v] = d, depth[d] + 1
        return idom, depth

    @staticmethod
    def _lca(a: int, b: int, idom: list[int], depth: list[int]) -> int:
        while a != b:
            if depth[a] < depth[b]:
                a, b = b, a
            a = idom[a]
        return a

    def _name(self, i: int) -> str:
        layer = self.layers[i]
        return self.model.input_name if layer is None else layer.name

    def _cannot(self, reader: int, tensor: int) -> _NotSeriesParallelError:
        return _NotSeriesParallelError(reader, tensor)

    # -- the walk ----------------------------------------------------------------------

    def emit(self, start: int, target: int, reader: int | None = None) -> list[Statement]:
        """Statements that take the current tensor from ``start`` to ``target``.

        ``reader`` is the layer that needs ``target`` (named when it cannot be had).
        """
        chain: list[int] = []
        t, reader = target, target if reader is None else reader
        while t != start:
            if t in self.emitted:
                raise self._cannot(reader, t)
            if self.merge[t]:
                break
            chain.append(t)
            reader, t = t, self.inputs[t][0]
        out = [] if t == start else self._merge(start, t)
        for i in reversed(chain):
            out.append(Statement(self.layers[i]))  # type: ignore[arg-type]
            self.emitted.add(i)
        return out

    def _merge(self, start: int, m: int) -> list[Statement]:
        first, rest = self.inputs[m][0], self.inputs[m][1:]
        if first == start or first not in self.emitted:
            # Computing `first` computes all its ancestors: the others can be @references.
            available = self.ancestors[first] | (1 << first)
            if all(r in self.emitted or (available >> r) & 1 for r in rest):
                prefix = self.emit(start, first, m)
                self.emitted.add(m)
                names = [self._name(r) for r in rest]
                return [*prefix, Statement(self.layers[m], None, names)]  # type: ignore[arg-type]
        return self._merge_paths(start, m)

    def _merge_paths(self, start: int, m: int) -> list[Statement]:
        ins = self.inputs[m]
        pending = [i for i in ins if i == start or i not in self.emitted]
        if not pending:
            raise self._cannot(m, ins[0])
        d = pending[0]
        for i in pending[1:]:
            d = self._lca(d, i, self.idom, self.depth)
        if d != start and d in self.emitted:
            raise self._cannot(m, d)
        prefix = self.emit(start, d, m)
        paths: list[list[Statement]] = []
        refs: list[str] = []
        for i in ins:
            if i in pending:
                if refs:  # a merge reads its paths before its @references
                    raise _NotSeriesParallelError(m, i)
                paths.append([] if i == d else self.emit(d, i, m))
            else:
                refs.append(self._name(i))
        self.emitted.add(m)
        return [*prefix, Statement(self.layers[m], paths, refs)]  # type: ignore[arg-type]


def _is_merge(layer: ImportedLayer) -> bool:
    cls = lookup(layer.kind)
    return bool(cls is not None and cls.merge)
